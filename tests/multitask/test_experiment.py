"""The smoke run end to end (every method, every key, claims, figures), two processes under torchrun matching
one, and bad user input exiting 2 with a message that names the file.

Data-parallel tolerance: the smoke preset has no dropout, every rank draws the same global batches and takes its
slice, and each rank's loss is scaled by its share of the global batch (of its examples; of its target tokens for
the per-token summarisation loss), so that the rank mean is exactly the whole batch's loss. Two processes
therefore compute the single-process update up to float summation order: the first step's losses agree to 1e-5
relative, the loss curves to 1e-3 (Adam's first steps amplify rounding in near-zero gradients a little), and the
test metrics to 0.1 (one test example of twelve, or a small move of a correlation over twelve pairs).
"""

import json

import numpy as np
import pytest

from paperzoo.core.runner import run_experiment
from paperzoo.multitask.pipeline import METHODS, SUMMARY_ONLY
from tests.ddp import torchrun

SMOKE_TASKS = {"sentiment": "acc", "accept": "mcc", "sts": "pearson", "manpages": "rougeL"}
DDP_METHODS = ["mtl_fixed", "mtl_cosine", "mtl_pcgrad", "lead"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from paperzoo.core.data import require

    for source in ("minilm", "fine-foods", "janeausten", "gensim-testdata", "manpages", "manpages-dev"):
        try:
            require(source)
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"offline data missing: {exc}")
    out = tmp_path_factory.mktemp("multitask") / "smoke"
    return out, run_experiment("multitask", preset="smoke", out=out, seed=0, quiet=True)


def test_smoke_reports_every_key_claim_and_figure(smoke):
    out, record = smoke
    m = record["metrics"]
    for method in METHODS:
        for task, metric in SMOKE_TASKS.items():
            if method in SUMMARY_ONLY and metric != "rougeL":
                continue
            assert np.isfinite(m[f"{metric}.{task}.{method}"]), (task, method)
        if method not in SUMMARY_ONLY:
            assert np.isfinite(m[f"avg_norm.{method}"]), method
    for rule in ("cosine", "uncertainty", "gradnorm", "pcgrad"):
        assert m[f"step_time_ratio.{rule}_over_fixed"] > 0
    assert m["params.single_total"] > m["params.mtl"] > 0
    claims = {c["claim"]: c for c in record["claims"]}
    assert len(claims) >= 10
    assert all(c["verdict"] in ("holds", "does not hold", "not distinguishable", "not evaluated")
               for c in claims.values())
    params = next(c for c in claims.values() if "fewer parameters" in c["claim"])
    assert params["verdict"] == "holds"
    report = json.loads((out / "report.json").read_text())
    assert not report["failed_figures"]
    for name in ("loss_curves.png", "task_weights.png", "gradient_cosine.png", "scores.png"):
        assert (out / name).is_file(), name
    assert "curve.mtl_cosine" in report["tables"] and "examples.manpages" in report["tables"]


def _curve(folder, method):
    rows = json.loads((folder / "report.json").read_text())["tables"][f"curve.{method}"]["rows"]
    return np.array([r[1:1 + len(SMOKE_TASKS)] for r in rows], dtype=float)


def test_two_processes_match_one(smoke, tmp_path):
    one_dir, one = smoke
    sets = ["--set", "methods=[" + ",".join(DDP_METHODS) + "]", "--set", "claims.method=mtl_cosine"]
    done = torchrun(["run", "multitask", "--preset", "smoke", "--out", str(tmp_path / "two"), *sets], timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two"]  # one run folder
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["world_size"] == 2 and one["world_size"] == 1
    log = (tmp_path / "two" / "run.log").read_text()
    assert log.count("2 processes") == 1 and log.count("done in") == 1  # only rank 0 writes
    for method in DDP_METHODS[:-1]:
        a, b = _curve(tmp_path / "two", method), _curve(one_dir, method)
        assert np.allclose(a[0], b[0], rtol=1e-5), method
        assert np.allclose(a, b, rtol=1e-3), method
    for key, value in one["metrics"].items():
        if key.split(".")[-1] in DDP_METHODS and key.split(".")[0] in SMOKE_TASKS.values():
            assert two["metrics"][key] == pytest.approx(value, abs=0.1), key


def test_the_run_seed_moves_the_models_seeds(smoke, tmp_path):
    """seeds are offsets from --seed: the same config at --seed 1 trains other heads on other batches."""
    one_dir, _ = smoke
    other = run_experiment("multitask", preset="smoke", out=tmp_path / "seed1", seed=1, quiet=True,
                           overrides={"methods": "[mtl_fixed]", "claims.method": "mtl_fixed"})
    assert other["seed"] == 1
    assert not np.allclose(_curve(tmp_path / "seed1", "mtl_fixed")[0], _curve(one_dir, "mtl_fixed")[0])
    assert "seeds [1]" in (tmp_path / "seed1" / "report.md").read_text()


def _glue(root, name, text):
    (root / name).mkdir(parents=True, exist_ok=True)
    for part in ("train", "dev"):
        (root / name / f"{part}.tsv").write_text(text)


STS_HEADER = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"


@pytest.mark.parametrize("case", ["empty_corpus", "missing_columns", "wrong_label_type", "unknown_task",
                                  "bilstm_width"])
def test_bad_input_exits_2_naming_the_file_and_writes_nothing(tmp_path, case, paperzoo_cli):
    glue = tmp_path / "glue"
    if case == "empty_corpus":
        (tmp_path / "docs.jsonl").write_text("")
        sets, expected = ["data.tasks=[jsonl]", f"data.summ_path={tmp_path / 'docs.jsonl'}"], "docs.jsonl"
    elif case == "missing_columns":
        _glue(glue, "MNLI", "sentence1\tgold_label\na\tentailment\n")
        sets, expected = ["data.tasks=[mnli]", f"data.path={glue}"], "train.tsv"
    elif case == "wrong_label_type":
        _glue(glue, "STS-B", STS_HEADER + "".join(f"{i}\tg\tf\ty\to\ts\ts\ta {i}\tb {i}\thigh\n" for i in range(4)))
        sets, expected = ["data.tasks=[stsb]", f"data.path={glue}"], "must be numbers"
    elif case == "bilstm_width":
        sets, expected = ["bilstm.dim=20"], "bilstm.dim=20 must be a multiple of decoder.heads=6"
    else:
        sets, expected = ["data.tasks=[squad]"], "data.tasks"
    args = [a for s in sets for a in ("--set", s)]
    code, text = paperzoo_cli("run", "multitask", "--preset", "smoke", *args, "--out", tmp_path / "run")
    assert code == 2, text
    # the console may fold a long path over lines
    assert expected.replace(" ", "") in text.replace(" ", "") and "Traceback" not in text
    assert not (tmp_path / "run" / "metrics.json").exists()


def _chance_warnings(task: str, metric: str, results: dict, kind: str = "classification") -> list[str]:
    """warn_near_chance over {(seed, method): TaskResult} for one binary classification (or regression) task."""
    from types import SimpleNamespace

    from paperzoo.multitask.experiment import warn_near_chance
    from paperzoo.multitask.pipeline import MethodResult

    by = {(s, m): MethodResult(m, s, {task: r}, {}, 0, 0, 0.0, 0) for (s, m), r in results.items()}
    prep = SimpleNamespace(tasks={task: SimpleNamespace(kind=kind, n_classes=2, metric=metric)})
    warnings: list[str] = []
    warn_near_chance(SimpleNamespace(warn=warnings.append), by, prep)
    return warnings


def test_a_classifier_at_the_majority_class_is_flagged_near_chance():
    """Issue 19: 0.62 accuracy on a 62%-majority binary test set is above 1/2 but still chance: it is flagged;
    a model clearly above the majority rate is not."""
    from paperzoo.multitask.pipeline import TaskResult

    gold = [0] * 124 + [1] * 76
    majority = TaskResult({"acc": 0.62}, gold, [0] * 200)
    good = TaskResult({"acc": 0.80}, gold, gold[:160] + [1 - g for g in gold[160:]])
    warnings = _chance_warnings("sentiment", "acc", {(0, "mtl_fixed"): majority, (0, "single"): good})
    assert len(warnings) == 1 and warnings[0].startswith("mtl_fixed (seed 0) is near chance on sentiment")
    assert "majority class 0.620" in warnings[0]


def test_an_mcc_task_is_flagged_by_its_mcc_not_by_the_majority_rate():
    """A weak acceptability model (MCC 0.11 on 1000 sentences, accuracy 0.56 against a 0.534 majority) is above
    chance (n MCC^2 = 12 > 3.84); MCC 0.03 on the same set is not, whatever its accuracy."""
    from paperzoo.multitask.pipeline import TaskResult

    gold = [1] * 534 + [0] * 466
    weak = TaskResult({"acc": 0.56, "mcc": 0.11}, gold, gold)
    none = TaskResult({"acc": 0.60, "mcc": 0.03}, gold, gold)
    warnings = _chance_warnings("accept", "mcc", {(0, "single"): weak, (1, "single"): none})
    assert len(warnings) == 1 and warnings[0].startswith("single (seed 1) is near chance on accept: MCC 0.030")


def test_a_regression_is_flagged_when_its_pearson_r_is_not_above_zero():
    """STS with r = 0.03 on 400 pairs is chance (r_c = 0.098); r = 0.2 is not."""
    from paperzoo.multitask.pipeline import TaskResult

    gold = [float(i % 5) for i in range(400)]
    none = TaskResult({"pearson": 0.03}, gold, gold)
    weak = TaskResult({"pearson": 0.2}, gold, gold)
    warnings = _chance_warnings("sts", "pearson", {(0, "bilstm"): none, (0, "single"): weak}, kind="regression")
    assert warnings == ["bilstm (seed 0) is near chance on sts: Pearson r 0.030 on 400 pairs is not above 0 at "
                        "the 5 % level"]
