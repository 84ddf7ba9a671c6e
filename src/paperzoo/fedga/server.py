"""The server side of a federation, shared by both engines: client sampling, the per-round payload
(CLIMB duals, FedRL class weights), unweighted update averaging, and evaluation on the global test set."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .baselines import ALGORITHMS, AlgoConfig, climb_dual_step, climb_weights, output_layer_grads, ratio_loss_weights
from .client import ClientShard, ServerPayload
from .data import FedData
from .losses import error_asymmetry
from .models import build_model


@dataclass
class FedConfig:
    """Federation: 100 clients, 10 sampled per round, unweighted mean of updates, global LR 1 (the protocol)."""

    n_clients: int = 100
    clients_per_round: int = 10
    rounds: int = 100
    server_lr: float = 1.0
    eval_every: int = 1

    def __post_init__(self):
        if not 1 <= self.clients_per_round <= self.n_clients:
            raise ValueError(f"clients_per_round must be in [1, n_clients={self.n_clients}], "
                             f"got {self.clients_per_round}")
        if self.rounds < 0 or self.eval_every < 1:  # rounds 0: the experiment takes them from the protocol table
            raise ValueError(f"rounds must be >= 0 and eval_every >= 1, got {self.rounds}, {self.eval_every}")


def classification_metrics(probs: Tensor, labels: Tensor, n_classes: int, double_softmax_ea: bool = False) -> dict:
    """Accuracy, macro-F1, per-class accuracy (recall), per-class EA and mean |log EA| of predicted probabilities."""
    pred = probs.argmax(-1)
    conf = torch.bincount(labels * n_classes + pred, minlength=n_classes * n_classes).view(n_classes, n_classes)
    conf = conf.double()
    tp = conf.diagonal()
    support, predicted = conf.sum(1), conf.sum(0)
    recall = torch.where(support > 0, tp / support.clamp_min(1), torch.nan)
    precision = torch.where(predicted > 0, tp / predicted.clamp_min(1), 0.0)
    f1 = torch.where(precision + recall.nan_to_num(0) > 0,
                     2 * precision * recall / (precision + recall), 0.0).nan_to_num(0)
    present = support > 0
    ea = error_asymmetry(probs.double(), labels, n_classes, double_softmax=double_softmax_ea)
    return {
        "acc": float(tp.sum() / conf.sum()),
        "f1": float(f1[present].mean()),
        "per_class_acc": recall.tolist(),
        "minclass_acc": float(recall[present].min()),
        "ea": ea.tolist(),
        "ea_logabs": float(ea[present].log().abs().mean()),
    }


class Server:
    """Global model and server rules of one federated run of ``algo``."""

    def __init__(self, data: FedData, parts: list[np.ndarray], algo: str, algo_cfg: AlgoConfig, fed: FedConfig,
                 model_name: str, seed: int, double_softmax_ea: bool = False, device: str = "cpu"):
        if algo not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {algo!r}; valid: {', '.join(ALGORITHMS)}")
        if len(parts) != fed.n_clients:
            raise ValueError(f"{len(parts)} partitions for n_clients={fed.n_clients}")
        self.data, self.parts, self.algo, self.algo_cfg, self.fed, self.seed = data, parts, algo, algo_cfg, fed, seed
        self.double_softmax_ea = double_softmax_ea
        torch.manual_seed(seed)
        self.model: nn.Module = build_model(model_name, data.in_shape, data.n_classes).to(device)
        self.state = {n: t.detach().clone() for n, t in self.model.state_dict().items()}
        self.x_train, self.y_train = data.x_train.to(device), data.y_train.to(device)
        self.x_test, self.y_test = data.x_test.to(device), data.y_test.to(device)
        self.lambdas = torch.ones(fed.n_clients, dtype=torch.float64, device=device)
        self._owner = torch.from_numpy(np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)])).to(device)
        self._used = torch.from_numpy(np.concatenate(parts)).to(device)
        self.round_times: list[float] = []
        self.history: list[dict] = []

    def shard(self, cid: int) -> ClientShard:
        idx = torch.from_numpy(self.parts[cid]).to(self.x_train.device)
        return ClientShard(cid, self.x_train[idx], self.y_train[idx])

    def sample(self, rnd: int) -> list[int]:
        """Clients of round ``rnd``, uniformly without replacement, sorted by id."""
        g = torch.Generator().manual_seed(self.seed * 7919 + rnd)
        return sorted(torch.randperm(self.fed.n_clients, generator=g)[: self.fed.clients_per_round].tolist())

    def logits(self, state: dict[str, Tensor], x: Tensor, chunk: int = 4096) -> Tensor:
        self.model.eval()
        with torch.no_grad():
            out = [torch.func.functional_call(self.model, state, (x[i:i + chunk],)) for i in range(0, len(x), chunk)]
        self.model.train()
        return torch.cat(out)

    def payload(self, rnd: int, selected: list[int]) -> ServerPayload:
        """Per-round extras: CLIMB client weights (and the all-client losses for its dual step); FedRL weights."""
        payload = ServerPayload()
        if self.algo == "climb":
            weights = climb_weights(self.lambdas)
            payload.client_weight = {c: float(weights[c]) for c in selected}
            z = self.logits(self.state, self.x_train[self._used])
            nll = F.cross_entropy(z, self.y_train[self._used], reduction="none").double()
            sums = torch.zeros_like(self.lambdas).index_add_(0, self._owner, nll)
            self._climb_losses = sums / torch.bincount(self._owner, minlength=self.fed.n_clients).clamp_min(1)
        if self.algo == "fedrl":
            payload.class_weight = self.fedrl_class_weights()
        return payload

    def fedrl_class_weights(self) -> Tensor:
        g = np.random.default_rng(123)
        used = self._used.cpu().numpy()[g.permutation(len(self._used))]
        labels = self.data.y_train[used].numpy()
        picks = [used[np.flatnonzero(labels == c)[0]] if (labels == c).any() else used[0]
                 for c in range(self.data.n_classes)]
        x_aux = self.x_train[torch.as_tensor(picks, device=self.x_train.device)]
        y_aux = torch.arange(self.data.n_classes, device=x_aux.device)
        out_name = [n for n, p in self.model.named_parameters() if p.dim() == 2][-1]
        buffers = {n: t for n, t in self.state.items() if n not in dict(self.model.named_parameters())}
        params = {n: self.state[n] for n, _ in self.model.named_parameters()}

        def logits_fn(p, x):
            return torch.func.functional_call(self.model, p | {n: b.clone() for n, b in buffers.items()}, (x,))

        return ratio_loss_weights(output_layer_grads(logits_fn, params, x_aux, y_aux, out_name), self.algo_cfg).float()

    def aggregate(self, rnd: int, client_states: dict[str, Tensor]) -> None:
        """state <- state + server_lr * mean_k(state_k - state) over the stacked (K, ...) client states."""
        new = {}
        for n, g in self.state.items():
            s = client_states[n]
            if not torch.is_floating_point(g):
                new[n] = s.max(0).values
                continue
            new[n] = g + self.fed.server_lr * (s - g).mean(0)
        self.state = new
        self.round_times.append(time.perf_counter())
        if self.algo == "climb":
            self.lambdas = climb_dual_step(self.lambdas, self._climb_losses, self.algo_cfg)

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
