"""One scene's worth of work, as a picklable job: build it, render every viewpoint, generate it in every mode,
measure consistency, and keep only what the downstream agent needs (view features, speaker colours).

Jobs are independent, so `run_jobs` spreads them over a process pool (`workers`) and, under a launcher, over
ranks (`dist.shard` + `dist.gather_shards`): every rank ends with every result, in order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from paperzoo.core.distributed import Distributed

from .camera import Camera, assemble_equirect, view_index
from .episodes import Episode, sample_episodes, speaker_colour, view_features, visibility
from .generators import RestyleGenerator
from .metrics import depth_error, reprojection_error, seam_error, updown_error
from .render import BoxRenderer, Views
from .scene import Scene, SceneSpec, edge_heading, make_scene
from .wcgen import MODES, Generated, bfs_order

CONSISTENCY = ("reproj_err", "seam_err", "updown_err")


@dataclass(frozen=True)
class Job:
    scan: str
    seed: int
    role: str  # "train" or "unseen"
    spec: SceneSpec
    view_size: int
    episodes: int
    augment: tuple[str, ...]  # modes whose generated copies feed the agent
    measure: tuple[str, ...]  # modes whose consistency is measured on this scene (empty: none)
    versions: int
    jitter: float
    strength: float
    authors_strength: float
    keep_figures: bool = False
    max_edges: int = 30


@dataclass
class SceneResult:
    scan: str
    role: str
    scene: Scene
    episodes: list[Episode]
    features: dict[str, list[np.ndarray]]  # "none" -> [real (N, 36, F)], mode -> one array per generated version
    colours: dict[str, list[list[str | None]]]  # mode -> per version, the speaker's colour of each episode's goal
    consistency: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)  # mode -> key -> (sum, n)
    render_views: int = 0
    render_s: float = 0.0
    figures: dict[str, np.ndarray] = field(default_factory=dict)


def make_mode(name: str, job: Job, cam: Camera):
    gen = RestyleGenerator(job.jitter, depth_model="authors" if name == "wcgen_authors" else "gt")
    strength = job.authors_strength if name == "wcgen_authors" else job.strength
    return MODES[name](gen, cam, strength=strength)


def run_job(job: Job) -> SceneResult:
    scene = make_scene(job.scan, job.spec, job.seed)
    cam = Camera(job.view_size, job.view_size)
    renderer = BoxRenderer(scene, cam)
    start = time.process_time()  # CPU seconds of this process: honest on a shared machine
    real = {n: renderer.render(scene.nodes[n]) for n in range(len(scene.nodes))}
    render_s = time.process_time() - start
    rng = np.random.default_rng(job.seed + 1)
    seen = visibility({n: v.ids for n, v in real.items()}, len(scene.furniture))
    episodes = sample_episodes(scene, job.episodes, rng, visible=seen)
    res = SceneResult(job.scan, job.role, scene, episodes, {"none": [_features(real)]}, {},
                      render_views=36 * len(real), render_s=render_s)
    adjacency = scene.adjacency()
    for name in dict.fromkeys(job.augment + job.measure):
        for version in range(job.versions if name in job.augment else 1):
            gen_rng = np.random.default_rng([job.seed, version, list(MODES).index(name)])
            method = make_mode(name, job, cam)
            generated = method.generate_scene(real, adjacency, scene.nodes, gen_rng, root=0)
            if name in job.augment:
                res.features.setdefault(name, []).append(_features(real, generated))
                res.colours.setdefault(name, []).append(
                    [speaker_colour(generated[ep.path[-1]].rgb, real[ep.path[-1]].ids, ep.goal_object)
                     for ep in episodes])
            if name in job.measure and version == 0:
                res.consistency[name] = consistency(method, generated, real, scene, cam, job.max_edges)
                if job.keep_figures:
                    _keep_figures(res, name, generated, real, scene, cam)
    if job.measure:
        res.consistency["real"] = consistency(None, {n: Generated(v.rgb, v.depth, view_index(0))
                                                     for n, v in real.items()}, real, scene, cam, job.max_edges)
    return res


def _features(real: dict[int, Views], generated: dict[int, Generated] | None = None) -> np.ndarray:
    return np.stack([view_features(generated[n].rgb if generated else real[n].rgb, real[n].depth)
                     for n in sorted(real)])


def consistency(method, gen: dict[int, Generated], real: dict[int, Views], scene: Scene, cam: Camera,
                max_edges: int = 30) -> dict[str, tuple[float, float]]:
    """Summed errors and pixel counts over (up to `max_edges` evenly spread) edges and every viewpoint."""
    out = {k: [0.0, 0.0] for k in CONSISTENCY}
    stride = max(1, -(-len(scene.edges) // max_edges))
    for a, b in scene.edges[::stride]:
        e, n = reprojection_error(gen[a], gen[b], scene.nodes[a], scene.nodes[b], real[a].depth, real[b].depth, cam,
                                  heading=edge_heading(scene, a, b))
        out["reproj_err"][0] += e
        out["reproj_err"][1] += n
    depth_errs = []
    if method is not None and method.name != "independent":  # along the generation's own steps parent -> node
        heading_in = {0: 0.0}
        for node, parent in bfs_order(scene.adjacency(), 0)[1:]:
            heading_in[node] = edge_heading(scene, parent, node)
            turn = (heading_in[node] - heading_in[parent] + math.pi) % (2 * math.pi) - math.pi
            depth_errs.append(depth_error(method, gen[parent], gen[node], scene.nodes[parent], scene.nodes[node],
                                          turn, cam))
    for node in gen:
        for key, fn in (("seam_err", seam_error), ("updown_err", updown_error)):
            e, n = fn(gen[node], scene.nodes[node], real[node].depth, cam)
            out[key][0] += e
            out[key][1] += n
    result = {k: (v[0], v[1]) for k, v in out.items()}
    finite = [d for d in depth_errs if np.isfinite(d)]  # the median over generation steps (a step through a door
    result["depth_err"] = (float(np.median(finite)), 1.0) if finite else (0.0, 0.0)  # may see almost nothing)
    return result


def _keep_figures(res: SceneResult, name: str, gen: dict[int, Generated], real: dict[int, Views], scene: Scene,
                  cam: Camera) -> None:
    from .camera import view_rotation
    from .warp import cloud, splat_cloud

    node = max(gen, key=lambda n: len(scene.adjacency()[n]))
    res.figures[f"pano.{name}"] = assemble_equirect(gen[node].rgb, cam, 2 * cam.height, 4 * cam.height)
    res.figures.setdefault("pano.real", assemble_equirect(real[node].rgb, cam, 2 * cam.height, 4 * cam.height))
    k0 = gen[node].entry_view % 12
    res.figures[f"seam.{name}"] = np.concatenate([gen[node].rgb[view_index(k0 - 1)], gen[node].rgb[view_index(k0)]],
                                                 axis=1)
    if name == "wcgen":
        a, b = scene.edges[0]
        level = range(12, 24)
        pts, vals = cloud([gen[a].rgb[v] for v in level], [real[a].depth[v] for v in level], cam.K,
                          [view_rotation(v) for v in level], scene.nodes[a])
        t = gen[b].entry_view
        w = splat_cloud(pts, vals, cam.K, view_rotation(t), scene.nodes[b], (cam.width, cam.height))
        res.figures["warp.image"] = w.image.reshape(cam.height, cam.width, 3)
        res.figures["warp.holes"] = w.holes
        res.figures["warp.target"] = gen[b].rgb[t]
        res.figures["warp.real"] = real[b].rgb[t]


def run_jobs(jobs: list[Job], workers: int, dist: Distributed,
             progress: Callable = lambda it, **_: it) -> list[SceneResult]:
    """Every job's result on every rank, in job order: ranks take strided shares, each over `workers` processes."""
    mine = dist.shard(jobs)
    if workers > 1 and len(mine) > 1:
        with ProcessPoolExecutor(max_workers=workers, initializer=_one_thread) as pool:
            local = list(progress(pool.map(run_job, mine), total=len(mine), desc="scenes"))
    else:
        local = [run_job(j) for j in progress(mine, total=len(mine), desc="scenes")]
    return dist.gather_shards(local, len(jobs))


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # jobs run side by side, one thread each
