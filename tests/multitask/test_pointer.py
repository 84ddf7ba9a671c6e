"""The pointer-generator decoder: a proper distribution, copying outside its vocabulary, decoding."""

import torch
from torch import nn

from paperzoo.multitask.pointer import PointerGeneratorDecoder

BOS, EOS, UNK, PAD = 1, 2, 3, 0
POS = torch.randn(8, 32, generator=torch.Generator().manual_seed(1))  # fixed source positions


def _decoder(copy=True, vocab=(4, 5, 6, 7), d=16, seed=0):
    torch.manual_seed(seed)
    emb = nn.Embedding(50, d)
    return PointerGeneratorDecoder(emb, torch.tensor(vocab), layers=1, heads=2, ffn=32, max_len=8, dropout=0.0,
                                   copy=copy, bos_id=BOS, eos_id=EOS, unk_id=UNK).eval()


def _memory(dec, src):
    src = torch.tensor(src)
    keep = src != PAD
    copy_keep = keep & (src != BOS) & (src != EOS)
    states = dec.embedding(src) + POS[: src.shape[1], : dec.d]  # an encoder's states know their position
    return dec.memory(states.detach(), keep, src, copy_keep)


def test_final_distribution_sums_to_one_over_the_extended_vocabulary():
    for copy in (True, False):
        dec = _decoder(copy)
        mem = _memory(dec, [[BOS, 4, 42, 43, EOS], [BOS, 5, 42, EOS, PAD]])
        p = dec(torch.tensor([[BOS, 4, 5], [BOS, 6, 7]]), mem)
        n_oov = 2 if copy else 0  # 42 and 43 are outside the generation vocabulary
        assert p.shape == (2, 3, dec.vocab_size + n_oov)
        assert torch.allclose(p.sum(-1), torch.ones(2, 3), atol=1e-6)
        assert (p >= 0).all()


def test_copy_puts_probability_on_an_unseen_source_word_and_decodes_it():
    dec = _decoder(copy=True)
    with torch.no_grad():  # p_gen -> 0: the output is the copy distribution
        dec.p_gen.weight.zero_()
        dec.p_gen.bias.fill_(-30.0)
    mem = _memory(dec, [[BOS, 42, EOS]])  # 42 is the only copyable token and is outside V
    p = dec(torch.tensor([[BOS]]), mem)
    ext_42 = dec.target_ext(torch.tensor([[42]]), mem)[0, 0]
    assert int(ext_42) == dec.vocab_size  # the first (only) source-only slot
    assert float(p[0, 0, ext_42].detach()) > 0.999
    assert dec.greedy(mem, max_len=1)[0] == [42]
    # without copying, 42 cannot be produced: its target is [UNK]
    plain = _decoder(copy=False)
    mem2 = _memory(plain, [[BOS, 42, EOS]])
    assert int(plain.target_ext(torch.tensor([[42]]), mem2)[0, 0]) == int(plain.gen_index[UNK])


def test_loss_is_the_mean_negative_log_likelihood_of_the_targets():
    dec = _decoder()
    mem = _memory(dec, [[BOS, 4, 42, EOS]])
    tgt_in, tgt_out = torch.tensor([[BOS, 42, 5]]), torch.tensor([[42, 5, EOS]])
    keep = torch.tensor([[True, True, False]])
    p = dec(tgt_in, mem)
    gold = dec.target_ext(tgt_out, mem)
    expected = -(torch.log(p[0, 0, gold[0, 0]]) + torch.log(p[0, 1, gold[0, 1]])) / 2
    assert torch.allclose(dec.loss(tgt_in, tgt_out, keep, mem), expected)


def test_a_trained_decoder_copies_its_source_greedily_and_by_beam_search():
    dec = _decoder(copy=True, vocab=(4,), d=32)
    dec.train()
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(120):
        words = torch.randint(10, 50, (16, 3), generator=g)
        src = torch.cat([torch.full((16, 1), BOS), words, torch.full((16, 1), EOS)], 1)
        mem = _memory(dec, src.tolist())
        tgt_out = torch.cat([words, torch.full((16, 1), EOS)], 1)
        tgt_in = torch.cat([torch.full((16, 1), BOS), words], 1)
        loss = dec.loss(tgt_in, tgt_out, torch.ones_like(tgt_out, dtype=torch.bool), mem)
        opt.zero_grad()
        loss.backward()
        opt.step()
    dec.eval()
    test = [[BOS, 11, 37, 23, EOS], [BOS, 48, 12, 30, EOS]]  # every word outside V: only copying produces them
    mem = _memory(dec, test)
    assert dec.greedy(mem) == [[11, 37, 23], [48, 12, 30]]
    assert dec.beam(mem, beam=3) == [[11, 37, 23], [48, 12, 30]]


def test_incremental_decoding_matches_the_teacher_forced_forward():
    dec = _decoder()
    mem = _memory(dec, [[BOS, 4, 42, 43, EOS]])
    seq = torch.tensor([[BOS, 5, 42, 6]])
    full = dec(seq, mem)
    past = [None]
    for t in range(seq.shape[1]):
        step, past = dec._step(seq[:, t], t, mem, past)
        assert torch.allclose(step, full[:, t], atol=1e-5)
