"""The paper's claims, decided from what `paperzoo run amr` measured (thresholds from `cfg.claims`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paperzoo.core import Claim, Claims, param
from paperzoo.core.claims import beats, compare
from paperzoo.core.metrics import near_chance


@dataclass
class ClaimsConfig:
    """Every claim threshold."""

    accuracy: float = param(0.90, gt=0, le=1, doc="per-frame accuracy the LSTM + PE must reach at SNR >= 10 dB")
    fc_err: float = param(0.05, gt=0, doc="'small fraction of the symbol rate': median carrier error / Rs")
    alpha: float = param(0.05, gt=0, lt=1, doc="level of the paired tests (bootstrap over frames, t over timings)")


NO_PE = "no blind-RF captures in this data source (RadioML frames are already at baseband)"


def _chance_note(m: dict[str, float], key: str, name: str) -> str:
    n = int(m.get("n_test_snr_ge10", 0) or 0)
    if near_chance(m.get(key, float("nan")), int(m.get("n_classes", 0) or 0), n):
        return f"; note: the {name} model is near chance level ({m[key]:.3f})"
    return ""


def evaluate_claims(m: dict[str, float], c: ClaimsConfig, examples: dict[str, np.ndarray] | None = None,
                    timings: dict[str, np.ndarray] | None = None) -> list[Claim]:
    """The paper's five claims. `examples`: per-frame correctness at SNR >= 10 dB of each model (paired over the
    same test frames); `timings`: repeated single-frame latencies of each model."""
    examples, timings = examples or {}, timings or {}
    book = Claims(m)
    blind = m.get("blind_rf", 0) == 1
    target = f"LSTM with parameter estimation exceeds {c.accuracy:.0%} accuracy at SNR >= 10 dB on blind RF inputs"
    if blind:
        book.check(target + " (per frame)", ["acc_snr_ge10_pe", "acc_snr_ge10_pe_lo", "acc_snr_ge10_pe_hi"],
                   lambda a, lo, hi: a >= c.accuracy,
                   lambda a, lo, hi: f"{a:.3f} [{lo:.3f}, {hi:.3f}] (Wilson 95%) vs target >= {c.accuracy:.2f}")
    else:
        book.not_evaluated(target, NO_PE)
    helps = "parameter estimation improves accuracy over the same LSTM without it (SNR >= 10 dB)"
    if not blind:
        book.not_evaluated(helps, NO_PE)
    elif "pe" in examples and "nope" in examples:
        made = beats(helps, [m["acc_snr_ge10_pe"]], [m["acc_snr_ge10_nope"]], names=("PE", "no PE"),
                     alpha=c.alpha, examples=(examples["pe"], examples["nope"]))
        book.add(Claim(made.claim, made.holds, made.evidence + _chance_note(m, "acc_snr_ge10_nope", "no-PE"),
                       made.verdict))
    else:
        book.greater(helps, "acc_snr_ge10_pe", "acc_snr_ge10_nope", names=("PE", "no PE"))
    carrier = f"carrier error is a small fraction (<= {c.fc_err}) of the symbol rate at SNR >= 10 dB"
    if blind:
        book.at_most(carrier + " (median)", "fc_err_over_rs_median_snr_ge10", c.fc_err)
    else:
        book.not_evaluated(carrier, NO_PE)
    params = "the LSTM is low complexity: fewer parameters than the IQ CNN"
    why = book.missing("params_lstm", "params_cnn")
    book.add(compare(params, m["params_lstm"], m["params_cnn"], names=("LSTM", "CNN"), higher_is_better=False)
             if not why else Claim(params, None, f"not evaluated: {why}"))
    latency = "the LSTM is low complexity: lower single-frame latency than the IQ CNN (this CPU, one thread)"
    if "lstm" in timings and "cnn" in timings:
        book.add(beats(latency, 1e3 * timings["lstm"], 1e3 * timings["cnn"], names=("LSTM ms", "CNN ms"),
                       alpha=c.alpha, higher_is_better=False))
    else:
        book.not_evaluated(latency, "no latency measurements in this run")
    return book.items
