import math

import torch

from paperzoo.induction.data import BigramTriggerData, dirichlet_bigram
from paperzoo.induction.memory import MemoryStrengths, build_associative_memory
from paperzoo.induction.model import InductionTransformer, ModelConfig
from paperzoo.induction.probes import (
    bigram_kl,
    icl_accuracy,
    induction_attention,
    memory_recall,
    previous_token_attention,
    stored_bigram_correlation,
)

N, T = 16, 32


def _pair():
    pi_b = dirichlet_bigram(N, 1.0, 2)
    cfg = ModelConfig(d_model=256, max_len=T, init_seed=3)
    built = build_associative_memory(InductionTransformer(N, cfg), pi_b,
                                     MemoryStrengths(prev=15.0, match=8.0, copy=15.0))
    rand = InductionTransformer(N, cfg)
    with torch.no_grad():
        g = torch.Generator().manual_seed(4)
        for p in (rand.layers[0].wk, rand.layers[1].wk, rand.layers[1].wo, rand.wf):
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return pi_b, built, rand


def test_probes_score_constructed_near_one_and_random_near_chance():
    pi_b, built, rand = _pair()
    data = BigramTriggerData(pi_b, n_triggers=3)
    batch = data.sample(64, T, torch.Generator().manual_seed(0))
    good, bad = memory_recall(built, T), memory_recall(rand, T)
    assert min(good.values()) > 0.95
    assert bad["recall_wk1"] < 0.3 and bad["recall_wk2"] < 0.3 and bad["recall_wo2"] < 0.3
    logits, maps = built(batch.tokens)
    rlogits, rmaps = rand(batch.tokens)
    assert previous_token_attention(maps[0]) > 0.9
    chance_prev = sum(1 / (t + 1) for t in range(1, T)) / (T - 1)
    assert previous_token_attention(rmaps[0]) < 2 * chance_prev
    assert induction_attention(maps[1], batch.tokens) > 0.8
    assert induction_attention(rmaps[1], batch.tokens) < 0.3
    assert icl_accuracy(logits, batch) > 0.9
    assert icl_accuracy(rlogits, batch) < 0.3
    assert stored_bigram_correlation(built, pi_b) > 0.9
    assert bigram_kl(built, pi_b) < bigram_kl(rand, pi_b)


def test_previous_token_attention_closed_form():
    attn = torch.zeros(1, 4, 4)
    attn[0, 0, 0] = 1
    attn[0, 1] = torch.tensor([0.5, 0.5, 0, 0])
    attn[0, 2] = torch.tensor([0.0, 1.0, 0, 0])
    attn[0, 3] = torch.tensor([0.1, 0.2, 0.3, 0.4])
    assert math.isclose(previous_token_attention(attn), (0.5 + 1.0 + 0.3) / 3, rel_tol=1e-6)


def test_induction_attention_counts_mass_after_previous_occurrence():
    tokens = torch.tensor([[5, 6, 5, 7]])
    attn = torch.zeros(1, 4, 4)
    attn[0, 2] = torch.tensor([0.2, 0.7, 0.1, 0.0])  # token 5 at t=2: target s=1 (after the 5 at 0)
    attn[0, 3, 3] = 1.0  # token 7 never seen before: not scored
    assert math.isclose(induction_attention(attn, tokens), 0.7, rel_tol=1e-6)
