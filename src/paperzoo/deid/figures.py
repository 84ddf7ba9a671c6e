"""Figures of `paperzoo run deid`: the privacy-utility plane, example images, per-variant bars."""

from __future__ import annotations

from paperzoo.core.figures import bars


def draw_figures(ctx, m, variants, test, faces, classes, headline: str) -> None:
    names = list(variants)
    privacy_utility(ctx, m, names, headline)
    example_grid(ctx, variants, test, classes)
    with ctx.figure("roi_and_detection", "SSIM inside the kept region and face detection after anonymisation",
                    ncols=2, figsize=(11, 3.8)) as (fig, (a, b)):
        bars(a, {v: m[f"ssim_roi.{v}"] for v in names}, title="SSIM inside the medical region", ylabel="SSIM",
             ylim=(0, 1.02))
        bars(b, {v: m[f"detect_after.{v}"] for v in names}, title="face still detected after anonymisation",
             ylabel="fraction of probes", ylim=(0, 1.02))


def privacy_utility(ctx, m, names, headline: str) -> None:
    caption = ("Re-identification rate against the originals (lower = more private) vs the sign classifier's "
               "Cohen's kappa against the truth (higher = medical sign kept); bars: 95% face-resampled interval")
    with ctx.figure("privacy_utility", caption, figsize=(6.5, 4.8)) as (fig, ax):
        for v in names:
            if v == "none_medaware":
                continue
            method, scope = v.rsplit("_", 1)
            x, y = m[f"reid.{v}"], m[f"kappa_truth.{v}"]
            err = [[x - m[f"reid_lo.{v}"]], [m[f"reid_hi.{v}"] - x]]
            style = {"face": ("s", "C3"), "medaware": ("o", "C0")}[scope] if method != "none" else ("*", "k")
            ax.errorbar([x], [y], xerr=err, fmt=style[0], color=style[1], ms=9 if method == headline else 6,
                        capsize=2, alpha=0.85)
            ax.annotate(method if method != "none" else "original", (x, y), textcoords="offset points",
                        xytext=(5, 4), fontsize=7)
        ax.axvline(m["reid_chance"], color="grey", linestyle="--", linewidth=1, label="re-ID chance")
        ax.plot([], [], "s", color="C3", label="whole face")
        ax.plot([], [], "o", color="C0", label="medical-aware")
        ax.set(xlabel="re-identification rate", ylabel="sign classifier kappa (vs truth)",
               title="Privacy vs medical utility", xlim=(-0.03, 1.03))
        ax.legend(loc="lower right")


def example_grid(ctx, variants, test, classes, per_row: int = 4) -> None:
    names = [v for v in variants if v != "none_medaware"]
    picks = _picks(test, per_row)
    caption = "Test images (rows: face and sign) under every variant (columns); medical-aware keeps the ROI"
    with ctx.figure("examples", caption, nrows=len(picks), ncols=len(names),
                    figsize=(1.35 * len(names), 1.5 * len(picks)), squeeze=False) as (fig, axes):
        for r, i in enumerate(picks):
            for c, v in enumerate(names):
                ax = axes[r, c]
                ax.imshow(variants[v][i])
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if r == 0:
                    ax.set_title(v.replace("_medaware", "\nmed-aware").replace("_face", "\nwhole face")
                                 .replace("none\nwhole face", "original"), fontsize=7)
                if c == 0:
                    ax.set_ylabel(classes[test[i].label], fontsize=7)
        fig.subplots_adjust(wspace=0.03, hspace=0.05)


def _picks(test, n: int) -> list[int]:
    """Up to n test images with different signs (and faces where possible), signed ones first."""
    chosen, seen_label, seen_face = [], set(), set()
    for i, s in sorted(enumerate(test), key=lambda t: (t[1].label == 0, t[0])):
        if s.label not in seen_label and s.face not in seen_face:
            chosen.append(i)
            seen_label.add(s.label)
            seen_face.add(s.face)
        if len(chosen) == n:
            break
    return chosen or [0]


