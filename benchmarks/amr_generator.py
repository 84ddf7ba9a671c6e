"""Throughput of the amr signal generator vs a per-frame loop (the way TorchSig-style datasets are written).

    python benchmarks/amr_generator.py [--frames 100000]

Prints frames/s for RadioML-layout (2 x 128) frames from `generate_baseband` (vectorised over frames) and for a
reference loop that builds each frame on its own with scipy (upsample + RRC FIR + AWGN).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.signal import upfirdn

from paperzoo.amr.signals import CLASSES, LINEAR, _constellation, generate_baseband, rrc_pulse


def vectorised(n_frames: int, rng: np.random.Generator) -> float:
    t = time.perf_counter()
    per = n_frames // len(CLASSES)
    for mod in CLASSES:
        generate_baseband(mod, per, rng.uniform(-20, 18, per), rng)
    return per * len(CLASSES) / (time.perf_counter() - t)


def per_frame_loop(n_frames: int, rng: np.random.Generator, sps: int = 8, length: int = 128) -> float:
    taps = rrc_pulse(np.arange(-8 * sps, 8 * sps + 1) / sps, 0.35) / np.sqrt(sps)
    t = time.perf_counter()
    for i in range(n_frames):
        pts = _constellation(LINEAR[i % len(LINEAR)])
        sym = pts[rng.integers(0, len(pts), length // sps + 16)]
        s = upfirdn(taps, sym, up=sps)[8 * sps:8 * sps + length]
        s = s + 0.1 * (rng.standard_normal(length) + 1j * rng.standard_normal(length))
        np.stack([s.real, s.imag]).astype(np.float32)
    return n_frames / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    fast = vectorised(args.frames, rng)
    loop = per_frame_loop(min(args.frames, 20_000), rng)
    print(f"paperzoo.amr generate_baseband (11 classes, all impairments): {fast:,.0f} frames/s "
          f"-> {args.frames / fast:.1f} s for {args.frames:,} frames")
    print(f"per-frame scipy loop (linear classes only, AWGN only):        {loop:,.0f} frames/s")


if __name__ == "__main__":
    main()
