"""The smoke run end to end, the same run under torchrun with two processes, bad config values, and the agent
(the system's only trained classifier: next action among the neighbours and STOP) ending above chance."""

import json

import numpy as np
import pytest

from paperzoo.core.errors import UserError
from paperzoo.core.runner import run_experiment

MODES = ("wcgen", "wcgen_authors", "independent")
AUGS = ("none", "wcgen", "independent")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("vlngen") / "smoke"
    return out, run_experiment("vlngen", preset="smoke", out=out, seed=0, quiet=True)


def test_smoke_run_reports_every_key_and_claim(smoke):
    out, rec = smoke
    m = rec["metrics"]
    for mode in MODES:
        for key in ("reproj_err", "seam_err", "updown_err"):
            assert 0 <= m[f"{key}.{mode}"] < 1, (key, mode)
    for aug in AUGS:
        for key in ("sr", "spl", "ndtw", "sdtw"):
            assert 0 <= m[f"{key}.{aug}"] <= 1
        assert m[f"ne.{aug}"] >= 0
    assert m["render_views_per_s"] > 0
    assert m["seam_err.wcgen"] < m["seam_err.independent"]
    assert len(rec["claims"]) == 7
    for fig in ("panoramas", "warp_overlay", "seams", "navigation", "train_loss"):
        assert (out / f"{fig}.png").is_file(), fig


def test_smoke_run_exports_the_community_formats(smoke):
    from paperzoo.vlngen.formats import check_episodes, read_connectivity, read_features, read_r2r, read_trajectories

    out, _ = smoke
    graph = read_connectivity(out / "data" / "train00_connectivity.json")
    episodes = read_r2r(out / "data" / "R2R_train.json")
    check_episodes(episodes, {graph.scan: graph}, "R2R_train.json")
    assert read_trajectories(out / "data" / "trajectories_wcgen.json")
    feats = read_features(out / "data" / "features_real.hdf5")
    assert len(feats) == len(graph.ids) and next(iter(feats.values())).shape[0] == 36


def test_two_processes_under_torchrun_match_one(smoke, tmp_path):
    """Scenes are sharded over the ranks and gathered (identical); the agent's gradients are averaged over ranks,
    equal to the single-process gradient up to float summation order: losses agree to 1e-4, metrics exactly."""
    from tests.ddp import torchrun

    _, single = smoke
    out = tmp_path / "ddp"
    res = torchrun(["run", "vlngen", "--preset", "smoke", "--out", str(out), "--seed", "0"], timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"]
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["world_size"] == 2
    for key, value in single["metrics"].items():
        other = rec["metrics"][key]
        if value is None or other is None:
            assert value is other, key
        elif key != "render_views_per_s":  # a timing
            assert other == pytest.approx(value, abs=1e-9), key
    loss_1 = [r[3] for r in json.loads((smoke[0] / "report.json").read_text())["tables"]["train_loss"]["rows"]]
    loss_2 = [r[3] for r in json.loads((out / "report.json").read_text())["tables"]["train_loss"]["rows"]]
    assert np.allclose(loss_1, loss_2, rtol=1e-4)


def test_bad_values_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="data.view_size"):
        run_experiment("vlngen", preset="smoke", out=tmp_path / "a", overrides={"data.view_size": "4"})
    with pytest.raises(UserError, match="consistency_scenes"):
        run_experiment("vlngen", preset="smoke", out=tmp_path / "b", overrides={"data.consistency_scenes": "5"})
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_agent_ends_above_chance_on_unseen_scenes_for_two_seeds():
    from paperzoo.core.distributed import Distributed
    from paperzoo.core.metrics import near_chance
    from paperzoo.vlngen.agent import AgentConfig, NavAgent
    from paperzoo.vlngen.downstream import env_of
    from paperzoo.vlngen.episodes import VOCAB
    from paperzoo.vlngen.scene import SceneSpec
    from paperzoo.vlngen.train import TrainConfig, expert_decisions, train_agent
    from paperzoo.vlngen.worlds import Job, run_job

    common = dict(role="unseen", spec=SceneSpec(rooms_x=2, rooms_y=1), view_size=16, episodes=25, augment=(),
                  measure=(), versions=1, jitter=0.02, strength=0.1, authors_strength=0.95)
    results = [run_job(Job(f"s{i}", 70 + i, **common)) for i in range(4)]
    pairs = [(env_of(r.scene, r.features["none"][0]), r.episodes) for r in results]
    max_c = max(env.max_degree for env, _ in pairs)
    train, test = expert_decisions(pairs[:3], max_c, 12), expert_decisions(pairs[3:], max_c, 12)
    options = round(float(test.mask.sum(1).mean()))
    import torch

    for seed in (0, 1):
        model = NavAgent(AgentConfig(), len(VOCAB), pairs[0][0].cand_dim, 2 * pairs[0][0].features.shape[-1], seed)
        train_agent(model, train, TrainConfig(steps=150), dist=Distributed(), rng=np.random.default_rng(seed))
        with torch.no_grad():
            t = test.tensors(np.arange(len(test)), "cpu")
            acc = float((model(*t[:4]).argmax(1) == t[4]).float().mean())
        assert acc > 1 / options and not near_chance(acc, options, len(test)), (seed, acc, options)
