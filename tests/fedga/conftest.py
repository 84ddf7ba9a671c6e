import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """These tests use tiny tensors, where a second intra-op thread only adds wake-up latency."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def invoke(monkeypatch, capsys):
    """Run `paperzoo ARGS...` in this process: (exit code, stdout + stderr on one line)."""
    import sys

    from paperzoo import cli

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["paperzoo", *args])
        with pytest.raises(SystemExit) as info:
            cli.main()
        captured = capsys.readouterr()
        return info.value.code, " ".join((captured.out + captured.err).split())

    return run
