"""DTW-MJE on PHOENIX-like sequence pairs: paperzoo's vectorised DTW against PT's way (a Python double loop over
the cost matrix) and against a library DTW (dtw-python, C core, with the same L1 cost and step pattern).

Pairs: a sentence of the synthetic sign language at PHOENIX14T's rate (~16 frames per gloss, 2-12 glosses) and
the same glosses signed by another signer (a different length), with a BOS frame in front as PT's decoder
writes it. Values must agree to 1e-9 (relative); speeds are printed as ratios from one run.

    python benchmarks/signprod_dtw.py [--pairs 1000] [--plain-pairs 100]

PT's way costs ~0.2 s a pair, so by default it runs on the first 100 pairs and its time is scaled to all of
them (pass --plain-pairs 1000 to time every pair).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from paperzoo.signprod.data import SignLanguage, SyntheticConfig
from paperzoo.signprod.dtw import cut_hypothesis, cut_reference, dtw_mje, dtw_plain


def pairs(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    lang = SignLanguage(SyntheticConfig(n_glosses=200, frames_per_gloss=16.0, max_glosses=12, seed=seed))
    rng = np.random.default_rng(seed)
    refs, hyps = [], []
    from paperzoo.signprod.data import sample_sentence

    for _ in range(n):
        glosses, _ = sample_sentence(lang.lexicon, rng, 2, 12)
        a, b = rng.choice(len(lang.signers), 2, replace=False)
        refs.append(lang.render(glosses, lang.signers[a], rng)[0])
        hyp = lang.render(glosses, lang.signers[b], rng)[0]
        hyps.append(np.concatenate([np.zeros((1, hyp.shape[1]), hyp.dtype), hyp]))
    return refs, hyps


def library(refs: list[np.ndarray], hyps: list[np.ndarray]) -> np.ndarray | None:
    try:
        import dtw
    except ImportError:
        return None
    out = []
    for r, h in zip(refs, hyps, strict=True):
        rc, hc = cut_reference(r).astype(np.float64), cut_hypothesis(h).astype(np.float64)
        d = dtw.dtw(rc, hc, dist_method="cityblock", step_pattern=dtw.symmetric1, distance_only=True).distance
        out.append(d / len(rc))
    return np.array(out)


def timed(fn, *args):
    start = time.process_time()
    value = fn(*args)
    return value, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--plain-pairs", type=int, default=100)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    refs, hyps = pairs(args.pairs)
    lengths = np.array([len(r) for r in refs])
    print(f"{args.pairs} pairs, reference length {lengths.mean():.0f} frames on average "
          f"({lengths.min()}-{lengths.max()}), CPU seconds (one thread)")
    fast, t_fast = timed(dtw_mje, refs, hyps)
    k = min(args.plain_pairs, args.pairs)
    plain, t_plain = timed(lambda: np.array([dtw_plain(r, h) for r, h in zip(refs[:k], hyps[:k], strict=True)]))
    t_plain_all = t_plain * args.pairs / k
    assert np.allclose(fast[:k], plain, rtol=1e-9, atol=0), "vectorised DTW differs from PT's way"
    print(f"  paperzoo dtw_mje (vectorised)   {t_fast:8.2f} s   mean DTW-MJE {fast.mean():.4f}")
    note = "" if k == args.pairs else f" (measured on {k} pairs, scaled)"
    print(f"  PT's way (Python double loop)   {t_plain_all:8.2f} s{note}   identical to 1e-9: yes")
    lib, t_lib = timed(library, refs, hyps)
    if lib is None:
        print("  dtw-python                      not installed (pip install -c constraints.txt dtw-python)")
    else:
        assert np.allclose(fast, lib, rtol=1e-9, atol=0), "vectorised DTW differs from dtw-python"
        print(f"  dtw-python (C, cityblock)       {t_lib:8.2f} s   identical to 1e-9: yes")
    print(f"ratio PT's way / paperzoo: {t_plain_all / t_fast:.1f}x (goal >= 50x)")
    if lib is not None:
        print(f"ratio dtw-python / paperzoo: {t_lib / t_fast:.2f}x")


if __name__ == "__main__":
    main()
