import math

import pytest
import torch
import torch.nn.functional as F

from paperzoo.distill.losses import (
    Features,
    LossWeights,
    Projections,
    attention_kl,
    attention_score_mse,
    attention_scores,
    hard_loss,
    joint_loss,
    masked_cosine,
    masked_mse,
    relation_kl,
    soft_kl,
)


def test_masked_mse_ignores_padding_by_hand():
    pred = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    tgt = torch.tensor([[[0.0, 0.0], [3.0, 2.0], [0.0, 0.0]]])
    mask = torch.tensor([[1, 1, 0]])
    # valid squared errors: 1 + 4 + 0 + 4 = 9 over 2 tokens * 2 dims
    assert masked_mse(pred, tgt, mask).item() == pytest.approx(9 / 4)


def test_masked_cosine_by_hand():
    pred = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [5.0, -3.0]]])
    tgt = torch.tensor([[[0.0, 1.0], [2.0, 2.0], [1.0, 1.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert masked_cosine(pred, tgt, mask).item() == pytest.approx(((1 - 0) + (1 - 1)) / 2, abs=1e-6)


def test_projection_inside_feature_term_equals_manual():
    torch.manual_seed(0)
    proj = Projections(3, 5, n_layers=2)
    hs = [torch.randn(2, 4, 3), torch.randn(2, 4, 3)]
    ht = [torch.randn(2, 4, 5), torch.randn(2, 4, 5)]
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    s = Features(logits=torch.zeros(2, 2), mask=mask, hidden=hs)
    t = Features(logits=torch.zeros(2, 2), mask=mask, hidden=ht)
    w = LossWeights(hard=0, feat=1, att=0, dist=0)
    total, _ = joint_loss(w, s, t, proj, None)
    manual = 0.0
    for i in range(2):
        W, b = proj.maps[i].weight, proj.maps[i].bias
        diff = hs[i] @ W.T + b - ht[i]
        valid = mask.bool()
        manual += (diff[valid] ** 2).sum() / (valid.sum() * 5)
    assert total.item() == pytest.approx(manual.item(), rel=1e-5)
    total.backward()  # projections are learned: they receive gradients
    assert proj.maps[0].weight.grad is not None and proj.maps[0].weight.grad.abs().sum() > 0
    shared = Projections(3, 5, n_layers=2, shared=True)
    assert len(shared.maps) == 1 and torch.equal(shared(hs[0], 1), shared(hs[0], 0))


def test_soft_kl_tau_squared_scaling_by_hand():
    zs = torch.tensor([[1.0, 0.0]])
    zt = torch.tensor([[0.0, 2.0]])
    tau = 2.0
    pt = torch.softmax(zt / tau, -1)
    ps = torch.softmax(zs / tau, -1)
    kl = (pt * (pt.log() - ps.log())).sum()
    assert soft_kl(zs, zt, tau).item() == pytest.approx(tau**2 * kl.item(), rel=1e-6)
    # independent library: torch's kl_div in batchmean form
    ref = F.kl_div(F.log_softmax(zs / tau, -1), F.log_softmax(zt / tau, -1), log_target=True, reduction="batchmean")
    assert soft_kl(zs, zt, tau).item() == pytest.approx(4 * ref.item(), rel=1e-6)
    # exact gradient tau*(p_S - p_T); at high tau it tends to the centred-logit difference / C (tau-free)
    z = torch.tensor([[0.3, -0.2, 0.1]], requires_grad=True)
    zt2 = torch.tensor([[0.0, 0.5, -0.5]])
    soft_kl(z, zt2, 50.0).backward()
    exact = 50.0 * (torch.softmax(z.detach() / 50, -1) - torch.softmax(zt2 / 50, -1))
    assert torch.allclose(z.grad, exact, atol=1e-6)
    limit = ((z.detach() - z.detach().mean()) - (zt2 - zt2.mean())) / 3
    assert torch.allclose(z.grad, limit, atol=5e-3)


def test_soft_kl_per_valid_token():
    zs = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1))
    zt = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(2))
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    per = []
    for b, l in [(0, 0), (0, 1), (1, 0)]:
        per.append(soft_kl(zs[b, l][None], zt[b, l][None], 1.5))
    assert soft_kl(zs, zt, 1.5, mask).item() == pytest.approx(torch.stack(per).mean().item(), rel=1e-6)


def test_attention_score_mse_and_kl_mask_padding():
    torch.manual_seed(0)
    q, k = torch.randn(1, 3, 4), torch.randn(1, 3, 4)
    s = attention_scores(q, k, n_heads=2)
    assert s.shape == (1, 2, 3, 3)
    manual = (q.view(1, 3, 2, 2)[0, :, 0] @ k.view(1, 3, 2, 2)[0, :, 0].T) / math.sqrt(2)
    assert torch.allclose(s[0, 0], manual, atol=1e-6)
    mask = torch.tensor([[1, 1, 0]])
    s2 = s.clone()
    s2[..., 2, :] += 100.0  # padded query row
    s2[..., :, 2] -= 100.0  # padded key column
    assert attention_score_mse(s2, s, mask).item() == pytest.approx(0.0, abs=1e-10)
    assert attention_kl(s2, s, mask).item() == pytest.approx(0.0, abs=1e-6)
    d = s.clone()
    d[0, 1, 0, 1] += 2.0
    assert attention_score_mse(d, s, mask).item() == pytest.approx(4.0 / (2 * 4))
    # KL by hand for head 1 / query 0 over the 2 valid keys; other rows contribute 0
    pt = torch.softmax(s[0, 1, 0, :2], -1)
    ps = torch.softmax(d[0, 1, 0, :2], -1)
    row = (pt * (pt.log() - ps.log())).sum()
    assert attention_kl(d, s, mask).item() == pytest.approx(row.item() / (2 * 2), rel=1e-5)
    with pytest.raises(ValueError, match="relation"):
        attention_score_mse(torch.zeros(1, 3, 3, 3), s, mask)


def test_attention_kl_from_probs_matches_scores_and_causal():
    torch.manual_seed(1)
    ss, st = torch.randn(2, 2, 4, 4), torch.randn(2, 2, 4, 4)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    causal = torch.ones(4, 4).tril().bool()
    neg = torch.where(causal, 0.0, -1e9) + torch.where(mask.bool()[:, None, None, :], 0.0, -1e9)
    ps, pt = torch.softmax(ss + neg, -1), torch.softmax(st + neg, -1)
    a = attention_kl(ss, st, mask, causal=True)
    b = attention_kl(ps, pt, mask, causal=True, from_probs=True)
    assert a.item() == pytest.approx(b.item(), rel=1e-4)
    assert a.item() > 0


def test_relation_kl_zero_for_identical_and_handles_widths():
    torch.manual_seed(2)
    x = torch.randn(2, 5, 12)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    assert relation_kl(x, x, 3, mask).item() == pytest.approx(0.0, abs=1e-6)
    xs = torch.randn(2, 5, 6)
    v = relation_kl(xs, x, 3, mask)
    assert v.item() > 0 and torch.isfinite(v)
    # rel. head h of the teacher uses dims [4h, 4h+4): check head 0, batch 0, query 0 by hand
    rt = torch.softmax(x[0, :, :4] @ x[0, :, :4].T / 2.0, -1)[0]
    rs = torch.softmax(xs[0, :, :2] @ xs[0, :, :2].T / math.sqrt(2), -1)[0]
    one = (rt * (rt.log() - rs.log())).sum()
    only = mask.clone()
    only[1] = 0
    only[0, 1:] = 0
    # with a single valid token in the batch, the softmax over one key is 1 -> KL 0
    assert relation_kl(xs, x, 3, only).item() == pytest.approx(0.0, abs=1e-6)
    assert one.item() > 0


def test_hard_loss_and_weights_validation():
    z = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0])
    manual = -(torch.log_softmax(z, -1)[0, 0] + torch.log_softmax(z, -1)[1, 0]) / 2
    assert hard_loss(z, y).item() == pytest.approx(manual.item(), rel=1e-6)
    assert hard_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]), "mse").item() == pytest.approx(2.5)
    with pytest.raises(ValueError, match="tau"):
        LossWeights(tau=0)
    with pytest.raises(ValueError, match="att_kind"):
        LossWeights(att_kind="nope")


def test_joint_loss_is_weighted_sum():
    torch.manual_seed(3)
    mask = torch.ones(2, 3, dtype=torch.long)
    s = Features(logits=torch.randn(2, 2), mask=mask, hidden=[torch.randn(2, 3, 4)],
                 qkv=[(torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.randn(2, 3, 4))], n_heads=2)
    t = Features(logits=torch.randn(2, 2), mask=mask, hidden=[torch.randn(2, 3, 4)],
                 qkv=[(torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.randn(2, 3, 4))], n_heads=2)
    y = torch.tensor([0, 1])
    w = LossWeights(hard=0.5, feat=2.0, att=3.0, dist=0.25, tau=3.0, rel_heads=2, att_kind="relation")
    total, terms = joint_loss(w, s, t, None, y)
    expect = 0.5 * terms["hard"] + 2.0 * terms["feat"] + 3.0 * terms["att"] + 0.25 * terms["dist"]
    assert total.item() == pytest.approx(expect, rel=1e-6)
    assert terms["dist"] == pytest.approx(soft_kl(s.logits, t.logits, 3.0).item())
    total0, terms0 = joint_loss(LossWeights(hard=1, feat=0, att=0, dist=0), s, t, None, y)
    assert set(terms0) == {"hard"}


def test_soft_kl_finite_with_masked_teacher_vocabulary_matches_scipy():
    """A teacher logit of -inf (masked vocabulary) contributes 0·log 0 = 0; checked against scipy's rel_entr."""
    from scipy.special import rel_entr

    g = torch.Generator().manual_seed(4)
    zs = torch.randn(3, 6, generator=g, requires_grad=True)
    zt = torch.randn(3, 6, generator=g)
    zt[0, 2] = zt[1, 0] = zt[1, 5] = -math.inf
    tau = 2.0
    value = soft_kl(zs, zt, tau)
    assert torch.isfinite(value)
    pt = torch.softmax(zt / tau, -1).double().numpy()
    ps = torch.softmax(zs.detach() / tau, -1).double().numpy()
    direct = tau**2 * rel_entr(pt, ps).sum(-1).mean()
    assert value.item() == pytest.approx(direct, rel=1e-5)
    value.backward()
    assert torch.isfinite(zs.grad).all()
    # the same masked logits per token in the LM form, and a student that masks the same tokens
    zs3 = zs.detach().clone()
    zs3[0, 2] = -math.inf
    lm = soft_kl(zs3[None], zt[None], tau, torch.ones(1, 3))
    assert torch.isfinite(lm) and lm.item() == pytest.approx(
        tau**2 * rel_entr(pt, torch.softmax(zs3 / tau, -1).double().numpy()).sum(-1).mean(), rel=1e-5)


@pytest.mark.parametrize("kind", ["kl", "score_mse"])
def test_content_attention_equals_the_loss_on_the_sequence_without_special_tokens(kind):
    """kd.att_tokens=content (issue 19): L_att over content tokens equals L_att computed on the examples with the
    special tokens cut out (and their rows/columns have no influence on it)."""
    from paperzoo.distill.losses import attention_term

    torch.manual_seed(0)
    B, L, H, d = 2, 6, 2, 8
    q_s, k_s, q_t, k_t = (torch.randn(B, L, H * d) for _ in range(4))
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    content = torch.tensor([[0, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 0]])  # [CLS] ... [SEP] (pad)
    w = LossWeights(hard=0, feat=0, att=1, dist=0, att_kind=kind, att_tokens="content")

    def feats(q, k, m, am=None):
        return Features(logits=torch.zeros(q.shape[0], 2), mask=m, qkv=[(q, k, None)], n_heads=H, att_mask=am)

    full = attention_term(w, feats(q_s, k_s, mask, content.bool()), feats(q_t, k_t, mask))
    per_example = []
    for b in range(B):  # the same loss on the content tokens alone, one example at a time
        keep = content[b].bool()
        sub = [x[b : b + 1, keep] for x in (q_s, k_s, q_t, k_t)]
        m = torch.ones(1, int(keep.sum()), dtype=torch.long)
        per_example.append((attention_term(w, feats(sub[0], sub[1], m), feats(sub[2], sub[3], m)), int(keep.sum())))
    if kind == "kl":  # mean over heads and valid query rows
        expected = sum(v * n for v, n in per_example) / sum(n for _, n in per_example)
    else:  # mean over heads and valid (query, key) pairs
        expected = sum(v * n * n for v, n in per_example) / sum(n * n for _, n in per_example)
    assert full.item() == pytest.approx(expected.item(), rel=1e-5)
    # what the student does on the special tokens does not matter
    q2, k2 = q_s.clone(), k_s.clone()
    q2[:, 0] += 50.0
    k2[:, 0] -= 50.0
    moved = attention_term(w, feats(q2, k2, mask, content.bool()), feats(q_t, k_t, mask))
    assert moved.item() == pytest.approx(full.item(), rel=1e-6)
    every = attention_term(LossWeights(hard=0, feat=0, att=1, dist=0, att_kind=kind, att_tokens="all"),
                           feats(q2, k2, mask), feats(q_t, k_t, mask))
    assert abs(every.item() - full.item()) > 1e-3  # over every token the special ones do count
    with pytest.raises(ValueError, match="att_tokens"):
        LossWeights(att_tokens="some")
