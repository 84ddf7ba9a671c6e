"""Write a RadioML 2016.10a-layout pickle from paperzoo's own generator, for when the real file is not at hand.

    python scripts/amr_radioml_like.py OUT.pkl [--per-cell 200] [--seed 0]
    paperzoo run amr --set data.source=rml2016 --set data.path=OUT.pkl

The dict is {(modulation, snr): float32 (N, 2, 128)} with RadioML 2016.10a's 11 classes, SNR keys -20 ... 18 dB
in 2 dB steps and 8 samples per symbol. RadioML's SNR is per sample at 8 samples/symbol; the generator's is
in-band (noise in a bandwidth equal to the symbol rate), so each frame is drawn at key + 10 log10(8) dB in-band,
which puts the same noise power per sample as RadioML's key says. This is NOT RadioML: its channel model,
its analog sources and its frame extraction differ; a curve on this file is not comparable number for number
with published RadioML curves, only in shape and order of magnitude.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

from paperzoo.amr.signals import CLASSES, generate_baseband
from paperzoo.core.io import atomic_write_bytes

SNR_KEYS = range(-20, 20, 2)
SAMPLES_PER_SYMBOL = 8


def radioml_like(per_cell: int, seed: int) -> dict[tuple[str, int], np.ndarray]:
    rng = np.random.default_rng(seed)
    shift = 10 * np.log10(SAMPLES_PER_SYMBOL)  # per-sample SNR at 8 samples/symbol -> in-band SNR
    return {(mod, snr): generate_baseband(mod, per_cell, np.full(per_cell, snr + shift), rng, sps=SAMPLES_PER_SYMBOL)
            for mod in CLASSES for snr in SNR_KEYS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the pickle to write (must not exist)")
    ap.add_argument("--per-cell", type=int, default=200, help="frames per (modulation, SNR); RadioML has 1000")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.per_cell < 1:
        print(f"--per-cell must be >= 1, got {a.per_cell}", file=sys.stderr)
        return 2
    if a.out.exists():
        print(f"{a.out} exists; give a new path", file=sys.stderr)
        return 2
    data = radioml_like(a.per_cell, a.seed)
    atomic_write_bytes(a.out, pickle.dumps(data, protocol=2))
    print(f"wrote {a.out}: {len(data)} (modulation, SNR) cells x {a.per_cell} frames of 2 x 128")
    return 0


if __name__ == "__main__":
    sys.exit(main())
