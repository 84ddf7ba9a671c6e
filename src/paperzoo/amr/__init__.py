"""Blind RF modulation recognition: power-spectrum parameter estimation + amplitude/phase LSTM (arXiv 2412.08251)."""

from paperzoo.amr.estimate import EstimatorConfig, blind_convert, estimate_parameters, to_baseband
from paperzoo.amr.signals import CLASSES, ImpairmentConfig, generate_baseband, generate_rf

__all__ = ["CLASSES", "EstimatorConfig", "ImpairmentConfig", "blind_convert", "estimate_parameters",
           "generate_baseband", "generate_rf", "to_baseband"]
