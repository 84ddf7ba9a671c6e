"""`paperzoo amr classify FILE`: blind carrier/bandwidth estimation and modulation of a recording."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import typer

from paperzoo.core.errors import DataError, UserError

app = typer.Typer(help="Blind RF modulation recognition tools (arXiv 2412.08251).", no_args_is_help=True)

MAX_SAMPLES = 1 << 20  # estimate and classify from the first ~1M samples


class NoSignal(DataError):
    """The recording holds no signal above the noise floor: there is nothing to classify."""


@app.callback()
def _group() -> None:
    """Blind RF modulation recognition tools (arXiv 2412.08251)."""


def find_model(model: Path | None, runs: Path = Path("runs")) -> Path:
    """The LSTM weights: a given file or run folder, else the newest runs/amr/*/lstm_pe.safetensors."""
    if model is None:
        found = sorted(runs.glob("amr/*/lstm_pe.safetensors"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise UserError(f"no trained model under {runs}/amr/: run `paperzoo run amr` first or pass --model RUN_DIR")
        return found[-1]
    path = model / "lstm_pe.safetensors" if model.is_dir() else model
    if not path.is_file() or not path.with_suffix(".json").is_file():
        raise UserError(f"--model {model}: expected lstm_pe.safetensors and lstm_pe.json (a `paperzoo run amr` folder)")
    return path


def load_classifier(weights: Path, allow_smoke: bool = False):
    """The LSTM and its metadata; a smoke-trained model (tiny data, meaningless) only with allow_smoke."""
    from paperzoo.amr.model import load_lstm

    model, meta = load_lstm(weights)
    if meta.get("preset") == "smoke" and not allow_smoke:
        raise UserError(f"{weights} was trained by a smoke run (seconds on tiny data; its answers mean nothing). "
                        "Train with `paperzoo run amr` (quick) or pass --allow-smoke to use it anyway")
    return model, meta


def classify_recording(samples: np.ndarray, sample_rate: float, model, meta: dict, n_frames: int = 16) -> dict:
    """Estimate carrier and bandwidth, convert blindly to baseband and average the LSTM's class probabilities."""
    from paperzoo.amr.dataset import center_frames
    from paperzoo.amr.estimate import EstimatorConfig, blind_convert
    from paperzoo.amr.train import predict_proba

    if not math.isfinite(sample_rate) or sample_rate <= 0:
        raise UserError(f"sample rate must be a finite number > 0 (Hz), got {sample_rate}")
    samples = np.asarray(samples)[:MAX_SAMPLES]
    if not np.all(np.isfinite(samples)):
        raise DataError("the recording holds NaN or infinite samples; every sample must be a finite number")
    length, margin = int(meta["frame_len"]), int(meta.get("margin", 0))
    if len(samples) < 4 * length:
        raise DataError(f"recording too short: {len(samples)} samples, need at least {4 * length} "
                        f"(4 frames of the model's {length})")
    est_meta = meta.get("estimator", {})
    cfg = EstimatorConfig(sps=float(est_meta.get("sps", 4.0)), resample=est_meta.get("resample", "symbol"),
                          nperseg=min(EstimatorConfig.nperseg, len(samples) // 4))
    (z,), est = blind_convert(samples[None], fs=sample_rate, cfg=cfg, min_samples=length + 2 * margin)
    if not est.detection[0] >= cfg.detect_sigma:
        raise NoSignal(f"no signal found: the spectrum's peak stands {est.detection[0]:.1f} spreads above the noise "
                       f"floor (a signal needs >= {cfg.detect_sigma:g}); nothing to classify")
    count = max(1, min(n_frames, (len(z) - 2 * margin) // length))
    frames = center_frames(z, count, length, margin).astype(np.complex64)
    proba = predict_proba(model, frames).mean(axis=0)
    order = np.argsort(proba)[::-1]
    return {"carrier_hz": float(est.fc[0]), "bandwidth_hz": float(est.bandwidth[0]),
            "symbol_rate_hz": float(est.symbol_rate[0]), "rate_line": bool(est.rate_line[0]),
            "modulation": meta["classes"][order[0]], "probability": float(proba[order[0]]),
            "top3": [(meta["classes"][i], float(proba[i])) for i in order[:3]], "frames": len(frames)}


@app.command()
def classify(
    file: Path = typer.Argument(..., help="a .sigmf-meta/.sigmf-data recording or a raw complex64 file"),
    fs: float | None = typer.Option(None, "--fs", help="sample rate in Hz (raw complex64 files only)"),
    model: Path | None = typer.Option(None, help="run folder or lstm_pe.safetensors (default: newest amr run)"),
    frames: int = typer.Option(16, min=1, help="frames to average the class probabilities over"),
    allow_smoke: bool = typer.Option(False, "--allow-smoke", help="accept a model trained by a smoke run"),
) -> None:
    """Print the estimated carrier, bandwidth and modulation (with its probability) of a recording."""
    from paperzoo.amr.formats import load_recording

    weights = find_model(model)
    net, meta = load_classifier(weights, allow_smoke)
    rec = load_recording(file, fs)
    try:
        result = classify_recording(rec.samples, rec.sample_rate, net, meta, frames)
    except DataError as err:
        raise type(err)(f"{file}: {err}") from None
    typer.echo(f"model:      {weights} (run {meta.get('run', weights.parent)}, preset {meta.get('preset', '?')}, "
               f"seed {meta.get('seed', '?')})")
    offset = result["carrier_hz"]
    if np.iscomplexobj(rec.samples):
        where = f"{offset / 1e3:+.3f} kHz from centre"
        if rec.center_freq is not None:
            where += f" ({(rec.center_freq + offset) / 1e6:.6f} MHz)"
    else:
        where = f"{offset / 1e3:.3f} kHz"
    rate = f"{result['symbol_rate_hz'] / 1e3:.3f} kHz" + ("" if result["rate_line"] else " (no symbol-rate line: "
                                                                                      "the bandwidth)")
    typer.echo(f"carrier:    {where}")
    typer.echo(f"bandwidth:  {result['bandwidth_hz'] / 1e3:.3f} kHz (-3 dB)")
    typer.echo(f"symbols:    {rate}")
    typer.echo(f"modulation: {result['modulation']} (p = {result['probability']:.2f}; "
               + ", ".join(f"{c} {p:.2f}" for c, p in result["top3"][1:]) + f"; {result['frames']} frames)")
