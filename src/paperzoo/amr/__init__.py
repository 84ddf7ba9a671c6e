"""Blind RF modulation recognition: power-spectrum parameter estimation + amplitude/phase LSTM (arXiv 2412.08251).

Components: ``estimate_parameters`` / ``blind_convert`` (the paper's estimation and conversion, with the
symbol-rate line), the generator (``generate_rf``, ``generate_baseband``), the classifiers (``AmpPhaseLSTM``,
``IQCNN``) with ``train_classifier``, the datasets, and the real-format readers.
"""

from paperzoo.amr.dataset import DataConfig, Frames, RFDataConfig
from paperzoo.amr.estimate import EstimatorConfig, blind_convert, estimate_parameters, symbol_rate, to_baseband
from paperzoo.amr.formats import load_recording, load_rml2016, load_rml2018
from paperzoo.amr.model import IQCNN, AmpPhaseLSTM, CNNConfig, LSTMConfig, load_lstm, save_lstm
from paperzoo.amr.signals import CLASSES, ImpairmentConfig, generate_baseband, generate_rf
from paperzoo.amr.train import TrainConfig, predict_proba, train_classifier

__all__ = ["CLASSES", "IQCNN", "AmpPhaseLSTM", "CNNConfig", "DataConfig", "EstimatorConfig", "Frames",
           "ImpairmentConfig", "LSTMConfig", "RFDataConfig", "TrainConfig", "blind_convert", "estimate_parameters",
           "generate_baseband", "generate_rf", "load_lstm", "load_recording", "load_rml2016", "load_rml2018",
           "predict_proba", "save_lstm", "symbol_rate", "to_baseband", "train_classifier"]
