"""Classifiers: the LSTM on amplitude and phase features (the paper's model), and an O'Shea-style IQ CNN baseline.

LSTM (Rajendran et al. 2018, as the paper uses it). A frame z[0..L-1] of complex baseband at `sps` samples per
symbol becomes C features per sample, then L/k steps of k samples each (k = `step_samples`; k = sps feeds one
symbol per step, which makes the recurrence k times shorter):

    a[n]  = |z[n]| / sqrt(mean_n |z[n]|^2)                 unit-RMS amplitude
    p[n]  = arg z[n] / pi                                  phase            (features="amp_phase": a, p)
    d1[n] = arg(z[n] conj z[n-1]) / pi                     phase change over one sample
    ds[n] = arg(z[n] conj z[n-sps]) / pi                   phase change over one symbol
                                                           (features="amp_dphase": a, d1, ds)
    x_t = [f[tk], ..., f[tk + k - 1]] in R^(C k),   t = 0 .. L/k - 1
    h1_t = LSTM_1(x_t, h1_(t-1)),   h2_t = LSTM_2(h1_t, h2_(t-1))
    logits = W mean_t h2_t + b        (readout="mean"; "last": W h2_(L/k-1) + b)

The phase differences do not depend on the carrier phase that blind conversion leaves (a constant rotation of
the frame), and a residual carrier offset only adds a constant to them; the absolute phase does depend on it.

CNN2 (O'Shea et al. 2016) on (2, L) unit-RMS I/Q: conv(1x3) -> conv(2x3) -> dense -> dense, ReLU, dropout.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from paperzoo.core import param
from paperzoo.core.errors import DataError
from paperzoo.core.loaders import loader

FEATURES = {"amp_phase": 2, "amp_dphase": 3}


def _complex(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(frames).to(torch.complex64)


def _unit_rms_amplitude(z: torch.Tensor) -> torch.Tensor:
    amp = z.abs()
    return amp / (amp.square().mean(dim=-1, keepdim=True).sqrt() + 1e-12)


def amp_phase(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Complex frames (N, L) -> (N, L, 2) float32: unit-RMS amplitude and phase / pi in [-1, 1]."""
    z = _complex(frames)
    return torch.stack([_unit_rms_amplitude(z), torch.angle(z) / math.pi], dim=-1)


def _phase_step(phase: torch.Tensor, lag: int) -> torch.Tensor:
    """arg(z[n] conj z[n - lag]) / pi from phase / pi, wrapped to [-1, 1); the first `lag` repeat the first one."""
    d = torch.remainder(phase[:, lag:] - phase[:, :-lag] + 1, 2) - 1
    return torch.cat([d[:, :1].expand(-1, lag), d], dim=1)


def amp_dphase(frames: np.ndarray | torch.Tensor, sps: int = 4) -> torch.Tensor:
    """Complex frames (N, L) -> (N, L, 3) float32: unit-RMS amplitude, phase change over 1 sample and over
    `sps` samples (one symbol), both / pi."""
    z = _complex(frames)
    phase = torch.angle(z) / math.pi
    return torch.stack([_unit_rms_amplitude(z), _phase_step(phase, 1), _phase_step(phase, sps)], dim=-1)


def iq(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Complex frames (N, L) -> (N, 2, L) float32 I/Q with unit RMS per frame (RadioML layout)."""
    z = _complex(frames)
    z = z / (z.abs().square().mean(dim=-1, keepdim=True).sqrt() + 1e-12)
    return torch.stack([z.real, z.imag], dim=1)


@dataclass
class LSTMConfig:
    """The LSTM's hyperparameters (saved beside its weights with the class count and samples per symbol)."""

    hidden: int = param(32, ge=1, doc="LSTM state size per layer (the paper-sized model is 128)")
    layers: int = param(2, ge=1, doc="stacked LSTM layers")
    features: Literal["amp_phase", "amp_dphase"] = param(
        "amp_dphase", doc="per-sample input: amplitude + phase (Rajendran), or amplitude + phase changes over "
        "one sample and one symbol")
    step_samples: int = param(8, ge=1, doc="samples fed per LSTM step (8 = two symbols at 4 samples/symbol)")
    readout: Literal["mean", "last"] = param("mean", doc="classify the time-mean of the top layer, or its last state")
    input_init: float = param(3.0, gt=0, doc="std of the first layer's input weights (times 1/sqrt(step_samples))")


class AmpPhaseLSTM(nn.Module):
    """The paper's LSTM classifier: features of (N, L) complex frames -> stacked LSTM -> linear (module doc)."""

    def __init__(self, cfg: LSTMConfig, n_classes: int, sps: int = 4) -> None:
        super().__init__()
        if n_classes < 2 or sps < 1:
            raise ValueError(f"need n_classes >= 2 and sps >= 1, got {n_classes}, {sps}")
        self.cfg, self.n_classes, self.sps = cfg, n_classes, sps
        width = FEATURES[cfg.features] * cfg.step_samples
        self.lstm = nn.LSTM(width, cfg.hidden, num_layers=cfg.layers, batch_first=True)
        self.head = nn.Linear(cfg.hidden, n_classes)
        h = cfg.hidden
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight_hh"):
                for gate in p.data.chunk(4):
                    nn.init.orthogonal_(gate)
            elif name == "weight_ih_l0":  # O(1) pre-activations: the class information sits in higher moments of
                nn.init.normal_(p.data, std=cfg.input_init / math.sqrt(cfg.step_samples))  # the features
            elif name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p.data)
            elif name.startswith("bias_ih"):
                p.data.zero_()
                p.data[h:2 * h] = 1.0  # forget-gate bias
            else:
                p.data.zero_()

    def features(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(N, L) complex -> (N, L / k, C k) float32 steps."""
        n, length = frames.shape
        k = self.cfg.step_samples
        if length % k:
            raise ValueError(f"frame length {length} is not a multiple of step_samples = {k}")
        f = amp_phase(frames) if self.cfg.features == "amp_phase" else amp_dphase(frames, self.sps)
        return f.reshape(n, length // k, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out.mean(dim=1) if self.cfg.readout == "mean" else out[:, -1])


@dataclass
class CNNConfig:
    """The IQ CNN baseline's shape (O'Shea's CNN2 is channels (256, 80), dense 256, dropout 0.5)."""

    channels: tuple[int, int] = param((32, 16), ge=1, doc="output channels of the two convolutions")
    dense: int = param(64, ge=1, doc="width of the hidden dense layer")
    dropout: float = param(0.2, ge=0, lt=1, doc="dropout after each hidden layer")
    norm: Literal["group", "batch", "none"] = param(
        "group", doc="normalisation after each convolution: GroupNorm(4) (per frame, so data-parallel training "
        "matches one process), BatchNorm (per-rank batch statistics under torchrun), or none (O'Shea's original)")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "group":
        return nn.GroupNorm(math.gcd(4, channels), channels)
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


class IQCNN(nn.Module):
    """O'Shea et al. 2016 CNN2 on (N, 2, L) I/Q: conv(1x3) -> norm -> conv(2x3) -> norm -> dense -> dense.

    Kaiming init, and a zero-initialised output layer: every class starts at probability 1/C (loss ln C). With
    Kaiming-scaled logits at the start (loss ~3 for 11 classes) and no normalisation, the ReLU units of this
    small model died within a few steps on some seeds and it ended at chance (issue 19).
    """

    def __init__(self, cfg: CNNConfig, n_classes: int, length: int) -> None:
        super().__init__()
        self.cfg, self.n_classes, self.length = cfg, n_classes, length
        ch1, ch2 = cfg.channels
        self.net = nn.Sequential(
            nn.Conv2d(1, ch1, (1, 3), padding=(0, 1)), _norm(cfg.norm, ch1), nn.ReLU(), nn.Dropout(cfg.dropout),
            nn.Conv2d(ch1, ch2, (2, 3), padding=(0, 1)), _norm(cfg.norm, ch2), nn.ReLU(), nn.Dropout(cfg.dropout),
            nn.Flatten(), nn.Linear(ch2 * length, cfg.dense), nn.ReLU(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.dense, n_classes),
        )
        for m in self.net:
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.net[-1].weight)

    features = staticmethod(iq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1))


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def save_lstm(model: AmpPhaseLSTM, folder: Path, meta: dict, name: str = "lstm_pe") -> Path:
    """`<name>.safetensors` (weights) and `<name>.json` (LSTMConfig, classes, frame length, provenance), atomically."""
    from safetensors.torch import save

    from paperzoo.core.io import atomic_write_bytes, atomic_write_json

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path = atomic_write_bytes(Path(folder) / f"{name}.safetensors", save(tensors))
    atomic_write_json(Path(folder) / f"{name}.json", {**meta, "model": asdict(model.cfg), "n_classes": model.n_classes,
                                                      "sps": model.sps})
    return path


@loader("amr.model", kind="file", suffix=".safetensors", doc="LSTM weights + JSON config saved by `paperzoo run amr`")
def load_lstm(path: str | Path) -> tuple[AmpPhaseLSTM, dict]:
    """The LSTM and its metadata from `lstm_pe.safetensors` and the `lstm_pe.json` beside it."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    meta_path = path.with_suffix(".json")
    for p in (path, meta_path):
        if not p.is_file() or p.stat().st_size == 0:
            raise DataError(f"model file {p} is missing or empty; a `paperzoo run amr` folder holds "
                            "lstm_pe.safetensors and lstm_pe.json")
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
        model = AmpPhaseLSTM(LSTMConfig(**meta["model"]), int(meta["n_classes"]), int(meta["sps"]))
        if not isinstance(meta.get("classes"), list) or len(meta["classes"]) != model.n_classes:
            raise ValueError("'classes' must list one name per output")
        int(meta["frame_len"])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise DataError(f"{meta_path}: not a model description written by `paperzoo run amr` "
                        f"({type(err).__name__}: {err})") from None
    try:
        model.load_state_dict(load(path.read_bytes()))
    except (SafetensorError, RuntimeError, ValueError, OSError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: not LSTM weights matching {meta_path.name} ({first})") from None
    return model.eval(), meta
