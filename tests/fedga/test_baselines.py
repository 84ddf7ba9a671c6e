"""Baseline client objectives against independent computations."""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

from paperzoo.fedga.baselines import (
    AlgoConfig,
    climb_dual_step,
    climb_weights,
    cross_entropy,
    logit_calibrated_ce,
    not_true_distillation,
    ratio_loss_weights,
    restricted_softmax_ce,
)
from paperzoo.fedga.server import classification_metrics


def _data(seed=0, k=2, b=9, c=5):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(k, b, c, generator=g, dtype=torch.float64), torch.randint(0, c, (k, b), generator=g),
            torch.ones(k, b, dtype=torch.float64))


def test_cross_entropy_matches_torch_and_class_weights():
    z, y, m = _data()
    assert torch.allclose(cross_entropy(z, y, m), torch.stack([F.cross_entropy(z[i], y[i]) for i in range(2)]))
    w = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5], dtype=torch.float64)
    # torch's weighted CE with probability targets divides by B, as the authors' FedRL does
    ref = torch.stack([F.cross_entropy(z[i], F.one_hot(y[i], 5).double(), weight=w) for i in range(2)])
    assert torch.allclose(cross_entropy(z, y, m, w), ref)


def test_not_true_distillation_matches_kl_div_on_gathered_logits():
    z, y, m = _data(1)
    zg = torch.randn_like(z)
    tau = 2.0
    ours = not_true_distillation(z, zg, y, m, tau)
    for i in range(2):
        keep = ~F.one_hot(y[i], 5).bool()
        lq = (z[i][keep].view(-1, 4) / tau).log_softmax(-1)
        pg = (zg[i][keep].view(-1, 4) / tau).softmax(-1)
        assert torch.allclose(ours[i], F.kl_div(lq, pg, reduction="batchmean"))


def test_fedlc_offsets_and_missing_classes_get_no_gradient():
    z, y, m = _data(2)
    y[0] = torch.tensor([0, 1, 1, 0, 2, 0, 1, 2, 2])  # client 0 lacks classes 3, 4
    counts = torch.stack([torch.bincount(y[i], minlength=5) for i in range(2)]).double()
    zz = z.clone().requires_grad_(True)
    loss = logit_calibrated_ce(zz, y, m, counts, tau=0.7)
    loss.sum().backward()
    assert torch.all(zz.grad[0, :, 3:] == 0)
    cal = z[1] - 0.7 * counts[1].pow(-0.25)
    assert torch.allclose(loss[1], F.cross_entropy(cal, y[1]))
    cal0 = z[0, :, :3] - 0.7 * counts[0, :3].pow(-0.25)
    assert torch.allclose(loss[0], F.cross_entropy(cal0, y[0]))


def test_fedrs_scales_missing_logits():
    z, y, m = _data(3)
    y[0] = torch.tensor([0, 1, 1, 0, 2, 0, 1, 2, 2])
    counts = torch.stack([torch.bincount(y[i], minlength=5) for i in range(2)]).double()
    scaled = z[0].clone()
    scaled[:, 3:] *= 0.5
    assert torch.allclose(restricted_softmax_ce(z, y, m, counts, 0.5)[0], F.cross_entropy(scaled, y[0]))


def test_climb_weights_and_dual_step():
    lam = torch.tensor([1.0, 2.0, 0.0, 1.0], dtype=torch.float64)
    assert torch.allclose(climb_weights(lam), torch.tensor([1.0, 2.0, 0.0, 1.0], dtype=torch.float64))
    cfg = AlgoConfig(climb_lr_dual=2.0, climb_epsilon=0.1)
    losses = torch.tensor([1.0, 3.0, 2.0, 2.0], dtype=torch.float64)
    new = climb_dual_step(lam, losses, cfg)
    expected = (lam + 2.0 / 4 * ((losses - 2.0) - 0.1)).clamp(0, 100)
    assert torch.allclose(new, expected) and new.min() >= 0


def test_ratio_loss_weights_favour_the_underfit_class():
    c, h = 3, 4
    grads = torch.zeros(c, c, h)
    for k in range(c):
        grads[k, k] = -1.0  # own-class pull
        grads[k, (k + 1) % c] = 0.5  # push on one other class
    grads[2, 2] = -4.0  # class 2's sample pulls its neuron hardest: the global model under-fits class 2
    w = ratio_loss_weights(grads, AlgoConfig(fedrl_alpha=1.0, fedrl_beta=0.1))
    # Ra_c = (C-1) A[c,c] / sum_{k != c} A[k,c], A = sum |grad|
    a = grads.abs().sum(-1)
    ra = (c - 1) * a.diagonal() / (a.sum(0) - a.diagonal())
    assert torch.allclose(w, 1.0 + 0.1 * ra)
    assert w.argmax() == 2


def test_classification_metrics_against_sklearn():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (300,), generator=g)
    logits = torch.randn(300, 4, generator=g) + 2.0 * F.one_hot(labels, 4)
    logits[:, 3] -= 3.0  # class 3 rarely predicted
    probs = logits.softmax(-1)
    m = classification_metrics(probs, labels, 4)
    pred = probs.argmax(-1).numpy()
    assert np.isclose(m["acc"], (pred == labels.numpy()).mean())
    assert np.isclose(m["f1"], f1_score(labels.numpy(), pred, average="macro"))
    recalls = [(pred[labels.numpy() == c] == c).mean() for c in range(4)]
    assert np.allclose(m["per_class_acc"], recalls) and np.isclose(m["minclass_acc"], min(recalls))
