"""Issue 19: every model the quick preset trains ends above chance, here briefly and on two seeds."""

import pytest
import torch

from paperzoo.core.metrics import near_chance
from paperzoo.core.threads import torch_threads
from paperzoo.induction.data import BigramTriggerData, dirichlet_bigram
from paperzoo.induction.evaluate import accuracy_at
from paperzoo.induction.model import InductionTransformer, ModelConfig
from paperzoo.induction.train import TrainConfig, train

N, T = 16, 32


@pytest.mark.parametrize("pos, layers", [("ape", 2), ("rel", 2), ("none", 3)])
@pytest.mark.parametrize("seed", [0, 1])
def test_each_quick_model_trains_above_chance(pos, layers, seed):
    data = BigramTriggerData(dirichlet_bigram(N, 1.0, 0), 3, n_heldout_outputs=2)
    cfg = ModelConfig(d_model=64, n_layers=layers, pos=pos, max_len=T, init_seed=seed,
                      train_all_outputs=layers == 3)
    model = InductionTransformer(N, cfg)
    with torch.random.fork_rng(), torch_threads(1):
        train(model, data, TrainConfig(steps=60, batch_size=16, eval_every=60, eval_batch=16), T,
              torch.Generator().manual_seed(seed), eval_seed=7)
    acc = accuracy_at(model, data, T, 128, seed + 100)[0]
    assert not near_chance(acc, N, 128) and acc > 2 / N, (pos, layers, seed, acc)
