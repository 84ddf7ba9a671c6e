"""Connectivity / R2R / trajectory / HDF5 round trips, and malformed files or graphs exiting with code 2."""

import json

import numpy as np
import pytest

from paperzoo.core.errors import DataError
from paperzoo.vlngen.formats import (
    Graph,
    check_episodes,
    read_connectivity,
    read_features,
    read_r2r,
    read_trajectories,
    write_connectivity,
    write_features,
    write_r2r,
    write_trajectories,
)


def graph():
    pos = np.array([[0, 0, 1.5], [2, 0, 1.5], [4, 0, 1.5], [9, 9, 1.5]], dtype=float)
    return Graph("scanA", ["a", "b", "c", "island"], pos, [(0, 1), (1, 2)])


def test_connectivity_round_trip(tmp_path):
    g = graph()
    path = write_connectivity(tmp_path / "scanA_connectivity.json", g)
    back = read_connectivity(path)
    assert back.scan == "scanA" and back.ids == g.ids and back.edges == g.edges
    assert np.allclose(back.positions, g.positions)
    raw = json.loads(path.read_text())
    assert len(raw[0]["pose"]) == 16 and raw[0]["unobstructed"] == [False, True, False, False]
    assert back.distances()[0, 2] == pytest.approx(4.0) and np.isinf(back.distances()[0, 3])


def test_r2r_trajectories_and_features_round_trip(tmp_path):
    eps = [{"distance": 4.0, "scan": "scanA", "path_id": 7, "path": ["a", "b", "c"], "heading": 1.57,
            "instructions": ["walk to the red sofa"]}]
    assert read_r2r(write_r2r(tmp_path / "r2r.json", eps)) == eps
    traj = [{"instruction_id": "7_0", "path": ["scanA/a/12.jpg", "scanA/b/13.jpg"]}]
    assert read_trajectories(write_trajectories(tmp_path / "t.json", traj)) == traj
    feats = {"scanA_a": np.arange(36 * 4, dtype=np.float32).reshape(36, 4)}
    back = read_features(write_features(tmp_path / "f.hdf5", feats))
    assert np.array_equal(back["scanA_a"], feats["scanA_a"])


def test_bad_trajectory_image_path_is_named(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps([{"instruction_id": "1", "path": ["scanA/a/40.jpg"]}]))
    with pytest.raises(DataError, match="40.jpg"):
        read_trajectories(p)


def test_missing_viewpoint_and_unreachable_goal_are_data_errors():
    graphs = {"scanA": graph()}
    with pytest.raises(DataError, match="zzz"):
        check_episodes([{"scan": "scanA", "path": ["a", "zzz"], "instructions": []}], graphs, "r2r.json")
    with pytest.raises(DataError, match="unreachable"):
        check_episodes([{"scan": "scanA", "path": ["a", "island"], "instructions": []}], graphs, "r2r.json")
    with pytest.raises(DataError, match="scanB"):
        check_episodes([{"scan": "scanB", "path": ["a"], "instructions": []}], graphs, "r2r.json")


def test_connectivity_with_the_wrong_flag_count_is_refused(tmp_path):
    p = tmp_path / "x_connectivity.json"
    p.write_text(json.dumps([{"image_id": "a", "pose": [0] * 16, "unobstructed": [True, False]}]))
    with pytest.raises(DataError, match="2 flags|1 flags"):
        read_connectivity(p)


def _cli(*args):
    from typer.testing import CliRunner

    from paperzoo.vlngen.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_check_and_score_and_exit_2_on_bad_graphs(tmp_path):
    conn = tmp_path / "conn"
    conn.mkdir()
    write_connectivity(conn / "scanA_connectivity.json", graph())
    good = write_r2r(tmp_path / "ok.json", [{"scan": "scanA", "path_id": 1, "path": ["a", "b", "c"],
                                             "heading": 0, "instructions": ["go"]}])
    res = _cli("check", conn, good)
    assert res.exit_code == 0 and "1 episodes" in res.output
    preds = tmp_path / "preds.json"
    preds.write_text(json.dumps([{"instr_id": "1_0", "trajectory": [["a", 0, 0], ["b", 0, 0]]}]))
    res = _cli("score", conn, good, preds)
    assert res.exit_code == 0 and json.loads(res.output)["spl"] == pytest.approx(1.0)  # NE 2 m < 3 m, TL 2 <= 4
    bad = write_r2r(tmp_path / "bad.json", [{"scan": "scanA", "path_id": 2, "path": ["a", "island"],
                                             "instructions": ["go"]}])
    assert _cli("check", conn, bad).exit_code != 0
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    assert _cli("check", conn, junk).exit_code != 0
