"""Reading and writing photos safely: whole files only, EXIF orientation applied, metadata never copied.

A truncated JPEG is refused (OpenCV would hand back a half-grey picture without complaint), so is an image
with more pixels than the limit (a decompression bomb or a scan too big to process), an animated or multi-page
file (only its first frame would be anonymised) and a 16-bit or float image. Grey-scale and RGBA photos are
read as RGB for processing and written back in their own mode (alpha kept as it was).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperzoo.core.errors import DataError
from paperzoo.core.io import atomic_write_bytes
from paperzoo.core.loaders import loader

MAX_PIXELS = 100_000_000
SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
            ".webp": "WEBP"}


@dataclass
class Picture:
    """An image as RGB uint8 (H, W, 3) plus what is needed to write it back the way it came."""

    rgb: np.ndarray
    mode: str  # "RGB", "L" (grey) or "RGBA"
    alpha: np.ndarray | None = None
    path: Path | None = None

    @property
    def grey(self) -> bool:
        return self.mode == "L"


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Picture:
    """Read a photo fully (DataError naming the file for anything that is not a whole, supported image)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty, not an image")
    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with a message that says what to do
    try:
        with Image.open(path) as im:
            if im.width * im.height > max_pixels:
                raise DataError(f"{path}: {im.width}x{im.height} = {im.width * im.height / 1e6:.0f} MP is more "
                                f"than the limit of {max_pixels / 1e6:.0f} MP; downscale it or raise --max-pixels")
            if getattr(im, "n_frames", 1) > 1:
                raise DataError(f"{path}: {im.n_frames} frames (animated or multi-page); only single images are "
                                "supported, since the other frames would stay unanonymised")
            im.load()  # decodes everything now: a truncated file fails here, not later
            im = ImageOps.exif_transpose(im)
            return _to_picture(im, path)
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image file PIL can read (valid: {', '.join(SUFFIXES)})") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: the image is damaged or truncated ({exc}); nothing was read from it") from None


def _to_picture(im, path: Path) -> Picture:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise DataError(f"{path}: {mode} (16-bit or float) images are not supported; convert to 8-bit RGB first")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "LA":
        im = im.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGB")  # CMYK, YCbCr, 1-bit
    arr = np.asarray(im)
    if im.mode == "L":
        return Picture(np.ascontiguousarray(np.repeat(arr[..., None], 3, axis=2)), "L", None, path)
    if im.mode == "RGBA":
        return Picture(np.ascontiguousarray(arr[..., :3]), "RGBA", arr[..., 3].copy(), path)
    return Picture(np.ascontiguousarray(arr), "RGB", None, path)


def encode_image(pic: Picture, rgb: np.ndarray, suffix: str, quality: int = 95) -> bytes:
    """The bytes of `rgb` written in `pic`'s mode and the format of `suffix`, without any metadata."""
    from PIL import Image

    fmt = _FORMATS.get(suffix.lower())
    if fmt is None:
        raise DataError(f"cannot write {suffix!r} images; valid: {', '.join(_FORMATS)}")
    if pic.mode == "L":
        im = Image.fromarray(np.round(rgb.astype(np.float32).mean(axis=2)).astype(np.uint8), "L")
    elif pic.mode == "RGBA" and fmt != "JPEG":
        im = Image.fromarray(np.dstack([rgb, pic.alpha]), "RGBA")
    else:
        im = Image.fromarray(rgb, "RGB")
    buf = io.BytesIO()
    im.save(buf, format=fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def write_image(path: Path, pic: Picture, rgb: np.ndarray, quality: int = 95) -> Path:
    """Write atomically (never a half-written image), EXIF and other metadata dropped."""
    return atomic_write_bytes(path, encode_image(pic, rgb, path.suffix, quality))


@loader("deid.image", kind="file", suffix=".jpg", doc="a face photo (JPEG/PNG/...; EXIF-rotated, whole files only)")
def load_image(path: str | Path) -> Picture:
    return read_image(path)


def read_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A keep-mask image (white/non-zero = keep) of the photo's size, as bool (H, W)."""
    pic = read_image(path)
    if pic.rgb.shape[:2] != tuple(shape):
        raise DataError(f"{path}: mask is {pic.rgb.shape[1]}x{pic.rgb.shape[0]} but the image is "
                        f"{shape[1]}x{shape[0]}; a mask must have the image's size")
    mask = pic.rgb.max(axis=2) > 127
    if pic.alpha is not None:
        mask &= pic.alpha > 127
    return mask


@loader("deid.mask", kind="file", suffix=".png", doc="a keep-mask image (non-zero = medical region to keep)")
def load_mask(path: str | Path) -> np.ndarray:
    pic = read_image(path)
    return pic.rgb.max(axis=2) > 127
