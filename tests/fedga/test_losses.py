"""FedGA gradients against their closed forms and finite differences; EA against hand computations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paperzoo.fedga.losses import FedGALoss, batch_counts, calibrated_target, error_asymmetry


def _batch(missing: bool, seed: int = 0, b: int = 12, c: int = 6):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(1, b, c, generator=g, dtype=torch.float64)
    pool = torch.tensor([0, 2, 3]) if missing else torch.arange(c)
    labels = pool[torch.randint(0, len(pool), (1, b), generator=g)]
    labels[0, :len(pool)] = pool  # every pooled class present at least once
    return logits, labels, torch.ones(1, b, dtype=torch.float64)


def _fixed_target_loss(z, t, b):
    return -(t * z.log_softmax(-1)).sum() / b


@pytest.mark.parametrize("missing", [False, True])
def test_paper_mode_gradient_matches_closed_form_and_finite_differences(missing):
    logits, labels, mask = _batch(missing)
    b = labels.shape[1]
    z = logits.clone().requires_grad_(True)
    FedGALoss("paper")(z, labels, mask).sum().backward()
    t = calibrated_target(logits, labels, mask)
    p = logits.softmax(-1)
    closed = (t.sum(-1, keepdim=True) * p - t) / b
    assert torch.allclose(z.grad, closed, atol=1e-12)
    # finite differences of the soft-target CE with the (stop-gradient) target held at its value
    eps, fd = 1e-6, torch.zeros_like(logits)
    for i in range(b):
        for j in range(logits.shape[-1]):
            dz = torch.zeros_like(logits)
            dz[0, i, j] = eps
            fd[0, i, j] = (_fixed_target_loss(logits + dz, t, b) - _fixed_target_loss(logits - dz, t, b)) / (2 * eps)
    assert torch.allclose(z.grad, fd, atol=1e-8)


@pytest.mark.parametrize("missing", [False, True])
def test_aligned_mode_gives_p_minus_t_and_the_papers_closed_form(missing):
    logits, labels, mask = _batch(missing, seed=1)
    b, c = labels.shape[1], logits.shape[-1]
    z = logits.clone().requires_grad_(True)
    FedGALoss("aligned")(z, labels, mask).sum().backward()
    g = z.grad[0] * b
    p = logits.softmax(-1)[0]
    n = batch_counts(labels, mask, c)[0]
    y = labels[0]
    expected = p * n.unsqueeze(0) / n[y].unsqueeze(1)  # p_ij n_j / n_{y_i} off the true class
    expected[torch.arange(b), y] = p[torch.arange(b), y] - 1
    assert torch.allclose(g, expected, atol=1e-12)
    if missing:
        absent = n == 0
        assert absent.any() and torch.all(g[:, absent] == 0)
    # finite differences of the surrogate sum(z * stopgrad(p - t)) give the same gradient
    t = calibrated_target(logits, labels, mask)
    surrogate_grad = (p - t[0]) / b
    assert torch.allclose(z.grad[0], surrogate_grad, atol=1e-12)


def test_aligned_batch_gradient_vanishes_exactly_when_batch_ea_is_one():
    logits, labels, mask = _batch(False, seed=2, b=40)
    c = logits.shape[-1]
    z = logits.clone().requires_grad_(True)
    FedGALoss("aligned")(z, labels, mask).sum().backward()
    col_sum = z.grad[0].sum(0) * labels.shape[1]
    p = logits.softmax(-1)[0]
    n = batch_counts(labels, mask, c)[0]
    onehot = F.one_hot(labels[0], c).double()
    pi = (onehot.T @ p) / n.unsqueeze(1)
    # sum_i g_ij = n_j (sum_{k != j} pi_kj - (1 - pi_jj)): zero iff EA_j = (1 - pi_jj) / sum_{k != j} pi_kj = 1
    off = pi.sum(0) - pi.diagonal()
    assert torch.allclose(col_sum, n * (off - (1 - pi.diagonal())), atol=1e-10)
    ea = error_asymmetry(p, labels[0], c)
    assert torch.allclose(col_sum, n * off * (1 - ea), atol=1e-10)


def test_padding_rows_change_nothing_and_clients_are_independent():
    logits, labels, mask = _batch(True, seed=3)
    pad_logits = torch.cat([logits, torch.randn(1, 5, logits.shape[-1], dtype=torch.float64) * 9], dim=1)
    pad_labels = torch.cat([labels, torch.full((1, 5), 5)], dim=1)
    pad_mask = torch.cat([mask, torch.zeros(1, 5, dtype=torch.float64)], dim=1)
    for mode in ("paper", "aligned"):
        z1, z2 = logits.clone().requires_grad_(True), pad_logits.clone().requires_grad_(True)
        l1 = FedGALoss(mode)(z1, labels, mask)
        l2 = FedGALoss(mode)(z2, pad_labels, pad_mask)
        (l1.sum() + l2.sum()).backward()
        assert torch.allclose(l1, l2)
        assert torch.allclose(z1.grad, z2.grad[:, :labels.shape[1]])
        assert torch.all(z2.grad[:, labels.shape[1]:] == 0)
    # two clients stacked = each alone
    other_logits, other_labels, other_mask = _batch(False, seed=4)
    both = FedGALoss("paper")(torch.cat([logits, other_logits]), torch.cat([labels, other_labels]),
                              torch.cat([mask, other_mask]))
    assert torch.allclose(both[1], FedGALoss("paper")(other_logits, other_labels, other_mask)[0])


def test_target_properties():
    logits, labels, mask = _batch(True, seed=5)
    t = calibrated_target(logits, labels, mask)[0]
    p = logits.softmax(-1)[0]
    n = batch_counts(labels, mask, 6)[0]
    y = labels[0]
    assert torch.allclose(t[torch.arange(len(y)), y], torch.ones(len(y), dtype=torch.float64))
    absent = n == 0
    assert torch.allclose(t[:, absent], p[:, absent])  # missing class: t = p, no push-down
    rarer = n.unsqueeze(0) < n[y].unsqueeze(1)
    assert torch.all((t < p)[rarer & (n.unsqueeze(0) > 0)])
    more = n.unsqueeze(0) > n[y].unsqueeze(1)
    assert torch.all(t[more] < 0)


def test_bad_mode():
    with pytest.raises(ValueError, match="paper"):
        FedGALoss("exact")


def test_error_asymmetry_symmetric_confusion_is_one_and_hand_example():
    c = 4
    labels = torch.arange(c).repeat_interleave(3)
    probs = torch.full((len(labels), c), 0.1, dtype=torch.float64)
    probs[torch.arange(len(labels)), labels] = 0.7
    assert torch.allclose(error_asymmetry(probs, labels, c), torch.ones(c, dtype=torch.float64))
    # two classes: class 0 predicted (0.9, 0.1), class 1 predicted (0.4, 0.6)
    probs = torch.tensor([[0.9, 0.1], [0.4, 0.6]], dtype=torch.float64)
    ea = error_asymmetry(probs, torch.tensor([0, 1]), 2)
    assert torch.allclose(ea, torch.tensor([0.1 / 0.4, 0.4 / 0.1], dtype=torch.float64))
    compat = error_asymmetry(probs, torch.tensor([0, 1]), 2, double_softmax=True)
    q = probs.softmax(-1)
    assert torch.allclose(compat, torch.stack([q[0, 1] / q[1, 0], q[1, 0] / q[0, 1]]))


def test_error_asymmetry_of_an_absent_class_is_nan_and_only_it():
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(30, 4, generator=g, dtype=torch.float64).softmax(-1)
    labels = torch.tensor([0, 1, 3] * 10)  # class 2 absent from the labels
    ea = error_asymmetry(probs, labels, 4)
    assert torch.isnan(ea[2]) and torch.isfinite(ea[[0, 1, 3]]).all()
    # by hand over the present classes: pi[c, j] = mean P(j) over class c; EA_c = (1 - pi_cc) / sum_{k != c} pi_kc
    pi = torch.stack([probs[labels == c].mean(0) for c in (0, 1, 3)])
    cols = [0, 1, 3]
    for r, c in enumerate(cols):
        others = sum(pi[k, c] for k in range(3) if k != r)
        assert torch.isclose(ea[c], (1 - pi[r, c]) / others)
    from paperzoo.fedga.server import classification_metrics

    m = classification_metrics(probs, labels, 4)
    assert np.isclose(m["ea_logabs"], np.abs(np.log(ea[[0, 1, 3]].numpy())).mean())
    assert np.isnan(m["per_class_acc"][2]) and np.isfinite(m["minclass_acc"]) and np.isfinite(m["f1"])
