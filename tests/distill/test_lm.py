"""LM pieces: windows, perplexity, greedy decoding with a KV cache, against direct computations."""

import math

import numpy as np
import pytest
import torch

from paperzoo.core import UserError
from paperzoo.distill.lm import ByteTokenizer, Codec, greedy, lm_batches, perplexity, text_windows, window_nll


def _text(n_lines=400):
    rng = np.random.default_rng(0)
    words = ["emma", "said", "the", "house", "was", "quite", "a", "sense", "of", "pride"]
    return "\n".join(" ".join(rng.choice(words, 8)) + f" {i}" for i in range(n_lines))


def test_byte_tokenizer_round_trip():
    tok = ByteTokenizer()
    ids = tok.encode("Miss Bennet — é")
    assert min(ids) >= 3 and tok.decode(ids) == "Miss Bennet — é"
    assert Codec(tok).decode(torch.tensor(ids)) == "Miss Bennet — é"


def test_windows_split_train_before_test_and_are_reproducible():
    text = _text()
    codec = Codec(ByteTokenizer())
    tr, te = text_windows(text, codec, 32, 20, 6, seed=0)
    assert tr.shape == (20, 32) and te.shape == (6, 32)
    cut = int(0.9 * len(text))
    train_part = text[: text.find("\n", cut) + 1].encode()
    for row in tr:  # every train window is a piece of the first 90 % of the text
        assert bytes(int(i) - 3 for i in row) in train_part
    for row in te:
        assert bytes(int(i) - 3 for i in row) in text[cut:].encode()
    tr2, te2 = text_windows(text, codec, 32, 20, 6, seed=0)
    tr3, te3 = text_windows(text, codec, 32, 20, 6, seed=1)
    assert torch.equal(tr, tr2) and torch.equal(te, te3) and not torch.equal(tr, tr3)
    assert len({tuple(r.tolist()) for r in tr}) == 20  # distinct, non-overlapping stretches
    with pytest.raises(UserError, match="n_train"):
        text_windows(text[:2000], codec, 32, 500, 2, seed=0)


def test_window_nll_and_perplexity_match_cross_entropy(tiny_llama):
    x = torch.randint(3, 60, (5, 9), generator=torch.Generator().manual_seed(0))
    nll = window_nll(tiny_llama, x, batch_size=2)
    with torch.no_grad():
        logits = tiny_llama(input_ids=x).logits
    per = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), x[:, 1:], reduction="none").mean(1)
    assert np.allclose(nll, per.numpy(), atol=1e-5)
    assert perplexity(nll) == pytest.approx(math.exp(per.mean().item()), rel=1e-5)
    ids, mask, target = lm_batches(x, 8, False, 0)[0]
    assert (target[:, -1] == -100).all() and torch.equal(target[:, :-1], x[:, 1:]) and mask.all()


def test_greedy_with_kv_cache_equals_argmax_without_cache(tiny_llama):
    prompts = torch.randint(3, 60, (3, 5), generator=torch.Generator().manual_seed(1))
    fast = greedy(tiny_llama, prompts, 6)
    x = prompts
    with torch.no_grad():
        for _ in range(6):
            x = torch.cat([x, tiny_llama(input_ids=x).logits[:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(fast, x[:, 5:])
