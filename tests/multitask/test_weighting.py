"""Every weighting rule against a hand computation on two-parameter toys."""

import math

import numpy as np
import pytest
import torch

from paperzoo.multitask.cosine import GradientCosine
from paperzoo.multitask.weighting import DWA, GradNorm, GradVac, PCGrad, Uncertainty, Weighting, cosine_matrix


def G(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_fixed_weights_sum_the_weighted_gradients():
    rule = Weighting(2, [2.0, 0.5])
    g, w = rule.combine(torch.tensor([1.0, 1.0]), G([1, 2], [4, -2]))
    assert w.tolist() == [2.0, 0.5]
    assert g.tolist() == [2 + 2, 4 - 1]
    with pytest.raises(ValueError, match="3 tasks"):
        Weighting(3, [1.0, 1.0])


def test_pcgrad_projects_each_conflicting_gradient_onto_the_normal_plane():
    # g1 = (1, 0), g2 = (-1, 1): g1.g2 = -1 < 0
    # g1' = g1 - (-1 / 2) g2 = (0.5, 0.5);  g2' = g2 - (-1 / 1) g1 = (0, 1);  sum = (0.5, 1.5)
    g, w = PCGrad(2, seed=0).combine(torch.ones(2), G([1, 0], [-1, 1]))
    assert torch.allclose(g, G([0.5, 1.5])[0])
    assert w.tolist() == [1.0, 1.0]
    # no conflict: the plain sum
    g, _ = PCGrad(2).combine(torch.ones(2), G([1, 0], [1, 1]))
    assert g.tolist() == [2.0, 1.0]


def test_pcgrad_result_has_no_conflict_left_with_two_tasks():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.normal(size=5), rng.normal(size=5)
        grads = torch.tensor(np.stack([a, b]))
        g, _ = PCGrad(2).combine(torch.ones(2), grads)
        if a @ b < 0:  # each projected row is orthogonal to the other task's gradient
            pa = a - (a @ b) / (b @ b) * b
            pb = b - (a @ b) / (a @ a) * a
            assert np.allclose(g.numpy(), pa + pb)


def test_gradnorm_gradient_and_update_by_hand():
    rule = GradNorm(2, alpha=1.5, lr=0.1)
    grads = G([3, 4], [0, 1])  # ||g|| = 5, 1
    rule.weight_gradient(torch.tensor([2.0, 1.0]), grads)  # the first losses become L(0)
    # L = (1, 1): Ltilde = (0.5, 1), r = (2/3, 4/3); G_w = (5, 1), mean 3; target = 3 r^1.5
    target = 3 * np.array([2 / 3, 4 / 3]) ** 1.5
    assert target[0] < 5 and target[1] > 1
    grad = rule.weight_gradient(torch.tensor([1.0, 1.0]), grads)
    assert grad.tolist() == [5.0, -1.0]  # sign(G_w - target) * ||g||
    g, w = rule.combine(torch.tensor([1.0, 1.0]), grads)
    assert torch.allclose(g, G([3, 5])[0]) and w.tolist() == [1.0, 1.0]
    rule.update(torch.tensor([1.0, 1.0]), grads)
    # w - lr * grad = (0.5, 1.1), renormalised to sum 2: (0.625, 1.375)
    assert torch.allclose(rule.w, torch.tensor([0.625, 1.375], dtype=torch.float64))


def test_uncertainty_weights_reach_the_closed_form_optimum():
    losses = torch.tensor([2.0, 0.5])
    rule = Uncertainty(2, init=-0.5, lr=0.05)
    # d/ds [L e^{-s} / 2 + s / 2] = (1 - L e^{-s}) / 2
    obj = rule.objective(losses)
    obj.backward()
    assert torch.allclose(rule.s.grad, 0.5 * (1 - losses.double() * math.exp(0.5)))
    rule.s.grad = None
    for _ in range(1500):
        rule.update(losses, None)
    assert torch.allclose(rule.s.detach(), torch.log(losses.double()), atol=2e-3)  # s* = log L
    assert torch.allclose(rule.weights(losses), 1 / (2 * losses.double()), rtol=5e-3)  # w* = 1 / (2 L)


def test_dwa_is_a_softmax_of_loss_ratios_after_two_windows():
    rule = DWA(2, temperature=2.0, window=2)
    for losses in ([1.0, 2.0], [1.0, 2.0]):  # window 1: means (1, 2)
        assert rule.weights(torch.tensor(losses)).tolist() == [1.0, 1.0]
        rule.update(torch.tensor(losses), None)
    for losses in ([0.4, 2.0], [0.6, 2.0]):  # window 2: means (0.5, 2)
        assert rule.weights(torch.tensor(losses)).tolist() == [1.0, 1.0]
        rule.update(torch.tensor(losses), None)
    r = np.array([0.5 / 1.0, 2.0 / 2.0])
    expected = 2 * np.exp(r / 2) / np.exp(r / 2).sum()
    assert np.allclose(rule.weights(torch.ones(2)).numpy(), expected)


def test_gradvac_raises_the_cosine_to_its_target():
    rule = GradVac(2, beta=0.5)
    rule.target = torch.tensor([[0.0, 0.5], [-1.0, 0.0]], dtype=torch.float64)  # only row 0 is adjusted
    g1, g2 = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([-1.0, 1.0], dtype=torch.float64)
    g, _ = rule.combine(torch.ones(2), torch.stack([g1, g2]))
    g1_new = g - g2
    cos = float(g1_new @ g2 / (g1_new.norm() * g2.norm()))
    assert cos == pytest.approx(0.5, abs=1e-9)
    rule.update(torch.ones(2), None)  # targets move halfway to the observed cosines
    phi = float(g1 @ g2 / (g1.norm() * g2.norm()))
    assert float(rule.target[0, 1]) == pytest.approx(0.5 * 0.5 + 0.5 * phi)


def test_cosine_matrix_against_numpy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 7))
    c = cosine_matrix(torch.tensor(a)).numpy()
    n = np.linalg.norm(a, axis=1)
    assert np.allclose(c, a @ a.T / np.outer(n, n))
    z = cosine_matrix(torch.tensor(np.vstack([a[:2], np.zeros(7)]))).numpy()
    assert np.all(z[2] == 0) and np.all(z[:, 2] == 0)


def test_paper_cosine_rule_softmax_reading_by_hand():
    rule = GradientCosine(3, "softmax", temperature=1.0, beta=0.5)
    grads = G([1, 0], [1, 0], [-1, 0])  # C12 = 1, C13 = C23 = -1 -> cbar = (0, 0, -1)
    g, w = rule.combine(torch.ones(3), grads)
    e = np.exp([0.0, 0.0, -1.0])
    assert np.allclose(w.numpy(), 3 * e / e.sum())
    assert torch.allclose(g, (w[0] + w[1] - w[2]) * G([1, 0])[0])
    grads2 = G([1, 0], [0, 1], [1, 1])  # cbar = (1/sqrt2 / 2, same, 1/sqrt2)
    _, w2 = rule.combine(torch.ones(3), grads2)
    s = 1 / math.sqrt(2)
    chat = 0.5 * np.array([0, 0, -1]) + 0.5 * np.array([s / 2, s / 2, s])  # moving average
    e2 = np.exp(chat)
    assert np.allclose(w2.numpy(), 3 * e2 / e2.sum())


def test_paper_cosine_rule_gate_and_penalty_readings():
    rule = GradientCosine(2, "gate")
    _, w = rule.combine(torch.ones(2), G([1, 0], [1, 1]))  # cos(g1, g2) = cos(g2, g1) = 1/sqrt2: equal gates
    assert np.allclose(w.numpy(), [1.0, 1.0])
    _, w = rule.combine(torch.ones(2), G([1, 0], [-1, 1]))  # both gates 0 -> fixed weights
    assert w.tolist() == [1.0, 1.0]
    _, w = GradientCosine(3, "gate").combine(torch.ones(3), G([1, 0], [1, 0], [-0.5, 0]))
    assert w[2] == 0 and w[0] == pytest.approx(1.5)  # the conflicting task is gated out
    pen = GradientCosine(2, "penalty", penalty_weight=0.3)
    a = torch.tensor([1.0, 0.0], requires_grad=True)
    value = pen.penalty([a, torch.tensor([0.0, 1.0])])
    assert float(value.detach()) == pytest.approx(0.3)  # lam (1 - cos) with cos = 0
    value.backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


def test_rules_refuse_bad_settings():
    with pytest.raises(ValueError, match="mode"):
        GradientCosine(2, "nonsense")
    with pytest.raises(ValueError, match="temperature"):
        DWA(2, temperature=0)
    with pytest.raises(ValueError, match="at least one task"):
        Weighting(0)
