"""paperzoo.distill — feature-alignment knowledge distillation for transformer LMs (arXiv 2412.19449)."""

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

__all__ = ["FeatureCapture", "Features", "LossWeights", "Projections", "attention_kl", "attention_score_mse",
           "attention_scores", "find_blocks", "hard_loss", "joint_loss", "layer_map", "masked_cosine", "masked_mse",
           "qkv_paths", "relation_kl", "soft_kl", "uniform_map"]
