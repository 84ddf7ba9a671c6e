"""The paper's experiment: FedGA vs FedAvg and its variants over a Dirichlet-alpha grid and several seeds.

Each (algorithm, alpha, seed) is one federated run; at a given (alpha, seed) every algorithm sees the same
partition, initial model and client sampling, so methods are compared paired by seed. Runs go to a process
pool on the in-process engine, or run one after another on Flower (``engine=flower``). The engine check runs
one federation on both engines. Claims are decided in ``claims.py`` by paired tests over seeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from paperzoo.core import Experiment, Outcome, RunContext, param, register
from paperzoo.core import metrics as M

from . import figures
from .algorithm import AlgoConfig
from .baselines import ALGORITHMS
from .claims import evaluate_claims
from .client import LocalConfig
from .federation import PROTOCOL, DataConfig, FederationSpec, build, protocol
from .partition import histograms, used_fraction
from .report import report_sections
from .server import FedConfig
from .sweep import METRICS, check_task, engine_check, job, run_all, seed_arrays

QUICK_ROUNDS = 25  # of the protocol's 100 on MNIST: what the quick sweep affords in its CPU budget
QUICK_ALGORITHMS = ("fedavg", "fedprox", "fedntd", "climb", "fedrl", "fedga")  # FedAvg, its 4 variants, FedGA
QUICK_ALPHAS = (0.05, 0.5, 10.0)  # strong skew, the protocol's middle, near IID: 3 seeds of each fit the budget


@dataclass
class SweepConfig:
    """The grid: algorithms x alphas x seeds."""

    algorithms: tuple[str, ...] = param(tuple(ALGORITHMS), choices=tuple(ALGORITHMS), nonempty=True,
                                        doc="algorithms to run (fedga and fedavg are needed for the claims)")
    alphas: tuple[float, ...] = param((0.05, 0.1, 0.5, 1.0, 10.0), gt=0, nonempty=True,
                                      doc="Dirichlet concentrations alpha of the client partitions")
    workers: int = param(2, ge=1, doc="worker processes of the in-process engine's runs")


@dataclass
class ClaimsConfig:
    """Thresholds of the claims."""

    alpha: float = param(0.05, gt=0, lt=1, doc="significance level of the paired t-tests over seeds")
    speedup_vs_flower: float = param(20.0, gt=0, doc="in-process rounds/s that count as fast, in x Flower's")
    engine_tolerance: float = param(0.0, ge=0, doc="largest |difference| of any metric or weight between the "
                                                   "engines that counts as equal (0: bit-identical)")


@dataclass
class FedGAConfig:
    data: DataConfig = field(default_factory=DataConfig)
    fed: FedConfig = field(default_factory=lambda: FedConfig(rounds=QUICK_ROUNDS, eval_every=5))
    local: LocalConfig = field(default_factory=LocalConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    seeds: list[int] = param([0, 1, 2], ge=0, nonempty=True,
                             doc="federation seeds (each added to --seed): partition, initial model, sampling")
    threads: int = param(1, ge=0, doc="torch threads of each federated run (0 = torch's default)")
    model: str = param("auto", choices=("auto", "mlp", "lenet", "resnet20"), doc="model (auto: the protocol's)")
    protocol: bool = param(False, doc="take client lr and rounds per alpha from the authors' table "
                                      "(overrides fed.rounds and local.lr)")
    engine: str = param("inprocess", choices=("inprocess", "flower"), doc="engine of the sweep")
    ea_double_softmax: bool = param(False, doc="EA as the authors' code computes it (softmax applied twice)")
    speed_rounds: int = param(5, ge=0, doc="rounds of the engine check on both engines (0 skips it)")

    def __post_init__(self) -> None:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds}")
        if self.protocol:
            for alpha in self.sweep.alphas:
                protocol(self.data.dataset, alpha)  # a UserError naming the alphas the table has


def alpha_key(alpha: float) -> str:
    return f"a{alpha:g}"


def resolve(cfg: FedGAConfig, alpha: float) -> tuple[str, FedConfig, LocalConfig]:
    """Model, federation and local config of one alpha (the authors' table when ``protocol``)."""
    model = PROTOCOL.get(cfg.data.dataset, ("mlp", {}))[0] if cfg.model == "auto" else cfg.model
    if not cfg.protocol:
        return model, cfg.fed, cfg.local
    _, lr, rounds = protocol(cfg.data.dataset, alpha)
    return model, replace(cfg.fed, rounds=rounds), replace(cfg.local, lr=lr)


def spec_of(cfg: FedGAConfig, alpha: float, seed: int, algo: str = "fedavg") -> FederationSpec:
    model, fed, local = resolve(cfg, alpha)
    return FederationSpec(cfg.data, fed.n_clients, alpha, seed, model, algo, cfg.algo, local)


def partitions(cfg: FedGAConfig, seed: int, ctx: RunContext) -> tuple[dict[str, float], list[list]]:
    """Stage 1: each alpha's partition (first seed): used fraction, client sizes, histogram figures."""
    metrics, rows = {}, []
    for j, alpha in enumerate(cfg.sweep.alphas):
        data, parts = build(spec_of(cfg, alpha, seed))
        hist = histograms(data.y_train.numpy(), parts, data.n_classes)
        used = used_fraction(parts, len(data.y_train))
        metrics[f"used_fraction.{alpha_key(alpha)}"] = used
        rows.append([alpha, cfg.data.partition, round(used, 4), int(hist.sum(1).min()), int(hist.sum(1).max()),
                     round(float((hist == 0).sum(1).mean()), 2), int((hist.sum(1) == 0).sum())])
        if j in (0, len(cfg.sweep.alphas) - 1):
            figures.client_histograms(ctx, hist, f"{data.name}, {cfg.data.partition} partition, alpha={alpha:g}",
                                      f"clients_{alpha_key(alpha)}")
    return metrics, rows


def tasks(cfg: FedGAConfig, seeds: list[int], device: str) -> list[dict]:
    """Stage 2: the grid's jobs, alpha-major, so a worker's caches see one (alpha, seed) at a time."""
    out = []
    for alpha in cfg.sweep.alphas:
        fed = resolve(cfg, alpha)[1]
        for seed in seeds:
            for algo in cfg.sweep.algorithms:
                out.append(job((algo, alpha, seed), spec_of(cfg, alpha, seed, algo), fed, cfg.threads,
                               cfg.ea_double_softmax, device))
    return out


def summarize(table: dict, results: dict, n_test: int, ctx: RunContext) -> tuple[dict[str, float], frozenset]:
    """Stage 3: seed mean, std and 95 % interval of every final metric; warn about runs that ended near chance
    (returned as the set of their (algorithm, alpha))."""
    metrics: dict[str, float] = {}
    for (algo, alpha), entry in table.items():
        for m in METRICS:
            s = M.seed_summary(entry[m])
            key = f"{algo}.{alpha_key(alpha)}"
            metrics.update({f"{m}.{key}": s.mean, f"{m}_std.{key}": s.std, f"{m}_lo.{key}": s.lo,
                            f"{m}_hi.{key}": s.hi})
    n_classes = len(next(iter(table.values()))["ea"][0])
    weak = sorted(k for k, r in results.items() if M.near_chance(r["history"][-1]["acc"], n_classes, n_test))
    for algo, alpha, seed in weak:
        ctx.warn(f"{algo} at alpha={alpha:g}, seed {seed} ended near chance (accuracy "
                 f"{results[(algo, alpha, seed)]['history'][-1]['acc']:.3f}, {n_classes} classes)")
    metrics["near_chance_runs"] = float(len(weak))
    metrics["sweep_cpu_s"] = float(sum(r["cpu_s"] for r in results.values()))
    rps = [r["rounds_per_s"] for r in results.values() if np.isfinite(r["rounds_per_s"])]
    metrics["sweep_rounds_per_s_per_worker"] = float(np.mean(rps)) if rps else float("nan")
    return metrics, frozenset((algo, alpha) for algo, alpha, _ in weak)


def check_engines(cfg: FedGAConfig, seed: int, ctx: RunContext) -> dict[str, float]:
    """Stage 4: one federation (fedga, the middle alpha, ``speed_rounds`` rounds) on both engines."""
    if cfg.speed_rounds == 0:
        return {}
    alpha = sorted(cfg.sweep.alphas)[len(cfg.sweep.alphas) // 2]
    task = check_task(spec_of(cfg, alpha, seed, "fedga"), resolve(cfg, alpha)[1], cfg.speed_rounds,
                      cfg.ea_double_softmax)
    ctx.log(f"engine check: fedga, alpha={alpha:g}, {cfg.speed_rounds} rounds, {cfg.fed.n_clients} clients, "
            f"{cfg.fed.clients_per_round}/round, {task['threads']} torch thread(s) in every process")
    try:
        m = engine_check(task)
    except Exception as exc:  # Flower/Ray failing (e.g. Ray start-up timing out on a loaded machine) must not cost
        # the sweep its results: the engine claims become "not evaluated" (their metrics are missing)
        ctx.warn(f"engine check failed, its claims are not evaluated: {type(exc).__name__}: {exc}")
        return {}
    ctx.log(f"in-process {m['rounds_per_s_inprocess']:.2f} rounds/s, Flower {m['rounds_per_s_flower']:.2f} "
            f"rounds/s ({m['flower_wall_s']:.1f} s wall incl. Ray start); largest difference: metrics "
            f"{m['engines_max_metric_diff']:.3g}, weights {m['engines_max_weight_diff']:.3g}")
    return m


def run(cfg: FedGAConfig, ctx: RunContext) -> Outcome:
    seeds = list(cfg.seeds)  # the runner has added --seed to each
    metrics, part_rows = partitions(cfg, seeds[0], ctx)
    grid = tasks(cfg, seeds, ctx.device)
    ctx.log(f"{len(grid)} federated runs ({len(cfg.sweep.algorithms)} algorithms x {len(cfg.sweep.alphas)} alphas "
            f"x {len(seeds)} seeds) on the {cfg.engine} engine")
    t0 = time.perf_counter()
    results = run_all(grid, cfg.engine, cfg.sweep.workers, ctx.progress, ctx.log)
    metrics["sweep_wall_s"] = time.perf_counter() - t0
    table = seed_arrays(results, cfg.sweep.algorithms, cfg.sweep.alphas, seeds)
    n_test = len(build(spec_of(cfg, cfg.sweep.alphas[0], seeds[0]))[0].y_test)
    summary, weak = summarize(table, results, n_test, ctx)
    metrics.update(summary)
    metrics.update(check_engines(cfg, seeds[0], ctx))
    claims = evaluate_claims(metrics, table, cfg.sweep.alphas, cfg.sweep.algorithms, cfg.claims,
                             speed_rounds=cfg.speed_rounds, weak=weak)
    figures.draw_all(ctx, results, table, cfg.sweep.algorithms, cfg.sweep.alphas, seeds)
    sections = report_sections(ctx, results, table, metrics, cfg, seeds, part_rows, protocol_text(cfg, seeds))
    return Outcome(metrics=metrics, claims=claims, sections=sections)


def protocol_text(cfg: FedGAConfig, seeds: list[int]) -> str:
    rounds = sorted({resolve(cfg, a)[1].rounds for a in cfg.sweep.alphas})
    lrs = sorted({resolve(cfg, a)[2].lr for a in cfg.sweep.alphas})
    return (f"{cfg.data.dataset}, model {resolve(cfg, cfg.sweep.alphas[0])[0]}, {cfg.fed.n_clients} clients, "
            f"{cfg.fed.clients_per_round}/round, rounds {rounds}, {cfg.local.epochs} local epochs, batch "
            f"{cfg.local.batch_size}, lr {lrs}, clip {cfg.local.clip_norm}, seeds {seeds}, engine {cfg.engine}, "
            f"FedGA mode {cfg.algo.fedga_mode}, {cfg.threads} torch thread(s) per run.")


register(Experiment(
    name="fedga",
    paper="2412.16582",
    title="FedGA: gradient alignment for error asymmetry in federated learning (MNIST, Dirichlet-alpha grid)",
    config=FedGAConfig,
    presets={
        "smoke": {"data.dataset": "synthetic", "fed.n_clients": 10, "fed.clients_per_round": 4, "fed.rounds": 3,
                  "fed.eval_every": 1, "seeds": [0, 1], "sweep.alphas": (0.1, 1.0, 10.0), "sweep.workers": 1,
                  "speed_rounds": 0},
        # core builds nested configs from class defaults, so the quick federation is spelled out here
        "quick": {"fed.rounds": QUICK_ROUNDS, "fed.eval_every": 5, "sweep.algorithms": QUICK_ALGORITHMS,
                  "sweep.alphas": QUICK_ALPHAS, "seeds": [0, 1, 2]},
        "full": {"protocol": True, "fed.eval_every": 1, "seeds": [0, 1, 2, 3, 4]},
    },
    run=run,
))
