import math

import torch

from paperzoo.induction.data import BigramTriggerData, dirichlet_bigram
from paperzoo.induction.memory import (
    MemoryStrengths,
    build_associative_memory,
    centred_log_bigram,
    effective_strengths,
    make_orthogonal,
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
