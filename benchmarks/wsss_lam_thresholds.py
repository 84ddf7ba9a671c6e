"""wsss diagnostic: is LAM below CAM because of the shared background threshold? (reads a finished run)

`pseudo_miou.<m>` scores every map at the authors' background threshold 0.5. A map whose values are spread
differently (LAM is an unbounded dot product, min-max normalised; CAM is relu'd first) may simply want another
threshold. This script re-scores the saved models of a run (`<run>/models/<method>-seed<s>.safetensors`) over
a grid of thresholds, tunes each method's threshold on the first half of the training images and scores it on
the second half (the same protocol for every method), and decides LAM vs CAM on that half with
`core.claims.beats` (paired bootstrap over images). It also scores the `cam` model's own LAM: the `cam` and
`lam` models differ only in the map their segmentation head learns from.

    python benchmarks/wsss_lam_thresholds.py /tmp/wsss-runs/quick3 [seed]
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

from paperzoo.core.claims import beats
from paperzoo.core.config import build_config, load_yaml_overrides
from paperzoo.wsss import metrics as SM
from paperzoo.wsss.data import load_data
from paperzoo.wsss.experiment import WsssConfig, vit_config
from paperzoo.wsss.maps import cam_to_label, multi_scale_maps
from paperzoo.wsss.methods import METHODS
from paperzoo.wsss.model import MultiTokenViT, normalise
from paperzoo.wsss.weights import load_model

THRESHOLDS = np.round(np.arange(0.1, 0.81, 0.05), 2)


def maps_of(run: Path, cfg: WsssConfig, train, name: str, seed: int) -> dict[str, torch.Tensor]:
    model = MultiTokenViT(dataclasses.replace(vit_config(cfg, len(train.class_names)), gcr=METHODS[name].gcr))
    load_model(model, run / "models" / f"{name}-seed{seed}.safetensors").eval()
    parts: dict[str, list[torch.Tensor]] = {"cam": [], "lam": []}
    for i in range(0, len(train), 64):
        images, _, _ = train.batch(np.arange(i, min(len(train), i + 64)))
        maps = multi_scale_maps(model, normalise(torch.as_tensor(images)), cfg.eval.scales)
        for k in parts:
            parts[k].append(maps[k])
    return {k: torch.cat(v) for k, v in parts.items()}


def per_threshold(loc: torch.Tensor, masks: np.ndarray, labels: torch.Tensor, k1: int) -> dict[float, np.ndarray]:
    """{threshold: per-image confusion matrices (n, k1, k1)}."""
    out = {}
    for t in THRESHOLDS:
        pred = cam_to_label(loc, labels, bkg=float(t)).numpy()
        out[float(t)] = np.stack([SM.confusion_matrix(masks[j], pred[j], k1) for j in range(len(masks))])
    return out


def main(run: Path, seed: int = 0) -> None:
    torch.set_num_threads(1)
    cfg = build_config(WsssConfig, {k[len("config."):]: v for k, v in load_yaml_overrides(run / "config.yaml").items()
                                    if k.startswith("config.")})
    train, _ = load_data(cfg.data)
    _, masks, labels = train.batch(np.arange(len(train)))
    labels = torch.as_tensor(labels)
    k1, n = len(train.class_names) + 1, len(train)
    tune, test = np.arange(n) < n // 2, np.arange(n) >= n // 2
    cam_maps = maps_of(run, cfg, train, "cam", seed)
    rows = {"cam (cam model)": cam_maps["cam"], "lam (cam model)": cam_maps["lam"]}
    for name in ("lam", "lam_gcr", "lam_lir", "lam_more"):
        if (run / "models" / f"{name}-seed{seed}.safetensors").is_file():
            rows[f"{name}"] = maps_of(run, cfg, train, name, seed)["lam"]
    print("threshold            " + " ".join(f"{t:5.2f}" for t in THRESHOLDS) + " | tuned  test@tuned  test@0.5")
    tuned_images = {}
    for label, loc in rows.items():
        conf = per_threshold(loc, masks, labels, k1)
        best = max(conf, key=lambda t: SM.miou(conf[t][tune].sum(0)))
        tuned_images[label] = np.array([SM.image_miou(c) for c in conf[best][test]])
        print(f"{label:20s} " + " ".join(f"{SM.miou(c.sum(0)):5.3f}" for c in conf.values())
              + f" | {best:5.2f}  {SM.miou(conf[best][test].sum(0)):9.3f}  {SM.miou(conf[0.5][test].sum(0)):8.3f}")
    a, b = tuned_images["lam"], tuned_images["cam (cam model)"]
    ok = np.isfinite(a) & np.isfinite(b)
    claim = beats("LAM beats CAM, each at its own tuned threshold", [a[ok].mean()], [b[ok].mean()],
                  ("LAM", "CAM"), examples=(a[ok], b[ok]), pairs="images")
    print(f"{claim.claim}: {claim.verdict} ({claim.evidence})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
