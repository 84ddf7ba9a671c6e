"""Teachers of both experiments, built once and cached under `<data_root>/cache/distill/`.

Under a launcher rank 0 builds (fine-tunes, or dequantises) and writes the cache while the others wait at a
barrier; then every rank holds the same weights: the fine-tuned classifier is broadcast from rank 0 (so a
teacher that is not cached is still identical everywhere), the LM teacher is read from the cache folder.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from paperzoo.core.context import RunContext

from .data import Encoded
from .losses import LossWeights
from .models import (
    EncoderClassifier,
    bert_student,
    llama_decoder,
    load_encoder,
    load_smollm2,
    load_student,
    minilm_dir,
    save_student,
)
from .train import TrainConfig, Trainee, fit


def cache_dir(ctx: RunContext) -> Path:
    return ctx.data_root / "cache" / "distill"


def _key(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def classifier_teacher(cfg, tok, train: Encoded, n_labels: int, ctx: RunContext) -> tuple[EncoderClassifier, dict]:
    """The fine-tuned encoder teacher (`cfg` is the experiment's DistillConfig), identical on every rank."""
    dp = ctx.dist
    t = cfg.teacher
    if t.tiny:
        from transformers import BertConfig

        backbone = bert_student(BertConfig(vocab_size=len(tok), max_position_embeddings=512, type_vocab_size=2,
                                           pad_token_id=tok.pad_token_id), 2, 48, cfg.student.heads, 96)
    else:
        backbone = load_encoder(Path(t.path) if t.path else minilm_dir())
    clf = EncoderClassifier(backbone, n_labels)
    # the data path is left out on purpose: the same data found elsewhere reuses the cached teacher
    key = _key(asdict(t), cfg.data.source, cfg.data.task, cfg.data.max_len, len(train), ctx.seed)
    cache = cache_dir(ctx) / f"teacher-{key}.safetensors"
    use_cache = t.cache and not t.tiny
    meta: dict = {}
    if dp.is_main:
        if use_cache and cache.is_file():
            meta = load_student(cache, clf, None) | {"cached": True}
            ctx.log(f"teacher from cache {cache} (fine-tuned in {meta.get('train_s', float('nan')):.0f} s)")
        else:
            meta = _fine_tune(clf, t, train, ctx) | {"cached": False}
            if use_cache:
                cache.parent.mkdir(parents=True, exist_ok=True)
                save_student(cache, clf, None, {k: v for k, v in meta.items() if k != "cached"})
                ctx.log(f"teacher cached at {cache}")
    if dp.enabled:  # every rank gets rank 0's weights (the others did not train)
        state, meta = dp.broadcast((clf.state_dict() if dp.is_main else None, meta))
        clf.load_state_dict(state)
    for p in clf.parameters():
        p.requires_grad_(False)
    return clf.to(ctx.device).eval(), meta


def _fine_tune(clf: EncoderClassifier, t, train: Encoded, ctx: RunContext) -> dict:
    ctx.log(f"fine-tuning teacher ({t.epochs} epochs on {len(train)} examples)")
    tr = Trainee("teacher", clf, clf.backbone, LossWeights(1, 0, 0, 0), lr=t.lr)
    t0 = time.perf_counter()
    cfg = TrainConfig(epochs=t.epochs, lr=t.lr, batch_size=t.batch_size)
    fit([tr], lambda e: train.batches(t.batch_size, True, ctx.seed + 1000 + e), cfg, device=ctx.device,
        progress=ctx.progress, log=ctx.log)
    return {"train_s": time.perf_counter() - t0, "epochs": t.epochs, "n_train": len(train)}


def lm_teacher(tiny: bool, cache: bool, ctx: RunContext) -> tuple[nn.Module, object, dict]:
    """SmolLM2-135M in fp32 (dequantised once, then read from the cache) or a tiny random Llama with a byte
    tokenizer (smoke); returns (model, tokenizer, meta with the load time)."""
    from .lm import ByteTokenizer

    t0 = time.perf_counter()
    if tiny:
        tok = ByteTokenizer()
        torch.manual_seed(ctx.seed)
        model = llama_decoder(len(tok), 4, 64, 4, 2, 128)
        meta = {"name": "tiny random Llama (4 x 64)", "cached": False}
    else:
        folder = cache_dir(ctx) / "smollm2-135m-instruct-fp32" if cache else None
        hit = folder is not None and (folder / "config.json").is_file()
        if ctx.dist.is_main and not hit:
            ctx.log("loading SmolLM2-135M (GGUF, dequantised to fp32; cached for later runs)")
            model, tok = load_smollm2(folder, ctx.log)
        ctx.dist.barrier()  # rank 0 has written the cache
        if not ctx.dist.is_main or hit:
            model, tok = load_smollm2(folder)
        meta = {"name": "SmolLM2-135M-Instruct (GGUF Q4_1 -> fp32)", "cached": hit}
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(ctx.device).eval(), tok, meta | {"load_s": time.perf_counter() - t0}
