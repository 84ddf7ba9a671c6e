"""Classifiers: the amplitude/phase LSTM (Rajendran et al. 2018) and an O'Shea-style IQ CNN baseline."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def amp_phase(frames: np.ndarray) -> np.ndarray:
    """Complex frames (N, L) -> (N, L, 2) float32: amplitude L2-normalised per frame (times sqrt(L), i.e. unit
    RMS) and phase / pi in [-1, 1]."""
    amp = np.abs(frames)
    amp = amp / (np.linalg.norm(amp, axis=-1, keepdims=True) + 1e-12) * np.sqrt(frames.shape[-1])
    return np.stack([amp, np.angle(frames) / np.pi], axis=-1).astype(np.float32)


def iq(frames: np.ndarray) -> np.ndarray:
    """Complex frames (N, L) -> (N, 2, L) float32 I/Q with unit RMS per frame (RadioML layout)."""
    rms = np.sqrt(np.mean(np.abs(frames) ** 2, axis=-1, keepdims=True)) + 1e-12
    z = frames / rms
    return np.stack([z.real, z.imag], axis=1).astype(np.float32)


class AmpPhaseLSTM(nn.Module):
    """Input (N, L, 2) amplitude/phase -> LSTM(hidden) -> LSTM(hidden) -> linear.

    readout "last" uses the final hidden state (Rajendran et al.); "mean" averages the top layer over time,
    which gives every step a direct gradient and escapes the initial loss plateau much sooner.
    """

    features = staticmethod(amp_phase)

    def __init__(self, n_classes: int, hidden: int = 128, layers: int = 2, readout: str = "mean",
                 input_init: float = 3.0):
        super().__init__()
        if readout not in ("last", "mean"):
            raise ValueError(f"readout must be 'last' or 'mean', got {readout!r}")
        self.readout = readout
        self.lstm = nn.LSTM(2, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)
        for name, p in self.lstm.named_parameters():  # standard LSTM init: it leaves the loss plateau sooner
            if name.startswith("weight_hh"):
                for gate in p.data.chunk(4):
                    nn.init.orthogonal_(gate)
            elif name == "weight_ih_l0":  # O(1) pre-activations on (amplitude, phase): the class information
                nn.init.normal_(p.data, std=input_init)  # sits in higher moments, invisible in the linear regime
            elif name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p.data)
            elif name.startswith("bias_ih"):
                p.data.zero_()
                p.data[hidden:2 * hidden] = 1.0  # forget gate bias
            else:
                p.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out.mean(dim=1) if self.readout == "mean" else out[:, -1])


class IQCNN(nn.Module):
    """O'Shea et al. 2016 CNN2 on (N, 2, L) I/Q: conv(1x3) -> conv(2x3) -> dense -> dense."""

    features = staticmethod(iq)

    def __init__(self, n_classes: int, length: int = 128, ch1: int = 256, ch2: int = 80, dense: int = 256,
                 dropout: float = 0.5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ch1, (1, 3), padding=(0, 1)), nn.ReLU(), nn.Dropout(dropout),
            nn.Conv2d(ch1, ch2, (2, 3), padding=(0, 1)), nn.ReLU(), nn.Dropout(dropout),
            nn.Flatten(), nn.Linear(ch2 * length, dense), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(dense, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1))


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
