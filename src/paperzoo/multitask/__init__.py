"""paperzoo.multitask — multi-task learning over a shared pre-trained encoder (arXiv 2412.06249).

Components (imported on first use, so `import paperzoo.multitask` stays light): the shared encoder
(`SharedEncoder`), task modules (`ClassificationHead`, `RegressionHead`, `SummarisationHead` with the
pointer-generator `PointerGeneratorDecoder`), task samplers (`make_sampler`), loss-balancing rules
(`Weighting`, `Uncertainty`, `GradNorm`, `DWA`, `PCGrad`, `GradVac` and the paper's `GradientCosine`),
the trainer (`MultiTaskModel`, `fit`), the Bi-LSTM-attention baseline and the corpus readers (`corpora`).
"""

from __future__ import annotations

from paperzoo.core.lazy import lazy_exports

_WHERE = {
    "GradientCosine": "cosine", "Weighting": "weighting", "Uncertainty": "weighting", "GradNorm": "weighting",
    "DWA": "weighting", "PCGrad": "weighting", "GradVac": "weighting", "cosine_matrix": "weighting",
    "TaskSampler": "samplers", "make_sampler": "samplers", "SAMPLERS": "samplers",
    "SharedEncoder": "encoder", "PointerGeneratorDecoder": "pointer", "ClassificationHead": "heads",
    "RegressionHead": "heads", "SummarisationHead": "heads", "TaskHead": "heads", "Batch": "heads",
    "MultiTaskModel": "train", "fit": "train", "TrainConfig": "train", "BiLSTMAttentionEncoder": "baselines",
    "lead": "baselines", "TaskData": "data", "build_task": "data", "corpora": None,
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
