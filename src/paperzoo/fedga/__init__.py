"""FedGA (arXiv 2412.16582): federated learning with gradient alignment against error asymmetry.

Components: ``FedGALoss`` and ``error_asymmetry`` (losses), partitions, baselines' client objectives, the shared
client trainer, the server, and two engines (in-process batched simulator, Flower on Ray).
"""

from .baselines import ALGORITHMS, AlgoConfig, client_objective
from .losses import FedGALoss, calibrated_target, error_asymmetry
from .partition import histograms, naive_dirichlet, niid_dirichlet, shards, used_fraction

__all__ = ["ALGORITHMS", "AlgoConfig", "FedGALoss", "calibrated_target", "client_objective", "error_asymmetry",
           "histograms", "naive_dirichlet", "niid_dirichlet", "shards", "used_fraction"]
