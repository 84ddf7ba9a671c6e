"""Issue 19: every classifier of the quick preset (the LSTM with and without estimation, the IQ CNN) trains above
chance level on more than one seed, with the quick preset's architecture and optimiser settings (briefly)."""

import dataclasses

import numpy as np
import pytest
import torch

from paperzoo.amr.dataset import Frames, balanced_design, make_captures
from paperzoo.amr.experiment import AMRConfig
from paperzoo.amr.model import IQCNN, AmpPhaseLSTM
from paperzoo.amr.signals import CLASSES
from paperzoo.amr.train import predict_proba, train_classifier
from paperzoo.core.config import build_config
from paperzoo.core.distributed import Distributed
from paperzoo.core.metrics import binomial_ci, near_chance
from paperzoo.core.registry import get_experiment

LENGTH, MARGIN, EPOCHS = 128, 16, 15


@pytest.fixture(scope="module")
def quick():
    return build_config(AMRConfig, get_experiment("amr").presets["quick"])


@pytest.fixture(scope="module")
def captures(quick):
    rng = np.random.default_rng(123)
    snrs = np.arange(10, 19, 4.0)
    out = {}
    for split, per_cell in (("train", 12), ("test", 6)):
        lab, snr = balanced_design(per_cell, snrs, rng)
        out[split] = make_captures(quick.data.rf, lab, snr, rng, LENGTH + 2 * MARGIN)
    return out


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ["pe", "nope", "cnn"])
def test_quick_preset_classifier_trains_above_chance(quick, captures, name, seed):
    torch.manual_seed(seed)
    pipe = "nope" if name == "nope" else "pe"
    train = Frames(getattr(captures["train"], pipe), captures["train"].label, LENGTH, MARGIN)
    test = Frames(getattr(captures["test"], pipe), captures["test"].label, LENGTH, MARGIN)
    if name == "cnn":
        model = IQCNN(quick.cnn.model, len(CLASSES), LENGTH)
        cfg = dataclasses.replace(quick.cnn.train, epochs=EPOCHS)
    else:
        model = AmpPhaseLSTM(quick.lstm, len(CLASSES))
        cfg = dataclasses.replace(quick.train, epochs=EPOCHS)
    train_classifier(model, train, cfg, dist=Distributed(), rng=np.random.default_rng(seed))
    pred = predict_proba(model, test.center()).argmax(1)
    hits = int(np.sum(pred == test.labels))
    assert not near_chance(hits / len(pred), len(CLASSES), len(pred)), (
        f"{name} seed {seed}: {hits}/{len(pred)} correct, Wilson 95% {binomial_ci(hits, len(pred))} vs chance "
        f"{1 / len(CLASSES):.3f}")
