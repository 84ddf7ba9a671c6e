"""The medical-sign classifier: what a clinician's model would still see in a de-identified photo.

Input: the face chip aligned at the *original's* landmarks (dlib.get_face_chip, `size` pixels, padding 0.25),
the same alignment for the original and every anonymised version. Features: a grid of `cell` x `cell`
blocks over the whole chip, per block the mean of L, a, b and of the Sobel gradient magnitude (so colour
signs and shape signs both register, and the classifier sees the whole face, not only the kept region).
Model: standardised features, multinomial logistic regression (scikit-learn, L2, C).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def chip_features(chips: np.ndarray | list[np.ndarray], cell: int = 4) -> np.ndarray:
    """(n, (size / cell)^2 * 4) block means of Lab and gradient magnitude."""
    import cv2

    out = []
    for chip in chips:
        lab = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2LAB).astype(np.float32)
        grad = np.hypot(cv2.Sobel(lab[..., 0], cv2.CV_32F, 1, 0), cv2.Sobel(lab[..., 0], cv2.CV_32F, 0, 1))
        stack = np.dstack([lab, grad])
        h, w = stack.shape[:2]
        if h % cell or w % cell:
            raise ValueError(f"chip size {h}x{w} must be a multiple of the cell size {cell}")
        out.append(stack.reshape(h // cell, cell, w // cell, cell, 4).mean(axis=(1, 3)).ravel())
    return np.asarray(out, dtype=np.float64)


@dataclass
class SignClassifier:
    """Standardised block features -> multinomial logistic regression over the sign classes."""

    n_classes: int
    C: float = 0.1
    cell: int = 4
    max_iter: int = 500

    def fit(self, chips, labels) -> SignClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        labels = np.asarray(labels)
        self.constant = int(labels[0]) if len(np.unique(labels)) == 1 else None  # one class: predict it
        if self.constant is None:
            self.model = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=self.max_iter))
            self.model.fit(chip_features(chips, self.cell), labels)
        return self

    def predict(self, chips, identities=None) -> np.ndarray:
        if self.constant is not None:
            return np.full(len(chips), self.constant, dtype=int)
        return np.asarray(self.model.predict(chip_features(chips, self.cell)), dtype=int)


@dataclass
class CrossFitted:
    """Leave-identities-out classifiers: each image is predicted by the model that never saw its identity."""

    models: list[tuple[SignClassifier, set[str]]]  # (model, identities it was trained on)

    @classmethod
    def fit(cls, chips, labels, identities, n_classes: int, folds: int = 2, **kw) -> CrossFitted:
        ids = sorted(set(identities))
        if len(ids) < folds:
            raise ValueError(f"cross-fitting over {folds} folds needs >= {folds} identities, got {len(ids)}")
        labels, identities = np.asarray(labels), np.asarray(identities)
        models = []
        for k in range(folds):
            held = set(ids[k::folds])
            train = ~np.isin(identities, list(held))
            models.append((SignClassifier(n_classes, **kw).fit([c for c, t in zip(chips, train, strict=True) if t],
                                                              labels[train]), set(ids) - held))
        return cls(models)

    def predict(self, chips, identities) -> np.ndarray:
        out = np.zeros(len(chips), int)
        for model, seen in self.models:
            rows = [i for i, ident in enumerate(identities) if ident not in seen]
            if rows:
                out[rows] = model.predict([chips[i] for i in rows])
        return out
