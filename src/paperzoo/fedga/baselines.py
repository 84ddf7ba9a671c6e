"""The baselines of the paper, each a few hooks over ``algorithm.Algorithm`` (FedAvg):

fedprox  CE + mu/2 ||w - w_global||^2; its gradient mu (w - w_global) is added in closed form (Li et al. 2020).
fedntd   CE + beta KL(softmax(z_g~/tau) || softmax(z~/tau)) over the not-true classes (Lee et al. 2022).
climb    CE scaled by the client's dual weight 1 + lambda_k - mean(lambda); after each round
         lambda <- clip(lambda + lr_dual/N ((L_k - mean L) - epsilon), 0, 100), L_k at the global model
         (Shen et al. 2022; no integer cast of the weights).
fedrl    class-weighted CE, weights alpha + beta Ra_c from the server's gradient monitor (Wang et al. 2021).
fedlc    CE on z_c - tau n_c^(-1/4), n_c = client class counts; classes the client lacks leave the softmax.
fedrs    CE with the logits of classes the client lacks scaled by alpha (restricted softmax, Li & Zhan 2021).

Shapes as in ``algorithm``: logits (K, B, C), labels (K, B), mask (K, B); losses per client (K,).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from paperzoo.core import UserError

from .algorithm import AlgoConfig, Algorithm, FedGA, Payload, _row_weight, cross_entropy

if TYPE_CHECKING:
    from .server import Server


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


class FedProx(Algorithm):
    name = "fedprox"

    def extra_grad(self, param: Tensor, global_param: Tensor) -> Tensor:
        return self.cfg.fedprox_mu * (param - global_param)


class FedNTD(Algorithm):
    name = "fedntd"
    needs_global_logits = True

    def objective(self, logits: Tensor, labels: Tensor, mask: Tensor, inputs: dict[str, Tensor]) -> Tensor:
        ntd = not_true_distillation(logits, inputs["global_logits"], labels, mask, self.cfg.fedntd_tau)
        return cross_entropy(logits, labels, mask) + self.cfg.fedntd_beta * ntd


class CLIMB(Algorithm):
    name = "climb"

    def setup(self, server: Server) -> None:
        self.lambdas = torch.ones(server.fed.n_clients, dtype=torch.float64, device=server.device)

    def payload(self, server: Server, rnd: int, selected: list[int]) -> Payload:
        weights = climb_weights(self.lambdas)
        self.losses = server.client_losses()  # at the global model the clients start from
        return Payload(per_client={c: {"weight": float(weights[c])} for c in selected})

    def aggregate(self, server: Server, client_states: dict[str, Tensor]) -> dict[str, Tensor]:
        new = super().aggregate(server, client_states)
        self.lambdas = climb_dual_step(self.lambdas, self.losses, self.cfg)
        return new

    def client_inputs(self, payload: Payload, cids: list[int], counts: Tensor) -> dict[str, Tensor]:
        weight = torch.tensor([payload.per_client.get(c, {}).get("weight", 1.0) for c in cids], device=counts.device)
        return {"counts": counts, "client_weight": weight}

    def objective(self, logits: Tensor, labels: Tensor, mask: Tensor, inputs: dict[str, Tensor]) -> Tensor:
        return inputs["client_weight"] * cross_entropy(logits, labels, mask)


class FedRL(Algorithm):
    name = "fedrl"

    def payload(self, server: Server, rnd: int, selected: list[int]) -> Payload:
        return Payload(shared={"class_weight": self.class_weights(server)})

    def class_weights(self, server: Server) -> Tensor:
        """The monitor: one auxiliary training sample per class (fixed draw), output-layer gradients at w."""
        g = np.random.default_rng(123)
        pool = server.used.cpu().numpy() if len(server.used) else np.arange(len(server.y_train))  # all unused: any
        used = pool[g.permutation(len(pool))]
        labels = server.data.y_train[used].numpy()
        picks = [used[np.flatnonzero(labels == c)[0]] if (labels == c).any() else used[0]
                 for c in range(server.data.n_classes)]
        x_aux = server.x_train[torch.as_tensor(picks, device=server.x_train.device)]
        y_aux = torch.arange(server.data.n_classes, device=x_aux.device)
        names = dict(server.model.named_parameters())
        out_name = [n for n, p in names.items() if p.dim() == 2][-1]
        buffers = {n: t for n, t in server.state.items() if n not in names}
        params = {n: server.state[n] for n in names}

        def logits_fn(p, x):
            return torch.func.functional_call(server.model, p | {n: b.clone() for n, b in buffers.items()}, (x,))

        return ratio_loss_weights(output_layer_grads(logits_fn, params, x_aux, y_aux, out_name), self.cfg).float()

    def client_inputs(self, payload: Payload, cids: list[int], counts: Tensor) -> dict[str, Tensor]:
        return {"counts": counts, "class_weight": payload.shared["class_weight"].to(counts.device)}

    def objective(self, logits: Tensor, labels: Tensor, mask: Tensor, inputs: dict[str, Tensor]) -> Tensor:
        return cross_entropy(logits, labels, mask, inputs["class_weight"])


class FedLC(Algorithm):
    name = "fedlc"

    def objective(self, logits: Tensor, labels: Tensor, mask: Tensor, inputs: dict[str, Tensor]) -> Tensor:
        return logit_calibrated_ce(logits, labels, mask, inputs["counts"], self.cfg.fedlc_tau)


class FedRS(Algorithm):
    name = "fedrs"

    def objective(self, logits: Tensor, labels: Tensor, mask: Tensor, inputs: dict[str, Tensor]) -> Tensor:
        return restricted_softmax_ce(logits, labels, mask, inputs["counts"], self.cfg.fedrs_alpha)


# every algorithm by name, in the order the report lists them
ALGORITHMS: dict[str, type[Algorithm]] = {
    cls.name: cls for cls in (Algorithm, FedProx, FedNTD, CLIMB, FedRL, FedLC, FedRS, FedGA)}


def make_algorithm(name: str, cfg: AlgoConfig | None = None) -> Algorithm:
    """A fresh instance of the algorithm ``name``."""
    if name not in ALGORITHMS:
        raise UserError(f"unknown algorithm {name!r}; valid: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name](cfg)
