"""`paperzoo amr classify FILE`: blind carrier/bandwidth estimation and modulation of a recording."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from paperzoo.core import UserError

app = typer.Typer(help="Blind RF modulation recognition tools (arXiv 2412.08251).", no_args_is_help=True)

MAX_SAMPLES = 1 << 20  # estimate and classify from the first ~1M samples


@app.callback()
def _group() -> None:
    """Blind RF modulation recognition tools (arXiv 2412.08251)."""


def find_model(model: Path | None) -> Path:
    """The LSTM weights: a given file or run folder, else the newest runs/amr/*/lstm_pe.safetensors."""
    if model is None:
        found = sorted(Path("runs").glob("amr/*/lstm_pe.safetensors"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise UserError("no trained model: run `paperzoo run amr` first or pass --model RUN_DIR")
        return found[-1]
    path = model / "lstm_pe.safetensors" if model.is_dir() else model
    if not path.is_file() or not path.with_suffix(".json").is_file():
        raise UserError(f"--model {model}: expected lstm_pe.safetensors and lstm_pe.json (a `paperzoo run amr` folder)")
    return path


def classify_recording(samples: np.ndarray, sample_rate: float, weights: Path, n_frames: int = 16) -> dict:
    """Estimate carrier and bandwidth, convert blindly to baseband and average the LSTM's class probabilities."""
    from safetensors.torch import load_file

    from paperzoo.amr.dataset import _center_frames
    from paperzoo.amr.estimate import EstimatorConfig, blind_convert
    from paperzoo.amr.model import AmpPhaseLSTM
    from paperzoo.amr.train import predict_proba

    meta = json.loads(weights.with_suffix(".json").read_text())
    length = int(meta["frame_len"])
    samples = np.asarray(samples)[:MAX_SAMPLES]
    if len(samples) < 4 * length:
        raise UserError(f"recording too short: {len(samples)} samples, need at least {4 * length}")
    cfg = EstimatorConfig(sps=float(meta["sps"]), nperseg=min(EstimatorConfig.nperseg, len(samples) // 4))
    (z,), est = blind_convert(samples[None], fs=sample_rate, cfg=cfg, min_samples=length * 2)
    frames = _center_frames(z, max(1, min(n_frames, len(z) // length)), length)
    model = AmpPhaseLSTM(len(meta["classes"]), int(meta["hidden"]), readout=meta.get("readout", "mean"))
    model.load_state_dict(load_file(str(weights)))
    proba = predict_proba(model, frames.astype(np.complex64)).mean(axis=0)
    order = np.argsort(proba)[::-1]
    return {"carrier_hz": float(est.fc[0]), "bandwidth_hz": float(est.bandwidth[0]),
            "modulation": meta["classes"][order[0]], "probability": float(proba[order[0]]),
            "top3": [(meta["classes"][i], float(proba[i])) for i in order[:3]], "frames": len(frames)}


@app.command()
def classify(
    file: Path = typer.Argument(..., help="a .sigmf-meta/.sigmf-data recording or a raw complex64 file"),
    fs: float | None = typer.Option(None, "--fs", help="sample rate in Hz (raw complex64 files only)"),
    model: Path | None = typer.Option(None, help="run folder or lstm_pe.safetensors (default: newest amr run)"),
    frames: int = typer.Option(16, help="frames of 128 samples to average over"),
) -> None:
    """Print the estimated carrier, bandwidth and modulation (with its probability) of a recording."""
    from paperzoo.amr.formats import load_recording

    rec = load_recording(file, fs)
    result = classify_recording(rec.samples, rec.sample_rate, find_model(model), frames)
    offset = result["carrier_hz"]
    if np.iscomplexobj(rec.samples):
        where = f"{offset / 1e3:+.3f} kHz from centre"
        if rec.center_freq is not None:
            where += f" ({(rec.center_freq + offset) / 1e6:.6f} MHz)"
    else:
        where = f"{offset / 1e3:.3f} kHz"
    typer.echo(f"carrier:    {where}")
    typer.echo(f"bandwidth:  {result['bandwidth_hz'] / 1e3:.3f} kHz (-3 dB)")
    typer.echo(f"modulation: {result['modulation']} (p = {result['probability']:.2f}; "
               + ", ".join(f"{c} {p:.2f}" for c, p in result["top3"][1:]) + f"; {result['frames']} frames)")
