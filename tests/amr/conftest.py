"""amr tests run torch on one thread, as the experiment does (`threads: 1`): on shared cores two OpenMP threads
spin-wait more than they compute for these small models."""

import sys

import pytest
import torch

from paperzoo import cli


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def paperzoo_cli(monkeypatch, capsys):
    """Run `paperzoo ARGS...` in this process: (exit code, stdout + stderr with whitespace collapsed)."""
    def invoke(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["paperzoo", *args])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
            sys.exit(0)
        captured = capsys.readouterr()
        return exit_info.value.code, " ".join((captured.out + captured.err).split())
    return invoke
