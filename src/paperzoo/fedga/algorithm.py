"""A federated algorithm as one FedAvg-like class with small hooks; FedGA and every baseline override a few.

One round, the same on both engines (in-process and Flower):

    server:    payload = algo.payload(server, rnd, selected)            per-round extras (CLIMB, FedRL)
    client k:  w_k = SGD from w on  algo.objective(z, y, mask, inputs)  (+ algo.extra_grad: FedProx)
               inputs = algo.client_inputs(payload, cids, counts)       per-client constants, stacked over k
    server:    w <- algo.aggregate(server, {w_k})                       FedAvg: w + eta_g (1/K) sum_k (w_k - w)

FedAvg (McMahan et al. 2017) with the FedGA protocol's server: the *unweighted* mean of the K client updates,
global learning rate eta_g. Tensors carry a leading client axis K: logits (K, B, C), labels (K, B), mask (K, B)
with 1 for real samples; ``objective`` returns the per-client loss (K,).

FedGA (this paper) changes only the local objective: ``losses.FedGALoss`` (label calibration by the batch's
class counts). Server-side state lives on the server's instance (CLIMB's duals); a client-side instance (a
Flower ClientApp) is built from the same config and never holds state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from paperzoo.core import param

from .losses import FedGALoss

if TYPE_CHECKING:
    from .server import Server


@dataclass
class AlgoConfig:
    """Hyper-parameters of every algorithm (defaults: the spec / the authors' MNIST settings)."""

    fedprox_mu: float = param(0.01, ge=0, doc="FedProx proximal weight mu in mu/2 ||w - w_global||^2")
    fedntd_tau: float = param(1.0, gt=0, doc="FedNTD distillation temperature")
    fedntd_beta: float = param(1.0, ge=0, doc="FedNTD weight of the not-true distillation term")
    climb_lr_dual: float = param(2.0, ge=0, doc="CLIMB dual learning rate")
    climb_epsilon: float = param(0.01, ge=0, doc="CLIMB tolerance epsilon of the loss constraint")
    fedrl_alpha: float = param(1.0, ge=0, doc="FedRL class weight alpha + beta Ra_c: alpha")
    fedrl_beta: float = param(0.1, ge=0, doc="FedRL class weight alpha + beta Ra_c: beta")
    fedlc_tau: float = param(1.0, ge=0, doc="FedLC calibration strength tau in z_c - tau n_c^(-1/4)")
    fedrs_alpha: float = param(0.5, ge=0, le=1, doc="FedRS scale of the logits of classes a client lacks")
    fedga_mode: str = param("paper", choices=("paper", "aligned"),
                            doc="FedGA gradient: 'paper' (authors' soft-target CE) or 'aligned' (exact p - t)")


@dataclass
class Payload:
    """What the server sends with the global weights: tensors shared by every client, numbers per client id."""

    shared: dict[str, Tensor] = field(default_factory=dict)
    per_client: dict[int, dict[str, float]] = field(default_factory=dict)


def _row_weight(mask: Tensor) -> Tensor:
    return mask / mask.sum(dim=1, keepdim=True).clamp_min(1.0)


def cross_entropy(logits: Tensor, labels: Tensor, mask: Tensor, class_weight: Tensor | None = None) -> Tensor:
    """Mean CE per client (K,); ``class_weight`` (C,) multiplies each sample by w_y (the mean stays over B, as
    torch's CE does with probability targets)."""
    nll = -torch.gather(logits.log_softmax(-1), -1, labels.unsqueeze(-1)).squeeze(-1)
    if class_weight is not None:
        nll = nll * class_weight[labels]
    # padding rows may carry a label whose logit is -inf (FedLC); they must contribute exactly nothing
    return (nll.masked_fill(mask == 0, 0.0) * _row_weight(mask)).sum(-1)


class Algorithm:
    """FedAvg; the base of every algorithm. Override the hooks that differ, nothing else."""

    name: ClassVar[str] = "fedavg"
    needs_global_logits: ClassVar[bool] = False  # inputs["global_logits"]: the global model on the batch

    def __init__(self, cfg: AlgoConfig | None = None) -> None:
        self.cfg = cfg or AlgoConfig()

    # ---- server side -------------------------------------------------------------------------------------
    def setup(self, server: Server) -> None:
        """Create the server state of a run (nothing for FedAvg)."""

    def payload(self, server: Server, rnd: int, selected: list[int]) -> Payload:
        """Extras sent to the round's clients (nothing for FedAvg)."""
        return Payload()

    def aggregate(self, server: Server, client_states: dict[str, Tensor]) -> dict[str, Tensor]:
        """w <- w + eta_g * mean_k(w_k - w) over the stacked (K, ...) client states (integer buffers: max)."""
        new = {}
        for n, g in server.state.items():
            s = client_states[n]
            new[n] = s.max(0).values if not torch.is_floating_point(g) else g + server.fed.server_lr * (s - g).mean(0)
        return new

    # ---- client side -------------------------------------------------------------------------------------
    def client_inputs(self, payload: Payload, cids: list[int], counts: Tensor) -> dict[str, Tensor]:
        """Per-client constants of a local run, stacked over the K clients; ``counts`` (K, C) class counts."""
        return {"counts": counts}

    def objective(self, logits: Tensor, labels: Tensor, mask: Tensor, inputs: dict[str, Tensor]) -> Tensor:
        """Per-client local loss (K,) on one mini-batch."""
        return cross_entropy(logits, labels, mask)

    def extra_grad(self, param: Tensor, global_param: Tensor) -> Tensor | None:
        """A closed-form gradient term added to the loss gradient of each parameter (None: nothing)."""
        return None


class FedGA(Algorithm):
    """FedGA: FedAvg with the label-calibrated local loss ``losses.FedGALoss`` (gradient alignment)."""

    name = "fedga"

    def __init__(self, cfg: AlgoConfig | None = None) -> None:
        super().__init__(cfg)
        self.loss = FedGALoss(self.cfg.fedga_mode)

    def objective(self, logits: Tensor, labels: Tensor, mask: Tensor, inputs: dict[str, Tensor]) -> Tensor:
        return self.loss(logits, labels, mask)
