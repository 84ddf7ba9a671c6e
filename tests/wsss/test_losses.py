"""L_CLE, L_UNE, distinctness, ToCo contrast and segmentation loss against direct computations; the
global-batch reduction that makes data-parallel gradients equal the single-process ones."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from paperzoo.wsss.losses import (
    Reduce,
    affinity_label,
    cle_loss,
    distinct_loss,
    ptc_loss,
    region_code,
    seg_loss,
    une_candidates,
    une_loss,
    une_select,
)


def test_cle_is_a_softmax_over_patches_averaged_over_labelled_patches():
    torch.manual_seed(0)
    tokens = torch.randn(2, 3, 4, requires_grad=True)
    patches = torch.randn(2, 4, 3, 3, requires_grad=True)
    mask = torch.tensor([[[1, 1, 0], [0, 255, 2], [0, 0, 0]], [[3, 3, 3], [0, 0, 255], [1, 0, 0]]])
    labels = torch.tensor([[1.0, 1, 0], [1, 0, 1]])
    got = cle_loss(tokens, patches, mask, labels, temp=0.5)
    total = 0.0
    for b in range(2):
        c = F.normalize(tokens[b], dim=-1).detach().numpy()
        p = patches[b].detach().flatten(1).numpy()
        for k in range(3):
            if labels[b, k] == 0:
                continue
            s = c[k] @ p / 0.5
            logp = s - np.log(np.exp(s).sum())  # softmax over the 9 patches
            sel = mask[b].flatten().numpy() == k + 1
            total += -(logp[sel]).sum() / (sel.sum() + 1e-4)
    assert float(got.detach()) == pytest.approx(total / 2, rel=1e-5)
    got.backward()
    assert patches.grad is None and tokens.grad.abs().sum() > 0  # patches are detached


def _authors_candidates(mask: np.ndarray, window: int, thr: float) -> set[tuple[int, int]]:
    code = np.where(mask == 255, 1, np.where(mask >= 1, 2, 0))
    h, w = code.shape
    m = window // 2
    out = set()
    for i in range(h - 2 * m):
        for j in range(w - 2 * m):
            if code[i + m, j + m] == 1 and code[i:i + window, j:j + window].sum() / window ** 2 >= thr:
                out.add((i, j))
    return out


def test_une_candidate_rule_on_a_constructed_mask():
    mask = np.zeros((10, 10), dtype=np.int64)
    mask[2:8, 2:8] = 255  # uncertain ring ...
    mask[3:7, 3:7] = 1  # ... around a foreground square
    mask[0:2, 6:10] = 2
    got = une_candidates(torch.tensor(mask)[None], window=4, threshold=1.2)[0]
    want = _authors_candidates(mask, 4, 1.2)
    assert {tuple(x) for x in got.nonzero().tolist()} == want
    assert want  # the construction has candidates
    # the codes: background 0, uncertain 1, foreground 2
    assert region_code(torch.tensor([[0, 255, 3]])).tolist() == [[0.0, 1.0, 2.0]]


def test_une_draws_eight_or_adds_a_quarter_of_the_shortfall_from_the_foreground():
    mask = np.zeros((12, 12), dtype=np.int64)
    mask[1:11, 1:11] = 255
    mask[4:8, 4:8] = 2
    many = torch.tensor(mask)[None]
    n_cand = int(une_candidates(many, 6, 1.2).sum())
    assert n_cand > 8
    pos = une_select(many, torch.rand(1, 6, 6, generator=torch.Generator().manual_seed(0)), 8, 6, 1.2)[0]
    assert len(pos) == 8 and len({tuple(p) for p in pos.tolist()}) == 8
    few = np.zeros((12, 12), dtype=np.int64)
    few[3:9, 3:9] = 2
    few[4, 4] = few[5, 5] = 255  # uncertain patches amid foreground; only (5, 5)'s window is >= 1.2 (48/36)
    t = torch.tensor(few)[None]
    assert {tuple(x) for x in une_candidates(t, 6, 1.2)[0].nonzero().tolist()} == {(2, 2)}
    pos = une_select(t, torch.rand(1, 6, 6, generator=torch.Generator().manual_seed(1)), 8, 6, 1.2)[0]
    assert len(pos) == 1 + (8 - 1) // 4
    extra = [tuple(p) for p in pos.tolist()][1:]
    assert all(few[i + 3, j + 3] == 2 for i, j in extra)  # the added patch is foreground


def test_une_score_for_a_token_aligned_with_the_present_class():
    tokens = torch.eye(3)[None]  # class tokens along the axes
    patches = torch.zeros(1, 3, 7, 7)
    patches[0, 0] = 1.0  # every patch points at class 0
    mask = torch.full((1, 7, 7), 255)
    labels = torch.tensor([[1.0, 0, 0]])
    loss = une_loss(tokens, patches, mask, labels, torch.rand(1, 1, 1), n_select=8, window=6, threshold=1.0)
    assert float(loss) == pytest.approx(0.5 * (1 - 1 / 2) + 0.5 * 0 / 3)  # one candidate, |cos| = 1 to class 0


def test_distinctness_is_low_for_orthogonal_tokens_and_high_for_equal_ones():
    apart = distinct_loss(torch.eye(4)[None])
    same = distinct_loss(torch.ones(1, 4, 4))
    assert float(apart) < 1e-3 and float(same) == pytest.approx(np.log(4), rel=1e-5)


def test_ptc_and_affinity_labels():
    mask = torch.tensor([[[1, 1], [0, 255]]])
    aff = affinity_label(mask)[0]
    assert aff[0, 1] == 1 and aff[0, 2] == 0 and aff[0, 3] == 255 and aff[0, 0] == 255
    x = torch.randn(1, 5, 2, 2)
    cos = F.normalize(x.flatten(2), dim=1).transpose(1, 2) @ F.normalize(x.flatten(2), dim=1)
    cos = cos.abs()[0]
    want = 0.5 * (1 - (cos[0, 1] + cos[1, 0]) / 3) + 0.5 * (cos[0, 2] + cos[2, 0] + cos[1, 2] + cos[2, 1]) / 5
    assert float(ptc_loss(x, affinity_label(mask))) == pytest.approx(float(want), rel=1e-6)


def test_seg_loss_balances_background_and_foreground_and_ignores_255():
    logits = torch.randn(1, 3, 2, 2)
    label = torch.tensor([[[0, 1], [2, 255]]])
    ce = F.cross_entropy(logits, label.clamp_max(2), reduction="none")[0]
    want = 0.5 * (ce[0, 0] + (ce[0, 1] + ce[1, 0]) / 2)
    assert float(seg_loss(logits, label)) == pytest.approx(float(want), rel=1e-5)


class _Recorder:
    """A stand-in for two ranks: first records each rank's counts, then returns their sums in call order."""

    enabled, world_size = True, 2

    def __init__(self, totals=None):
        self.seen, self.totals, self.calls = [], totals, 0

    def sum(self, v):
        self.seen.append(v)
        self.calls += 1
        return self.totals[self.calls - 1] if self.totals else v


def _losses(tokens, patches, mask, labels, prio, red):
    return (cle_loss(tokens, patches, mask, labels, red=red) + une_loss(tokens, patches, mask, labels, prio, 8, 4,
                                                                        1.2, red=red)
            + ptc_loss(patches, affinity_label(mask), red) + distinct_loss(tokens, red=red)
            + seg_loss(patches[:, :3], mask, red))


def test_reduce_gives_two_ranks_the_gradient_of_the_whole_batch():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randn(4, 3, 6, generator=g, requires_grad=True)
    patches = torch.randn(4, 6, 8, 8, generator=g, requires_grad=True)
    mask = torch.randint(0, 4, (4, 8, 8), generator=g)
    mask[torch.rand(4, 8, 8, generator=g) < 0.3] = 255
    labels = torch.tensor([[1.0, 1, 1]] * 4)
    prio = torch.rand(4, 4, 4, generator=g)
    whole = torch.autograd.grad(_losses(tokens, patches, mask, labels, prio, Reduce()), [tokens, patches])
    parts = [slice(0, 1), slice(1, 4)]  # uneven split
    recs = [_Recorder() for _ in parts]
    for rec, s in zip(recs, parts, strict=True):
        _losses(tokens[s], patches[s], mask[s], labels[s], prio[s], Reduce(rec, 4))
    totals = [a + b for a, b in zip(recs[0].seen, recs[1].seen, strict=True)]
    grads = [torch.zeros_like(tokens), torch.zeros_like(patches)]
    for s in parts:
        loss = _losses(tokens[s], patches[s], mask[s], labels[s], prio[s], Reduce(_Recorder(totals), 4))
        gt, gp = torch.autograd.grad(loss, [tokens, patches])
        grads[0] += gt / 2  # DDP averages over the two ranks
        grads[1] += gp / 2
    for a, b in zip(grads, whole, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
