"""Models of the paper's protocol (MLP 784-128-C, LeNet, ResNet20) and their client-stacked forward.

A federation's client states are dicts ``name -> tensor with a leading client axis K`` (same names as the
model's ``state_dict``). ``stacked_forward`` evaluates K clients at once: a bmm for the MLP, a loop of
``torch.func.functional_call`` for the conv nets; ``mlp_forward``/``mlp_backward`` are the MLP's batched step
with its backward in closed form (no autograd graph over the K clients' large layers).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class MLP(nn.Module):
    """Flatten -> Linear(d, 128) -> ReLU -> Linear(128, C)."""

    def __init__(self, in_dim: int = 784, n_classes: int = 10, hidden: int = 128):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class LeNet(nn.Module):
    """LeNet-5 style: conv(6,5) pool conv(16,5) pool fc120 fc84 fcC."""

    def __init__(self, in_channels: int = 3, n_classes: int = 10, image_size: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        side = ((image_size - 4) // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.short = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.short(x))


class ResNet20(nn.Module):
    """CIFAR ResNet-20 (He et al. 2016): 3 stages x 3 basic blocks, 16/32/64 channels."""

    def __init__(self, in_channels: int = 3, n_classes: int = 10):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, c_in = [], 16
        for c_out, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(3):
                layers.append(_Block(c_in, c_out, stride if i == 0 else 1))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layers(F.relu(self.bn(self.conv(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build_model(name: str, in_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """Model by name ("mlp", "lenet", "resnet20") for inputs of shape (C, H, W) or (D,)."""
    if name == "mlp":
        d = 1
        for s in in_shape:
            d *= s
        return MLP(d, n_classes)
    if name == "lenet":
        return LeNet(in_shape[0], n_classes, in_shape[-1])
    if name == "resnet20":
        return ResNet20(in_shape[0], n_classes)
    raise ValueError(f"unknown model {name!r}; valid: mlp, lenet, resnet20")


def stack_states(states: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """[state_k] -> {name: (K, ...)}."""
    return {n: torch.stack([s[n] for s in states]) for n in states[0]}


def to_compute_layout(model: nn.Module, params: dict[str, Tensor]) -> dict[str, Tensor]:
    """Stacked MLP weights as (K, in, out): bmm then writes contiguous weight gradients (2x cheaper updates)."""
    if not isinstance(model, MLP):
        return params
    return {n: t.transpose(-1, -2).contiguous() if n.endswith("weight") else t for n, t in params.items()}


def from_compute_layout(model: nn.Module, params: dict[str, Tensor]) -> dict[str, Tensor]:
    """Inverse of ``to_compute_layout``: back to ``state_dict`` shapes."""
    return to_compute_layout(model, params)


def mlp_forward(params: dict[str, Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    """K stacked MLPs (compute layout) on x (K, B, ...): hidden h = relu(x W1 + b1) (K, B, H), logits h W2 + b2."""
    h = torch.baddbmm(params["fc1.bias"].unsqueeze(1), x.flatten(2), params["fc1.weight"]).relu_()
    return h, torch.baddbmm(params["fc2.bias"].unsqueeze(1), h, params["fc2.weight"])


def mlp_backward(params: dict[str, Tensor], x: Tensor, h: Tensor, dz: Tensor) -> dict[str, Tensor]:
    """Parameter gradients of K stacked MLPs from the logit gradient dz (K, B, C), in closed form:

        dW2 = h^T dz,  db2 = sum_b dz,  dh = (dz W2^T) * [h > 0],  dW1 = x^T dh,  db1 = sum_b dh

    (W in compute layout (K, in, out)). The same kernels, in the same order, as autograd's backward of
    ``mlp_forward`` (bmm with a transposed operand, threshold_backward, a sum over the batch), so the result is
    bit for bit autograd's (tested) without building a graph over the large layers.
    """
    dh = torch.ops.aten.threshold_backward(torch.bmm(dz, params["fc2.weight"].transpose(1, 2)), h, 0)
    return {"fc1.weight": torch.bmm(x.flatten(2).transpose(1, 2), dh), "fc1.bias": dh.sum(1),
            "fc2.weight": torch.bmm(h.transpose(1, 2), dz), "fc2.bias": dz.sum(1)}


def stacked_forward(model: nn.Module, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor,
                    mask: Tensor | None = None) -> Tensor:
    """Logits (K, B, C) of K client models with stacked ``params``/``buffers`` (compute layout) on x (K, B, ...).

    ``mask`` (K, B) marks real rows (a prefix of each client's batch); the conv nets see only those, so padding
    never enters BatchNorm statistics, and padding rows get logits 0.
    """
    if isinstance(model, MLP):
        return mlp_forward(params, x)[1]
    outs = []
    for k in range(x.shape[0]):
        n = x.shape[1] if mask is None else int(mask[k].sum())
        state = {name: t[k] for name, t in params.items()} | {name: t[k] for name, t in buffers.items()}
        out = torch.func.functional_call(model, state, (x[k, :n],)) if n else None
        if out is None or n < x.shape[1]:
            pad = torch.zeros(x.shape[1] - n, model_classes(model), dtype=x.dtype, device=x.device)
            out = pad if out is None else torch.cat([out, pad])
        outs.append(out)
    return torch.stack(outs)


def model_classes(model: nn.Module) -> int:
    """Number of output classes (the last linear layer's width)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
