import math

import torch

from paperzoo.induction.model import InductionTransformer, ModelConfig, rotate, sinusoidal_positions


def _model(**kw):
    torch.manual_seed(0)
    m = InductionTransformer(10, ModelConfig(d_model=16, max_len=32, **kw))
    with torch.no_grad():
        for p in m.parameters():
            if p.requires_grad:
                p.normal_(0, 0.5)
    return m


def test_causal_masking():
    for pos in ("ape", "rope", "rel", "none"):
        m = _model(pos=pos)
        z = torch.randint(0, 10, (2, 12), generator=torch.Generator().manual_seed(1))
        z2 = z.clone()
        z2[:, 7:] = (z2[:, 7:] + 1) % 10
        a, _ = m(z)
        b, _ = m(z2)
        assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
        assert not torch.allclose(a[:, 7:], b[:, 7:])


def test_attention_rows_sum_to_one_and_shapes():
    m = _model(n_layers=3)
    logits, maps = m(torch.zeros(3, 9, dtype=torch.long))
    assert logits.shape == (3, 9, 10) and len(maps) == 3
    assert torch.allclose(maps[0].sum(-1), torch.ones(3, 9))
    assert torch.all(maps[0].triu(1) == 0)


def test_default_freezing_follows_bietti():
    m = InductionTransformer(10, ModelConfig(d_model=16, max_len=32))
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {"layers.0.wk", "layers.1.wk", "layers.1.wo", "wf"}
    m = InductionTransformer(10, ModelConfig(d_model=16, max_len=32, pos="rel", train_values=True,
                                             feedforward=False))
    trainable = {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable == {"layers.0.wk", "layers.1.wk", "layers.1.wo", "layers.0.wv", "layers.1.wv",
                         "layers.0.rel_bias", "layers.1.rel_bias"}


def test_rope_scores_depend_only_on_offset():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, generator=g), torch.randn(8, generator=g)
    x = torch.stack([q] * 20)
    y = torch.stack([k] * 20)
    rq, rk = rotate(x), rotate(y)
    s = rq @ rk.T
    assert torch.allclose(s[5, 3], s[12, 10], atol=1e-5)
    assert torch.allclose(s[0, 0], q @ k, atol=1e-5)
    # rotation preserves norms
    assert torch.allclose(rq.norm(dim=1), q.norm().expand(20), atol=1e-5)


def test_sinusoidal_positions_closed_form():
    pe = sinusoidal_positions(5, 4)
    scale = math.sqrt(2)
    assert abs(pe[3, 0].item() * scale - math.sin(3.0)) < 1e-6
    assert abs(pe[3, 3].item() * scale - math.cos(3.0 / 100.0)) < 1e-6


def test_too_long_input_raises():
    m = InductionTransformer(10, ModelConfig(d_model=16, max_len=8))
    try:
        m(torch.zeros(1, 9, dtype=torch.long))
    except ValueError as err:
        assert "max_len" in str(err)
    else:
        raise AssertionError("expected ValueError")
