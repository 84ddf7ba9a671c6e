import math

import torch

from paperzoo.induction.data import BigramTriggerData, dirichlet_bigram
from paperzoo.induction.memory import (
    MemoryStrengths,
    build_associative_memory,
    centred_log_bigram,
    effective_strengths,
    extended_theory_logits,
    make_orthogonal,
    previous_token_share,
    read_strengths,
    stored_bigram_logits,
    theoretical_logits,
)
from paperzoo.induction.model import InductionTransformer, ModelConfig
from paperzoo.induction.prompts import Probe, designed_prompt

N, T = 8, 16


def _orthogonal_model(pos="ape", strengths=None):
    d = 2 * (N + (T if pos == "ape" else 0)) + N
    model = InductionTransformer(N, ModelConfig(d_model=d + 2, pos=pos, max_len=T))
    make_orthogonal(model)
    pi_b = dirichlet_bigram(N, 1.0, 0)
    build_associative_memory(model, pi_b, strengths or MemoryStrengths(prev=40.0, match=2.0, copy=3.0))
    return model.double(), pi_b


def test_closed_form_equals_constructed_model_exactly():
    for pos in ("ape", "rel"):
        model, pi_b = _orthogonal_model(pos)
        s = MemoryStrengths(prev=40.0, match=2.0, copy=3.0)
        gen = torch.Generator().manual_seed(0)
        for n_b, n_b2 in [(0, 0), (1, 0), (3, 1), (2, 2)]:
            prompt = designed_prompt(pi_b, Probe(a=2, b=5, c=int(pi_b[2].argmax()), b2=6), n_b, n_b2, T, gen)
            numeric = model(prompt[None])[0][0, -1]
            closed = theoretical_logits(prompt, pi_b, s)
            assert torch.allclose(numeric, closed, atol=1e-6), (pos, n_b, n_b2)


def test_closed_form_by_hand():
    pi_b = torch.full((4, 4), 0.25, dtype=torch.float64)
    s = MemoryStrengths(match=math.log(3.0), copy=2.0, bigram=1.0)
    # z = 0 1 2 1 | 0 -> positions after a 0: position 1 (token 1); first position counts itself as predecessor
    prompt = torch.tensor([0, 1, 2, 1, 0])
    # weights: pos0 (prev 0 = a) 3, pos1 (prev 0) 3, pos2 1, pos3 1, pos4 (prev 1) 1 -> total 9
    expected = torch.tensor([3 + 1, 3 + 1, 1, 0], dtype=torch.float64) * 2.0 / 9
    assert torch.allclose(theoretical_logits(prompt, pi_b, s), expected)


def test_read_strengths_recovers_construction():
    model, _ = _orthogonal_model("ape", MemoryStrengths(prev=40.0, match=2.5, copy=3.5))
    s = read_strengths(model)
    assert abs(s.match - 2.5) < 1e-6 and abs(s.copy - 3.5) < 1e-6


def test_random_gaussian_construction_approximates_closed_form():
    pi_b = dirichlet_bigram(N, 1.0, 0)
    model = InductionTransformer(N, ModelConfig(d_model=512, max_len=T, init_seed=1))
    s = MemoryStrengths(prev=12.0, match=3.0, copy=4.0)
    build_associative_memory(model, pi_b, s)
    gen = torch.Generator().manual_seed(1)
    numeric, closed = [], []
    for n in range(5):
        prompt = designed_prompt(pi_b, Probe(a=1, b=4, c=int(pi_b[1].argmax()), b2=3), n, 0, T, gen)
        out = model(prompt[None])[0][0, -1].double()
        numeric.append(out - out.mean())
        th = theoretical_logits(prompt, pi_b, s)
        closed.append(th - th.mean())
    r = torch.corrcoef(torch.stack([torch.cat(numeric), torch.cat(closed)]))[0, 1]
    assert r > 0.95


def test_constructed_model_solves_icl_and_stores_bigram():
    model, pi_b = _orthogonal_model("ape", MemoryStrengths(prev=40.0, match=8.0, copy=30.0))
    data = BigramTriggerData(pi_b.float(), n_triggers=2)
    batch = data.sample(64, T, torch.Generator().manual_seed(0))
    from paperzoo.induction.probes import bigram_kl, icl_accuracy

    logits, _ = model(batch.tokens)
    assert icl_accuracy(logits, batch) > 0.95
    assert bigram_kl(model, pi_b) < 1e-8
    assert torch.allclose(centred_log_bigram(pi_b).sum(1), torch.zeros(N, dtype=torch.float64), atol=1e-9)


def test_effective_strengths_recover_construction_and_global_table():
    s = MemoryStrengths(prev=40.0, match=2.5, copy=3.5)
    model, pi_b = _orthogonal_model("ape", s)
    data = BigramTriggerData(pi_b.float(), n_triggers=2)
    tokens = data.sample(16, T, torch.Generator().manual_seed(0)).tokens
    eff = effective_strengths(model, tokens)
    assert abs(eff.match - 2.5) < 1e-4 and abs(eff.copy - 3.5) < 1e-6
    assert torch.allclose(stored_bigram_logits(model), centred_log_bigram(pi_b), atol=1e-9)
    prompt = tokens[0]
    assert torch.allclose(theoretical_logits(prompt, pi_b, s),
                          theoretical_logits(prompt, pi_b, s, global_logits=stored_bigram_logits(model)))


def _random_model(seed=0):
    model = InductionTransformer(N, ModelConfig(d_model=48, max_len=T, init_seed=seed)).double()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        model.layers[1].wo.copy_(torch.randn(48, 48, generator=gen, dtype=torch.float64) / 7)
        model.wf.copy_(torch.randn(48, 48, generator=gen, dtype=torch.float64) / 7)
    return model


def test_extended_theory_closed_form_term_is_the_closed_form():
    model = _random_model()
    pi_b = dirichlet_bigram(N, 1.0, 0)
    tokens = BigramTriggerData(pi_b.float(), n_triggers=2).sample(5, T, torch.Generator().manual_seed(2)).tokens
    s = MemoryStrengths(match=1.7, copy=2.5)
    table = stored_bigram_logits(model)
    closed = torch.stack([theoretical_logits(p, pi_b, s, table) for p in tokens])
    assert torch.allclose(extended_theory_logits(model, tokens, s, 0.4, "closed_form"), closed, atol=1e-10)


def test_extended_theory_with_every_term_is_the_model_when_attention_is_uniform():
    # W_K = 0 in both layers: the model attends uniformly, which is the theory with rho = 0 and a_2 = 0,
    # so position, layer-1 output and the full values together must give the model's logits exactly
    model = _random_model(3)
    tokens = torch.randint(0, N, (6, T), generator=torch.Generator().manual_seed(4))
    full = extended_theory_logits(model, tokens, MemoryStrengths(match=0.0, copy=1.0), 0.0, "values")
    assert torch.allclose(full, model(tokens)[0][:, -1], atol=1e-10)
    partial = extended_theory_logits(model, tokens, MemoryStrengths(match=0.0, copy=1.0), 0.0, "layer1")
    assert not torch.allclose(partial, model(tokens)[0][:, -1], atol=1e-3)


def test_previous_token_share_of_the_construction_is_near_one():
    model, pi_b = _orthogonal_model("ape")
    tokens = BigramTriggerData(pi_b.float(), n_triggers=2).sample(8, T, torch.Generator().manual_seed(0)).tokens
    assert previous_token_share(model, tokens) > 0.99
    uniform = sum(1 / t for t in range(2, T + 1)) / (T - 1)  # W_K^1 = 0: row t attends 1/t to each s <= t
    assert abs(previous_token_share(_random_model(), tokens.long()) - uniform) < 1e-9
