"""The smoke preset runs end to end; claims are computed from constructed metrics as specified."""

import json

import numpy as np

from paperzoo.core.runner import run_experiment
from paperzoo.deid.claims import evaluate_claims
from paperzoo.deid.experiment import ClaimsConfig


def test_smoke_run_writes_every_key_and_figures(tmp_path, monkeypatch):
    from paperzoo.core import registry
    from paperzoo.deid.experiment import EXPERIMENT

    monkeypatch.setattr(registry, "_EXPERIMENTS", {"deid": EXPERIMENT})  # independent of other systems' state
    monkeypatch.setattr(registry, "_discovered", True)
    rec = run_experiment("deid", preset="smoke", out=tmp_path / "run", seed=0)
    m = rec["metrics"]
    for key in ("reid", "leak", "dist", "ssim_roi", "kappa", "detect_after"):
        for v in ("none_face", "none_medaware", "blur_face", "blur_medaware", "swap_face", "swap_medaware"):
            assert f"{key}.{v}" in m, f"{key}.{v}"
    assert 0 < m["reid_chance"] < 1
    assert m["ssim_roi.blur_medaware"] == 1.0 and m["ssim_roi.blur_face"] < 0.9
    assert m["reid.none_face"] == 1.0 and m["dist.none_face"] < 0.2
    for fig in ("privacy_utility.png", "examples.png", "roi_and_detection.png"):
        assert (tmp_path / "run" / fig).is_file()
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {c["verdict"] for c in saved["claims"]} <= {"holds", "does not hold", "not distinguishable",
                                                       "not evaluated"}


def _metrics(**over):
    m = {"reid_chance": 0.1, "kappa_truth.none_face": 0.9, "reid.none_face": 1.0, "reid_lo.none_face": 0.9}
    for v, (reid, lo, hi, kappa, ssim) in {"swap_medaware": (0.1, 0.0, 0.3, 0.88, 1.0),
                                           "blur_medaware": (0.5, 0.3, 0.7, 0.89, 1.0),
                                           "swap_face": (0.0, 0.0, 0.1, 0.2, 0.3),
                                           "blur_face": (0.4, 0.2, 0.6, 0.3, 0.5),
                                           "pixelate_face": (0.3, 0.1, 0.5, 0.95, 0.6)}.items():
        m.update({f"reid.{v}": reid, f"reid_lo.{v}": lo, f"reid_hi.{v}": hi, f"kappa_truth.{v}": kappa,
                  f"ssim_roi.{v}": ssim})
    m.update(over)
    return m


def _by_name(claims):
    return {c.claim.split(":")[0] if ":" in c.claim else c.claim: c for c in claims}


def test_claims_follow_the_thresholds():
    ex = {"correct.swap_medaware": np.ones(50), "correct.swap_face": np.r_[np.ones(10), np.zeros(40)],
          "hit.swap_medaware": np.zeros(20), "hit.none_face": np.ones(20)}
    claims = evaluate_claims(_metrics(), ClaimsConfig(), ex)
    text = {c.claim: c for c in claims}
    keeps = next(c for c in claims if c.claim.startswith("medical-aware composition keeps"))
    assert keeps.verdict == "holds"
    kappa = next(c for c in claims if "kappa within" in c.claim)
    assert kappa.verdict == "holds"  # 0.88 >= 0.9 - 0.05
    chance = next(c for c in claims if "falls to chance" in c.claim)
    assert chance.verdict == "holds"  # interval low 0.0 <= 0.1
    blur = next(c for c in claims if c.claim.startswith("whole-face blur loses"))
    pix = next(c for c in claims if c.claim.startswith("whole-face pixelate loses"))
    assert blur.verdict == "holds" and pix.verdict == "does not hold"  # 0.95 is not below 0.85
    better = next(c for c in claims if "keeps the sign better" in c.claim)
    assert better.verdict == "holds"
    less = next(c for c in claims if "re-identifies less" in c.claim)
    assert less.verdict == "holds"
    assert len(text) == len(claims)


def test_claims_fail_or_stay_unevaluated_honestly():
    m = _metrics(**{"ssim_roi.blur_medaware": 0.95, "reid_lo.swap_medaware": 0.4, "kappa_truth.swap_medaware": 0.7})
    claims = evaluate_claims(m, ClaimsConfig(), {})
    assert next(c for c in claims if c.claim.startswith("medical-aware composition keeps")).verdict == \
        "does not hold"
    assert next(c for c in claims if "falls to chance" in c.claim).verdict == "does not hold"
    assert next(c for c in claims if "kappa within" in c.claim).verdict == "does not hold"
    assert next(c for c in claims if "keeps the sign better" in c.claim).verdict == "not evaluated"
    del m["reid_lo.swap_medaware"]
    assert next(c for c in evaluate_claims(m, ClaimsConfig(), {}) if "falls to chance" in c.claim).verdict == \
        "not evaluated"


def test_mema_folder_runs_with_cross_fitted_classifier(tmp_path, monkeypatch):
    import shutil

    from paperzoo.core import registry
    from paperzoo.core.data import require
    from paperzoo.deid.experiment import EXPERIMENT

    monkeypatch.setattr(registry, "_EXPERIMENTS", {"deid": EXPERIMENT})
    monkeypatch.setattr(registry, "_discovered", True)
    (tmp_path / "mema" / "images").mkdir(parents=True)
    fr, ins = require("deid-face-recognition"), require("deid-insightface")
    rows = [(fr / "obama.jpg", "obama", "none"), (fr / "obama2.jpg", "obama", "redness"),
            (fr / "biden.jpg", "biden", "redness"), (ins / "Tom_Hanks_54745.png", "hanks", "none")]
    for path, *_ in rows:
        shutil.copy(path, tmp_path / "mema" / "images" / path.name)
    (tmp_path / "mema" / "labels.csv").write_text("image,identity,sign\n" + "".join(
        f"{p.name},{i},{s}\n" for p, i, s in rows))
    rec = run_experiment("deid", preset="smoke", out=tmp_path / "run", seed=0,
                         overrides={"data.source": "mema", "data.path": str(tmp_path / "mema")})
    m = rec["metrics"]
    assert m["n_faces"] == 4 and m["n_identities"] == 3 and m["n_classes"] == 2
    assert m["reid.none_face"] == 1.0 and m["ssim_roi.swap_medaware"] == 1.0
