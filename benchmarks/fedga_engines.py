"""Same small federation on both engines: identical final metrics, rounds/s ratio.

    python benchmarks/fedga_engines.py [--rounds 5] [--dataset mnist] [--algo fedga]

In-process: the round's clients trained together (one bmm per layer). Flower: ServerApp + ClientApps simulated
on Ray (loopback, telemetry off); rounds/s is measured between aggregations, so Ray start-up is excluded.
"""

from __future__ import annotations

import argparse
import time

import torch

from paperzoo.fedga.client import LocalConfig
from paperzoo.fedga.engine import run_inprocess
from paperzoo.fedga.federation import DataConfig, FederationSpec, build
from paperzoo.fedga.flower_engine import history_equal, run_flower
from paperzoo.fedga.server import FedConfig, Server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--algo", default="fedga")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--clients", type=int, default=100)
    args = ap.parse_args()

    spec = FederationSpec(DataConfig(dataset=args.dataset), args.clients, args.alpha, 0, "mlp", args.algo,
                          local=LocalConfig())
    fed = FedConfig(n_clients=args.clients, clients_per_round=10, rounds=args.rounds, eval_every=1)
    data, parts = build(spec)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the sweep runs one thread per worker process; measure the same thing
    t0 = time.perf_counter()
    inproc = Server(data, parts, spec.algo, spec.algo_cfg, fed, spec.model, spec.seed)
    run_inprocess(inproc, spec.local)
    t_in = time.perf_counter() - t0
    torch.set_num_threads(threads)

    t0 = time.perf_counter()
    flower = run_flower(spec, fed)
    t_fl = time.perf_counter() - t0

    same = history_equal(inproc.history, flower.history)
    print(f"config: {args.dataset}, {args.algo}, alpha={args.alpha}, {args.clients} clients, 10/round, "
          f"{args.rounds} rounds")
    print(f"in-process: {inproc.rounds_per_s():8.2f} rounds/s  (wall {t_in:6.1f} s)  final acc "
          f"{inproc.history[-1]['acc']:.4f}")
    print(f"flower    : {flower.rounds_per_s():8.2f} rounds/s  (wall {t_fl:6.1f} s incl. Ray start)  final acc "
          f"{flower.history[-1]['acc']:.4f}")
    print(f"ratio in-process / flower: {inproc.rounds_per_s() / flower.rounds_per_s():.1f}x ; "
          f"identical metrics: {same}")
    if not same:
        raise SystemExit("engines disagree")


if __name__ == "__main__":
    main()
