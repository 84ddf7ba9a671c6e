"""Flower's deployment engine on one machine: a SuperLink and N SuperNodes on 127.0.0.1, each its own process,
running the Flower App of ``flower_app`` (the simulation's ServerApp and ClientApp), stopped by PID at the end.

    with LocalDeployment(workdir, nodes=2) as dep:        # flower-superlink + 2 x flower-supernode
        result = dep.run(spec, fed)                        # flwr run APP <superlink> --run-config ...
    # every process it started (and their children: SuperExec, flwr-serverapp, flwr-clientapp) is gone

On several machines the same three commands run on different hosts (see docs/fedga.md): the SuperLink on the
server, ``flower-supernode --superlink HOST:PORT --node-config "node-index=I num-nodes=M"`` on each client
machine (holding the dataset at the same ``data.path``), and ``flwr run`` wherever the app folder is.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from paperzoo.core.io import atomic_write_text

from .federation import FederationSpec
from .flower_engine import ENV
from .server import FedConfig

CONNECTION = "paperzoo"  # the SuperLink connection's name in $FLWR_HOME/config.toml

APP_TOML = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "paperzoo-fedga"
version = "1.0.0"
description = "paperzoo fedga (FedGA and baselines) on Flower's deployment engine"
license = "MIT"
dependencies = []  # paperzoo[fl] must be installed on the SuperLink and every SuperNode

[tool.flwr.app]
publisher = "paperzoo"

[tool.flwr.app.components]
serverapp = "paperzoo.fedga.flower_app:server_app"
clientapp = "paperzoo.fedga.flower_app:client_app"

[tool.flwr.app.config]
spec-file = ""
out-dir = ""
wait-s = 300
"""


def write_app(folder: Path) -> Path:
    """The Flower App folder (its pyproject.toml names paperzoo's ServerApp and ClientApp)."""
    atomic_write_text(Path(folder) / "pyproject.toml", APP_TOML)
    return Path(folder)


def write_job(path: Path, spec: FederationSpec, fed: FedConfig, ea_double_softmax: bool = False) -> Path:
    """The job file the ServerApp reads (run config ``spec-file``): spec, federation config, EA flag."""
    job = {"spec": spec.to_json(), "fed": asdict(fed), "ea_double_softmax": ea_double_softmax}
    return atomic_write_text(Path(path), json.dumps(job, indent=2) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalDeployment:
    """SuperLink + ``nodes`` SuperNodes on 127.0.0.1 (insecure: loopback only), stopped by PID on exit."""

    def __init__(self, workdir: Path, nodes: int = 2, start_timeout: float = 120.0):
        self.workdir, self.nodes, self.start_timeout = Path(workdir), nodes, start_timeout
        self.home, self.app = self.workdir / "flwr-home", self.workdir / "app"
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []
        self.started: dict = {}  # PID -> psutil.Process of every process seen under ours (daemons, children)
        self.names: dict[int, str] = {}  # PID -> its command (program and first argument)
        bin_dir = str(Path(sys.executable).parent)
        self.env = {**os.environ, **ENV, "FLWR_HOME": str(self.home), "PYTHONUNBUFFERED": "1",
                    "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}

    def __enter__(self) -> LocalDeployment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        self.track()
        return proc

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_app(self.app)
        atomic_write_text(self.home / "config.toml", f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.'
                          f'{CONNECTION}]\naddress = "127.0.0.1:{self.port}"\ninsecure = true\n')
        self._spawn("superlink", ["flower-superlink", "--insecure", "--host", "127.0.0.1", "--port", str(self.port)])
        for i in range(self.nodes):
            self._spawn(f"supernode{i}", ["flower-supernode", "--insecure", "--superlink", f"127.0.0.1:{self.port}",
                                          "--host", "127.0.0.1", "--port", str(free_port()),
                                          "--node-config", f"node-index={i} num-nodes={self.nodes}"])
        deadline = time.monotonic() + self.start_timeout
        while not self._listening(self.port):
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the SuperLink did not listen on 127.0.0.1:{self.port} within "
                                   f"{self.start_timeout:.0f} s; see {self.workdir / 'superlink.log'}")
            time.sleep(0.2)

    @staticmethod
    def _listening(port: int) -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", port)) == 0

    def _check_alive(self) -> None:
        self.track()
        for proc in self.procs:
            if proc.poll() is not None:
                name = Path(proc.args[0]).name
                raise RuntimeError(f"{name} (PID {proc.pid}) exited with code {proc.returncode}; see the logs in "
                                   f"{self.workdir}")

    def track(self) -> dict:
        """Record every descendant of the processes we started (SuperExec, flwr-serverapp, flwr-clientapp).

        psutil's Process objects remember each process's start time, so a PID reused later by someone else's
        process is never signalled."""
        import psutil

        for proc in self.procs:
            try:
                root = psutil.Process(proc.pid)
            except psutil.NoSuchProcess:
                continue
            for p in [root, *root.children(recursive=True)]:
                if p.pid not in self.started:
                    self.started[p.pid] = p
                    try:
                        self.names[p.pid] = " ".join(p.cmdline()[:2])
                    except psutil.Error:
                        self.names[p.pid] = "?"
        return self.started

    def run(self, spec: FederationSpec, fed: FedConfig, ea_double_softmax: bool = False,
            timeout: float = 900.0) -> dict:
        """Submit one federation with ``flwr run`` and wait for the ServerApp's results: history and state."""
        import torch

        out = self.workdir / f"result-{time.time_ns()}"
        job = write_job(self.workdir / "job.json", spec, fed, ea_double_softmax)
        run_config = f'spec-file="{job}" out-dir="{out}"'
        submit = subprocess.run(["flwr", "run", str(self.app), CONNECTION, "--run-config", run_config],
                                env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=300)
        if submit.returncode != 0:
            raise RuntimeError(f"flwr run failed ({submit.returncode}): {submit.stdout[-2000:]}{submit.stderr[-2000:]}")
        deadline = time.monotonic() + timeout
        while not (out / "history.json").is_file():
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"no result after {timeout:.0f} s; see the logs in {self.workdir}")
            time.sleep(0.5)
        self.track()
        result = json.loads((out / "history.json").read_text())
        result["state"] = torch.load(out / "state.pt", weights_only=True)
        return result

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every process we started and every descendant we saw, by PID; SIGKILL what outlives ``grace``.

        Leaves first: the apps and SuperExecs, then the SuperNodes, the SuperLink last, so that no process spends
        its shutdown retrying a peer that is already gone (measured on a loaded machine: ~10 s all at once, ~6 s so)."""
        seen = self.track()
        roots = {proc.pid for proc in self.procs}
        link = {self.procs[0].pid} if self.procs else set()
        stages = [[p for pid, p in seen.items() if pid not in roots],
                  [p for pid, p in seen.items() if pid in roots - link],
                  [p for pid, p in seen.items() if pid in link]]
        for stage in stages:
            self._stop_stage(stage, grace)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def _stop_stage(self, procs: list, grace: float) -> None:
        for p in live(procs):
            _signal(p, "terminate")
        deadline = time.monotonic() + grace
        while live(procs) and time.monotonic() < deadline:
            for proc in self.procs:
                proc.poll()  # reap our own children
            time.sleep(0.1)
        for p in live(procs):
            _signal(p, "kill")


def _signal(p, how: str) -> None:
    import psutil

    try:
        getattr(p, how)()
    except psutil.NoSuchProcess:
        pass


def live(procs) -> list:
    """The processes that still run (a zombie waiting for its parent to reap it does not count)."""
    import psutil

    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out
