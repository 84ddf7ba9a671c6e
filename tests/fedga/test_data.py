"""Loaders read the real on-disk formats; the pickle reader refuses code."""

import gzip
import pickle

import numpy as np
import pytest

from paperzoo.core import UserError
from paperzoo.fedga.data import load_cifar, load_dataset, load_idx_dataset, load_mnist, load_svhn, read_idx


def test_mnist_pickle_read_and_code_refused(tmp_path):
    rng = np.random.default_rng(0)
    split = lambda n: (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64))  # noqa: E731
    good = tmp_path / "mnist.pkl.gz"
    with gzip.open(good, "wb") as f:
        pickle.dump((split(5), split(3), split(4)), f, protocol=2)
    d = load_mnist(good)
    assert d.x_train.shape == (8, 1, 28, 28) and d.x_test.shape == (4, 1, 28, 28) and d.n_classes == 10

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    bad = tmp_path / "evil.pkl.gz"
    with gzip.open(bad, "wb") as f:
        pickle.dump(Evil(), f, protocol=2)
    with pytest.raises(UserError, match="refusing"):
        load_mnist(bad)


def _write_idx(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_idx_round_trip_and_fashion_layout(tmp_path):
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (7, 28, 28))
    labs = rng.integers(0, 10, 7)
    for split, n in (("train", 7), ("t10k", 7)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", imgs[:n])
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", labs[:n])
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    d = load_idx_dataset(tmp_path)
    assert np.allclose(d.x_train.numpy().reshape(7, 28, 28) * 255, imgs)
    assert d.y_train.tolist() == labs.tolist()
    with pytest.raises(UserError, match="lacks"):
        load_idx_dataset(tmp_path / "nowhere")


def test_cifar_batches(tmp_path):
    rng = np.random.default_rng(2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8), b"labels": list(rng.integers(0, 10, 4))}
        with open(tmp_path / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    d = load_cifar(tmp_path, 10)
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
    assert float(d.x_train.max()) <= 1.0


def test_svhn_mat_label_ten_is_zero(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    for name in ("train_32x32.mat", "test_32x32.mat"):
        savemat(tmp_path / name, {"X": rng.integers(0, 256, (32, 32, 3, 5)).astype(np.uint8),
                                  "y": np.array([[10], [1], [2], [10], [9]])})
    d = load_svhn(tmp_path)
    assert d.y_train.tolist() == [0, 1, 2, 0, 9] and d.x_train.shape == (5, 3, 32, 32)


def test_unknown_and_unshipped_datasets():
    with pytest.raises(UserError, match="valid"):
        load_dataset("imagenet")
    with pytest.raises(UserError, match="data.path"):
        load_dataset("cifar10")
