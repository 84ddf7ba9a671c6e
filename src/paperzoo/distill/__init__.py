"""paperzoo.distill — feature-alignment knowledge distillation for transformer LMs (arXiv 2412.19449).

The method is `losses.joint_loss` (α·hard + β·feat + γ·att + δ·dist); `methods` names the compared recipes,
`hooks` captures features of any Hugging Face model, `prune` cuts students out of a decoder teacher, `train.fit`
distils several students in lockstep (data-parallel under torchrun).
"""

from .hooks import FeatureCapture, find_blocks, qkv_paths
from .layermap import layer_map, uniform_map
from .losses import (
    Features,
    LossWeights,
    Projections,
    attention_kl,
    attention_score_mse,
    attention_scores,
    hard_loss,
    joint_loss,
    masked_cosine,
    masked_mse,
    relation_kl,
    soft_kl,
)
from .methods import ALL_METHODS, KDConfig, LossConfig, method_pairs, method_weights
from .prune import block_influence, cut_student, mlp_importance, prune_mlp, select_layers
from .train import Teacher, TrainConfig, Trainee, fit

__all__ = ["ALL_METHODS", "FeatureCapture", "Features", "KDConfig", "LossConfig", "LossWeights", "Projections",
           "Teacher", "TrainConfig", "Trainee", "attention_kl", "attention_score_mse", "attention_scores",
           "block_influence", "cut_student", "find_blocks", "fit", "hard_loss", "joint_loss", "layer_map",
           "masked_cosine", "masked_mse", "method_pairs", "method_weights", "mlp_importance", "prune_mlp",
           "qkv_paths", "relation_kl", "select_layers", "soft_kl", "uniform_map"]
