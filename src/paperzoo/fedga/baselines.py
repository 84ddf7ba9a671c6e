"""Client objectives of FedGA and its baselines, batched over clients: logits (K, B, C), labels (K, B),
mask (K, B) of real samples. Each returns the per-client loss (K,); row weights are 1 / (real batch size).

fedavg  CE.
fedprox CE + mu/2 ||w - w_global||^2 (the proximal term is added in ``client.py``, it needs the weights).
fedntd  CE + beta KL(softmax(z_g~/tau) || softmax(z~/tau)) over the not-true classes (Lee et al. 2022).
climb   CE scaled by the client's dual weight 1 + lambda_k - mean(lambda) (Shen et al. 2022; no int cast).
fedrl   class-weighted CE, weights alpha + beta Ra_c from the server's gradient monitor (Wang et al. 2021).
fedlc   CE on z_c - tau n_c^(-1/4), n_c = client class counts; classes the client lacks leave the softmax.
fedrs   CE with the logits of classes the client lacks scaled by alpha (restricted softmax, Li & Zhan 2021).
fedga   ``losses.FedGALoss``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .losses import FedGALoss

ALGORITHMS = ("fedavg", "fedprox", "fedntd", "climb", "fedrl", "fedlc", "fedrs", "fedga")


@dataclass
class AlgoConfig:
    """Hyper-parameters of every algorithm (defaults: the spec / the authors' MNIST settings)."""

    fedprox_mu: float = 0.01
    fedntd_tau: float = 1.0
    fedntd_beta: float = 1.0
    climb_lr_dual: float = 2.0
    climb_epsilon: float = 0.01
    fedrl_alpha: float = 1.0
    fedrl_beta: float = 0.1
    fedlc_tau: float = 1.0
    fedrs_alpha: float = 0.5
    fedga_mode: str = "paper"

    def __post_init__(self):
        if self.fedga_mode not in ("paper", "aligned"):
            raise ValueError(f"fedga_mode must be 'paper' or 'aligned', got {self.fedga_mode!r}")
        for name in ("fedprox_mu", "climb_lr_dual", "climb_epsilon", "fedrl_beta", "fedlc_tau"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.fedntd_tau <= 0:
            raise ValueError(f"fedntd_tau must be > 0, got {self.fedntd_tau}")
        if not 0 <= self.fedrs_alpha <= 1:
            raise ValueError(f"fedrs_alpha must be in [0, 1], got {self.fedrs_alpha}")


def _row_weight(mask: Tensor) -> Tensor:
    return mask / mask.sum(dim=1, keepdim=True).clamp_min(1.0)


def cross_entropy(logits: Tensor, labels: Tensor, mask: Tensor, class_weight: Tensor | None = None) -> Tensor:
    """Mean CE per client; ``class_weight`` (C,) multiplies each sample by w_{y} (mean still over B, as torch's
    CE does with probability targets)."""
    nll = -torch.gather(logits.log_softmax(-1), -1, labels.unsqueeze(-1)).squeeze(-1)
    if class_weight is not None:
        nll = nll * class_weight[labels]
    # padding rows may carry a label whose logit is -inf (FedLC); they must contribute exactly nothing
    return (nll.masked_fill(mask == 0, 0.0) * _row_weight(mask)).sum(-1)


def not_true_distillation(logits: Tensor, global_logits: Tensor, labels: Tensor, mask: Tensor,
                          tau: float) -> Tensor:
    """KL(q_g || q) over the C-1 not-true classes at temperature tau, batch mean per client."""
    n_classes = logits.shape[-1]
    others = torch.arange(n_classes, device=logits.device).expand(n_classes, -1)
    others = others[~torch.eye(n_classes, dtype=torch.bool, device=logits.device)].view(n_classes, n_classes - 1)
    idx = others[labels]
    logq = (torch.gather(logits, -1, idx) / tau).log_softmax(-1)
    logq_g = (torch.gather(global_logits, -1, idx) / tau).log_softmax(-1)
    kl = (logq_g.exp() * (logq_g - logq)).sum(-1)
    return (kl * _row_weight(mask)).sum(-1)


def logit_calibrated_ce(logits: Tensor, labels: Tensor, mask: Tensor, client_counts: Tensor, tau: float) -> Tensor:
    """FedLC: CE on z_c - tau n_c^(-1/4); absent classes (n_c = 0, offset +inf) are removed from the softmax."""
    present = client_counts > 0
    offset = tau * client_counts.clamp_min(1.0).pow(-0.25)
    z = (logits - offset.unsqueeze(1)).masked_fill(~present.unsqueeze(1), float("-inf"))
    return cross_entropy(z, labels, mask)


def restricted_softmax_ce(logits: Tensor, labels: Tensor, mask: Tensor, client_counts: Tensor,
                          alpha: float) -> Tensor:
    """FedRS: logits of classes the client has no sample of are scaled by alpha before the CE."""
    scale = torch.where(client_counts > 0, 1.0, alpha).to(logits.dtype)
    return cross_entropy(logits * scale.unsqueeze(1), labels, mask)


def client_objective(algo: str, cfg: AlgoConfig, logits: Tensor, labels: Tensor, mask: Tensor, *,
                     client_counts: Tensor, global_logits: Tensor | None = None,
                     class_weight: Tensor | None = None, client_weight: Tensor | None = None) -> Tensor:
    """Per-client loss (K,) of ``algo`` (without FedProx's proximal term)."""
    if algo in ("fedavg", "fedprox"):
        return cross_entropy(logits, labels, mask)
    if algo == "fedga":
        return FedGALoss(cfg.fedga_mode)(logits, labels, mask)
    if algo == "fedntd":
        assert global_logits is not None, "fedntd needs the global model's logits"
        return cross_entropy(logits, labels, mask) + cfg.fedntd_beta * not_true_distillation(
            logits, global_logits, labels, mask, cfg.fedntd_tau)
    if algo == "climb":
        assert client_weight is not None, "climb needs the client dual weights"
        return client_weight * cross_entropy(logits, labels, mask)
    if algo == "fedrl":
        assert class_weight is not None, "fedrl needs the server's class weights"
        return cross_entropy(logits, labels, mask, class_weight)
    if algo == "fedlc":
        return logit_calibrated_ce(logits, labels, mask, client_counts, cfg.fedlc_tau)
    if algo == "fedrs":
        return restricted_softmax_ce(logits, labels, mask, client_counts, cfg.fedrs_alpha)
    raise ValueError(f"unknown algorithm {algo!r}; valid: {', '.join(ALGORITHMS)}")


def climb_weights(lambdas: Tensor) -> Tensor:
    """CLIMB's client weights 1 + lambda_k - mean(lambda), clamped at 0 (a negative weight would ascend)."""
    return (1.0 + lambdas - lambdas.mean()).clamp_min(0.0)


def climb_dual_step(lambdas: Tensor, client_losses: Tensor, cfg: AlgoConfig) -> Tensor:
    """lambda <- clip(lambda + lr_dual / N ((L_k - mean L) - epsilon), 0, 100) with L_k at the global model."""
    step = cfg.climb_lr_dual / len(lambdas) * ((client_losses - client_losses.mean()) - cfg.climb_epsilon)
    return (lambdas + step).clamp(0.0, 100.0)


def ratio_loss_weights(out_weight_grads: Tensor, cfg: AlgoConfig) -> Tensor:
    """FedRL class weights alpha + beta Ra_c from the output-layer gradients of one auxiliary sample per class.

    ``out_weight_grads[c]`` = dCE(x_c, c)/dW_out, shape (C, C, H). A[c, j] = sum |grad on output row j| from the
    class-c sample; Ra_c = (C - 1) A[c, c] / sum_{k != c} A[k, c]: how hard class c's own sample pulls its neuron
    relative to the push from the other classes (large for a class the global model under-fits).
    """
    a = out_weight_grads.abs().sum(-1)
    n = a.shape[0]
    own = a.diagonal()
    ra = (n - 1) * own / (a.sum(0) - own)
    ra = torch.nan_to_num(ra, nan=10.0, posinf=5000.0).clamp(max=5000.0)
    return cfg.fedrl_alpha + cfg.fedrl_beta * ra


def output_layer_grads(logits_fn, params: dict[str, Tensor], x_aux: Tensor, y_aux: Tensor, out_name: str) -> Tensor:
    """Per-sample gradient of CE w.r.t. the output weight ``params[out_name]`` for each aux sample: (C, C, H)."""
    grads = []
    for i in range(len(y_aux)):
        p = {n: t.detach().clone().requires_grad_(n == out_name) for n, t in params.items()}
        loss = F.cross_entropy(logits_fn(p, x_aux[i:i + 1]), y_aux[i:i + 1])
        grads.append(torch.autograd.grad(loss, p[out_name])[0])
    return torch.stack(grads)
