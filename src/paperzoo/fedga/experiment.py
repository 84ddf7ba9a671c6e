"""The paper's experiment: FedGA vs FedAvg and six baselines over a Dirichlet-alpha grid and several seeds.

Each (algorithm, alpha, seed) is one federated run (same partition and client sampling for every algorithm at a
given alpha and seed). Runs go to a process pool (one torch thread per worker) on the in-process engine, or run
one after another on Flower (``engine=flower``). Claims are computed in ``evaluate_claims`` from the measured
final-round metrics.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context

import numpy as np

from paperzoo.core import Claim, Experiment, Outcome, RunContext, register
from paperzoo.core.report import md_table
from paperzoo.core.threads import torch_threads

from .baselines import ALGORITHMS, AlgoConfig
from .client import LocalConfig
from .engine import run_inprocess
from .federation import DataConfig, FederationSpec, build
from .partition import histograms, plot_histograms, used_fraction
from .server import FedConfig, Server

BASELINE_VARIANTS = ("fedprox", "fedrl", "climb", "fedntd")  # the paper's "four variants" of FedAvg
QUICK_ROUNDS = 25  # of the protocol's 100 on MNIST: what 80 runs afford in the 5-minute CPU budget

# (model, {alpha: (client lr, rounds)}) of the authors' protocol, used when fed.rounds == 0
PROTOCOL: dict[str, tuple[str, dict[float, tuple[float, int]]]] = {
    "mnist": ("mlp", {a: (0.1, 100) for a in (0.05, 0.1, 0.5, 1.0, 10.0)}),
    "fmnist": ("mlp", {a: (0.1, 100) for a in (0.05, 0.1, 0.5, 1.0, 10.0)}),
    "cifar10": ("lenet", {10.0: (0.1, 300), 1.0: (0.1, 300), 0.5: (0.1, 400), 0.1: (0.1, 400), 0.05: (0.1, 600)}),
    "svhn": ("lenet", {10.0: (0.3, 200), 1.0: (0.3, 200), 0.5: (0.3, 300), 0.1: (0.1, 600), 0.05: (0.1, 600)}),
    "cifar100": ("resnet20", {10.0: (0.1, 500), 1.0: (0.1, 500), 0.5: (0.1, 600), 0.1: (0.1, 700),
                              0.05: (0.1, 900)}),
    "tiny-imagenet": ("resnet20", {10.0: (0.3, 500), 1.0: (0.3, 500), 0.5: (0.3, 600), 0.1: (0.3, 900),
                                   0.05: (0.3, 1100)}),
}


@dataclass
class SweepConfig:
    """The grid: algorithms x alphas x seeds (seeds are run.seed, run.seed + 1, ...)."""

    algorithms: tuple[str, ...] = ALGORITHMS
    alphas: tuple[float, ...] = (0.05, 0.1, 0.5, 1.0, 10.0)
    seeds: int = 2
    workers: int = 2

    def __post_init__(self):
        bad = [a for a in self.algorithms if a not in ALGORITHMS]
        if bad:
            raise ValueError(f"sweep.algorithms: unknown {bad}; valid: {', '.join(ALGORITHMS)}")
        if any(a <= 0 for a in self.alphas) or not self.alphas:
            raise ValueError(f"sweep.alphas must be positive and non-empty, got {self.alphas}")
        if self.seeds < 1 or self.workers < 1:
            raise ValueError(f"sweep.seeds and sweep.workers must be >= 1, got {self.seeds}, {self.workers}")


@dataclass
class FedGAConfig:
    data: DataConfig = field(default_factory=DataConfig)
    fed: FedConfig = field(default_factory=lambda: FedConfig(rounds=QUICK_ROUNDS, eval_every=5))
    local: LocalConfig = field(default_factory=LocalConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    model: str = "auto"
    engine: str = "inprocess"
    ea_double_softmax: bool = False
    speed_rounds: int = 5

    def __post_init__(self):
        if self.engine not in ("inprocess", "flower"):
            raise ValueError(f"engine must be 'inprocess' or 'flower', got {self.engine!r}")
        if self.model not in ("auto", "mlp", "lenet", "resnet20"):
            raise ValueError(f"model must be auto, mlp, lenet or resnet20, got {self.model!r}")
        if self.speed_rounds < 0:
            raise ValueError(f"speed_rounds must be >= 0 (0 skips the engine speed check), got {self.speed_rounds}")


def alpha_key(alpha: float) -> str:
    return f"a{alpha:g}"


def resolve(cfg: FedGAConfig, alpha: float) -> tuple[str, FedConfig, LocalConfig]:
    """Model, federation and local config of one alpha (the protocol table when fed.rounds == 0)."""
    model_default, table = PROTOCOL.get(cfg.data.dataset, ("mlp", {}))
    model = model_default if cfg.model == "auto" else cfg.model
    fed, local = cfg.fed, cfg.local
    if fed.rounds == 0:
        if alpha not in table:
            raise ValueError(f"fed.rounds=0 uses the protocol table, which has no alpha={alpha} for "
                             f"{cfg.data.dataset}; set fed.rounds")
        lr, rounds = table[alpha]
        fed = FedConfig(**{**asdict(fed), "rounds": rounds})
        local = LocalConfig(**{**asdict(local), "lr": lr})
    return model, fed, local


def one_run(job: dict) -> dict:
    """One federated run on the in-process engine (a process-pool task); returns the history and timing."""
    spec = FederationSpec.from_json(job["spec"])
    fed = FedConfig(**job["fed"])
    data, parts = build(spec)
    server = Server(data, parts, spec.algo, spec.algo_cfg, fed, spec.model, spec.seed, job["ea_double_softmax"],
                    job.get("device", "cpu"))
    # one thread per run: parallelism comes from the process pool, and small bmm's lose to thread wake-ups
    t0, c0 = time.perf_counter(), time.process_time()
    with torch_threads(1):
        history = run_inprocess(server, spec.local)
    return {"key": job["key"], "history": history, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0, "rounds_per_s": server.rounds_per_s()}


def flower_run(job: dict) -> dict:
    from .flower_engine import run_flower

    spec = FederationSpec.from_json(job["spec"])
    t0 = time.perf_counter()
    server = run_flower(spec, FedConfig(**job["fed"]), double_softmax_ea=job["ea_double_softmax"])
    return {"key": job["key"], "history": server.history, "wall_s": time.perf_counter() - t0,
            "rounds_per_s": server.rounds_per_s()}


def make_jobs(cfg: FedGAConfig, seed0: int, device: str) -> list[dict]:
    jobs = []
    for alpha in cfg.sweep.alphas:
        model, fed, local = resolve(cfg, alpha)
        for s in range(cfg.sweep.seeds):
            for algo in cfg.sweep.algorithms:
                spec = FederationSpec(cfg.data, fed.n_clients, alpha, seed0 + s, model, algo, cfg.algo, local)
                jobs.append({"key": (algo, alpha, seed0 + s), "spec": spec.to_json(), "fed": asdict(fed),
                             "ea_double_softmax": cfg.ea_double_softmax, "device": device})
    return jobs


def run_jobs(jobs: list[dict], cfg: FedGAConfig, ctx: RunContext) -> dict:
    results = {}
    if cfg.engine == "flower":
        for job in ctx.progress(jobs, total=len(jobs), desc="federated runs (Flower)"):
            results[job["key"]] = flower_run(job)
        return results
    workers = min(cfg.sweep.workers, len(jobs), os.cpu_count() or 1)
    if workers <= 1 or ctx.device != "cpu":
        for job in ctx.progress(jobs, total=len(jobs), desc="federated runs"):
            results[job["key"]] = one_run(job)
        return results
    # each worker caches the dataset and the (alpha, seed) partitions; spawn avoids forking OpenMP state
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for res in ctx.progress(pool.map(one_run, jobs), total=len(jobs), desc="federated runs"):
            results[res["key"]] = res
            algo, alpha, seed = res["key"]
            ctx.log(f"  {algo} alpha={alpha:g} seed={seed}: acc {res['history'][-1]['acc']:.4f}, "
                    f"{res['wall_s']:.1f} s wall, {res['cpu_s']:.1f} s cpu")
    return results


def summarize(results: dict, cfg: FedGAConfig) -> tuple[dict, dict]:
    """Flat metrics (seed means of the final round) and per-(algo, alpha) seed arrays for claims/figures."""
    metrics: dict[str, float] = {}
    table: dict[tuple[str, float], dict[str, np.ndarray]] = {}
    for algo in cfg.sweep.algorithms:
        for alpha in cfg.sweep.alphas:
            finals = [results[(a, al, s)]["history"][-1] for (a, al, s) in results if a == algo and al == alpha]
            entry = {m: np.array([f[m] for f in finals]) for m in ("acc", "f1", "ea_logabs", "minclass_acc")}
            entry["per_class_acc"] = np.array([f["per_class_acc"] for f in finals], dtype=float)
            entry["ea"] = np.array([f["ea"] for f in finals], dtype=float)
            table[(algo, alpha)] = entry
            for m in ("acc", "f1", "ea_logabs", "minclass_acc"):
                metrics[f"{m}.{algo}.{alpha_key(alpha)}"] = float(entry[m].mean())
            for m in ("acc", "f1"):
                metrics[f"{m}_std.{algo}.{alpha_key(alpha)}"] = float(entry[m].std())
    return metrics, table


def evaluate_claims(table: dict[tuple[str, float], dict[str, np.ndarray]], alphas: tuple[float, ...],
                    algorithms: tuple[str, ...]) -> list[Claim]:
    """The paper's claims from seed arrays ``table[(algo, alpha)][metric]`` (mean over seeds, spread shown)."""
    claims = []
    if "fedga" not in algorithms or "fedavg" not in algorithms:
        return [Claim("FedGA vs FedAvg", None, "fedga and fedavg must both be in sweep.algorithms")]
    rivals = [a for a in ("fedavg", *BASELINE_VARIANTS) if a in algorithms]

    def ms(algo: str, alpha: float, m: str) -> str:
        v = table[(algo, alpha)][m]
        return f"{v.mean():.3f}±{v.std():.3f}"

    for metric, name in (("f1", "macro-F1"), ("acc", "accuracy")):
        losses = [f"{r}@{alpha:g}: {ms('fedga', alpha, metric)} < {ms(r, alpha, metric)}"
                  for alpha in alphas for r in rivals
                  if table[("fedga", alpha)][metric].mean() < table[(r, alpha)][metric].mean()]
        n = len(alphas) * len(rivals)
        claims.append(Claim(
            f"FedGA's {name} >= {', '.join(rivals)} at every alpha (seed means)",
            not losses,
            f"FedGA ahead in {n - len(losses)}/{n} comparisons" + ("; behind: " + "; ".join(losses) if losses else "")))

    worse = [f"{alpha:g}: {ms('fedga', alpha, 'ea_logabs')} vs {ms('fedavg', alpha, 'ea_logabs')}"
             for alpha in alphas
             if table[("fedga", alpha)]["ea_logabs"].mean() >= table[("fedavg", alpha)]["ea_logabs"].mean()]
    evid = ", ".join(f"{a:g}: {ms('fedga', a, 'ea_logabs')} vs {ms('fedavg', a, 'ea_logabs')}" for a in alphas)
    claims.append(Claim("FedGA keeps EA closer to 1 than FedAvg (mean |log EA|, every alpha)", not worse,
                        f"FedGA vs FedAvg mean|log EA| at alpha {evid}"))

    margins = [float(table[("fedga", a)]["f1"].mean() - table[("fedavg", a)]["f1"].mean()) for a in alphas]
    order = np.argsort(alphas)
    sorted_margins = [margins[i] for i in order]
    if len(alphas) >= 3:
        rho = _spearman(np.array(alphas, dtype=float), np.array(margins))
        grows = bool(rho > 0 and sorted_margins[-1] > sorted_margins[0])
        claims.append(Claim("FedGA's F1 margin over FedAvg grows as alpha increases (abstract)", grows,
                            "margin by alpha " + ", ".join(f"{alphas[i]:g}: {margins[i]:+.4f}" for i in order)
                            + f"; Spearman rho = {rho:.2f}"))
    else:
        claims.append(Claim("FedGA's F1 margin over FedAvg grows as alpha increases (abstract)", None,
                            "needs at least 3 alphas"))

    forgot = [f"{alpha:g}: {ms('fedga', alpha, 'minclass_acc')} < {ms('fedavg', alpha, 'minclass_acc')}"
              for alpha in alphas
              if table[("fedga", alpha)]["minclass_acc"].mean() < table[("fedavg", alpha)]["minclass_acc"].mean()]
    evid = ", ".join(f"{a:g}: {ms('fedga', a, 'minclass_acc')} vs {ms('fedavg', a, 'minclass_acc')}" for a in alphas)
    claims.append(Claim("Rare classes are not forgotten: FedGA's worst-class accuracy >= FedAvg's at every alpha",
                        not forgot, f"worst-class accuracy FedGA vs FedAvg at alpha {evid}"))
    return claims


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def engine_speed(cfg: FedGAConfig, seed: int, ctx: RunContext) -> dict[str, float]:
    """Same small federation (fedga, the sweep's middle alpha, ``speed_rounds`` rounds) on both engines."""
    alpha = sorted(cfg.sweep.alphas)[len(cfg.sweep.alphas) // 2]
    model, fed, local = resolve(cfg, alpha)
    # only the final round is evaluated, so rounds/s measures training + communication, not the test pass
    fed = FedConfig(**{**asdict(fed), "rounds": cfg.speed_rounds, "eval_every": cfg.speed_rounds})
    spec = FederationSpec(cfg.data, fed.n_clients, alpha, seed, model, "fedga", cfg.algo, local)
    job = {"key": "speed", "spec": spec.to_json(), "fed": asdict(fed), "ea_double_softmax": cfg.ea_double_softmax}
    ctx.log(f"engine speed check: fedga, alpha={alpha:g}, {cfg.speed_rounds} rounds, {fed.n_clients} clients")
    inproc = one_run(job)
    t0 = time.perf_counter()
    flower = flower_run(job)
    from .flower_engine import history_equal

    identical = history_equal(inproc["history"], flower["history"])
    ctx.log(f"in-process {inproc['rounds_per_s']:.2f} rounds/s, Flower {flower['rounds_per_s']:.2f} rounds/s "
            f"(+{time.perf_counter() - t0:.1f} s wall incl. Ray start), identical results: {identical}")
    return {"rounds_per_s_inprocess": inproc["rounds_per_s"], "rounds_per_s_flower": flower["rounds_per_s"],
            "engine_speedup": inproc["rounds_per_s"] / flower["rounds_per_s"],
            "engines_identical": float(identical), "flower_wall_s": flower["wall_s"],
            "rounds_per_s_flower_incl_startup": cfg.speed_rounds / flower["wall_s"]}


def figures(results: dict, table: dict, cfg: FedGAConfig, ctx: RunContext) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas, algos = cfg.sweep.alphas, cfg.sweep.algorithms
    colors = {a: plt.get_cmap("tab10")(i) for i, a in enumerate(algos)}
    fig, axes = plt.subplots(2, len(alphas), figsize=(3.2 * len(alphas), 5.5), squeeze=False, sharey="row")
    for j, alpha in enumerate(alphas):
        for algo in algos:
            runs = [results[k]["history"] for k in results if k[0] == algo and k[1] == alpha]
            rounds = [h["round"] for h in runs[0]]
            for i, m in enumerate(("acc", "f1")):
                curve = np.mean([[h[m] for h in run] for run in runs], axis=0)
                axes[i, j].plot(rounds, curve, color=colors[algo], lw=2.2 if algo == "fedga" else 1.0, label=algo)
        axes[0, j].set_title(f"alpha = {alpha:g}")
        axes[1, j].set_xlabel("round")
    axes[0, 0].set_ylabel("accuracy")
    axes[1, 0].set_ylabel("macro-F1")
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    ctx.savefig(fig, "curves", "Global test accuracy and macro-F1 vs round (seed mean), one panel per alpha")

    shown = [a for a in ("fedavg", "fedga") if a in algos]
    if len(shown) < 2:
        return
    fig, axes = plt.subplots(2, len(alphas), figsize=(3.2 * len(alphas), 5.5), squeeze=False)
    for j, alpha in enumerate(alphas):
        for i, m in enumerate(("per_class_acc", "ea")):
            width = 0.8 / max(len(shown), 1)
            for t, algo in enumerate(shown):
                vals = np.nanmean(table[(algo, alpha)][m], axis=0)
                if m == "ea":
                    vals = np.log(vals)
                axes[i, j].bar(np.arange(len(vals)) + t * width, vals, width, color=colors[algo], label=algo)
        axes[0, j].set_title(f"alpha = {alpha:g}")
        for i in range(2):
            axes[i, j].set_xticks(range(table[("fedga", alpha)]["ea"].shape[1]))
        axes[1, j].axhline(0, color="k", lw=0.5)
        axes[1, j].set_xlabel("class")
    axes[0, 0].set_ylabel("per-class accuracy")
    axes[1, 0].set_ylabel("log EA (0 = balanced)")
    axes[0, -1].legend(fontsize=7)
    fig.tight_layout()
    ctx.savefig(fig, "per_class", "Final per-class accuracy and log error asymmetry, FedAvg vs FedGA")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = np.arange(len(alphas))
    for m, marker in (("f1", "o"), ("acc", "s")):
        diff = [table[("fedga", a)][m] - table[("fedavg", a)][m] for a in alphas]
        ax.errorbar(xs, [d.mean() for d in diff], yerr=[d.std() for d in diff], marker=marker, capsize=3,
                    label=f"{m} margin")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(xs, [f"{a:g}" for a in alphas])
    ax.set_xlabel("Dirichlet alpha")
    ax.set_ylabel("FedGA - FedAvg")
    ax.legend()
    fig.tight_layout()
    ctx.savefig(fig, "margin", "FedGA's margin over FedAvg vs alpha (mean ± std over seeds, paired by seed)")


def run(cfg: FedGAConfig, ctx: RunContext) -> Outcome:
    t_start = time.perf_counter()
    metrics: dict[str, float] = {}
    sections = []
    part_rows = []
    for j, alpha in enumerate(cfg.sweep.alphas):
        model, fed, _ = resolve(cfg, alpha)
        spec = FederationSpec(cfg.data, fed.n_clients, alpha, ctx.seed, model)
        data, parts = build(spec)
        hist = histograms(data.y_train.numpy(), parts, data.n_classes)
        sizes = hist.sum(1)
        part_rows.append([f"{alpha:g}", cfg.data.partition, f"{used_fraction(parts, len(data.y_train)):.3f}",
                          int(sizes.min()), int(sizes.max()), f"{(hist == 0).sum(1).mean():.1f}"])
        metrics[f"used_fraction.{alpha_key(alpha)}"] = used_fraction(parts, len(data.y_train))
        if j in (0, len(cfg.sweep.alphas) - 1):
            ctx.savefig(plot_histograms(hist, f"{data.name}, {cfg.data.partition} partition, alpha={alpha:g}"),
                        f"clients_{alpha_key(alpha)}", f"Per-client label histograms, alpha={alpha:g}")
    sections.append(("Partitions", md_table(
        ["alpha", "partition", "used fraction", "min client size", "max client size", "missing classes / client"],
        part_rows)))

    jobs = make_jobs(cfg, ctx.seed, ctx.device)
    ctx.log(f"{len(jobs)} federated runs on the {cfg.engine} engine "
            f"({cfg.sweep.workers if cfg.engine == 'inprocess' else 1} worker(s))")
    results = run_jobs(jobs, cfg, ctx)
    run_metrics, table = summarize(results, cfg)
    metrics.update(run_metrics)
    rps = [r["rounds_per_s"] for r in results.values() if not math.isnan(r["rounds_per_s"])]
    metrics["sweep_wall_s"] = time.perf_counter() - t_start
    metrics["sweep_cpu_s"] = float(sum(r.get("cpu_s", float("nan")) for r in results.values()))
    metrics["sweep_rounds_per_s_per_worker"] = float(np.mean(rps)) if rps else float("nan")

    if cfg.speed_rounds > 0:
        metrics.update(engine_speed(cfg, ctx.seed, ctx))
    else:
        metrics.update({"rounds_per_s_inprocess": float("nan"), "rounds_per_s_flower": float("nan")})

    claims = evaluate_claims(table, cfg.sweep.alphas, cfg.sweep.algorithms)
    if cfg.speed_rounds > 0:
        speedup = metrics["engine_speedup"]
        claims.append(Claim("In-process engine >= 20x Flower's rounds/s with identical results (issue goal)",
                            bool(speedup >= 20 and metrics["engines_identical"] == 1.0),
                            f"{metrics['rounds_per_s_inprocess']:.2f} vs {metrics['rounds_per_s_flower']:.2f} rounds/s"
                            f" = {speedup:.1f}x; identical: {bool(metrics['engines_identical'])}"))
    figures(results, table, cfg, ctx)

    rows = []
    for algo in cfg.sweep.algorithms:
        row = [algo]
        for alpha in cfg.sweep.alphas:
            e = table[(algo, alpha)]
            row.append(f"{e['acc'].mean():.4f}±{e['acc'].std():.4f} / {e['f1'].mean():.4f} / "
                       f"{e['ea_logabs'].mean():.3f} / {e['minclass_acc'].mean():.3f}")
        rows.append(row)
    sections.insert(0, ("Final round: acc±std / macro-F1 / mean|log EA| / worst-class acc (seed means)",
                        md_table(["algorithm", *[f"alpha={a:g}" for a in cfg.sweep.alphas]], rows)))
    rounds = sorted({resolve(cfg, a)[1].rounds for a in cfg.sweep.alphas})
    sections.append(("Protocol", f"{cfg.data.dataset}, model {resolve(cfg, cfg.sweep.alphas[0])[0]}, "
                     f"{cfg.fed.n_clients} clients, {cfg.fed.clients_per_round}/round, rounds {rounds}, "
                     f"{cfg.local.epochs} local epochs, batch {cfg.local.batch_size}, lr {cfg.local.lr}, "
                     f"clip {cfg.local.clip_norm}, seeds {ctx.seed}..{ctx.seed + cfg.sweep.seeds - 1}, "
                     f"engine {cfg.engine}, FedGA mode {cfg.algo.fedga_mode}."))
    return Outcome(metrics=metrics, claims=claims, sections=sections)


register(Experiment(
    name="fedga",
    paper="2412.16582",
    title="FedGA: gradient alignment for error asymmetry in federated learning (MNIST, Dirichlet-alpha grid)",
    config=FedGAConfig,
    presets={
        "smoke": {"data.dataset": "synthetic", "fed.n_clients": 10, "fed.clients_per_round": 4, "fed.rounds": 3,
                  "fed.eval_every": 1, "sweep.seeds": 2, "sweep.alphas": (0.1, 1.0, 10.0), "sweep.workers": 1,
                  "speed_rounds": 0},
        # core builds nested configs from class defaults, so the quick federation is spelled out here
        "quick": {"fed.rounds": QUICK_ROUNDS, "fed.eval_every": 5},
        "full": {"fed.rounds": 0, "fed.eval_every": 1, "sweep.seeds": 5},
    },
    run=run,
))
