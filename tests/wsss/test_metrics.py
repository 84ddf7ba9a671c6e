"""mIoU against a direct per-class computation with ignore = 255; the artifact measures on constructed maps."""

import numpy as np
import pytest

from paperzoo.wsss import metrics as SM


def _direct_miou(gts, preds, n):
    ious = []
    for c in range(n):
        tp = fp = fn = 0
        present = False
        for g, p in zip(gts, preds, strict=True):
            valid = g != 255
            tp += np.sum((g == c) & (p == c) & valid)
            fp += np.sum((g != c) & (p == c) & valid)
            fn += np.sum((g == c) & (p != c) & valid)
            present |= bool(np.any((g == c) & valid))
        if present:
            ious.append(tp / (tp + fp + fn))
    return float(np.mean(ious))


def test_miou_matches_a_direct_computation_with_ignored_pixels():
    rng = np.random.default_rng(0)
    gts = [rng.integers(0, 4, (6, 7)) for _ in range(3)]
    for g in gts:
        g[rng.random(g.shape) < 0.2] = 255
    preds = [rng.integers(0, 5, (6, 7)) for _ in range(3)]  # class 4 predicted, never in the ground truth
    conf = sum(SM.confusion_matrix(g, p, 5) for g, p in zip(gts, preds, strict=True))
    assert conf.sum() == sum(int((g != 255).sum()) for g in gts)
    assert SM.miou(conf) == pytest.approx(_direct_miou(gts, preds, 5))
    assert np.isnan(SM.iou_per_class(SM.confusion_matrix(np.zeros(4), np.zeros(4), 3))[2])


def test_confusion_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="0..2"):
        SM.confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)


def test_artifact_rate_and_far_activation_on_a_constructed_map():
    gt = np.zeros((16, 16), dtype=np.uint8)
    gt[0:4, 0:4] = 1  # one object in the top-left corner
    value = np.zeros((16, 16))
    value[0:4, 0:4] = 0.9  # the object ...
    value[12:16, 12:16] = 0.8  # ... and a far artifact in the opposite corner
    fa, bg = SM.artifact_rate(value, gt, 0.5)
    assert (fa, bg) == (16, 256 - 16)
    far, active = SM.far_activation(value, gt, patch=4, thr=0.5, far=6.0)
    assert (far, active) == (1, 2)
