"""The stages of the signprod experiment: data, the frozen evaluator, production models over seeds, scores.

Each stage takes its config section, the run's Distributed and the context's progress/log, so it also runs
outside an experiment (`progress=lambda it, **_: it`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from paperzoo.core.distributed import Distributed, unwrap
from paperzoo.core.errors import UserError

from .batching import Encoded, Vocab, encode, gloss_vocab, pose_batch, sign_batch, text_vocab
from .data import SignCorpus, SignLanguage, SyntheticConfig
from .evaluation import PROTOCOLS, Reading, alignment, decode, example_maps, ground_truth_hypotheses, read, score
from .evaluator import BackTranslator, EvaluatorConfig
from .formats import read_pt
from .lvmcn import LVMCN, LVMCNConfig
from .model import ModelConfig, ProgressiveTransformer
from .skeleton import N_VALUES
from .train import History, TrainConfig, fit

# name -> (CSA, MSC); "pt" is the Progressive Transformer baseline
VARIANTS: dict[str, tuple[bool, bool]] = {"pt": (False, False), "lvmcn": (True, True),
                                          "lvmcn_minus_csa": (False, True), "lvmcn_minus_msc": (True, False)}


def load_corpus(cfg: SyntheticConfig, path: str | None, log: Callable[[str], None]) -> SignCorpus:
    """The PT layout folder at `path` (PHOENIX14T), else the synthetic sign language of `cfg`."""
    if path:
        corpus = read_pt(Path(path).expanduser())
        log(f"read {path}: " + ", ".join(f"{k} {len(v)}" for k, v in corpus.splits.items()))
        return corpus
    corpus = SignLanguage(cfg).corpus()
    log(f"synthetic sign language: {len(corpus.glosses)} glosses, " + ", ".join(
        f"{k} {len(v)}" for k, v in corpus.splits.items()))
    return corpus


@dataclass
class Prepared:
    """Vocabularies, encoded splits and the joint statistics of the training set."""

    corpus: SignCorpus
    gv: Vocab
    tv: Vocab
    splits: dict[str, Encoded]
    mean: torch.Tensor
    std: torch.Tensor

    @property
    def longest(self) -> int:
        return int(max(self.splits["train"].lengths))


def prepare(corpus: SignCorpus) -> Prepared:
    gv = gloss_vocab(corpus.glosses)
    tv = text_vocab([s.text for s in corpus.splits["train"]])
    splits = {k: encode(v, gv, tv) for k, v in corpus.splits.items()}
    joints = np.concatenate([f[:, :N_VALUES] for f in splits["train"].frames]).astype(np.float64)
    return Prepared(corpus, gv, tv, splits, torch.tensor(joints.mean(0), dtype=torch.float32),
                    torch.tensor(joints.std(0), dtype=torch.float32))


# ----------------------------------------------------------------------------------- evaluator


def train_evaluator(prep: Prepared, cfg: EvaluatorConfig, tcfg: TrainConfig, *, seed: int, dist: Distributed,
                    progress: Callable = lambda it, **_: it, log: Callable = lambda _: None,
                    device: str = "cpu") -> tuple[BackTranslator, History]:
    """The back-translation model, trained on the ground-truth training poses only; returned frozen."""
    torch.manual_seed(seed)
    model = BackTranslator(len(prep.gv), len(prep.tv), cfg).to(device)
    model.set_normaliser(prep.mean.to(device), prep.std.to(device))
    train, dev = prep.splits["train"], prep.splits["dev"]

    def dev_loss() -> float:
        with torch.no_grad():
            b = sign_batch(dev, np.arange(len(dev)), None, device)
            return float(sum(model(b).values()).mean())

    history = fit(model, train.lengths, lambda idx, part, _step: sign_batch(train, idx, part, device),
                  lambda m, batch: m(batch), tcfg, dist=dist, rng=np.random.default_rng(seed), progress=progress,
                  log=log, desc="evaluator", dev_loss=dev_loss)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval(), history


# ----------------------------------------------------------------------------------- production models


def build_producer(name: str, n_src: int, cfg: ModelConfig, lv: LVMCNConfig) -> ProgressiveTransformer:
    if name not in VARIANTS:
        raise UserError(f"unknown model {name!r}; valid: {', '.join(VARIANTS)}")
    csa, msc = VARIANTS[name]
    return ProgressiveTransformer(n_src, cfg) if name == "pt" else LVMCN(n_src, cfg, lv, csa=csa, msc=msc)


def production_terms(wrapped: torch.nn.Module, batch) -> dict[str, torch.Tensor]:
    """Per-sequence loss terms: L_acc ("acc") and the model's auxiliary terms (LVMCN: "ali", "com")."""
    out = wrapped(batch.src, batch.src_pad, batch.frames, batch.trg_pad, batch.noise)
    model = unwrap(wrapped)
    return {"acc": model.reconstruction_loss(out), **model.auxiliary_losses(out, batch)}


def train_producer(name: str, prep: Prepared, cfg: ModelConfig, lv: LVMCNConfig, tcfg: TrainConfig,
                   input_noise: float, *, seed: int, dist: Distributed, progress: Callable = lambda it, **_: it,
                   log: Callable = lambda _: None, device: str = "cpu") -> tuple[ProgressiveTransformer, History]:
    """Train one production model; the same seed gives every variant the same data order, input noise and
    initialisation of the parts they share."""
    torch.manual_seed(seed)
    model = build_producer(name, len(prep.gv), cfg, lv).to(device)
    model.set_normaliser(prep.mean.to(device), prep.std.to(device))
    train, dev = prep.splits["train"], prep.splits["dev"]

    def make(idx: np.ndarray, part, step: int):
        return pose_batch(train, idx, part, noise=input_noise, seed=seed, step=step, device=device, dist=dist)

    def dev_loss() -> float:
        with torch.no_grad():
            b = pose_batch(dev, np.arange(len(dev)), None, device=device)
            out = model(b.src, b.src_pad, b.frames, b.trg_pad)
            return float(model.reconstruction_loss(out).mean())

    history = fit(model, train.lengths, make, production_terms, tcfg, dist=dist,
                  rng=np.random.default_rng(seed), progress=progress, log=log, desc=f"{name} (seed {seed})",
                  dev_loss=dev_loss)
    return model.eval(), history


@dataclass
class Evaluated:
    """Scores of one model (or the ground truth) under both protocols, and what the figures need."""

    metrics: dict[str, float]  # "<metric>.<protocol>" and alignment metrics
    dtw: dict[str, list[float]]  # per-sequence DTW-MJE per protocol
    example: dict[str, list[list[float]]]  # hypothesis frames of the example sentence per protocol
    lengths: dict[str, list[int]]
    texts: dict[str, list[str]]
    maps: dict[str, list[list[float]]]  # alignment maps (glosses x frames) of the example sentence


def evaluate_producer(model: ProgressiveTransformer | None, prep: Prepared, evaluator: BackTranslator,
                      reference: Reading, max_frames: int, example: int, *, dist: Distributed,
                      device: str = "cpu") -> Evaluated:
    """Decode the test set under both protocols (None: the ground-truth poses) and score every output."""
    test = prep.splits["test"]
    example = min(example, len(test) - 1)
    metrics: dict[str, float] = {}
    dtw, ex, lengths, texts = {}, {}, {}, {}
    for protocol in PROTOCOLS:
        hyps = (ground_truth_hypotheses(test) if model is None else
                decode(model, test, protocol, max_frames, dist, device=device))
        reading = reference if model is None else read(evaluator, [h[1:] for h in hyps], prep.gv, prep.tv, dist,
                                                       device=device)
        m, per_seq = score(hyps, test, reading, reference)
        metrics.update({f"{k}.{protocol}": v for k, v in m.items()})
        dtw[protocol] = per_seq.tolist()
        ex[protocol] = hyps[example].tolist()
        lengths[protocol] = [len(h) - 1 for h in hyps]
        texts[protocol] = reading.texts[:5]
    maps = {}
    if model is not None:
        metrics.update(alignment(model, test, device=device))
        maps = {k: v.tolist() for k, v in example_maps(model, test, example, device).items()}
    return Evaluated(metrics, dtw, ex, lengths, texts, maps)


def mean_pose_metrics(prep: Prepared) -> dict[str, float]:
    """DTW-MJE and MPJPE of the trivial producer that holds the training mean pose for the true length."""
    from .dtw import dtw_mje
    from .scores import mpjpe

    test = prep.splits["test"]
    mean = prep.mean.numpy()
    hyps = [np.concatenate([np.zeros((1, 151), np.float32),
                            np.concatenate([np.tile(mean, (len(f), 1)), f[:, N_VALUES:]], 1)]) for f in test.frames]
    return {"dtw": float(dtw_mje(test.frames, hyps).mean()), "mpjpe": mpjpe(test.frames, [h[1:] for h in hyps])[0]}
