"""Running the grid: one federated run per (algorithm, alpha, seed), on a process pool or on Flower, and the
engine check (the same federation on both engines: equal results? rounds/s?).

A job is a small dict (the ``FederationSpec`` as JSON, the federation config, thread count), so it crosses
process boundaries; each worker process caches the dataset and the partitions of the (alpha, seed)s it meets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, replace
from multiprocessing import get_context

import numpy as np

from paperzoo.core.threads import torch_threads

from .engine import run_inprocess
from .federation import FederationSpec, build_server
from .server import FedConfig

METRICS = ("acc", "f1", "ea_logabs", "minclass_acc")  # the final-round scalars every (algo, alpha, seed) reports


def job(key: tuple, spec: FederationSpec, fed: FedConfig, threads: int, ea_double_softmax: bool,
        device: str = "cpu") -> dict:
    return {"key": key, "spec": spec.to_json(), "fed": asdict(fed), "threads": threads,
            "ea_double_softmax": ea_double_softmax, "device": device}


def one_run(task: dict) -> dict:
    """One federated run on the in-process engine; the history, final state and timing."""
    spec = FederationSpec.from_json(task["spec"])
    server = build_server(spec, FedConfig(**task["fed"]), task["ea_double_softmax"], task.get("device", "cpu"))
    t0, c0 = time.perf_counter(), time.process_time()
    with torch_threads(task["threads"]):
        history = run_inprocess(server, spec.local)
    return {"key": task["key"], "history": history, "state": server.state, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0, "rounds_per_s": server.rounds_per_s()}


def flower_run(task: dict) -> dict:
    """The same run as ``one_run`` on Flower's simulation (Ray, loopback)."""
    from .flower_engine import run_flower

    spec = FederationSpec.from_json(task["spec"])
    t0 = time.perf_counter()
    with torch_threads(task["threads"]):  # the ServerApp's evaluation runs in this process
        server = run_flower(spec, FedConfig(**task["fed"]), double_softmax_ea=task["ea_double_softmax"])
    return {"key": task["key"], "history": server.history, "state": server.state,
            "wall_s": time.perf_counter() - t0, "cpu_s": float("nan"), "rounds_per_s": server.rounds_per_s()}


def run_all(tasks: list[dict], engine: str, workers: int, progress: Callable[..., Iterable],
            log: Callable[[str], None]) -> dict:
    """Every task's result by key: in a spawn process pool (in-process engine), else one after another."""
    results: dict = {}
    workers = min(workers, len(tasks), os.cpu_count() or 1)
    pooled = engine == "inprocess" and workers > 1 and tasks[0]["device"] == "cpu"
    with ExitStack() as stack:
        if pooled:  # spawn: no forked OpenMP state; results stream back in task order
            pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=get_context("spawn")))
            done: Iterable = pool.map(one_run, tasks)
        else:
            done = map(flower_run if engine == "flower" else one_run, tasks)
        for res in progress(done, total=len(tasks), desc=f"federated runs ({engine})"):
            res.pop("state")
            results[res["key"]] = res
            algo, alpha, seed = res["key"]
            log(f"  {algo} alpha={alpha:g} seed={seed}: acc {res['history'][-1]['acc']:.4f}, "
                f"{res['wall_s']:.1f} s wall, {res['cpu_s']:.1f} s cpu")
    return results


def seed_arrays(results: dict, algorithms: Iterable[str], alphas: Iterable[float],
                seeds: list[int]) -> dict[tuple[str, float], dict[str, np.ndarray]]:
    """Final-round metrics per (algo, alpha) as arrays over ``seeds`` (same order everywhere: paired by seed)."""
    table = {}
    for algo in algorithms:
        for alpha in alphas:
            finals = [results[(algo, alpha, s)]["history"][-1] for s in seeds]
            entry = {m: np.array([f[m] for f in finals], dtype=float) for m in METRICS}
            entry["per_class_acc"] = np.array([f["per_class_acc"] for f in finals], dtype=float)
            entry["ea"] = np.array([f["ea"] for f in finals], dtype=float)
            table[(algo, alpha)] = entry
    return table


def engine_check(task: dict) -> dict[str, float]:
    """The same federation on both engines, every computation on the same thread count: how equal, how fast."""
    from .flower_engine import history_max_diff

    inproc = one_run(task)
    flower = flower_run(task)
    diff = history_max_diff(inproc["history"], flower["history"])
    weights = max(float((inproc["state"][n].double() - flower["state"][n].double()).abs().max())
                  for n in inproc["state"])
    return {"rounds_per_s_inprocess": inproc["rounds_per_s"], "rounds_per_s_flower": flower["rounds_per_s"],
            "engine_speedup": inproc["rounds_per_s"] / flower["rounds_per_s"],
            "engines_identical": float(diff == 0.0 and weights == 0.0), "engines_max_metric_diff": diff,
            "engines_max_weight_diff": weights, "engine_threads": float(task["threads"]),
            "flower_wall_s": flower["wall_s"], "rounds_per_s_flower_incl_startup": task["fed"]["rounds"]
            / flower["wall_s"]}


def check_task(spec: FederationSpec, fed: FedConfig, rounds: int, ea_double_softmax: bool) -> dict:
    """The engine check's task: ``rounds`` rounds, evaluated once at the end, one torch thread everywhere."""
    from .flower_engine import CLIENT_THREADS

    # only the final round is evaluated, so rounds/s measures training + communication, not the test pass
    fed = replace(fed, rounds=rounds, eval_every=rounds)
    return job("engine-check", spec, fed, CLIENT_THREADS, ea_double_softmax)
