import pytest

from paperzoo.distill.losses import LossWeights
from paperzoo.distill.train import lr_factor, scheduled


def test_two_stage_and_tau_schedule():
    w = LossWeights(hard=1, feat=2, att=3, dist=4, tau=4.0)
    early = scheduled(w, 0.2, two_stage=0.5, tau_final=1.0)
    late = scheduled(w, 0.75, two_stage=0.5, tau_final=1.0)
    assert (early.hard, early.feat, early.att, early.dist) == (0.0, 2, 3, 0.0)
    assert (late.hard, late.feat, late.att, late.dist) == (1, 0.0, 0.0, 4)
    assert early.tau == pytest.approx(4.0 - 3.0 * 0.2) and late.tau == pytest.approx(4.0 - 3.0 * 0.75)
    same = scheduled(w, 0.9)
    assert same == w and same is not w  # a copy: the schedule never edits the configured weights


def test_lr_warmup_then_linear_decay():
    f = [lr_factor(s, 100, warmup=0.1) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[10] == pytest.approx(1.0) and f[55] == pytest.approx(0.5) and f[99] == pytest.approx(1 / 90)
    assert all(a <= b for a, b in zip(f[:10], f[1:10], strict=False))
