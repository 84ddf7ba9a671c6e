"""Building a federation from plain config: dataset (optionally subsampled), client partition, the protocol.

Both engines rebuild the same federation from the same ``FederationSpec`` (Flower's ClientApps do it inside
their own processes, on their own machines, so only this small spec travels, never the data)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch

from paperzoo.core import UserError, param

from .algorithm import AlgoConfig
from .client import LocalConfig
from .data import DATASETS, FedData, load_dataset
from .partition import naive_dirichlet, niid_dirichlet, shards

PARTITIONS = ("naive", "niid", "shards")

# the authors' protocol: dataset -> (model, {alpha: (client lr, rounds)})
PROTOCOL: dict[str, tuple[str, dict[float, tuple[float, int]]]] = {
    "mnist": ("mlp", {a: (0.1, 100) for a in (0.05, 0.1, 0.5, 1.0, 10.0)}),
    "fmnist": ("mlp", {a: (0.1, 100) for a in (0.05, 0.1, 0.5, 1.0, 10.0)}),
    "cifar10": ("lenet", {10.0: (0.1, 300), 1.0: (0.1, 300), 0.5: (0.1, 400), 0.1: (0.1, 400), 0.05: (0.1, 600)}),
    "svhn": ("lenet", {10.0: (0.3, 200), 1.0: (0.3, 200), 0.5: (0.3, 300), 0.1: (0.1, 600), 0.05: (0.1, 600)}),
    "cifar100": ("resnet20", {10.0: (0.1, 500), 1.0: (0.1, 500), 0.5: (0.1, 600), 0.1: (0.1, 700),
                              0.05: (0.1, 900)}),
    "tiny-imagenet": ("resnet20", {10.0: (0.3, 500), 1.0: (0.3, 500), 0.5: (0.3, 600), 0.1: (0.3, 900),
                                   0.05: (0.3, 1100)}),
}


@dataclass
class DataConfig:
    """Dataset and partition. ``n_train``/``n_test`` > 0 keep a seeded random subset (smoke runs)."""

    dataset: str = param("mnist", choices=DATASETS, doc="dataset (cifar*, svhn, tiny-imagenet need data.path)")
    path: str | None = param(None, path="exists", doc="the real dataset's file or folder (default: offline MNIST)")
    partition: str = param("naive", choices=PARTITIONS,
                           doc="naive (authors' Dirichlet), niid (NIID-Bench Dirichlet) or shards (McMahan)")
    min_size: int = param(10, ge=0, doc="niid: minimum samples per client")
    shards_per_client: int = param(2, ge=1, doc="shards: label-sorted shards per client")
    n_train: int = param(0, ge=0, doc="keep a seeded subset of this many training samples (0 = all)")
    n_test: int = param(0, ge=0, doc="keep a seeded subset of this many test samples (0 = all)")


def protocol(dataset: str, alpha: float) -> tuple[str, float, int]:
    """The authors' (model, client lr, rounds) for ``dataset`` at Dirichlet ``alpha``."""
    model, table = PROTOCOL.get(dataset, ("mlp", {}))
    if alpha not in table:
        valid = ", ".join(f"{a:g}" for a in sorted(table)) or "none (no protocol table for this dataset)"
        raise UserError(f"protocol=true: the authors' table has no alpha={alpha:g} for {dataset}; valid alphas: "
                        f"{valid}. Set protocol=false and fed.rounds / local.lr")
    lr, rounds = table[alpha]
    return model, lr, rounds


def load_federated_data(cfg: DataConfig) -> FedData:
    data = load_dataset(cfg.dataset, cfg.path)
    g = torch.Generator().manual_seed(12345)
    if 0 < cfg.n_train < len(data.y_train):
        keep = torch.randperm(len(data.y_train), generator=g)[: cfg.n_train].sort().values
        data.x_train, data.y_train = data.x_train[keep], data.y_train[keep]
    if 0 < cfg.n_test < len(data.y_test):
        keep = torch.randperm(len(data.y_test), generator=g)[: cfg.n_test].sort().values
        data.x_test, data.y_test = data.x_test[keep], data.y_test[keep]
    return data


def make_partition(labels: np.ndarray, cfg: DataConfig, n_clients: int, alpha: float, seed: int,
                   n_classes: int) -> list[np.ndarray]:
    """Client index arrays of the configured partition; an impossible one is a UserError naming the keys."""
    rng = np.random.default_rng(seed)
    try:
        if cfg.partition == "naive":
            return naive_dirichlet(labels, n_clients, alpha, rng, n_classes)
        if cfg.partition == "niid":
            return niid_dirichlet(labels, n_clients, alpha, rng, cfg.min_size, n_classes)
        return shards(labels, n_clients, cfg.shards_per_client, rng)
    except ValueError as exc:
        raise UserError(f"data.partition={cfg.partition} with fed.n_clients={n_clients} on {len(labels)} "
                        f"training samples: {exc}") from None


@dataclass
class FederationSpec:
    """Everything a client needs to rebuild its data and train: small, JSON-serialisable."""

    data: DataConfig = field(default_factory=DataConfig)
    n_clients: int = 100
    alpha: float = 0.5
    seed: int = 0
    model: str = "mlp"
    algo: str = "fedavg"
    algo_cfg: AlgoConfig = field(default_factory=AlgoConfig)
    local: LocalConfig = field(default_factory=LocalConfig)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> FederationSpec:
        d = json.loads(text)
        return FederationSpec(data=DataConfig(**d["data"]), n_clients=d["n_clients"], alpha=d["alpha"],
                              seed=d["seed"], model=d["model"], algo=d["algo"],
                              algo_cfg=AlgoConfig(**d["algo_cfg"]), local=LocalConfig(**d["local"]))


@lru_cache(maxsize=4)
def _cached_data(data_json: str) -> FedData:
    return load_federated_data(DataConfig(**json.loads(data_json)))


@lru_cache(maxsize=16)
def _cached_parts(data_json: str, n_clients: int, alpha: float, seed: int) -> tuple[np.ndarray, ...]:
    data = _cached_data(data_json)
    return tuple(make_partition(data.y_train.numpy(), DataConfig(**json.loads(data_json)), n_clients, alpha, seed,
                                data.n_classes))


def build(spec: FederationSpec) -> tuple[FedData, list[np.ndarray]]:
    """Data and partition of ``spec`` (cached per process: sweeps and Flower workers reuse them)."""
    data_json = json.dumps(asdict(spec.data), sort_keys=True)
    return _cached_data(data_json), list(_cached_parts(data_json, spec.n_clients, spec.alpha, spec.seed))


def build_server(spec: FederationSpec, fed, double_softmax_ea: bool = False, device: str = "cpu"):
    """The ``Server`` of ``spec`` under the federation config ``fed`` (both engines start from it)."""
    from .baselines import make_algorithm
    from .server import Server

    data, parts = build(spec)
    return Server(data, parts, make_algorithm(spec.algo, spec.algo_cfg), fed, spec.model, spec.seed,
                  double_softmax_ea, device)
