"""`paperzoo deid anonymize IN... --out DIR`: de-identify photos, keeping the chosen medical regions.

Every input file is handled on its own: it is read whole, its faces found and anonymised, and only then are
the image and its JSON sidecar written (atomically). A file that cannot be handled (not an image, truncated,
no face, a face that cannot be anonymised, an unreadable mask) is reported and nothing is written for it;
the command then exits with code 2 after the other files are done.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from paperzoo.core.errors import UserError

app = typer.Typer(help="Medical-aware face de-identification (arXiv 2412.10804).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Medical-aware face de-identification (arXiv 2412.10804)."""


def _inputs(paths: list[Path]) -> list[Path]:
    from paperzoo.deid.images import SUFFIXES

    files = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    if not files:
        raise UserError(f"no images in {', '.join(map(str, paths))} (looked for {', '.join(SUFFIXES)})")
    return files


def _mask_for(path: Path, mask: Path | None, mask_dir: Path | None, shape):
    """The keep-mask for `path` (bool array) from --mask or --mask-dir, or None."""
    from paperzoo.deid.images import read_mask

    if mask is not None:
        return read_mask(mask, shape)
    if mask_dir is not None:
        cand = mask_dir / f"{path.stem}.png"
        return read_mask(cand, shape) if cand.is_file() else None
    return None


@app.command()
def anonymize(
    inputs: list[Path] = typer.Argument(..., help="image files or folders of images"),
    out: Path = typer.Option(..., "--out", help="folder for the anonymised images and their .json sidecars"),
    keep: str = typer.Option("periocular,lips", help="medical regions to keep: periocular, eyes, brows, lips, "
                             "nose, cheeks, skin (comma-separated), or 'none' for whole-face anonymisation"),
    method: str = typer.Option("blur", help="blur | pixelate | mask | inpaint | swap | generative"),
    level: float = typer.Option(1.0, help="privacy level in (0, 1]: anonymiser strength (1 = strongest)"),
    detector: str = typer.Option("centerface", help="centerface | hog | cnn | haar"),
    threshold: float | None = typer.Option(None, help="detector score threshold (default: the detector's)"),
    blend: str = typer.Option("feather", help="feather | poisson: blending at the kept region's border"),
    mask: Path | None = typer.Option(None, help="keep-mask image (white = keep) for a single input image"),
    mask_dir: Path | None = typer.Option(None, help="folder of keep-masks named <image stem>.png"),
    max_keep: float = typer.Option(0.6, help="refuse a face whose kept region covers more than this share"),
    donors: Path | None = typer.Option(None, help="folder of donor face photos for --method swap"),
    k: int = typer.Option(3, help="swap: donor faces averaged (k-Same)"),
    inpainter: str | None = typer.Option(None, help="--method generative: package.module:function"),
    max_pixels: int = typer.Option(100_000_000, help="refuse images with more pixels than this"),
    force: bool = typer.Option(False, help="overwrite existing outputs in --out"),
) -> None:
    """De-identify photos: anonymise every face, keep the medical regions bit for bit, write a JSON report."""
    from paperzoo.core.io import atomic_write_text
    from paperzoo.deid.images import read_image, write_image
    from paperzoo.deid.pipeline import Deidentifier
    from paperzoo.deid.regions import parse_regions

    files = _inputs(inputs)
    if mask is not None and len(files) > 1:
        raise UserError("--mask applies to one input image; for several use --mask-dir (masks named <stem>.png)")
    if mask_dir is not None and not mask_dir.is_dir():
        raise UserError(f"--mask-dir {mask_dir}: not a folder")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder")
    deid = Deidentifier.build(method, parse_regions(keep), level, detector, threshold, blend, max_keep, donors, k,
                              inpainter)
    failed, done, start = [], 0, time.perf_counter()
    for path in files:
        target = out / path.name
        sidecar = target.with_suffix(target.suffix + ".json")
        try:
            if target.exists() and not force:
                raise UserError(f"{target} exists; pass --force to overwrite")
            pic = read_image(path, max_pixels)
            result = deid.run(pic, _mask_for(path, mask, mask_dir, pic.rgb.shape[:2]))
            out.mkdir(parents=True, exist_ok=True)
            write_image(target, pic, result.rgb)
            atomic_write_text(sidecar, json.dumps({**result.report, "output": str(target)}, indent=2) + "\n")
            done += 1
            typer.echo(f"{path}: {len(result.report['faces'])} face(s) anonymised ({method}, kept "
                       f"{','.join(deid.composer.keep) or 'nothing'}) -> {target}")
        except UserError as exc:
            failed.append(str(exc) if path.name in str(exc) else f"{path}: {exc}")
            typer.echo(f"FAILED {failed[-1]}", err=True)
    rate = len(files) / max(time.perf_counter() - start, 1e-9)
    typer.echo(f"{done}/{len(files)} images written to {out} ({rate:.1f} images/s)")
    if failed:
        raise UserError(f"{len(failed)} of {len(files)} image(s) not written (nothing was written for them; "
                        "the FAILED lines above say why)")
