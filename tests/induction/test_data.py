import pytest
import torch

from paperzoo.core import UserError
from paperzoo.induction.data import (
    BigramTriggerData,
    corpus_bigram,
    dirichlet_bigram,
    icl_mask,
    stationary_distribution,
)


def test_dirichlet_rows_are_distributions_and_seeded():
    a, b, c = dirichlet_bigram(10, 0.5, 3), dirichlet_bigram(10, 0.5, 3), dirichlet_bigram(10, 0.5, 4)
    assert torch.allclose(a.sum(1), torch.ones(10, dtype=a.dtype))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_stationary_distribution_is_fixed_point():
    pi_b = dirichlet_bigram(7, 1.0, 0)
    pi_u = stationary_distribution(pi_b)
    assert torch.allclose(pi_u @ pi_b, pi_u, atol=1e-10)
    assert pi_u.sum().item() == pytest.approx(1.0)


def test_generator_matches_bigram_and_trigger_rule():
    pi_b = dirichlet_bigram(6, 2.0, 1)
    data = BigramTriggerData(pi_b, n_triggers=2)
    batch = data.sample(600, 48, torch.Generator().manual_seed(0))
    z = batch.tokens
    trig = (z[:, :-1, None] == batch.triggers[:, None, :])
    # trigger rule: every trigger is followed by its own output
    expected = (trig * batch.outputs[:, None, :]).sum(-1)
    fired = trig.any(-1)
    assert fired.sum() > 1000
    assert torch.equal(z[:, 1:][fired], expected[fired])
    # elsewhere the transitions follow pi_b
    prev, nxt = z[:, :-1][~fired], z[:, 1:][~fired]
    counts = torch.zeros(6, 6, dtype=torch.float64)
    counts.index_put_((prev, nxt), torch.ones(len(prev), dtype=torch.float64), accumulate=True)
    rows = counts.sum(1, keepdim=True)
    z_scores = (counts / rows - pi_b) / torch.sqrt(pi_b * (1 - pi_b) / rows)
    assert rows.min() > 500 and z_scores.abs().max() < 4.5  # binomial z-scores, 36 cells
    # the first token follows pi_u
    first = torch.bincount(z[:, 0], minlength=6).double() / len(z)
    assert (first - data.pi_u).abs().max() < 0.07


def test_sampling_is_deterministic_given_generator():
    data = BigramTriggerData(dirichlet_bigram(8, 1.0, 0), n_triggers=3, n_heldout_outputs=2)
    a = data.sample(4, 20, torch.Generator().manual_seed(5))
    b = data.sample(4, 20, torch.Generator().manual_seed(5))
    assert torch.equal(a.tokens, b.tokens)
    ood = data.sample(50, 20, torch.Generator().manual_seed(5), ood=True)
    assert set(ood.outputs.flatten().tolist()) <= {6, 7}
    train = data.sample(50, 20, torch.Generator().manual_seed(5))
    assert not set(train.outputs.flatten().tolist()) & {6, 7}


def test_frequent_triggers_are_most_likely_tokens():
    data = BigramTriggerData(dirichlet_bigram(8, 1.0, 0), n_triggers=2, trigger_mode="frequent")
    batch = data.sample(3, 10, torch.Generator().manual_seed(0))
    top = set(torch.argsort(data.pi_u, descending=True)[:2].tolist())
    assert all(set(row.tolist()) == top for row in batch.triggers)


def test_icl_mask_marks_second_and_later_trigger_occurrences():
    tokens = torch.tensor([[3, 1, 4, 3, 1, 4, 3, 2]])
    triggers = torch.tensor([[3, 9]])
    mask = icl_mask(tokens, triggers)
    assert mask.tolist() == [[False, False, False, True, False, False, True]]


def test_corpus_bigram_counts_characters(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("ab" * 200 + "cd")
    pi_b, chars = corpus_bigram(f, vocab=8, smoothing=1e-6)
    a, b = chars.index("a"), chars.index("b")
    assert pi_b[a, b] > 0.999 and pi_b[b, a] > 0.99
    with pytest.raises(UserError, match="no such text file"):
        corpus_bigram(tmp_path / "missing.txt", vocab=8)
    (tmp_path / "tiny.txt").write_text("aaa")
    with pytest.raises(UserError, match="at least 4"):
        corpus_bigram(tmp_path / "tiny.txt", vocab=8)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="n_triggers"):
        BigramTriggerData(dirichlet_bigram(5, 1.0, 0), n_triggers=5)
