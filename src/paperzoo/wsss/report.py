"""Tables (exported as CSV) and report text of a `wsss` run."""

from __future__ import annotations

from paperzoo.core import RunContext
from paperzoo.core.report import fmt

from .claims import NAMES

HEADLINE = ("pseudo_miou", "seg_miou", "seg_miou_crf", "artifact_rate", "far_activation", "cls_bal_acc")


def record_tables(ctx: RunContext, results, m: dict[str, float], cfg, class_names) -> None:
    ctx.table("summary", ["method", *HEADLINE], [[n, *[m.get(f"{k}.{n}") for k in HEADLINE]] for n in cfg.methods],
              title="per method (mean over seeds)")
    names = ["background", *class_names]
    for split in ("pseudo_iou", "seg_iou"):
        ctx.table(f"per_class_{split}", ["method", *names],
                  [[n, *[m.get(f"{split}.{c}.{n}") for c in names]] for n in cfg.methods], title=split)
    for (name, seed), r in results.items():
        terms = list(r["terms"])
        ctx.table(f"loss_{name}_seed{seed}", ["step", *terms],
                  [[s, *[r["terms"][t][i] for t in terms]] for i, s in enumerate(r["steps"])],
                  title=f"training loss terms, {name}, seed {seed}")


def report_sections(ctx: RunContext, m: dict[str, float], cfg, train, val) -> list[tuple[str, str]]:
    d = cfg.data
    if d.source == "scenes":
        data = (f"{len(train)} training / {len(val)} validation synthetic scenes of {d.size} px with "
                f"{len(train.class_names)} classes ({', '.join(train.class_names)}); each class sits on its home "
                f"background with probability {d.co_occurrence} (boat on water, cow on grass, ...), up to "
                f"{d.clutter} distractor blobs and {d.occluders} occluding branch per scene. Training sees image "
                "labels only; masks are used for evaluation.")
    else:
        data = f"{d.source} at {d.path}: {len(train)} {d.train_split} / {len(val)} {d.val_split} images at {d.size} px."
    table = ctx.table("headline", ["method", "pseudo mIoU", "seg mIoU", "seg mIoU + CRF", "artifact rate",
                                   "far activation"],
                      [[NAMES[n], *[fmt(m.get(f"{k}.{n}")) for k in HEADLINE[:5]]] for n in cfg.methods])
    model = (f"ViT from scratch: patch {cfg.model.patch}, width {cfg.model.dim}, {cfg.model.depth} blocks, "
             f"{cfg.model.heads} heads, {cfg.model.extra_tokens} extra + K class tokens; {cfg.train.steps} steps of "
             f"{cfg.train.batch_size} images per method and seed (seeds {cfg.seeds}).")
    notes = ("Pseudo-labels: the method's map with ground-truth image labels and background threshold "
             f"{cfg.eval.bkg}, no refinement (they score the map itself). Segmentation: the LargeFOV head's argmax "
             "(the decoder output, not cam2seg), then after the CRF-like post-processing. Artifact rate: share of "
             f"background pixels above {cfg.eval.artifact_thr}; far activation: share of activated patches farther "
             f"than {cfg.eval.far_px} px from every object.")
    return [("Data", data), ("Model", model), ("Results", table), ("How the numbers are computed", notes)]
