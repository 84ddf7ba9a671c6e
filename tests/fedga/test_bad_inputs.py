"""Bad input exits 2 with a message naming the file or key, no traceback, no results (issue 10, deliverable 6)."""

import gzip
import pickle

import numpy as np
import pytest

SMOKE = ["--preset", "smoke", "--set", "fed.n_clients=4", "--set", "fed.clients_per_round=2", "--set",
         "fed.rounds=1", "--set", "sweep.alphas=[1.0]", "--set", "sweep.algorithms=fedavg,fedga"]




def _gz_pickle(path, obj):
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)
    return path


def _mnist(n=(40, 10, 20), label_shape=None, labels_max=10, n_labels=None):
    rng = np.random.default_rng(0)

    def split(k):
        y = rng.integers(0, labels_max, n_labels or k if label_shape is None else label_shape).astype(np.int64)
        return rng.random((k, 784), dtype=np.float32), y
    return tuple(split(k) for k in n)


def _idx(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def _fmnist(folder, n_train_labels=6):
    folder.mkdir()
    _idx(folder / "train-images-idx3-ubyte.gz", np.zeros((6, 28, 28)))
    _idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(n_train_labels))
    _idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28)))
    _idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(3))
    return folder


def _cifar(folder, batch):
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def _svhn(folder, x_shape=(32, 32, 3, 4), y=(1, 2, 10, 5), files=("train_32x32.mat", "test_32x32.mat")):
    from scipy.io import savemat

    folder.mkdir()
    for name in files:
        savemat(folder / name, {"X": np.zeros(x_shape, np.uint8), "y": np.array(y).reshape(-1, 1)})
    return folder


def _tiny(folder, annotation="val_0.JPEG\tn01", bad_image=False, train_images=True):
    from PIL import Image

    (folder / "val" / "images").mkdir(parents=True)
    (folder / "wnids.txt").write_text("n01\nn02\n")
    for w in ("n01", "n02"):
        (folder / "train" / w / "images").mkdir(parents=True)
        if train_images:
            Image.new("RGB", (64, 64)).save(folder / "train" / w / "images" / f"{w}_0.JPEG")
    (folder / "val" / "val_annotations.txt").write_text(annotation + "\t0\t0\t64\t64\n")
    if bad_image:
        (folder / "val" / "images" / "val_0.JPEG").write_bytes(b"not a jpeg at all")
    else:
        Image.new("RGB", (64, 64)).save(folder / "val" / "images" / "val_0.JPEG")
    return folder


NONSENSE_DTYPE = b"\x80\x02cnumpy\ndtype\nq\x00X\x08\x00\x00\x00nonsenseq\x01\x85q\x02Rq\x03."

DATA_CASES = {
    "gz that is not gzip": ("mnist", lambda t: (t / "mnist.pkl.gz").write_bytes(b"plain bytes") and t / "mnist.pkl.gz",
                            "not a readable gzip file"),
    "pickle calling numpy.dtype('nonsense')": (
        "mnist", lambda t: (gzip.open(t / "m.pkl.gz", "wb").write(NONSENSE_DTYPE), t / "m.pkl.gz")[1],
        "not a readable data pickle"),
    "mnist of the wrong structure": ("mnist", lambda t: _gz_pickle(t / "m.pkl.gz", {"x": 1}), "not the MNIST pickle"),
    "labels of the wrong shape": ("mnist", lambda t: _gz_pickle(t / "m.pkl.gz", _mnist(label_shape=(10, 2))),
                                  "1-D array of integers"),
    "labels out of range": ("mnist", lambda t: _gz_pickle(t / "m.pkl.gz", _mnist(labels_max=12)), "[0, 10)"),
    "image/label count mismatch": ("mnist", lambda t: _gz_pickle(t / "m.pkl.gz", _mnist(n_labels=7)),
                                   "50 images but 14 labels"),
    "idx label count mismatch": ("fmnist", lambda t: _fmnist(t / "f", n_train_labels=5), "6 images but 5 labels"),
    "cifar pickle that is a list": ("cifar10", lambda t: _cifar(t / "c", [1, 2, 3]), "not a CIFAR batch"),
    "cifar batch without labels": ("cifar10", lambda t: _cifar(t / "c", {b"data": np.zeros((2, 3072), np.uint8)}),
                                   "needs keys 'data' and 'labels'"),
    "cifar images of the wrong size": (
        "cifar10", lambda t: _cifar(t / "c", {b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}),
        "(n, 3072)"),
    "cifar labels out of range": (
        "cifar10", lambda t: _cifar(t / "c", {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}),
        "[0, 10)"),
    "svhn folder without the test split": ("svhn", lambda t: _svhn(t / "s", files=("train_32x32.mat",)),
                                           "test_32x32.mat"),
    "svhn images of the wrong shape": ("svhn", lambda t: _svhn(t / "s", x_shape=(28, 28, 3, 4)), "X must be"),
    "svhn labels out of range": ("svhn", lambda t: _svhn(t / "s", y=(0, 1, 2, 3)), "y must hold"),
    "svhn file that is not a .mat": ("svhn", lambda t: ((t / "s").mkdir(), (t / "s" / "train_32x32.mat").write_text(
        "text"), t / "s")[2], "not a readable MATLAB"),
    "tiny-imagenet without wnids.txt": ("tiny-imagenet", lambda t: (t / "ti").mkdir() or t / "ti", "no wnids.txt"),
    "tiny-imagenet class without images": ("tiny-imagenet", lambda t: _tiny(t / "ti", train_images=False),
                                           "holds no *.JPEG"),
    "tiny-imagenet unknown wnid": ("tiny-imagenet", lambda t: _tiny(t / "ti", annotation="val_0.JPEG\tn99"),
                                   "line 1"),
    "tiny-imagenet corrupt image": ("tiny-imagenet", lambda t: _tiny(t / "ti", bad_image=True),
                                    "not a readable image"),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data_files_exit_2_naming_the_file(paperzoo_cli, tmp_path, case):
    dataset, make, needle = DATA_CASES[case]
    path = make(tmp_path)
    out = tmp_path / "run"
    code, text = paperzoo_cli("run", "fedga", *SMOKE, "--set", f"data.dataset={dataset}",
                              "--set", f"data.path={path}", "--out", str(out))
    assert code == 2, text
    assert needle in text and "Traceback" not in text
    assert str(path.name) in text or str(path) in text
    assert not (out / "metrics.json").exists() and not (out / "report.md").exists()


CONFIG_CASES = {
    "fed.rounds=0": (["fed.rounds=0"], "'fed.rounds' = 0 must be >= 1"),
    "local.lr=nan": (["local.lr=nan"], "'local.lr' = nan must be a finite number"),
    "negative alpha": (["sweep.alphas=[-1]"], "'sweep.alphas' = (-1.0,) must be > 0"),
    "no seeds": (["seeds=[]"], "'seeds' = [] must not be empty"),
    "repeated seeds": (["seeds=[1,1]"], "seeds must be distinct"),
    "more sampled than clients": (["fed.clients_per_round=200"], "exceeds fed.n_clients"),
    "missing data path": (["data.path=/no/such/dataset"], "'data.path' = '/no/such/dataset' must be an existing"),
    "unknown algorithm": (["sweep.algorithms=fedx"], "must be one of 'fedavg'"),
    "unknown engine": (["engine=spark"], "'engine' = 'spark' must be one of 'inprocess', 'flower'"),
    "protocol without the alpha": (["protocol=true", "sweep.alphas=[0.3]", "data.dataset=mnist"],
                                   "no alpha=0.3 for mnist; valid alphas: 0.05, 0.1, 0.5, 1, 10"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_values_exit_2_before_any_data_is_loaded(paperzoo_cli, monkeypatch, tmp_path, case):
    import paperzoo.fedga.federation as federation

    def never(*args, **kwargs):
        raise AssertionError("a dataset was loaded for an invalid config")

    monkeypatch.setattr(federation, "load_dataset", never)
    sets, needle = CONFIG_CASES[case]
    out = tmp_path / "run"
    code, text = paperzoo_cli("run", "fedga", "--preset", "smoke",
                              *[a for s in sets for a in ("--set", s)], "--out", str(out))
    assert code == 2, text
    assert needle in text and "Traceback" not in text
    assert not out.exists()


def test_a_small_dataset_that_leaves_clients_without_data_trains(paperzoo_cli, tmp_path):
    """30 training samples for 20 clients: several get none; they sit their rounds out, the run finishes."""
    path = _gz_pickle(tmp_path / "tiny.pkl.gz", _mnist(n=(20, 10, 30)))
    out = tmp_path / "run"
    code, text = paperzoo_cli("run", "fedga", "--preset", "smoke", "--set", "data.dataset=mnist",
                              "--set", f"data.path={path}", "--set", "fed.n_clients=20",
                              "--set", "fed.clients_per_round=8", "--set", "sweep.alphas=[0.1]", "--set", "seeds=[0]",
                              "--out", str(out))
    assert code == 0, text
    import json

    record = json.loads((out / "metrics.json").read_text())
    partitions = json.loads((out / "report.json").read_text())["tables"]["partitions"]
    assert partitions["rows"][0][-1] > 0  # empty clients
    assert all(np.isfinite(v) for k, v in record["metrics"].items() if k.startswith(("acc.", "f1.")))
