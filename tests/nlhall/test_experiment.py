import json
import math

import pytest

from paperzoo.core.runner import run_experiment
from paperzoo.nlhall.claims import ClaimsConfig, evaluate_claims
from paperzoo.nlhall.experiment import DiracConfig, NlhallConfig

KEYS = ["bcd_analytic_max_rel_err", "bcd_sea_surface_max_rel_diff", "chern_haldane_topological",
        "chern_haldane_trivial", "bcd_c3_max_abs", "intrinsic_T_max_abs", "intrinsic_PT_max_abs",
        "hallbar_extraction_rel_err", "kpoints_per_s"]


def _good():
    return {"bcd_analytic_max_rel_err": 0.003, "bcd_sea_surface_max_rel_diff": 0.001,
            "chern_haldane_topological": -1.0, "chern_haldane_trivial": 0.0, "bcd_c3_max_abs": 1e-14,
            "intrinsic_T_max_abs": 1e-15, "intrinsic_PT_max_abs": 3e-14, "intrinsic_PT_rel_scale": 0.3,
            "hallbar_extraction_rel_err": 0.01, "hallbar_exponent": 2.0, "wannierberri_rel_diff": 0.01}


def test_claims_follow_the_numbers():
    c = ClaimsConfig()
    assert [cl.holds for cl in evaluate_claims(_good(), c)] == [True] * 7
    bad = _good() | {"bcd_analytic_max_rel_err": 0.02, "chern_haldane_trivial": 0.5, "bcd_c3_max_abs": 1e-6,
                     "intrinsic_PT_rel_scale": 0.0, "wannierberri_rel_diff": 0.05}
    assert [cl.holds for cl in evaluate_claims(bad, c)] == [False, True, False, False, False, True, False]
    # thresholds come from the config: a looser analytic tolerance turns the first claim around
    assert evaluate_claims(bad, ClaimsConfig(analytic_rel_err=0.03))[0].holds is True
    assert "3%" in evaluate_claims(bad, ClaimsConfig(analytic_rel_err=0.03))[0].claim


def test_no_claim_is_dropped_when_a_metric_is_missing():
    claims = evaluate_claims({}, ClaimsConfig(), wannierberri_skipped="the cross-check is off in this run")
    assert len(claims) == 7 and all(c.holds is None for c in claims)
    assert "cross-check is off" in claims[-1].evidence
    assert "not measured" in claims[0].evidence
    nan = evaluate_claims(_good() | {"wannierberri_rel_diff": float("nan")}, ClaimsConfig())[-1]
    assert nan.holds is None and "NaN" in nan.evidence


def test_config_rejects_mu_inside_gap():
    with pytest.raises(ValueError, match="outside the gap"):
        DiracConfig(m=0.2, mu_min=0.1)
    with pytest.raises(ValueError, match="nonzero"):
        DiracConfig(t=0.0)
    assert NlhallConfig().claims.wannierberri_rel_diff == 0.02


def test_smoke_run_writes_every_metric_table_and_figure(tmp_path):
    record = run_experiment("nlhall", preset="smoke", out=tmp_path, seed=0, quiet=True)
    metrics = record["metrics"]
    for key in KEYS:
        assert key in metrics and metrics[key] is not None and math.isfinite(metrics[key]), key
    assert abs(abs(metrics["chern_haldane_topological"]) - 1) < 0.01
    assert metrics["bcd_c3_max_abs"] < 1e-8
    for name in ("berry_curvature_map", "bcd_vs_mu", "chi_vs_mu", "intrinsic_vs_mu", "v2w_vs_drive"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    wb = record["claims"][-1]
    assert wb["holds"] is None and "wannierberri=false" in wb["evidence"]
    tables = json.loads((tmp_path / "report.json").read_text())["tables"]
    dirac = tables["dirac_bcd_vs_mu"]
    assert dirac["headers"][:3] == ["mu_eV", "D_xz_nlhall_A", "D_xz_analytic_A"] and len(dirac["rows"]) == 4
    assert max(r[3] for r in dirac["rows"]) == pytest.approx(metrics["bcd_analytic_max_rel_err"])
    assert len(tables["graphene_bcd_vs_mu"]["rows"]) == 3
    for name in ("graphene_sea_vs_surface", "pt_intrinsic_vs_mu", "hallbar_v2w", "wte2_like_bcd_vs_mu"):
        assert tables[name]["rows"], name


@pytest.mark.parametrize("key, value, message", [
    ("dirac.n_mu", "0", "dirac.n_mu"),
    ("graphene.k_t", "nan", "graphene.k_t"),
    ("claims.analytic_rel_err", "-1", "claims.analytic_rel_err"),
    ("data.path", "/nonexistent/model_tb.dat", "data.path"),
])
def test_bad_config_fails_in_the_check_before_any_work(tmp_path, monkeypatch, key, value, message):
    from paperzoo.core import UserError
    from paperzoo.nlhall import checks

    def no_work(*args, **kwargs):
        raise AssertionError("a stage ran before the config was checked")

    monkeypatch.setattr(checks, "dirac_check", no_work)
    with pytest.raises(UserError, match=message):
        run_experiment("nlhall", preset="smoke", out=tmp_path / "bad", overrides={key: value}, quiet=True)
    assert not (tmp_path / "bad" / "metrics.json").exists()
