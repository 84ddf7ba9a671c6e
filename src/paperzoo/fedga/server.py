"""The server side of a federation, shared by both engines: client sampling, the algorithm's per-round payload
and aggregation, and evaluation on the global test set (accuracy, macro-F1, per-class accuracy and EA)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from paperzoo.core import metrics as M
from paperzoo.core import param

from .algorithm import Algorithm, Payload
from .client import ClientShard
from .data import FedData
from .losses import error_asymmetry
from .models import build_model


@dataclass
class FedConfig:
    """Federation: 100 clients, 10 sampled per round, unweighted mean of updates, global LR 1 (the protocol)."""

    n_clients: int = param(100, ge=1, doc="clients in the federation")
    clients_per_round: int = param(10, ge=1, doc="clients sampled uniformly (without replacement) per round")
    rounds: int = param(100, ge=1, doc="communication rounds (ignored with protocol=true: the authors' table)")
    server_lr: float = param(1.0, gt=0, doc="global learning rate on the mean client update")
    eval_every: int = param(1, ge=1, doc="evaluate on the global test set every N rounds (and at the last)")

    def __post_init__(self) -> None:
        if self.clients_per_round > self.n_clients:
            raise ValueError(f"fed.clients_per_round={self.clients_per_round} exceeds fed.n_clients="
                             f"{self.n_clients}")


def classification_metrics(probs: Tensor, labels: Tensor, n_classes: int, double_softmax_ea: bool = False) -> dict:
    """Accuracy, macro-F1 (over the classes present in ``labels``), per-class accuracy (recall, NaN for an absent
    class), worst-class accuracy, per-class EA (NaN for an absent class) and mean |log EA| over present classes."""
    from sklearn.metrics import f1_score

    y, pred = labels.numpy(), probs.argmax(-1).numpy()
    present = np.unique(y)
    recall = M.per_class_accuracy(y, pred, n_classes)
    ea = error_asymmetry(probs.double(), labels, n_classes, double_softmax=double_softmax_ea).numpy()
    ea_present = ea[present]
    return {
        "acc": M.accuracy(y, pred),
        "f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "per_class_acc": recall.tolist(),
        "minclass_acc": float(np.nanmin(recall)),
        "ea": ea.tolist(),
        "ea_logabs": float(np.abs(np.log(ea_present)).mean()),
    }


class Server:
    """Global model, client sampling and evaluation of one federated run of ``algo``."""

    def __init__(self, data: FedData, parts: list[np.ndarray], algo: Algorithm, fed: FedConfig, model_name: str,
                 seed: int, double_softmax_ea: bool = False, device: str = "cpu"):
        if len(parts) != fed.n_clients:
            raise ValueError(f"{len(parts)} partitions for n_clients={fed.n_clients}")
        self.data, self.parts, self.algo, self.fed, self.seed = data, parts, algo, fed, seed
        self.double_softmax_ea, self.device = double_softmax_ea, device
        torch.manual_seed(seed)
        self.model: nn.Module = build_model(model_name, data.in_shape, data.n_classes).to(device)
        self.state = {n: t.detach().clone() for n, t in self.model.state_dict().items()}
        self.x_train, self.y_train = data.x_train.to(device), data.y_train.to(device)
        self.x_test, self.y_test = data.x_test.to(device), data.y_test.to(device)
        self.owner = torch.from_numpy(np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)])).to(device)
        self.used = torch.from_numpy(np.concatenate(parts).astype(np.int64)).to(device)
        self._index = [torch.from_numpy(p.astype(np.int64)).to(device) for p in parts]
        self.round_times: list[float] = []
        self.history: list[dict] = []
        algo.setup(self)

    def shard(self, cid: int) -> ClientShard:
        """Client ``cid``'s rows of the shared training set (no copy)."""
        return ClientShard(cid, self.x_train, self.y_train, self._index[cid])

    def sample(self, rnd: int) -> list[int]:
        """Clients of round ``rnd``, uniformly without replacement, sorted by id."""
        g = torch.Generator().manual_seed(self.seed * 7919 + rnd)
        return sorted(torch.randperm(self.fed.n_clients, generator=g)[: self.fed.clients_per_round].tolist())

    def logits(self, state: dict[str, Tensor], x: Tensor, chunk: int = 4096) -> Tensor:
        self.model.eval()
        with torch.no_grad():
            out = [torch.func.functional_call(self.model, state, (x[i:i + chunk],)) for i in range(0, len(x), chunk)]
        self.model.train()
        return torch.cat(out) if out else torch.zeros(0, self.data.n_classes)

    def client_losses(self) -> Tensor:
        """Mean CE of every client's training data at the global model (N,), float64; 0 for an empty client."""
        z = self.logits(self.state, self.x_train[self.used])
        nll = F.cross_entropy(z, self.y_train[self.used], reduction="none").double()
        sums = torch.zeros(self.fed.n_clients, dtype=torch.float64, device=self.device).index_add_(0, self.owner, nll)
        return sums / torch.bincount(self.owner, minlength=self.fed.n_clients).clamp_min(1)

    def payload(self, rnd: int, selected: list[int]) -> Payload:
        return self.algo.payload(self, rnd, selected)

    def aggregate(self, rnd: int, client_states: dict[str, Tensor]) -> None:
        """The algorithm's server rule on the stacked (K, ...) client states of round ``rnd``."""
        self.state = self.algo.aggregate(self, client_states)
        self.round_times.append(time.perf_counter())

    def evaluate(self, rnd: int) -> dict:
        probs = self.logits(self.state, self.x_test).softmax(-1)
        m = classification_metrics(probs.cpu(), self.y_test.cpu(), self.data.n_classes, self.double_softmax_ea)
        m["round"] = rnd
        self.history.append(m)
        return m

    def rounds_per_s(self) -> float:
        """Steady-state speed: rounds per second between the first and the last aggregation (start-up excluded)."""
        t = self.round_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else float("nan")

    def due(self, rnd: int) -> bool:
        return rnd % self.fed.eval_every == 0 or rnd == self.fed.rounds
