"""Flower's deployment engine (issue 21): `paperzoo fedga serve` starts a SuperLink and two SuperNodes as separate
processes on 127.0.0.1, drives them with the simulation's ServerApp/ClientApp, gets the in-process engine's result
bit for bit, and leaves no process running."""

import json

import pytest


def test_serve_matches_the_inprocess_engine_and_stops_every_process(paperzoo_cli, monkeypatch, tmp_path):
    pytest.importorskip("flwr", reason="flwr (extra 'fl') is not installed")
    pytest.importorskip("psutil")
    from paperzoo.fedga import deploy

    seen = []

    class Recorded(deploy.LocalDeployment):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self)

    monkeypatch.setattr(deploy, "LocalDeployment", Recorded)
    # FedRL: the ServerApp computes class weights every round and ships them to the nodes inside the messages
    code, text = paperzoo_cli("fedga", "serve", "--nodes", "2", "--preset", "smoke", "--set",
                              "fed.n_clients=4", "--set", "fed.clients_per_round=2", "--algo", "fedrl",
                              "--alpha", "0.5", "--rounds", "2", "--out", str(tmp_path / "dep"))
    (dep,) = seen
    leftover = deploy.live(dep.started.values())
    assert not leftover, f"processes left running: {[dep.names[p.pid] for p in leftover]}"
    assert code == 0, text
    assert "weights 0 (identical)" in text and "round 2: accuracy" in text
    daemons = {p.pid for p in dep.procs}
    assert len(daemons) == 3  # flower-superlink + 2 x flower-supernode, separate processes
    children = [n for pid, n in dep.names.items() if pid not in daemons]
    assert sum("clientapp" in n for n in children) >= 2 and any("serverapp" in n for n in children), children
    history = json.loads((tmp_path / "dep" / "history.json").read_text())["history"]
    assert [h["round"] for h in history] == [1, 2]


def test_app_writes_a_flower_app_and_job_for_several_machines(paperzoo_cli, tmp_path):
    code, text = paperzoo_cli("fedga", "app", str(tmp_path / "app"), "--preset", "smoke",
                              "--algo", "fedavg", "--rounds", "3")
    assert code == 0, text
    assert "flower-superlink" in text and "node-index=i num-nodes=M" in text and "flwr run" in text
    toml = (tmp_path / "app" / "pyproject.toml").read_text()
    assert 'serverapp = "paperzoo.fedga.flower_app:server_app"' in toml
    job = json.loads((tmp_path / "app" / "job.json").read_text())
    assert job["fed"]["rounds"] == 3 and json.loads(job["spec"])["algo"] == "fedavg"


@pytest.mark.parametrize("args,needle", [
    (("--algo", "fedx"), "--algo 'fedx' is not an algorithm"),
    (("--alpha", "-1"), "--alpha must be > 0"),
    (("--rounds", "0"), "--rounds must be >= 1"),
    (("--set", "fed.rounds=0"), "'fed.rounds' = 0 must be >= 1"),
])
def test_bad_options_exit_2(paperzoo_cli, tmp_path, args, needle):
    code, text = paperzoo_cli("fedga", "app", str(tmp_path / "app"), *args)
    assert code == 2 and needle in text and "Traceback" not in text
    assert not (tmp_path / "app").exists()
