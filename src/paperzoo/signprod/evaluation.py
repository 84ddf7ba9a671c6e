"""Decoding under the two protocols, the back-translation read-out, and every score of a production model.

    protocol "gtlen"    the anchors': T decoding steps with the true counter t/T fed back (PT issue #61)
    protocol "predlen"  honest: the model's own counter is fed back and ends the sequence (the default)

Work on the test set is sharded over ranks (`dist.shard`) and gathered back in order, so every rank ends with
the same hypotheses and scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from paperzoo.core.distributed import Distributed

from . import scores
from .batching import Encoded, Vocab, pad_frames, pad_ids, pose_batch
from .dtw import dtw_mje
from .evaluator import BackTranslator
from .model import PAD, ProgressiveTransformer
from .skeleton import N_VALUES

PROTOCOLS = ("gtlen", "predlen")


def _chunks(indices: list[int], size: int) -> list[list[int]]:
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def decode(model: ProgressiveTransformer, enc: Encoded, protocol: str, max_frames: int, dist: Distributed,
           batch_size: int = 64, device: str = "cpu") -> list[np.ndarray]:
    """Hypotheses (1 + L, 151) with the BOS row first, for every sequence of `enc`, in order."""
    model.eval()
    mine = dist.shard(len(enc))
    order = sorted(mine, key=lambda i: len(enc.frames[i]))
    out: dict[int, np.ndarray] = {}
    for chunk in _chunks(order, batch_size):
        src, src_pad = pad_ids([enc.src[i] for i in chunk], PAD)
        gt = torch.tensor([len(enc.frames[i]) for i in chunk]) if protocol == "gtlen" else None
        frames, lengths = model.generate(src.to(device), src_pad.to(device), max_frames,
                                         None if gt is None else gt.to(device))
        for row, i in enumerate(chunk):
            out[i] = frames[row, : 1 + int(lengths[row])].cpu().numpy()
    return dist.gather_shards([out[i] for i in mine], len(enc))


@dataclass
class Reading:
    """What the evaluator reads from a set of pose sequences."""

    glosses: list[str]
    texts: list[str]
    pooled: np.ndarray  # (n, d)
    frames: list[np.ndarray]  # per sequence (T, d)


def read(evaluator: BackTranslator, joints: list[np.ndarray], gv: Vocab, tv: Vocab, dist: Distributed,
         batch_size: int = 64, device: str = "cpu") -> Reading:
    """Back-translate joint sequences (T, >= 150): gloss strings, text strings, pooled and frame features."""
    evaluator.eval()
    mine = dist.shard(len(joints))
    parts: dict[int, tuple] = {}
    for chunk in _chunks(mine, batch_size):
        frames, pad = pad_frames([np.asarray(joints[i][:, :N_VALUES], dtype=np.float32) for i in chunk])
        g, t, pooled, states = evaluator.read(frames.to(device), pad.to(device))
        for row, i in enumerate(chunk):
            n = int((~pad[row]).sum())
            parts[i] = (" ".join(gv.decode(g[row])), " ".join(tv.decode(t[row])), pooled[row].cpu().numpy(),
                        states[row, :n].cpu().numpy())
    everything = dist.gather_shards([parts[i] for i in mine], len(joints))
    return Reading([p[0] for p in everything], [p[1] for p in everything], np.stack([p[2] for p in everything]),
                   [p[3] for p in everything])


def ground_truth_hypotheses(enc: Encoded) -> list[np.ndarray]:
    """The test poses themselves as hypotheses (a BOS row in front): the 'ground truth' row of the table."""
    return [np.concatenate([np.zeros((1, f.shape[1]), np.float32), f]) for f in enc.frames]


def score(hyps: list[np.ndarray], enc: Encoded, reading: Reading, reference: Reading) -> tuple[dict[str, float],
                                                                                                np.ndarray]:
    """Every score of one set of hypotheses against the test set; returns (scores, per-sequence DTW-MJE)."""
    dtw = dtw_mje(enc.frames, hyps)
    m = {"dtw": float(dtw.mean())}
    m.update(scores.text_scores(reading.texts, enc.text_strings) if any(enc.text_strings) else
             {k: float("nan") for k in ("bleu1", "bleu2", "bleu3", "bleu4", "rougeL")})
    m["wer"] = scores.gloss_wer(reading.glosses, enc.gloss_strings)
    m["fid"] = scores.frechet_distance(reading.pooled, reference.pooled)
    m["fid_seq"] = float(np.mean([scores.frechet_distance(h, r) if min(len(h), len(r)) >= 2 else np.nan
                                  for h, r in zip(reading.frames, reference.frames, strict=True)]))
    joints = [h[1:] for h in hyps]
    m["mpjpe"], m["mpjpe_sum"], _ = scores.mpjpe(enc.frames, joints)
    m["len_ratio"] = float(np.mean([len(j) / len(f) for j, f in zip(joints, enc.frames, strict=True)]))
    return m, dtw


@torch.no_grad()
def alignment(model: ProgressiveTransformer, enc: Encoded, batch_size: int = 64, device: str = "cpu"
              ) -> dict[str, float]:
    """Frame -> gloss alignment on the true test poses (teacher forced, no noise) against the known one.

    align_acc: share of frames whose most associated gloss (argmax_n A[n, m], CSA) is the true one;
    align_monotonic: share of consecutive frame pairs whose aligned gloss does not move backwards;
    align_monotonic_seq: share of sequences aligned monotonically throughout; xattn_*: the same read
    from the last decoder layer's cross-attention (every model has one).
    """
    if any(a is None for a in enc.align):
        return {}
    model.eval()
    hits = {"csa": [0, 0, 0, 0, 0], "xattn": [0, 0, 0, 0, 0]}  # right, frames, forward steps, steps, mono seqs
    for chunk in _chunks(list(range(len(enc))), batch_size):
        b = pose_batch(enc, np.array(chunk), None, device=device)
        out = model(b.src, b.src_pad, b.frames, b.trg_pad, need_weights=True)
        maps = {"xattn": out.cross_attn.transpose(1, 2)}
        if "assoc" in out.extras:
            maps["csa"] = out.extras["assoc"]
        for kind, a in maps.items():
            best = a.argmax(1).cpu().numpy()
            for row, i in enumerate(chunk):
                truth = enc.align[i]
                path = best[row, : len(truth)]
                steps = np.diff(path) >= 0
                h = hits[kind]
                h[0] += int((path == truth).sum())
                h[1] += len(truth)
                h[2] += int(steps.sum())
                h[3] += len(steps)
                h[4] += int(steps.all())
    out_m: dict[str, float] = {}
    for kind, h in hits.items():
        if h[1] == 0:
            continue
        prefix = "" if kind == "csa" else "xattn_"
        out_m[f"{prefix}align_acc"] = h[0] / h[1]
        out_m[f"{prefix}align_monotonic"] = h[2] / max(1, h[3])
        out_m[f"{prefix}align_monotonic_seq"] = h[4] / len(enc)
    return out_m


@torch.no_grad()
def example_maps(model: ProgressiveTransformer, enc: Encoded, i: int, device: str = "cpu") -> dict[str, np.ndarray]:
    """Alignment maps (glosses x frames) of test sentence i: CSA's association (if any) and the cross-attention."""
    model.eval()
    b = pose_batch(enc, np.array([i]), None, device=device)
    out = model(b.src, b.src_pad, b.frames, b.trg_pad, need_weights=True)
    maps = {"cross-attention": out.cross_attn[0].T.cpu().numpy()}
    if "assoc" in out.extras:
        maps["CSA"] = out.extras["assoc"][0].cpu().numpy()
    return maps
