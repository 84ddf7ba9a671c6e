"""Launch a paperzoo command under `torchrun` on 127.0.0.1, as the docs' scale-out command does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args: list[str], nproc: int = 2, timeout: float = 600, script: Path | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`torchrun --nproc_per_node N --master_addr 127.0.0.1 --master_port P $(which paperzoo) ARGS...`."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "PYTHONUNBUFFERED": "1"}
    cmd = [str(BIN / "torchrun"), "--nproc_per_node", str(nproc), "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), str(script or BIN / "paperzoo"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
