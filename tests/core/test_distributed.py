"""core.distributed: the single-process identities, and two gloo processes under torchrun matching one process."""

import json
import textwrap

import numpy as np
import pytest

from paperzoo.core.distributed import Distributed, unwrap
from tests.ddp import torchrun


def test_single_process_is_the_identity():
    dp = Distributed()
    assert not dp.enabled and dp.is_main and dp.device_for("cuda") == "cuda"
    idx, scale = dp.local_batch([3, 1, 2])
    assert idx.tolist() == [3, 1, 2] and scale == 1.0
    assert dp.mean(2.5) == 2.5 and dp.any_rank(False) is False and dp.broadcast({"a": 1}) == {"a": 1}
    assert dp.gather_shards(dp.shard(5), 5) == [0, 1, 2, 3, 4]
    model = object()
    assert dp.wrap(model) is model and unwrap(model) is model


@pytest.mark.parametrize("batch,world", [(10, 2), (7, 2), (5, 3), (2, 3)])
def test_local_batches_reassemble_the_global_gradient(batch, world):
    """sum_r scale_r * mean_r(g) / W == mean(g) over the global batch, for every split (empty slices too)."""
    g = np.random.default_rng(0).normal(size=batch)
    total = 0.0
    for rank in range(world):
        idx, scale = Distributed(rank, world).local_batch(np.arange(batch))
        total += scale * g[idx].mean() / world
    assert total == pytest.approx(g.mean())
    shards = [Distributed(r, world).shard(batch) for r in range(world)]
    assert sorted(i for s in shards for i in s) == list(range(batch))


SCRIPT = '''
import sys
from dataclasses import dataclass
import numpy as np
import torch
from paperzoo.core import Claim, Experiment, Outcome, register
from paperzoo import cli

@dataclass
class Cfg:
    steps: int = 30
    lr: float = 0.1

def run(cfg, ctx):
    dp = ctx.dist
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(64, 5)), dtype=torch.float64)
    y = x @ torch.arange(1.0, 6.0, dtype=torch.float64) + 0.1 * torch.tensor(rng.normal(size=64))
    torch.manual_seed(0)
    model = dp.wrap(torch.nn.Linear(5, 1).double())
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    for step in ctx.progress(range(cfg.steps), desc="train"):
        batch = np.random.default_rng(step).choice(64, 13, replace=False)
        idx, scale = dp.local_batch(batch)
        loss = scale * ((model(x[idx]).squeeze(1) - y[idx]) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        mse = dp.mean(float(((model(x).squeeze(1) - y) ** 2).mean()))
    w = dp.all_gather(model.module.weight.detach().numpy().tolist() if dp.enabled else model.weight.tolist())
    ctx.log(f"rank {dp.rank} finished")
    return Outcome({"mse": mse, "w0": float(np.array(w[0]).ravel()[0]),
                    "ranks_agree": float(all(np.allclose(v, w[0]) for v in w))},
                   [Claim("fits", mse < 1, f"mse {mse:.4f}")])

register(Experiment(name="multitask.ddptoy", paper="0", title="ddp toy", config=Cfg, run=run))
cli.main()
'''


def test_two_processes_write_one_folder_and_match_one_process(tmp_path):
    script = tmp_path / "toy.py"
    script.write_text(textwrap.dedent(SCRIPT))
    two = torchrun(["run", "multitask.ddptoy", "--out", str(tmp_path / "two")], script=script, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    one = torchrun(["run", "multitask.ddptoy", "--out", str(tmp_path / "one")], nproc=1, script=script)
    assert one.returncode == 0, one.stderr[-3000:]
    m2 = json.loads((tmp_path / "two" / "metrics.json").read_text())
    m1 = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert m2["world_size"] == 2 and m1["world_size"] == 1
    assert m2["metrics"]["ranks_agree"] == 1.0
    # the same global batches: equal up to float summation order
    assert m2["metrics"]["mse"] == pytest.approx(m1["metrics"]["mse"], rel=1e-9)
    assert m2["metrics"]["w0"] == pytest.approx(m1["metrics"]["w0"], rel=1e-9)
    log = (tmp_path / "two" / "run.log").read_text()
    assert log.count("finished") == 1 and "rank 0 finished" in log  # only rank 0 writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "toy.py", "two"]
