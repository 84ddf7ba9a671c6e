"""GCR against a hand computation with explicit loops (top-k, gating, aggregation), and its stop-gradient."""

import math

import numpy as np
import torch

from paperzoo.wsss.gcr import GraphCategoryRepresentation


def _leaky(x):
    return np.where(x > 0, x, 0.01 * x)


def _by_hand(g: GraphCategoryRepresentation, cls: np.ndarray, patches: np.ndarray) -> np.ndarray:
    W = {n: (getattr(g, n).weight.detach().double().numpy(), getattr(g, n).bias.detach().double().numpy())
         for n in ("head", "tail", "w1", "w2")}
    K, d = cls.shape
    nodes = np.concatenate([cls, patches])
    k = int(g.ratio * K)
    out = np.zeros_like(cls)
    for i in range(K):
        h = W["head"][0] @ cls[i] + W["head"][1]
        tails = [W["tail"][0] @ x + W["tail"][1] for x in nodes]
        scores = np.array([h @ e / math.sqrt(d) for e in tails])
        top = sorted(range(len(tails)), key=lambda j: -scores[j])[:k]
        p = np.exp(scores[top] - scores[top].max())
        p /= p.sum()
        gate_logits = []
        for pj, j in zip(p, top, strict=True):
            r = (1 - pj) * h + pj * tails[j]
            gate_logits.append(tails[j] @ np.tanh(h + r))
        a = np.exp(np.array(gate_logits) - max(gate_logits))
        a /= a.sum()
        n = sum(aj * tails[j] for aj, j in zip(a, top, strict=True))
        z = _leaky(W["w1"][0] @ (0.1 * (h + n) + cls[i]) + W["w1"][1]) + _leaky(
            W["w2"][0] @ (0.1 * (h * n) + cls[i]) + W["w2"][1])
        out[i] = (z - z.mean()) / np.sqrt(z.var() + 1e-5)  # LayerNorm with its initial weight 1, bias 0
    return out


def test_gcr_matches_a_hand_computation():
    torch.manual_seed(0)
    g = GraphCategoryRepresentation(dim=3, ratio=0.5).double()
    cls, patches = torch.randn(1, 4, 3, dtype=torch.float64), torch.randn(1, 5, 3, dtype=torch.float64)
    got = g(cls, patches)[0].detach().numpy()
    want = _by_hand(g, cls[0].numpy(), patches[0].numpy())
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_top_k_keeps_floor_ratio_times_k_neighbours_among_all_nodes():
    torch.manual_seed(1)
    g = GraphCategoryRepresentation(dim=4, ratio=0.5)
    cls, patches = torch.randn(2, 6, 4), torch.randn(2, 10, 4)
    _, picked, top, index = g.neighbours(cls, patches)
    assert picked.shape == (2, 6, 3, 4) and index.shape == (2, 6, 3)
    scores = (g.head(cls) @ g.tail(torch.cat([cls, patches], 1)).transpose(1, 2)) * g.scale
    assert torch.allclose(top, scores.sort(dim=-1, descending=True).values[..., :3])
    assert index.max() < 16  # indices range over class tokens and patches


def test_no_gradient_reaches_the_patch_tokens():
    torch.manual_seed(2)
    g = GraphCategoryRepresentation(dim=4)
    cls = torch.randn(1, 4, 4, requires_grad=True)
    patches = torch.randn(1, 8, 4, requires_grad=True)
    g(cls, patches).pow(2).sum().backward()
    assert patches.grad is None
    assert cls.grad is not None and cls.grad.abs().sum() > 0
