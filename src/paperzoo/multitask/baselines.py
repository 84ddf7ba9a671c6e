"""Baselines the paper names or its field expects: a Bi-LSTM with attention (one per task, as Zhou et al. train
it, on the same tokenizer with the same task modules; only its word vectors come from the encoder) and, for
summarisation, the lead baseline.

    Bi-LSTM-attention   e_i = E x_i;  (h_i^->, h_i^<-) = BiLSTM(e);  h_i = W [h_i^->; h_i^<-]
                        pool = sum_i a_i h_i,  a = softmax_i(v . tanh(U h_i)) over real tokens   (Zhou et al. 2016)
    pretrained E        Zhou et al. start from pre-trained word vectors; offline the only ones are the shared
                        encoder's token embeddings P (V, D). E = (P - mean) V_d, V_d the top-d right singular
                        vectors of the centred P, rescaled to P's per-coordinate spread (`pca_embeddings`)
    lead-k              the first k words of the source (k = mean training-summary length in words)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class BiLSTMAttentionEncoder(nn.Module):
    """Embedding + bidirectional LSTM + additive-attention pooling; the same interface as SharedEncoder."""

    frozen_layers = 0
    layered = False

    def __init__(self, vocab_size: int, dim: int = 128, hidden: int = 128, layers: int = 1, dropout: float = 0.1,
                 pad_id: int = 0, word_vectors: Tensor | None = None) -> None:
        super().__init__()
        self.dim = dim
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        if word_vectors is not None:
            if tuple(word_vectors.shape) != (vocab_size, dim):
                raise ValueError(f"word vectors of shape {tuple(word_vectors.shape)} do not fit the vocabulary "
                                 f"{vocab_size} x bilstm.dim {dim}")
            with torch.no_grad():
                self.embed.weight.copy_(word_vectors)
                self.embed.weight[pad_id].zero_()
        self.lstm = nn.LSTM(dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.proj = nn.Linear(2 * hidden, dim)
        self.att_u, self.att_v = nn.Linear(dim, dim), nn.Linear(dim, 1, bias=False)
        self.drop = nn.Dropout(dropout)

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.embed

    def shared_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def forward(self, ids: Tensor, types: Tensor, mask: Tensor) -> Tensor:
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = pack_padded_sequence(self.drop(self.embed(ids)), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return self.proj(out)

    def pool(self, states: Tensor, mask: Tensor) -> Tensor:
        scores = self.att_v(torch.tanh(self.att_u(states))).squeeze(-1)
        a = torch.softmax(scores.masked_fill(~mask.bool(), float("-inf")), dim=-1)
        return (a.unsqueeze(-1) * states).sum(1)


def pca_embeddings(weights: Tensor, dim: int) -> Tensor:
    """(V, D) embeddings projected onto their top-`dim` principal directions (V, dim), scaled so that the
    projected coordinates have the original matrix's mean per-coordinate standard deviation."""
    w = weights.detach().float()
    if not 1 <= dim <= min(w.shape):
        raise ValueError(f"bilstm.dim={dim} must be between 1 and the embedding width {w.shape[1]} for pretrained "
                         "embeddings")
    centred = w - w.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    z = centred @ vh[:dim].T
    return z * (w.std(0).mean() / z.std(0).mean().clamp_min(1e-12))


def lead(source: str, k: int) -> str:
    """The first k words of the source."""
    return " ".join(source.split()[: max(1, k)])
