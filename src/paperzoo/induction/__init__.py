"""Induction heads vs bigram knowledge (arXiv 2412.11459) with associative memories (Bietti et al. 2023).

Components: ``BigramTriggerData`` (data), ``InductionTransformer`` (model), ``build_associative_memory``,
``theoretical_logits`` and ``extended_theory_logits`` (theory), the probes, and the designed prompts.
"""

from .data import BigramTriggerData, corpus_bigram, dirichlet_bigram, icl_mask, stationary_distribution
from .memory import (
    THEORY_TERMS,
    MemoryStrengths,
    build_associative_memory,
    effective_strengths,
    extended_theory_logits,
    make_orthogonal,
    previous_token_share,
    read_strengths,
    theoretical_logits,
)
from .model import InductionTransformer, ModelConfig
from .probes import (
    bigram_kl,
    icl_accuracy,
    induction_attention,
    memory_recall,
    previous_token_attention,
)
from .prompts import Probe, choose_probes, designed_prompt

__all__ = ["THEORY_TERMS", "BigramTriggerData", "InductionTransformer", "MemoryStrengths", "ModelConfig", "Probe",
           "bigram_kl",
           "build_associative_memory", "choose_probes", "corpus_bigram", "designed_prompt", "dirichlet_bigram",
           "effective_strengths", "extended_theory_logits", "previous_token_share",
           "icl_accuracy", "icl_mask", "induction_attention", "make_orthogonal", "memory_recall",
           "previous_token_attention", "read_strengths", "stationary_distribution", "theoretical_logits"]
