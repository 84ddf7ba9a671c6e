"""The paper's claims, decided from the measured metrics (thresholds from `cfg.claims`).

Re-ID "at chance" means the cluster-bootstrap interval of the re-ID rate (resampling faces) reaches down to
the chance level; method-vs-method claims use `core.claims.beats` with paired per-example scores.
"""

from __future__ import annotations

import numpy as np

from paperzoo.core.claims import Claim, Claims, beats, num


def evaluate_claims(m: dict[str, float], c, examples: dict[str, np.ndarray]) -> list[Claim]:
    book = Claims(m)
    med, face = f"{c.method}_medaware", f"{c.method}_face"
    medaware = sorted(k.split(".", 1)[1] for k in m if k.startswith("ssim_roi.") and k.endswith("_medaware")
                      and not k.startswith("ssim_roi.none"))
    keys = [f"ssim_roi.{v}" for v in medaware]
    book.check(f"medical-aware composition keeps the medical region (SSIM >= {c.ssim_roi}) for every anonymiser",
               keys, lambda *v: min(v) >= c.ssim_roi,
               lambda *v: ", ".join(f"{n.removesuffix('_medaware')} {num(x)}"
                                    for n, x in zip(medaware, v, strict=True)))
    base = "kappa_truth.none_face"
    book.check(f"medical-aware {c.method}: sign classifier kappa within {c.kappa_margin} of the originals'",
               [f"kappa_truth.{med}", base], lambda a, b: a >= b - c.kappa_margin,
               lambda a, b: f"kappa vs truth {num(a)} (medical-aware) vs {num(b)} (originals)")
    _at_chance(book, f"medical-aware {c.method}: re-identification falls to chance", med)
    for method in ("blur", "pixelate"):
        v = f"{method}_face"
        book.check(f"whole-face {method} loses the medical sign (kappa more than {c.kappa_margin} below the "
                   "originals')", [f"kappa_truth.{v}", base], lambda a, b: a < b - c.kappa_margin,
                   lambda a, b, v=v: f"kappa vs truth {num(a)} ({v}) vs {num(b)} (originals)")
    book.check("no anonymisation keeps identity: re-ID above chance", ["reid_lo.none_face", "reid_chance"],
               lambda lo, ch: lo > ch, lambda lo, ch: f"re-ID {num(m.get('reid.none_face'))}, interval low "
                                                      f"{num(lo)} vs chance {num(ch)}")
    _beats(book, f"medical-aware {c.method} keeps the sign better than whole-face {c.method}", examples,
           "correct", med, face, True, c.alpha)
    _beats(book, f"medical-aware {c.method} re-identifies less than no anonymisation", examples, "hit", med,
           "none_face", False, c.alpha)
    for other in ("blur_face", "pixelate_face"):
        book.check(f"medical-aware {c.method} is a better privacy/utility trade-off than {other.replace('_', ' ')} "
                   "(higher kappa, re-ID not higher)",
                   [f"kappa_truth.{med}", f"kappa_truth.{other}", f"reid.{med}", f"reid.{other}"],
                   lambda ka, kb, ra, rb: ka > kb and ra <= rb,
                   lambda ka, kb, ra, rb, o=other: f"kappa {num(ka)} vs {num(kb)}, re-ID {num(ra)} vs {num(rb)} "
                                                   f"(medical-aware vs {o})")
    return book.items


def _at_chance(book: Claims, claim: str, variant: str) -> Claim:
    keys = [f"reid.{variant}", f"reid_lo.{variant}", f"reid_hi.{variant}", "reid_chance"]
    return book.check(claim, keys, lambda r, lo, hi, ch: lo <= ch,
                      lambda r, lo, hi, ch: f"re-ID {num(r)} [{num(lo)}, {num(hi)}] (faces resampled) vs chance "
                                            f"{num(ch)}")


def _beats(book: Claims, claim: str, examples, kind: str, a: str, b: str, higher: bool, alpha: float) -> Claim:
    ka, kb = f"{kind}.{a}", f"{kind}.{b}"
    if ka not in examples or kb not in examples:
        return book.not_evaluated(claim, f"{a} or {b} not measured in this run")
    xa, xb = examples[ka], examples[kb]
    return book.add(beats(claim, [xa.mean()], [xb.mean()], names=(a, b), alpha=alpha, higher_is_better=higher,
                          examples=(xa, xb)))
