"""Per-step time and peak memory of every weighting rule against fixed weights, on the same model and batches.

    python benchmarks/multitask_weighting.py [--tasks 3] [--steps 8] [--layers 2] [--len 32] [--batch 8]

The model is the quick preset's shape of MiniLM-L6 (384 wide, 12 heads, the first `--layers` blocks, randomly
initialised: no data needed), fine-tuned whole (embeddings included, so the shared gradient is large), with one
classification head per task; each task has its own batch of random tokens, as in training. Every rule runs in
its own process (one torch thread) so that its peak resident memory is its own. Goals (issue 11): every
gradient-based rule within 1.6x of fixed weights' median step time, and PCGrad's extra memory over fixed weights
flat in the number of tasks beyond one gradient buffer per task (T x P float32 values).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

RULES = ("fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "gradvac", "cosine")


def one(rule: str, n_tasks: int, args: argparse.Namespace) -> dict:
    import numpy as np
    import torch
    from transformers import BertConfig, BertModel

    from paperzoo.core.distributed import Distributed
    from paperzoo.multitask import data as D
    from paperzoo.multitask.encoder import SharedEncoder
    from paperzoo.multitask.experiment import WeightingConfig
    from paperzoo.multitask.heads import ClassificationHead
    from paperzoo.multitask.pipeline import make_rule
    from paperzoo.multitask.train import MultiTaskModel, TaskStream, TrainConfig, fit

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=args.layers, num_attention_heads=12,
                     intermediate_size=1536, attn_implementation="eager")
    enc = SharedEncoder(BertModel(cfg, add_pooling_layer=False), 0, 0)
    names = [f"t{k}" for k in range(n_tasks)]
    model = MultiTaskModel(enc, {t: ClassificationHead(enc.dim, 2, 0.1) for t in names})
    rng = np.random.default_rng(0)
    streams = {}
    for k, t in enumerate(names):
        n = 16 * args.batch
        seqs = [[101, *rng.integers(1000, 30000, args.len - 2).tolist(), 102] for _ in range(n)]
        y = rng.integers(0, 2, n).tolist()
        task = D.TaskData(t, "classification", "acc", [" "] * n, y, [" "], [0])
        streams[t] = TaskStream(task, D.Split(seqs, [[0] * args.len] * n, y), args.batch, k, (0, 101, 102))
    shared = sum(p.numel() for p in model.shared_parameters())
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hist = fit(model, streams, make_rule(rule, n_tasks, WeightingConfig(), 0),
               TrainConfig(steps=args.steps, batch_size=args.batch, log_every=10 ** 9), dist=Distributed())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rule": rule, "tasks": n_tasks, "step_s": float(np.median(hist.step_time[2:])),
            "extra_mb": (peak - base) / 1024, "buffer_mb": n_tasks * shared * 4 / 2 ** 20, "shared": shared}


def launch(rule: str, n_tasks: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--one", rule, "--tasks", str(n_tasks), "--steps", str(args.steps),
           "--layers", str(args.layers), "--len", str(args.len), "--batch", str(args.batch)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--len", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--one", choices=RULES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.tasks, args)))
        return
    res = {r: launch(r, args.tasks, args) for r in RULES}
    fixed = res["fixed"]
    print(f"{args.tasks} tasks, {fixed['shared']:,} shared parameters, batch {args.batch} x {args.len} tokens "
          f"per task, median of {args.steps - 2} steps, one thread")
    print(f"{'rule':<12}{'step s':>9}{'x fixed':>9}{'extra MB':>10}")
    for r, v in res.items():
        print(f"{r:<12}{v['step_s']:>9.3f}{v['step_s'] / fixed['step_s']:>9.2f}{v['extra_mb']:>10.0f}")
    slow = [r for r in RULES[3:] if res[r]["step_s"] > 1.6 * fixed["step_s"]]
    print("goal (gradient rules within 1.6x of fixed):", "met" if not slow else f"missed by {', '.join(slow)}")
    print("PCGrad's peak memory during training vs the number of tasks (beyond the T x P gradient buffer):")
    for t in (2, args.tasks, 2 * args.tasks):
        p = res["pcgrad"] if t == args.tasks else launch("pcgrad", t, args)
        print(f"  T={t}: extra {p['extra_mb']:.0f} MB = buffer {p['buffer_mb']:.0f} MB + "
              f"{p['extra_mb'] - p['buffer_mb']:.0f} MB")


if __name__ == "__main__":
    main()
