"""Summarisation module: a small transformer decoder with a copy distribution (pointer-generator, See et al. 2017)
on top of the shared encoder's states H (B, S, d), its word embeddings tied to the encoder's.

    x_t     = E[y_{t-1}] + p_t                                    E: the encoder's word embeddings (tied)
    s_t     = Dec(x_{<=t}, H)                                     pre-LN blocks: causal self-attn, cross-attn, FFN
    a_ti    = softmax_i(q(s_t) . k(H_i) / sqrt(d))                copy attention over source tokens i
    c_t     = sum_i a_ti H_i
    P_V(w)  = softmax_w(W_o [s_t; c_t] . E_w + b_w),  w in V      generation vocabulary V (tied rows of E)
    p_gen   = sigmoid(w_g . [s_t; c_t; x_t] + b_g)
    P(w)    = p_gen P_V(w) + (1 - p_gen) sum_{i: src_i = w} a_ti   over V plus the batch's source-only words
    loss    = -mean_t log P(y_t)

V is the whole tokenizer vocabulary (vocab="full") or the tokens of the training targets (vocab="train", the
pointer-generator's fixed vocabulary): a source word outside V can still be produced, by copying. With copy
off, P = P_V and a word outside V is [UNK]. Decoding is greedy or beam search, with cached self-attention
inputs, and stops at [SEP].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    """Multi-head attention with separately projected keys/values (so cross-attention keys are computed once)."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"decoder width {d} must be divisible by decoder.heads={heads}")
        self.h, self.dh, self.dropout = heads, d // heads, dropout
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def kv(self, x: Tensor) -> tuple[Tensor, Tensor]:
        B, S, _ = x.shape
        return (self.k(x).view(B, S, self.h, self.dh).transpose(1, 2),
                self.v(x).view(B, S, self.h, self.dh).transpose(1, 2))

    def forward(self, x: Tensor, k: Tensor, v: Tensor, keep: Tensor) -> Tensor:
        """x (B, T, d) attends to k, v (B, h, S, dh); keep (B, T|1, S) True where attention is allowed."""
        B, T, _ = x.shape
        q = self.q(x).view(B, T, self.h, self.dh).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None],
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.o(out.transpose(1, 2).reshape(B, T, -1))


class DecoderBlock(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn, self.cross = Attention(d, heads, dropout), Attention(d, heads, dropout)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mem_kv: tuple[Tensor, Tensor], mem_keep: Tensor, past: Tensor | None = None,
                ) -> tuple[Tensor, Tensor]:
        """x: the new positions (B, T, d); past: earlier normalised inputs of this block (B, t0, d) or None."""
        h = self.ln1(x)
        ctx = h if past is None else torch.cat([past, h], dim=1)
        T, S = x.shape[1], ctx.shape[1]
        causal = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)[None]
        x = x + self.drop(self.self_attn(h, *self.self_attn.kv(ctx), causal))
        x = x + self.drop(self.cross(self.ln2(x), *mem_kv, mem_keep[:, None, :]))
        return x + self.drop(self.ffn(self.ln3(x))), ctx


@dataclass
class Memory:
    """What the decoder reads of a source batch: states, masks, copy keys, and the extended-vocabulary map."""

    states: Tensor  # (B, S, d)
    keep: Tensor  # (B, S) bool: real source tokens
    copy_keep: Tensor  # (B, S) bool: tokens that may be copied (no [CLS]/[SEP]/padding)
    src_ext: Tensor  # (B, S) source tokens as indices of the extended vocabulary
    oov_ids: Tensor  # (n_oov,) token ids of the batch's source words outside V
    kv: list[tuple[Tensor, Tensor]]  # per block: cross-attention keys/values
    copy_k: Tensor  # (B, S, d)


class PointerGeneratorDecoder(nn.Module):
    """Transformer decoder + copy distribution over the source (see module docstring)."""

    def __init__(self, embedding: nn.Embedding, vocab_ids: Tensor | None = None, layers: int = 1, heads: int = 6,
                 ffn: int = 1024, max_len: int = 32, dropout: float = 0.1, copy: bool = True, bos_id: int = 101,
                 eos_id: int = 102, unk_id: int = 100) -> None:
        super().__init__()
        d, n_full = embedding.weight.shape[1], embedding.weight.shape[0]
        self.embedding, self.d, self.copy, self.max_len = embedding, d, copy, max_len
        self.bos_id, self.eos_id, self.unk_id = bos_id, eos_id, unk_id
        ids = torch.arange(n_full) if vocab_ids is None else torch.unique(torch.cat([
            torch.as_tensor(vocab_ids, dtype=torch.long), torch.tensor([bos_id, eos_id, unk_id])]))
        index = torch.full((n_full,), -1, dtype=torch.long)
        index[ids] = torch.arange(len(ids))
        self.register_buffer("vocab_ids", ids, persistent=False)
        self.register_buffer("gen_index", index, persistent=False)
        self.pos = nn.Embedding(max_len + 1, d)
        self.blocks = nn.ModuleList(DecoderBlock(d, heads, ffn, dropout) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.copy_q, self.copy_k = nn.Linear(d, d), nn.Linear(d, d)
        self.out = nn.Linear(2 * d, d)
        self.out_bias = nn.Parameter(torch.zeros(len(ids)))
        self.p_gen = nn.Linear(3 * d, 1)
        nn.init.normal_(self.pos.weight, std=0.02)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab_ids)

    def memory(self, states: Tensor, keep: Tensor, src_ids: Tensor, copy_keep: Tensor) -> Memory:
        gen = self.gen_index[src_ids]
        oov_ids = torch.unique(src_ids[(gen < 0) & copy_keep]) if self.copy else src_ids.new_zeros(0)
        rank = torch.searchsorted(oov_ids, src_ids.clamp_min(0)) if len(oov_ids) else torch.zeros_like(src_ids)
        src_ext = torch.where(gen >= 0, gen, self.vocab_size + rank)
        copy_keep = copy_keep & ((gen >= 0) | self.copy)
        return Memory(states, keep, copy_keep, src_ext, oov_ids, [b.cross.kv(states) for b in self.blocks],
                      self.copy_k(states))

    def target_ext(self, tgt_ids: Tensor, mem: Memory) -> Tensor:
        """Target token ids as extended-vocabulary indices (source-only words when copying, else [UNK])."""
        gen = self.gen_index[tgt_ids]
        ext = torch.where(gen >= 0, gen, torch.full_like(gen, int(self.gen_index[self.unk_id])))
        if len(mem.oov_ids):
            pos = torch.searchsorted(mem.oov_ids, tgt_ids).clamp_max(len(mem.oov_ids) - 1)
            found = (gen < 0) & (mem.oov_ids[pos] == tgt_ids)
            ext = torch.where(found, self.vocab_size + pos, ext)
        return ext

    def _distribution(self, s: Tensor, x: Tensor, mem: Memory) -> Tensor:
        """P(w) over the extended vocabulary for decoder states s (B, T, d) with inputs x (B, T, d)."""
        scores = (self.copy_q(s) @ mem.copy_k.transpose(1, 2)) / math.sqrt(self.d)
        scores = scores.masked_fill(~mem.copy_keep[:, None, :], float("-inf"))
        a = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # a source with nothing to copy gives a = 0
        c = a @ mem.states
        emb = self.embedding.weight[self.vocab_ids]
        p_vocab = torch.softmax(self.out(torch.cat([s, c], -1)) @ emb.T + self.out_bias, dim=-1)
        n_ext = self.vocab_size + len(mem.oov_ids)
        if not self.copy:
            return F.pad(p_vocab, (0, n_ext - self.vocab_size))
        p_gen = torch.sigmoid(self.p_gen(torch.cat([s, c, x], -1)))
        dist = F.pad(p_gen * p_vocab, (0, n_ext - self.vocab_size))
        index = mem.src_ext[:, None, :].expand(-1, s.shape[1], -1)
        return dist.scatter_add(2, index, (1 - p_gen) * a)

    def _embed(self, ids: Tensor, start: int) -> Tensor:
        pos = torch.arange(start, start + ids.shape[1], device=ids.device).clamp_max(self.max_len)
        return self.embedding(ids) + self.pos(pos)[None]

    def forward(self, tgt_in: Tensor, mem: Memory) -> Tensor:
        """P (B, T, V_ext) for teacher-forced inputs tgt_in (B, T) (token ids starting with [CLS] as BOS)."""
        x = self._embed(tgt_in, 0)
        h = x
        for b, kv in zip(self.blocks, mem.kv, strict=True):
            h, _ = b(h, kv, mem.keep)
        return self._distribution(self.ln(h), x, mem)

    def loss(self, tgt_in: Tensor, tgt_out: Tensor, tgt_keep: Tensor, mem: Memory) -> Tensor:
        """-mean log P(y_t) over the real target positions."""
        p = self(tgt_in, mem)
        gold = self.target_ext(tgt_out, mem)
        logp = torch.log(p.gather(2, gold[..., None]).squeeze(-1).clamp_min(1e-12))
        keep = tgt_keep.to(logp.dtype)
        return -(logp * keep).sum() / keep.sum().clamp_min(1.0)

    def to_token_ids(self, ext: Tensor, mem: Memory) -> Tensor:
        """Extended-vocabulary indices back to tokenizer ids."""
        inside = ext < self.vocab_size
        gen = self.vocab_ids[ext.clamp_max(self.vocab_size - 1)]
        if not len(mem.oov_ids):
            return gen
        return torch.where(inside, gen, mem.oov_ids[(ext - self.vocab_size).clamp(0, len(mem.oov_ids) - 1)])

    def _step(self, ids: Tensor, t: int, mem: Memory, past: list[Tensor | None]) -> tuple[Tensor, list[Tensor]]:
        x = self._embed(ids[:, None], t)
        h, new_past = x, []
        for b, kv, p in zip(self.blocks, mem.kv, past, strict=True):
            h, ctx = b(h, kv, mem.keep, p)
            new_past.append(ctx)
        return self._distribution(self.ln(h), x, mem)[:, 0], new_past

    @torch.no_grad()
    def greedy(self, mem: Memory, max_len: int | None = None) -> list[list[int]]:
        """Greedy decoding: token ids per example, without BOS/EOS."""
        B = mem.states.shape[0]
        ids = torch.full((B,), self.bos_id, dtype=torch.long, device=mem.states.device)
        past: list[Tensor | None] = [None] * len(self.blocks)
        out, done = [], torch.zeros(B, dtype=torch.bool, device=ids.device)
        for t in range(max_len or self.max_len):
            p, past = self._step(ids, t, mem, past)
            ids = self.to_token_ids(p.argmax(-1), mem)
            out.append(ids)
            done |= ids == self.eos_id
            if bool(done.all()):
                break
        return _cut(torch.stack(out, 1).tolist(), self.eos_id)

    @torch.no_grad()
    def beam(self, mem: Memory, beam: int = 4, max_len: int | None = None, length_penalty: float = 1.0,
             ) -> list[list[int]]:
        """Beam search; a finished hypothesis scores sum log P / length^length_penalty (negative: longer
        hypotheses are not penalised for their length alone)."""
        B = mem.states.shape[0]
        expand = torch.arange(B, device=mem.states.device).repeat_interleave(beam)
        m = _select(mem, expand)
        ids = torch.full((B * beam,), self.bos_id, dtype=torch.long, device=expand.device)
        score = torch.zeros(B, beam, device=expand.device)
        score[:, 1:] = float("-inf")  # all beams start identical: keep one
        past: list[Tensor | None] = [None] * len(self.blocks)
        seqs = torch.zeros(B * beam, 0, dtype=torch.long, device=expand.device)
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
        for t in range(max_len or self.max_len):
            p, past = self._step(ids, t, m, past)
            logp = torch.log(p.clamp_min(1e-12)).view(B, beam, -1) + score[..., None]
            top, flat = logp.view(B, -1).topk(beam, dim=-1)
            src_beam, ext = flat // logp.shape[-1], flat % logp.shape[-1]
            rows = (torch.arange(B, device=expand.device)[:, None] * beam + src_beam).view(-1)
            ids = self.to_token_ids(ext.view(-1), m)
            seqs = torch.cat([seqs[rows], ids[:, None]], 1)
            past = [q[rows] for q in past]
            score = top.clone()
            ended = (ids == self.eos_id).view(B, beam)
            for b, k in ended.nonzero().tolist():
                finished[b].append((float(top[b, k]) / (t + 1) ** length_penalty, seqs[b * beam + k, :-1].tolist()))
                score[b, k] = float("-inf")
            limit = max_len or self.max_len
            if all(len(f) >= beam and max(f)[0] >= float(score[b].max()) / limit ** length_penalty
                   for b, f in enumerate(finished)):
                break  # no live hypothesis can still beat the best finished one
        for b in range(B):
            if not finished[b]:
                k = int(score[b].argmax())
                finished[b].append((0.0, seqs[b * beam + k].tolist()))
        return [max(f)[1] for f in finished]


def _cut(rows: list[list[int]], eos: int) -> list[list[int]]:
    return [r[: r.index(eos)] if eos in r else r for r in rows]


def _select(mem: Memory, rows: Tensor) -> Memory:
    """The memory of the source rows `rows` (beam search expands the batch)."""
    return Memory(mem.states[rows], mem.keep[rows], mem.copy_keep[rows], mem.src_ext[rows], mem.oov_ids,
                  [(k[rows], v[rows]) for k, v in mem.kv], mem.copy_k[rows])
