"""Building a federation from plain config: dataset (optionally subsampled) and client partition.

Both engines rebuild the same federation from the same ``FederationSpec`` (Flower's ClientApps do it inside
their Ray workers, so only this small spec travels, never the data)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch

from .baselines import AlgoConfig
from .client import LocalConfig
from .data import FedData, load_dataset
from .partition import naive_dirichlet, niid_dirichlet, shards

PARTITIONS = ("naive", "niid", "shards")


@dataclass
class DataConfig:
    """Dataset and partition. ``n_train``/``n_test`` > 0 keep a seeded random subset (smoke runs)."""

    dataset: str = "mnist"
    path: str | None = None
    partition: str = "naive"
    min_size: int = 10
    shards_per_client: int = 2
    n_train: int = 0
    n_test: int = 0

    def __post_init__(self):
        if self.partition not in PARTITIONS:
            raise ValueError(f"data.partition must be one of {', '.join(PARTITIONS)}, got {self.partition!r}")
        if self.n_train < 0 or self.n_test < 0:
            raise ValueError("data.n_train and data.n_test must be >= 0 (0 = the whole split)")


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
    rng = np.random.default_rng(seed)
    if cfg.partition == "naive":
        return naive_dirichlet(labels, n_clients, alpha, rng, n_classes)
    if cfg.partition == "niid":
        return niid_dirichlet(labels, n_clients, alpha, rng, cfg.min_size, n_classes)
    return shards(labels, n_clients, cfg.shards_per_client, rng)


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
