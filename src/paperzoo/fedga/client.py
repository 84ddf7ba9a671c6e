"""Local training of K clients at once: the one client-update function both engines call.

The in-process engine passes the round's 10 sampled clients together; Flower's ClientApp passes one. Every
client's mini-batch order comes from its own generator seeded by (seed, round, client id), and each client's
rows of the batched computation are independent, so a client gets the same update either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .baselines import AlgoConfig, client_objective
from .models import from_compute_layout, stacked_forward, to_compute_layout


@dataclass
class LocalConfig:
    """Client optimiser: SGD (momentum 0), 2 local epochs of batch 64, gradient-norm clip 5 (the protocol)."""

    epochs: int = 2
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.0
    clip_norm: float = 5.0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass
class ClientShard:
    """One client's local data and id."""

    cid: int
    x: Tensor
    y: Tensor


@dataclass
class ServerPayload:
    """What the server sends with the global model besides the weights."""

    class_weight: Tensor | None = None  # fedrl
    client_weight: dict[int, float] = field(default_factory=dict)  # climb, by client id


def client_generator(seed: int, rnd: int, cid: int) -> torch.Generator:
    """The RNG of client ``cid`` in round ``rnd``; independent of which engine or batch runs it."""
    return torch.Generator().manual_seed(((seed * 1_000_003 + rnd) * 1_000_033 + cid) % (2**63 - 1))


def batch_plan(n: int, epochs: int, batch_size: int, gen: torch.Generator) -> list[Tensor]:
    """Index batches for ``epochs`` shuffled passes over n samples (last batch of an epoch may be short)."""
    plan = []
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        plan.extend(perm.split(batch_size))
    return plan


def train_clients(model: nn.Module, global_state: dict[str, Tensor], shards: list[ClientShard], rnd: int, seed: int,
                  algo: str, algo_cfg: AlgoConfig, local: LocalConfig, n_classes: int,
                  payload: ServerPayload | None = None) -> tuple[dict[str, Tensor], Tensor]:
    """Train len(shards) clients from ``global_state``; returns their stacked states (K, ...) and mean losses (K,)."""
    payload = payload or ServerPayload()
    k = len(shards)
    param_names = [n for n, _ in model.named_parameters()]
    global_params = to_compute_layout(model, {n: global_state[n].unsqueeze(0).expand(k, *global_state[n].shape)
                                              for n in param_names})
    params = {n: t.clone(memory_format=torch.contiguous_format).requires_grad_(True)
              for n, t in global_params.items()}
    buffers = {n: t.unsqueeze(0).repeat(k, *[1] * t.dim()).clone()
               for n, t in global_state.items() if n not in params}
    momentum_buf = {n: torch.zeros_like(p) for n, p in params.items()}

    plans = [batch_plan(len(s.y), local.epochs, local.batch_size, client_generator(seed, rnd, s.cid)) for s in shards]
    n_steps = max(len(p) for p in plans)
    device = shards[0].x.device
    sizes = torch.tensor([len(s.y) for s in shards])
    offsets = torch.cumsum(sizes, 0) - sizes
    x_all = torch.cat([s.x for s in shards])
    y_all = torch.cat([s.y for s in shards])
    counts = torch.stack([torch.bincount(s.y.cpu(), minlength=n_classes) for s in shards]).float()
    client_weight = None
    if algo == "climb":
        client_weight = torch.tensor([payload.client_weight.get(s.cid, 1.0) for s in shards])

    # index tensor (K, steps, B) into x_all; padding points at the client's first sample with mask 0
    idx = offsets.view(k, 1, 1).repeat(1, n_steps, local.batch_size)
    mask = torch.zeros(k, n_steps, local.batch_size)
    for i, plan in enumerate(plans):
        for s, b in enumerate(plan):
            idx[i, s, :len(b)] = offsets[i] + b
            mask[i, s, :len(b)] = 1.0
    active = (mask.sum(-1) > 0).float()
    idx, mask, active, counts = idx.to(device), mask.to(device), active.to(device), counts.to(device)
    if client_weight is not None:
        client_weight = client_weight.to(device)
    if payload.class_weight is not None:
        payload.class_weight = payload.class_weight.to(device)

    loss_sum = torch.zeros(k, device=device)
    for s in range(n_steps):
        x, y, m = x_all[idx[:, s]], y_all[idx[:, s]], mask[:, s]
        logits = stacked_forward(model, params, buffers, x)
        global_logits = None
        if algo == "fedntd":
            with torch.no_grad():
                global_logits = stacked_forward(model, global_params, buffers, x)
        loss = client_objective(algo, algo_cfg, logits, y, m, client_counts=counts, global_logits=global_logits,
                                class_weight=payload.class_weight, client_weight=client_weight)
        loss = loss * active[:, s]  # clients whose local data ran out sit this step out, exactly
        grads = torch.autograd.grad(loss.sum(), [params[n] for n in param_names])
        if algo == "fedprox":  # gradient of mu/2 ||w - w_global||^2, added in closed form
            grads = [g + algo_cfg.fedprox_mu * (params[n].detach() - global_params[n])
                     * active[:, s].view(-1, *[1] * (g.dim() - 1)) for n, g in zip(param_names, grads, strict=True)]
        norm = torch.stack([torch.linalg.vector_norm(g, dim=tuple(range(1, g.dim()))) for g in grads], 1).norm(dim=1)
        coef = (local.clip_norm / (norm + 1e-6)).clamp(max=1.0)  # torch's clip_grad_norm_, per client
        with torch.no_grad():
            for n, g in zip(param_names, grads, strict=True):
                shape = (-1, *[1] * (g.dim() - 1))
                if local.momentum:
                    # an idle client keeps its momentum buffer and weights untouched
                    on = active[:, s].view(shape)
                    g = momentum_buf[n].mul_(local.momentum * on + (1 - on)).add_(g * coef.view(shape)) * on
                    params[n].sub_(local.lr * g)
                else:
                    params[n].addcmul_(g, (-local.lr * coef).view(shape))
        loss_sum += loss.detach()
    state = from_compute_layout(model, {n: p.detach() for n, p in params.items()}) | buffers
    return state, loss_sum / active.sum(1).clamp_min(1.0)
