"""Experiment `vlngen`: generate scenes world-consistently (WCGEN) vs the authors' code vs per-view generation,
measure consistency, and train a navigation agent with and without each augmentation (unseen-scene R2R metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field

from paperzoo.core import Experiment, Outcome, RunContext, param, register
from paperzoo.core.metrics import seed_summary

from .agent import AgentConfig
from .claims import ClaimsConfig, evaluate_claims
from .downstream import AUGS, train_and_evaluate
from .figures import draw_figures
from .scene import SceneSpec
from .train import TrainConfig
from .wcgen import MODES
from .worlds import CONSISTENCY, Job, SceneResult, run_jobs


@dataclass
class SceneConfig:
    rooms_x: int = param(2, ge=1, doc="rooms along x")
    rooms_y: int = param(2, ge=1, doc="rooms along y")
    room_size: float = param(5.0, ge=3.0, le=20.0, doc="side of a square room, metres")
    furniture_per_room: int = param(2, ge=0, le=6, doc="furniture boxes placed in each room")
    node_spacing: float = param(1.7, gt=0.5, doc="grid spacing of viewpoints, metres")
    edge_length: float = param(2.5, gt=0.5, doc="longest navigable edge, metres")

    def spec(self) -> SceneSpec:
        return SceneSpec(self.rooms_x, self.rooms_y, self.room_size, furniture_per_room=self.furniture_per_room,
                         node_spacing=self.node_spacing, edge_length=self.edge_length)


@dataclass
class DataConfig:
    train_scenes: int = param(6, ge=1, doc="scenes the agent trains on (and that are generated)")
    unseen_scenes: int = param(4, ge=1, doc="held-out scenes the agent is evaluated on")
    episodes_per_scene: int = param(40, ge=1, doc="R2R-style episodes sampled per scene")
    view_size: int = param(40, ge=12, le=1024, doc="width = height of each of the 36 views, pixels")
    consistency_scenes: int = param(3, ge=1, doc="train scenes on which every mode's consistency is measured")
    consistency_edges: int = param(30, ge=1, doc="edges per scene (evenly spread) whose reprojection is measured")
    export: bool = param(True, doc="write the first scene's connectivity, R2R, trajectory and feature files")


@dataclass
class GenConfig:
    versions: int = param(2, ge=1, doc="generated copies of each train scene per augmentation")
    jitter: float = param(0.02, ge=0, doc="std of the random change every generator call adds")
    strength: float = param(0.1, ge=0, le=1, doc="img2img strength after filling (ours)")
    authors_strength: float = param(0.95, ge=0, le=1, doc="img2img strength of the authors' trajectory stage")


@dataclass
class VlnConfig:
    scene: SceneConfig = field(default_factory=SceneConfig)
    data: DataConfig = field(default_factory=DataConfig)
    gen: GenConfig = field(default_factory=GenConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seeds: list[int] = param([0, 1, 2, 3, 4], nonempty=True, doc="agent seeds per augmentation, each added to --seed")
    workers: int = param(1, ge=1, doc="processes that build and generate scenes side by side")
    threads: int = param(1, ge=0, doc="torch intra-op threads (0 = torch's default)")
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)

    def __post_init__(self) -> None:
        if self.data.consistency_scenes > self.data.train_scenes:
            raise ValueError(f"data.consistency_scenes ({self.data.consistency_scenes}) must be <= "
                             f"data.train_scenes ({self.data.train_scenes})")


def make_jobs(cfg: VlnConfig, seed: int) -> list[Job]:
    d, g = cfg.data, cfg.gen
    common = dict(spec=cfg.scene.spec(), view_size=d.view_size, episodes=d.episodes_per_scene,
                  max_edges=d.consistency_edges,
                  versions=g.versions, jitter=g.jitter, strength=g.strength, authors_strength=g.authors_strength)
    jobs = [Job(f"train{i:02d}", 1000 * seed + i, "train", augment=("wcgen", "independent"),
                measure=tuple(MODES) if i < d.consistency_scenes else (), keep_figures=i == 0, **common)
            for i in range(d.train_scenes)]
    jobs += [Job(f"unseen{i:02d}", 1000 * seed + 500 + i, "unseen", augment=(), measure=(), **common)
             for i in range(d.unseen_scenes)]
    return jobs


def consistency_metrics(results: list[SceneResult]) -> tuple[dict[str, float], dict[str, dict[str, list[float]]]]:
    """Pixel-weighted means over the measured scenes, and the per-scene values (for tests over scenes)."""
    metrics: dict[str, float] = {}
    per_scene: dict[str, dict[str, list[float]]] = {}
    for mode in (*MODES, "real"):
        for key in (*CONSISTENCY, "depth_err"):
            parts = [r.consistency[mode][key] for r in results if mode in r.consistency]
            total, count = sum(p[0] for p in parts), sum(p[1] for p in parts)
            metrics[f"{key}.{mode}"] = total / count if count else float("nan")
            per_scene.setdefault(key, {})[mode] = [p[0] / p[1] if p[1] else float("nan") for p in parts]
    return metrics, per_scene


def agent_metrics(scores: dict[str, list[dict[str, float]]]) -> dict[str, float]:
    """Mean over seeds of each R2R metric per augmentation, with std and the 95 % t-interval."""
    out: dict[str, float] = {}
    for aug, per_seed in scores.items():
        for key in ("sr", "spl", "ndtw", "sdtw", "ne"):
            s = seed_summary([r[key] for r in per_seed])
            out[f"{key}.{aug}"], out[f"{key}_std.{aug}"] = s.mean, s.std
            out[f"{key}_lo.{aug}"], out[f"{key}_hi.{aug}"] = s.lo, s.hi
    return out


def run(cfg: VlnConfig, ctx: RunContext) -> Outcome:
    jobs = make_jobs(cfg, ctx.seed)
    ctx.log(f"{len(jobs)} scenes ({cfg.data.train_scenes} train, {cfg.data.unseen_scenes} unseen), views "
            f"{cfg.data.view_size}x{cfg.data.view_size}, modes {', '.join(MODES)}")
    results = run_jobs(jobs, cfg.workers, ctx.dist, progress=ctx.progress)
    train = [r for r in results if r.role == "train"]
    unseen = [r for r in results if r.role == "unseen"]
    metrics, per_scene = consistency_metrics([r for r in train if r.consistency])
    views = sum(r.render_views for r in results)
    metrics["render_views_per_s"] = views / max(sum(r.render_s for r in results), 1e-9)
    metrics["n_viewpoints"] = float(sum(len(r.scene.nodes) for r in results))
    scores, histories = train_and_evaluate(cfg, train, unseen, ctx)
    metrics.update(agent_metrics(scores))
    metrics["n_unseen_episodes"] = float(sum(len(r.episodes) for r in unseen))
    if cfg.data.export:
        from .downstream import export_formats

        export_formats(ctx, train[0])
    sections = report_sections(ctx, metrics, scores)
    draw_figures(ctx, metrics, train[0].figures, histories)
    claims = evaluate_claims(metrics, cfg.claims, per_scene, scores)
    return Outcome(metrics=metrics, claims=claims, sections=sections)


def report_sections(ctx: RunContext, m: dict[str, float], scores: dict[str, list[dict[str, float]]]):
    modes = (*MODES, "real")
    cons = ctx.table("consistency", ["mode", *CONSISTENCY, "depth_err"],
                     [[mode, *(m[f"{k}.{mode}"] for k in (*CONSISTENCY, "depth_err"))] for mode in modes],
                     title="consistency of generated views (mean |RGB| difference; depth: median relative)")
    nav = ctx.table("navigation", ["augmentation", "SR", "SPL", "nDTW", "SDTW", "NE (m)", "SR 95% CI"],
                    [[aug, m[f"sr.{aug}"], m[f"spl.{aug}"], m[f"ndtw.{aug}"], m[f"sdtw.{aug}"], m[f"ne.{aug}"],
                      f"[{m[f'sr_lo.{aug}']:.3f}, {m[f'sr_hi.{aug}']:.3f}]"] for aug in AUGS],
                    title="unseen scenes, mean over seeds")
    seeds = ctx.table("navigation_per_seed", ["augmentation", "seed index", "SR", "SPL", "nDTW", "SDTW", "NE"],
                      [[aug, i, r["sr"], r["spl"], r["ndtw"], r["sdtw"], r["ne"]]
                       for aug in AUGS for i, r in enumerate(scores[aug])])
    return [("Consistency per mode", cons), ("Navigation on unseen scenes", nav), ("Per seed", seeds)]


PRESETS = {
    "smoke": {"data.train_scenes": 2, "data.unseen_scenes": 1, "data.episodes_per_scene": 6, "data.view_size": 16,
              "data.consistency_scenes": 1, "scene.rooms_x": 2, "scene.rooms_y": 1, "gen.versions": 1,
              "train.steps": 20, "seeds": [0, 1]},
    "quick": {},
    "full": {"data.train_scenes": 60, "data.unseen_scenes": 20, "data.episodes_per_scene": 100,
             "data.view_size": 128, "data.consistency_scenes": 10, "scene.rooms_x": 3, "scene.rooms_y": 3,
             "gen.versions": 4, "train.steps": 5000, "agent.hidden": 128, "workers": 4},
}

register(Experiment(name="vlngen", paper="2412.06413",
                    title="WCGEN: world-consistent panorama generation for vision-and-language navigation",
                    config=VlnConfig, run=run, presets=PRESETS))

__all__ = ["PRESETS", "VlnConfig", "agent_metrics", "consistency_metrics", "make_jobs", "run"]
