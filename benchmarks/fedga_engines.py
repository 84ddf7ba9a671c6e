"""fedga's in-process engine against the way single-machine FL libraries simulate, and at scale.

    python benchmarks/fedga_engines.py sequential [--rounds 10] [--model mlp|lenet] [--algo fedga] [--threads 1]
    python benchmarks/fedga_engines.py scale [--clients 1000] [--per-round 100] [--rounds 20] [--flower-rounds 2]
    python benchmarks/fedga_engines.py flower [--rounds 5]

sequential  the same federation (partition, initial model, client sampling, every client's batch order) trained
            by (a) the in-process engine (the round's clients batched: one bmm per layer for the MLP) and (b) a
            plain sequential per-client PyTorch loop, as PFLlib / FL-bench simulate: for each sampled client a
            fresh nn.Module, torch.optim.SGD, loss.backward(), clip_grad_norm_, then the unweighted mean. Both at
            one torch thread (also the peer loop at torch's default). Prints rounds/s, the ratio, and how equal the
            final metrics and weights are. LeNet runs on CIFAR-shaped synthetic images (no CIFAR ships offline).
scale       MNIST, 1000 clients, 100 per round: in-process rounds/s and peak memory (RSS, sampled with psutil, and
            getrusage's ru_maxrss), then Flower's simulation (Ray, loopback) at the same size for --flower-rounds
            rounds (0 skips it), peak RSS summed over its processes, and whether its weights equal the in-process
            engine's after those rounds.
flower      the quick preset's engine check: in-process vs Flower simulation, 100 clients, 10 per round.
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import torch

from paperzoo.core.threads import torch_threads
from paperzoo.fedga.baselines import make_algorithm
from paperzoo.fedga.client import LocalConfig, batch_plan, client_generator, train_clients
from paperzoo.fedga.data import FedData
from paperzoo.fedga.federation import DataConfig, FederationSpec, build_server
from paperzoo.fedga.models import build_model
from paperzoo.fedga.server import FedConfig, Server


def cifar_like(n_train: int = 20000, n_test: int = 2000, seed: int = 0) -> FedData:
    """CIFAR-shaped synthetic images: a smooth template per class plus noise, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.nn.functional.interpolate(torch.rand(10, 3, 8, 8, generator=g), size=32, mode="bilinear")

    def draw(n):
        y = torch.randint(0, 10, (n,), generator=g)
        return (0.6 * templates[y] + 0.4 * torch.rand(n, 3, 32, 32, generator=g)).clamp(0, 1), y

    (x, y), (xt, yt) = draw(n_train), draw(n_test)
    return FedData("cifar-like", x, y, xt, yt, 10)


def make_server(model: str, algo: str, n_clients: int, per_round: int, rounds: int, alpha: float = 0.5) -> Server:
    fed = FedConfig(n_clients=n_clients, clients_per_round=per_round, rounds=rounds, eval_every=rounds)
    if model == "mlp":
        return build_server(FederationSpec(DataConfig(dataset="mnist"), n_clients, alpha, 0, "mlp", algo), fed)
    from paperzoo.fedga.federation import make_partition

    data = cifar_like()
    parts = make_partition(data.y_train.numpy(), DataConfig(), n_clients, alpha, 0, 10)
    return Server(data, parts, make_algorithm(algo), fed, model, 0)


def inprocess_round(server: Server, rnd: int, local: LocalConfig) -> None:
    selected = server.sample(rnd)
    payload = server.payload(rnd, selected)
    states, _ = train_clients(server.model, server.state, [server.shard(c) for c in selected], rnd, server.seed,
                              server.algo, local, server.data.n_classes, payload)
    server.aggregate(rnd, states)


def sequential_round(server: Server, rnd: int, local: LocalConfig, model_name: str) -> None:
    """The peers' loop: one client after another, an nn.Module and torch.optim.SGD each, then the plain mean."""
    selected = server.sample(rnd)
    payload = server.payload(rnd, selected)
    n_classes = server.data.n_classes
    new_states = []
    for cid in selected:
        model = build_model(model_name, server.data.in_shape, n_classes)
        model.load_state_dict(server.state)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=local.lr, momentum=local.momentum)
        idx = torch.from_numpy(server.parts[cid])
        x, y = server.x_train[idx], server.y_train[idx]
        counts = torch.bincount(y, minlength=n_classes).float().unsqueeze(0)
        inputs = server.algo.client_inputs(payload, [cid], counts)
        for b in batch_plan(len(idx), local.epochs, local.batch_size, client_generator(server.seed, rnd, cid)):
            opt.zero_grad()
            logits = model(x[b]).unsqueeze(0)
            loss = server.algo.objective(logits, y[b].unsqueeze(0), torch.ones(1, len(b)), inputs)[0]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), local.clip_norm)
            opt.step()
        new_states.append({n: t.detach() for n, t in model.state_dict().items()})
    server.aggregate(rnd, {n: torch.stack([s[n] for s in new_states]) for n in server.state})


def timed(server: Server, step, rounds: int) -> float:
    """Rounds per second over ``rounds`` rounds (the first one warms caches and is not timed); evaluates at the end."""
    step(server, 1)
    t0 = time.perf_counter()
    for rnd in range(2, rounds + 1):
        step(server, rnd)
    rate = (rounds - 1) / (time.perf_counter() - t0)
    server.evaluate(rounds)
    return rate


def interleaved(steps: dict[str, tuple[Server, object]], rounds: int) -> dict[str, np.ndarray]:
    """Per-round (wall, process CPU) seconds of each engine, the engines taking turns round by round (the order
    alternating), so that a shared machine's changing load hits both alike. Round 1 warms up and is not timed."""
    times = {name: [] for name in steps}
    for rnd in range(1, rounds + 1):
        order = list(steps) if rnd % 2 else list(steps)[::-1]
        for name in order:
            server, step = steps[name]
            t0, c0 = time.perf_counter(), time.process_time()
            step(server, rnd)
            if rnd > 1:
                times[name].append((time.perf_counter() - t0, time.process_time() - c0))
    for server, _ in steps.values():
        server.evaluate(rounds)
    return {name: np.array(t) for name, t in times.items()}


def sequential(args) -> None:
    """In-process vs the peers' loop on one federation, both at ``--threads`` torch threads, rounds interleaved."""
    local = LocalConfig()
    per_round = 10
    with torch_threads(args.threads):
        a = make_server(args.model, args.algo, 100, per_round, args.rounds)
        b = make_server(args.model, args.algo, 100, per_round, args.rounds)
        times = interleaved({"in-process": (a, lambda s, r: inprocess_round(s, r, local)),
                             "sequential loop": (b, lambda s, r: sequential_round(s, r, local, args.model))},
                            args.rounds)
    n = args.rounds - 1
    print(f"{args.model}, {args.algo}, {a.data.name}: 100 clients, {per_round} per round, {args.rounds} rounds "
          f"({n} timed, interleaved), {args.threads} torch thread(s) each")
    for name, server in (("in-process", a), ("sequential loop", b)):
        wall, cpu = times[name].sum(0)
        h = server.history[-1]
        print(f"  {name:<16} {n / wall:7.2f} rounds/s wall  {n / cpu:7.2f} rounds per CPU-s   "
              f"final acc {h['acc']:.4f}  macro-F1 {h['f1']:.4f}")
    (wall_a, cpu_a), (wall_b, cpu_b) = times["in-process"].sum(0), times["sequential loop"].sum(0)
    per = times["sequential loop"][:, 1] / times["in-process"][:, 1]
    q1, q3 = np.percentile(per, [25, 75])
    dw = max(float((a.state[k] - b.state[k]).abs().max()) for k in a.state)
    same = all(a.history[-1][m] == b.history[-1][m] for m in ("acc", "f1"))
    print(f"  speed-up of the in-process engine: {wall_b / wall_a:.2f}x (wall), {cpu_b / cpu_a:.2f}x (CPU time); "
          f"per-round CPU ratio median {np.median(per):.2f}x (quartiles {q1:.2f}-{q3:.2f})")
    print(f"  identical final accuracy and macro-F1: {same}; largest weight difference {dw:.2e}")


class PeakRSS:
    """Peak resident memory of this process and all its descendants (sampled every 0.2 s)."""

    def __enter__(self):
        import psutil

        self.peak, self._stop = 0, threading.Event()
        me = psutil.Process()

        def sample():
            while not self._stop.is_set():
                total = 0
                for p in [me, *me.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
                time.sleep(0.2)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def max_rss_gib() -> float:
    """This process's peak resident set so far (getrusage ru_maxrss, KiB on Linux), in GiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def scale(args) -> None:
    """MNIST with ``--clients`` clients, ``--per-round`` per round: the in-process engine, then Flower (optional)."""
    local = LocalConfig()
    base = max_rss_gib()
    spec = FederationSpec(DataConfig(dataset="mnist"), args.clients, 0.5, 0, "mlp", args.algo)
    with PeakRSS() as mem, torch_threads(1):
        server = make_server("mlp", args.algo, args.clients, args.per_round, args.rounds)
        sizes = [len(p) for p in server.parts]
        times = interleaved({"in-process": (server, lambda s, r: inprocess_round(s, r, local))}, args.rounds)
    wall, cpu = times["in-process"].sum(0)
    n = args.rounds - 1
    print(f"MNIST, {args.clients} clients ({min(sizes)}-{max(sizes)} samples each), {args.per_round} per round, "
          f"{args.algo}, 1 torch thread")
    print(f"  in-process: {n / wall:.2f} rounds/s wall, {n / cpu:.2f} rounds per CPU-s over {n} timed rounds; "
          f"final acc {server.history[-1]['acc']:.4f}; peak RSS {mem.peak / 2**30:.2f} GiB (psutil, sampled), "
          f"ru_maxrss {max_rss_gib():.2f} GiB (of which {base:.2f} GiB before the data was loaded)")
    if args.flower_rounds < 1:
        return
    from paperzoo.fedga.flower_engine import run_flower

    fed = FedConfig(n_clients=args.clients, clients_per_round=args.per_round, rounds=args.flower_rounds,
                    eval_every=args.flower_rounds)
    t0 = time.perf_counter()
    with PeakRSS() as mem, torch_threads(1):
        flower = run_flower(spec, fed)
    ref = make_server("mlp", args.algo, args.clients, args.per_round, args.flower_rounds)
    with torch_threads(1):
        for rnd in range(1, args.flower_rounds + 1):
            inprocess_round(ref, rnd, local)
    same = all(torch.equal(ref.state[k], flower.state[k]) for k in ref.state)
    print(f"  Flower simulation: {flower.rounds_per_s():.3f} rounds/s between aggregations over {args.flower_rounds} "
          f"rounds ({time.perf_counter() - t0:.0f} s wall incl. Ray start and the query of {args.clients} nodes), "
          f"peak RSS over all its processes {mem.peak / 2**30:.2f} GiB (psutil, sampled); weights identical to "
          f"the in-process engine's after {args.flower_rounds} rounds: {same}")


def flower(args) -> None:
    from paperzoo.fedga.sweep import check_task, engine_check

    spec = FederationSpec(DataConfig(dataset="mnist"), 100, 0.5, 0, "mlp", args.algo)
    m = engine_check(check_task(spec, FedConfig(), args.rounds, False))
    print(f"in-process {m['rounds_per_s_inprocess']:.2f} rounds/s, Flower {m['rounds_per_s_flower']:.2f} rounds/s: "
          f"{m['engine_speedup']:.1f}x; identical: {bool(m['engines_identical'])} (metrics "
          f"{m['engines_max_metric_diff']:.2g}, weights {m['engines_max_weight_diff']:.2g})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("sequential", "scale", "flower"), nargs="?", default="sequential")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--model", choices=("mlp", "lenet"), default="mlp")
    ap.add_argument("--algo", default="fedga")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--per-round", type=int, default=100)
    ap.add_argument("--flower-rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="sequential: torch threads of both engines")
    args = ap.parse_args()
    np.seterr(all="ignore")
    {"sequential": sequential, "scale": scale, "flower": flower}[args.mode](args)


if __name__ == "__main__":
    main()
