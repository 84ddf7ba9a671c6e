"""LSTM inference speed on one CPU core at batch 256: the quick preset's model (eager, TorchScript, ONNX Runtime)
side by side with the per-sample LSTMs RadioML work uses (Rajendran's LSTM(128) x 2, wave 1's LSTM(64) x 2).

    python benchmarks/amr_inference.py [--model runs/amr/<run>] [--repeats 20]

Times are CPU seconds of the one thread doing the work (`time.thread_time`), so other load on a shared machine does
not count; on an idle core they equal wall-clock time. Frames/s include the features (amplitude and phase steps
from the complex frames), as `paperzoo amr classify` computes them. The weights stay in safetensors; TorchScript
and ONNX Runtime (optional extra `rf-bench`) are built in memory from the loaded module at start-up
(`paperzoo.amr.fast`). `torch.compile` is tried too and reported as unavailable if this machine has no working
C++ toolchain for it. Every row prints its ratio to the quick model's eager path.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from paperzoo.amr import fast
from paperzoo.amr.model import AmpPhaseLSTM, LSTMConfig
from paperzoo.core.config import build_config


def frames_per_s(fn, frames: np.ndarray, repeats: int) -> float:
    fn(frames)  # warm-up (and compilation)
    times = []
    for _ in range(repeats):
        t = time.thread_time()  # CPU time of this thread (torch runs on it with one thread): robust to other load
        fn(frames)
        times.append(time.thread_time() - t)
    return len(frames) / float(np.median(times))


def compiled(model):
    fast = torch.compile(model, dynamic=False)

    @torch.inference_mode()
    def run(frames):
        return fast(model.features(frames))
    return run


def quick_model(run_dir: Path | None) -> tuple[AmpPhaseLSTM, int]:
    if run_dir is not None:
        from paperzoo.amr.model import load_lstm

        model, meta = load_lstm(run_dir / "lstm_pe.safetensors" if run_dir.is_dir() else run_dir)
        return model, int(meta["frame_len"])
    from paperzoo.amr.experiment import AMRConfig
    from paperzoo.core.registry import get_experiment

    cfg = build_config(AMRConfig, get_experiment("amr").presets["quick"])
    return AmpPhaseLSTM(cfg.lstm, 11).eval(), cfg.data.frame_len


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="a `paperzoo run amr` folder (default: quick shape)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    model, length = quick_model(args.model)
    frames = (rng.standard_normal((args.batch, length)) + 1j * rng.standard_normal((args.batch, length))).astype(
        np.complex64)
    rows = [(f"quick LSTM({model.cfg.hidden}) x {model.cfg.layers}, {length} samples, {model.cfg.step_samples}/step, "
             "eager", frames_per_s(fast.eager(model), frames, args.repeats))]
    rows.append(("  same, TorchScript (traced, frozen)", frames_per_s(fast.torchscript(model, frames), frames,
                                                                     args.repeats)))
    try:
        rows.append(("  same, ONNX Runtime (1 thread)", frames_per_s(fast.onnxruntime(model, frames), frames,
                                                                    args.repeats)))
    except ImportError:
        rows.append(("  same, ONNX Runtime: not installed (pip install -e '.[rf-bench]')", float("nan")))
    try:
        rows.append(("  same, torch.compile", frames_per_s(compiled(model), frames, args.repeats)))
    except Exception as exc:  # noqa: BLE001 - inductor needs a working compiler; report, do not fail
        rows.append((f"  same, torch.compile: unavailable ({type(exc).__name__})", float("nan")))
    if model.cfg.step_samples < 16:  # the same LSTM fed 16 samples per step: half the recurrence
        wide = AmpPhaseLSTM(dataclasses.replace(model.cfg, step_samples=16), 11).eval()
        rows.append((f"  LSTM({model.cfg.hidden}) x {model.cfg.layers}, 16 samples/step (a different model), eager",
                     frames_per_s(fast.eager(wide), frames, args.repeats)))
    short = frames[:, :128]
    for hidden in (64, 128):
        peer = AmpPhaseLSTM(LSTMConfig(hidden=hidden, features="amp_phase", step_samples=1), 11).eval()
        rows.append((f"per-sample LSTM({hidden}) x 2 on 128 samples (RadioML style), eager",
                     frames_per_s(fast.eager(peer), short, args.repeats)))
    base = rows[0][1]
    best = max(v for _, v in rows[:4] if v == v)
    print(f"one thread, batch {args.batch}; frames/s (samples/s, ratio to the quick model eager), features included")
    for name, value in rows:
        samples = value * (128 if name.startswith("per-sample") else length)
        print(f"  {name:<78s} {value:>10,.0f} ({samples / 1e6:6.2f} M, {value / base:5.2f}x)")
    print(f"quick model: eager {base:,.0f} frames/s ({'meets' if base >= 10_000 else 'misses'} the 10,000 frames/s "
          f"target), best variant {best:,.0f}")


if __name__ == "__main__":
    main()
