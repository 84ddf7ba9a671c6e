"""FedGA (arXiv 2412.16582): federated learning with gradient alignment against error asymmetry.

Components: ``FedGALoss`` and ``error_asymmetry`` (losses), the ``Algorithm`` base (FedAvg) with FedGA and the
baselines as subclasses, partitions, the shared client trainer, the server, and two engines (in-process batched
simulator; Flower simulated on Ray or deployed on SuperLink + SuperNodes).
"""

from .algorithm import AlgoConfig, Algorithm, FedGA, Payload
from .baselines import ALGORITHMS, CLIMB, FedLC, FedNTD, FedProx, FedRL, FedRS, make_algorithm
from .client import ClientShard, LocalConfig, train_clients
from .losses import FedGALoss, calibrated_target, error_asymmetry
from .partition import histograms, naive_dirichlet, niid_dirichlet, shards, used_fraction

__all__ = ["ALGORITHMS", "CLIMB", "AlgoConfig", "Algorithm", "ClientShard", "FedGA", "FedGALoss", "FedLC", "FedNTD",
           "FedProx", "FedRL", "FedRS", "LocalConfig", "Payload", "calibrated_target", "error_asymmetry",
           "histograms", "make_algorithm", "naive_dirichlet", "niid_dirichlet", "shards", "train_clients",
           "used_fraction"]
