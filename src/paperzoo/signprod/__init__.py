"""Sign language production gloss -> pose (arXiv 2412.16944): LVMCN = Progressive Transformer + Cross-modal
Semantic Aligner + Multimodal Semantic Comparator, the PT data layout, a synthetic sign language with a known
alignment, and the field's evaluation (DTW-MJE, back-translation BLEU/ROUGE/WER, FID, MPJPE).

Components load on first use (torch only when a model is asked for):
``ProgressiveTransformer``, ``LVMCN``, ``BackTranslator`` (models); ``SignLanguage`` (synthetic data);
``read_pt``, ``write_pt``, ``read_skels`` (PT layout); ``dtw_mje``, ``dtw_plain`` (PT's DTW-MJE);
``raw_corpus_bleu``, ``frechet_distance``, ``mpjpe`` (scores); ``forward_kinematics`` (skeleton).
"""

from __future__ import annotations

from paperzoo.core.lazy import lazy_exports

_WHERE = {
    "ProgressiveTransformer": "model", "ModelConfig": "model", "LVMCN": "lvmcn", "LVMCNConfig": "lvmcn",
    "association": "lvmcn", "diagonal_loss": "lvmcn", "order_loss": "lvmcn", "comparator_loss": "lvmcn",
    "BackTranslator": "evaluator", "EvaluatorConfig": "evaluator", "SignLanguage": "data",
    "SyntheticConfig": "data", "SignSequence": "data", "SignCorpus": "data", "read_pt": "formats",
    "write_pt": "formats", "read_skels": "formats", "dtw_mje": "dtw", "dtw_plain": "dtw",
    "raw_corpus_bleu": "scores", "frechet_distance": "scores", "mpjpe": "scores",
    "forward_kinematics": "skeleton", "bone_lengths": "skeleton",
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
