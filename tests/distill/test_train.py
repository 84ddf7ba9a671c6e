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


def test_lockstep_equals_one_after_another():
    """Students trained together on one teacher pass per batch end exactly where separate runs end."""
    import copy

    import torch

    from paperzoo.distill.losses import LossWeights
    from paperzoo.distill.models import llama_decoder
    from paperzoo.distill.train import Teacher, TrainConfig, Trainee, fit

    torch.manual_seed(0)
    teacher = llama_decoder(40, 2, 16, 2, 1, 32).eval()
    base = llama_decoder(40, 1, 16, 2, 1, 32)
    x = torch.randint(3, 40, (4, 6), generator=torch.Generator().manual_seed(1))
    batches = [(x[:2], torch.ones(2, 6, dtype=torch.long), torch.cat([x[:2, 1:], torch.full((2, 1), -100)], 1)),
               (x[2:], torch.ones(2, 6, dtype=torch.long), torch.cat([x[2:, 1:], torch.full((2, 1), -100)], 1))]
    weights = {"hinton": LossWeights(1, 0, 0, 1, 1.0), "paper": LossWeights(1, 1, 1, 1, 1.0, "cosine", "relation",
                                                                             rel_heads=1)}

    def trainees():
        out = []
        for name, w in weights.items():
            st = copy.deepcopy(base)
            out.append(Trainee(name, st, st.model, w, [(1, 2)], [(0, 1)], None, 2, causal=True, lr=1e-2))
        return out

    cfg, t = TrainConfig(epochs=2, warmup=0.0), Teacher(teacher, teacher.model, 2, causal=True)
    together = trainees()
    fit(together, lambda e: batches, cfg, t)
    apart = trainees()
    for tr in apart:
        fit([tr], lambda e: batches, cfg, t)
    for a, b in zip(together, apart, strict=True):
        assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
        for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
            assert torch.equal(pa, pb)
