import math

import pytest

from paperzoo.core.runner import run_experiment
from paperzoo.nlhall.experiment import DiracConfig, NlhallConfig, evaluate_claims

KEYS = ["bcd_analytic_max_rel_err", "bcd_sea_surface_max_rel_diff", "chern_haldane_topological",
        "chern_haldane_trivial", "bcd_c3_max_abs", "intrinsic_T_max_abs", "intrinsic_PT_max_abs",
        "hallbar_extraction_rel_err", "kpoints_per_s"]


def _good():
    return {"bcd_analytic_max_rel_err": 0.003, "bcd_sea_surface_max_rel_diff": 0.001,
            "chern_haldane_topological": -1.0, "chern_haldane_trivial": 0.0, "bcd_c3_max_abs": 1e-14,
            "intrinsic_T_max_abs": 1e-15, "intrinsic_PT_max_abs": 3e-14, "intrinsic_PT_rel_scale": 0.3,
            "hallbar_extraction_rel_err": 0.01, "hallbar_exponent": 2.0, "wannierberri_rel_diff": float("nan")}


def test_claims_follow_the_numbers():
    claims = evaluate_claims(_good())
    assert [c.holds for c in claims] == [True] * 6 + [None]
    bad = _good() | {"bcd_analytic_max_rel_err": 0.02, "chern_haldane_trivial": 0.5, "bcd_c3_max_abs": 1e-6,
                     "intrinsic_PT_rel_scale": 0.0, "wannierberri_rel_diff": 0.05}
    holds = [c.holds for c in evaluate_claims(bad)]
    assert holds == [False, True, False, False, False, True, False]


def test_config_rejects_mu_inside_gap():
    with pytest.raises(ValueError, match="outside the gap"):
        DiracConfig(m=0.2, mu_min=0.1)
    with pytest.raises(ValueError, match="pt_grid"):
        NlhallConfig(pt_grid=2)


def test_smoke_run_writes_every_metric_and_figure(tmp_path):
    record = run_experiment("nlhall", preset="smoke", out=tmp_path, seed=0)
    metrics = record["metrics"]
    for key in KEYS:
        assert key in metrics and metrics[key] is not None and math.isfinite(metrics[key]), key
    assert abs(abs(metrics["chern_haldane_topological"]) - 1) < 0.01
    assert metrics["bcd_c3_max_abs"] < 1e-8
    for name in ("berry_curvature_map", "bcd_vs_mu", "chi_vs_mu", "intrinsic_vs_mu", "v2w_vs_drive"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
