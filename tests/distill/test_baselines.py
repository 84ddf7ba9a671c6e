"""Issue 19: every student classifier of the quick preset trains (well above chance) on two seeds.

The quick students' architecture, learning rate, dropout and loss recipes, briefly trained on small generated
reviews from the tiny teacher (the real teacher's fine-tuning is too slow for a unit test).
"""

from paperzoo.core.metrics import near_chance
from paperzoo.core.runner import run_experiment
from paperzoo.distill.methods import ALL_METHODS


def test_quick_students_end_above_chance_on_two_seeds(tmp_path):
    quick_students = {"student.layers": "2", "student.hidden": "192", "student.heads": "12",
                      "student.intermediate": "768", "student.dropout": "0.1", "train.lr": "1e-3",
                      "data.n_synthetic": "160", "train.epochs": "2", "train.save": "[]", "seeds": "[0,1]"}
    rec = run_experiment("distill", preset="smoke", out=tmp_path / "r", quiet=True, overrides=quick_students)
    m = rec["metrics"]
    rows = [r for r in rec_tables(tmp_path / "r")["students_per_seed"]["rows"]]
    n_test = 80
    assert m["acc.teacher"] > 0.75
    for method in ALL_METHODS:
        per_seed = [r[2] for r in rows if r[0] == method]
        assert len(per_seed) == 2
        for acc in per_seed:
            assert acc > 0.7 and not near_chance(acc, 2, n_test), (method, per_seed, rows)


def rec_tables(folder):
    import json

    return json.loads((folder / "report.json").read_text())["tables"]
