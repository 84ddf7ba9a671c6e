"""Scoring the trained classifiers: accuracy per SNR, per capture and per frame length, estimator errors, timing."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from paperzoo.amr.dataset import Captures, Dataset, Frames
from paperzoo.amr.model import n_params
from paperzoo.amr.signals import CLASSES, LINEAR, generate_baseband
from paperzoo.amr.train import predict_proba, time_inference
from paperzoo.core import metrics as M
from paperzoo.core.threads import torch_threads

CARRIER_CLASSES = tuple(CLASSES.index(c) for c in (*LINEAR, "CPFSK", "GFSK"))  # a well-defined carrier
RRC_CLASSES = tuple(CLASSES.index(c) for c in LINEAR)  # -3 dB bandwidth == symbol rate, envelope line at Rs


@dataclass
class Scores:
    """One model's predictions on the test frames (frames of a capture are consecutive)."""

    proba: np.ndarray  # (N, C)
    label: np.ndarray
    snr: np.ndarray
    per_capture: int  # frames per capture

    @property
    def pred(self) -> np.ndarray:
        return self.proba.argmax(1)

    def capture_pred(self) -> np.ndarray:
        """Each capture's class from the mean probability of its frames."""
        f = self.per_capture
        return self.proba.reshape(-1, f, self.proba.shape[1]).mean(axis=1).argmax(1)

    def accuracy(self, lo: float, per_capture: bool = False) -> float:
        pred, label, snr = self.pred, self.label, self.snr
        if per_capture:
            pred, label, snr = self.capture_pred(), label[::self.per_capture], snr[::self.per_capture]
        keep = snr >= lo
        return M.accuracy(label[keep], pred[keep]) if keep.any() else float("nan")

    def correct(self, lo: float) -> np.ndarray:
        keep = self.snr >= lo
        return (self.pred[keep] == self.label[keep]).astype(float)

    def by_snr(self, per_capture: bool = False) -> dict[float, float]:
        if per_capture:
            f = self.per_capture
            return M.accuracy_by_group(self.label[::f], self.capture_pred(), self.snr[::f])
        return M.accuracy_by_group(self.label, self.pred, self.snr)


def score(model, test: Frames, snr: np.ndarray, per_capture: int, device: str = "cpu") -> Scores:
    """Predict `per_capture` centre frames of every test signal."""
    frames = test.center(per_capture)
    return Scores(predict_proba(model, frames, device), np.repeat(test.labels, per_capture),
                  np.repeat(snr, per_capture), per_capture)


def accuracy_vs_frame_len(model, test: Frames, snr: np.ndarray, lengths: list[int], lo: float = 10.0,
                          device: str = "cpu") -> dict[int, float]:
    """Accuracy at SNR >= lo of one centre frame of each length from every test signal (the same model)."""
    keep = np.flatnonzero(snr >= lo)
    sub = Frames([test.signals[i] for i in keep], test.labels[keep], test.frame_len, test.margin)
    out = {}
    for length in lengths:
        proba = predict_proba(model, sub.center(1, length=length), device)
        out[int(length)] = M.accuracy(sub.labels, proba.argmax(1))
    return out


def estimator_errors(test: Captures) -> dict[str, np.ndarray]:
    """Per-capture |fc error| / Rs, |B / Rs - 1| and |Rs_hat / Rs - 1|, with the class masks they apply to."""
    return {"snr": test.snr, "fc_err": np.abs(test.fc_hat - test.fc) / test.rate,
            "bw_err": np.abs(test.bw_hat / test.rate - 1), "rs_err": np.abs(test.rs_hat / test.rate - 1),
            "carrier": np.isin(test.label, CARRIER_CLASSES), "rrc": np.isin(test.label, RRC_CLASSES),
            "line": test.rate_line}


ERROR_MASK = {"fc_err": "carrier", "bw_err": "rrc", "rs_err": "rrc"}


def error_quantiles(err: dict[str, np.ndarray], key: str, q: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
                    ) -> list[tuple[float, ...]]:
    """(snr, quantiles...) of one estimator error per test SNR."""
    mask = err[ERROR_MASK[key]]
    return [(float(s), *np.quantile(err[key][(err["snr"] == s) & mask], q)) for s in np.unique(err["snr"])
            if np.any((err["snr"] == s) & mask)]


def hard_pairs(cm: np.ndarray, classes: tuple[str, ...],
               pairs: tuple[tuple[str, str], ...] = (("QPSK", "8PSK"), ("QAM16", "QAM64"), ("CPFSK", "GFSK"))
               ) -> list[list[object]]:
    """For each pair (a, b) present: accuracy of a, of b, fraction of a called b and of b called a."""
    rows = []
    for a, b in pairs:
        if a in classes and b in classes:
            i, j = classes.index(a), classes.index(b)
            rows.append([f"{a} / {b}", cm[i, i], cm[j, j], cm[i, j], cm[j, i]])
    return rows


def complexity(models: dict, data: Dataset, m: dict) -> dict[str, np.ndarray]:
    """Parameters, frames/s at batch 256 and single-frame latency (this process's threads), and generator speed."""
    example = data.test["pe"].center(1)[:256]
    timings = {}
    with torch_threads(1):
        for key, name in (("lstm", "pe"), ("cnn", "cnn")):
            batch, single = time_inference(models[name], example)
            m[f"params_{key}"] = n_params(models[name])
            m[f"infer_frames_per_s_1core{'_cnn' if key == 'cnn' else ''}"] = 256 / float(np.median(batch))
            m[f"latency_ms_{key}"] = 1e3 * float(np.median(single))
            timings[key] = single
    m["infer_frames_per_s"] = m["infer_frames_per_s_1core"]
    m["infer_frames_per_s_cnn"] = m["infer_frames_per_s_1core_cnn"]
    m["frame_len"] = example.shape[-1]
    m["rf_pipeline_frames_per_s"] = data.gen_frames_per_s
    start, rng = time.process_time(), np.random.default_rng(0)
    for mod in CLASSES:
        generate_baseband(mod, 1000, rng.uniform(-20, 18, 1000), rng)
    m["gen_frames_per_s"] = 1000 * len(CLASSES) / (time.process_time() - start)
    return timings


def estimator_metrics(data: Dataset, m: dict) -> dict[str, np.ndarray] | None:
    if not data.blind:
        for key in ("fc_err_over_rs_median_snr_ge10", "bw_rel_err_median_snr_ge10", "rs_err_median_snr_ge10"):
            m[key] = float("nan")
        return None
    err = estimator_errors(data.test_captures)
    hi = err["snr"] >= 10
    m["fc_err_over_rs_median_snr_ge10"] = float(np.median(err["fc_err"][hi & err["carrier"]]))
    m["bw_rel_err_median_snr_ge10"] = float(np.median(err["bw_err"][hi & err["rrc"]]))
    m["rs_err_median_snr_ge10"] = float(np.median(err["rs_err"][hi & err["rrc"]]))
    m["rs_line_found_snr_ge10"] = float(np.mean(err["line"][hi & err["rrc"]]))
    return err
