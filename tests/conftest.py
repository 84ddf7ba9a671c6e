"""Fixtures every system's tests use."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def paperzoo_cli(monkeypatch, capsys):
    """Run `paperzoo ARGS...` in this process (the CLI's start-up is paid once per session, not per case):
    returns (exit code, stdout + stderr with runs of whitespace collapsed to one space, so that assertions do not
    depend on where a message wraps; `raw=True` keeps the lines). A `main()` that returns normally counts as exit
    code 0."""
    from paperzoo import cli

    def invoke(*args, raw: bool = False) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["paperzoo", *map(str, args)])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
            sys.exit(0)
        captured = capsys.readouterr()
        text = captured.out + captured.err
        return exit_info.value.code, text if raw else " ".join(text.split())

    return invoke
