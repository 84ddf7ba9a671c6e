"""The downstream test of the paper: does augmenting the agent's training scenes with generated copies help it
on unseen scenes, and does world-consistent generation help more than per-view generation?

    none         the original training scenes and their template instructions
    wcgen        + generated copies (WCGEN, ours), instructions re-written by the speaker stand-in
    independent  + per-view generated copies (PanoGen-style), re-written the same way
"""

from __future__ import annotations

import numpy as np

from paperzoo.core import RunContext
from paperzoo.core.metrics import near_chance

from .agent import NavAgent, NavEnv
from .episodes import VOCAB, Episode, graph_of, instruction, r2r_record, shortest_paths
from .formats import write_connectivity, write_features, write_r2r, write_trajectories
from .scene import Scene
from .train import evaluate, expert_decisions, train_agent
from .worlds import SceneResult

AUGS = ("none", "wcgen", "independent")
NAV_KEYS = ("ne", "sr", "spl", "ndtw", "sdtw")


def env_of(scene: Scene, features: np.ndarray) -> NavEnv:
    return NavEnv(features, scene.nodes, scene.adjacency(), shortest_paths(graph_of(scene))[0])


def pairs_for(results: list[SceneResult], aug: str) -> list[tuple[NavEnv, list[Episode]]]:
    """(environment, episodes) the agent trains on: the originals, plus every generated copy for `aug`."""
    out = []
    for r in results:
        out.append((env_of(r.scene, r.features["none"][0]), r.episodes))
        if aug == "none":
            continue
        for feats, colours in zip(r.features[aug], r.colours[aug], strict=True):
            eps = []
            for ep, colour in zip(r.episodes, colours, strict=True):
                if colour is not None:  # the speaker saw the goal object
                    kind = r.scene.furniture[ep.goal_object].kind
                    eps.append(Episode(ep.scan, ep.path_id, ep.path, ep.goal_object, ep.template,
                                       instruction(ep, colour, kind)))
            out.append((env_of(r.scene, feats), eps))
    return out


def train_and_evaluate(cfg, train: list[SceneResult], unseen: list[SceneResult], ctx: RunContext):
    """Per augmentation, per seed: train, roll out greedily on the unseen scenes, average the R2R metrics."""
    test = [(env_of(r.scene, r.features["none"][0]), r.episodes) for r in unseen]
    envs = {aug: pairs_for(train, aug) for aug in AUGS}
    max_c = max(env.max_degree for pairs in (*envs.values(), test) for env, _ in pairs)
    scores: dict[str, list[dict[str, float]]] = {aug: [] for aug in AUGS}
    histories: dict[str, list[list[float]]] = {aug: [] for aug in AUGS}
    L = cfg.agent.max_tokens
    probe = expert_decisions(test, max_c, L)
    for aug in AUGS:
        data = expert_decisions(envs[aug], max_c, L)
        ctx.log(f"agent [{aug}]: {len(data)} expert decisions from {sum(len(e) for _, e in envs[aug])} episodes")
        for seed in cfg.seeds:
            env0 = envs[aug][0][0]
            model = NavAgent(cfg.agent, len(VOCAB), env0.cand_dim, 2 * env0.features.shape[-1], seed=seed)
            hist = train_agent(model, data, cfg.train, dist=ctx.dist, rng=np.random.default_rng(seed),
                               progress=ctx.progress, log=ctx.log, device=ctx.device)
            per_ep = evaluate(model, test, cfg.agent.max_steps, max_c, L, ctx.device)
            scores[aug].append({k: float(np.mean([e[k] for e in per_ep])) for k in NAV_KEYS})
            histories[aug].append(hist.loss)
            _flag_chance(ctx, model, probe, aug, seed)
        ctx.log(f"agent [{aug}]: SR " + ", ".join(f"{s['sr']:.3f}" for s in scores[aug]))
    return scores, histories


def _flag_chance(ctx: RunContext, model: NavAgent, probe, aug: str, seed: int) -> None:
    """Warn when the agent's next-action accuracy on unseen expert decisions is not above guessing."""
    import torch

    with torch.no_grad():
        tokens, cand, mask, stop, label = probe.tensors(np.arange(len(probe)), ctx.device)
        acc = float((model.eval()(tokens, cand, mask, stop).argmax(1) == label).float().mean())
    options = float(probe.mask.sum(1).mean())
    if near_chance(acc, max(2, round(options)), len(probe)):
        ctx.warn(f"agent [{aug}, seed {seed}]: next-action accuracy {acc:.3f} on unseen scenes is near chance "
                 f"(~{options:.1f} options per step)")


def export_formats(ctx: RunContext, r: SceneResult) -> None:
    """The first train scene in the community's formats: connectivity, R2R, trajectory list, HDF5 features."""
    if not ctx.writer:
        return
    out = ctx.out / "data"
    g = graph_of(r.scene)
    dist = shortest_paths(g)[0]
    write_connectivity(out / f"{r.scan}_connectivity.json", g, r.scene.spec.camera_height)
    write_r2r(out / "R2R_train.json", [r2r_record(ep, r.scene, dist) for ep in r.episodes])
    trajectories = [{"instruction_id": f"{r.scan}_{ep.path_id}_0",
                     "path": [f"{r.scan}/{r.scene.node_ids[n]}/{v}.jpg" for n in ep.path for v in range(36)]}
                    for ep in r.episodes]
    write_trajectories(out / "trajectories_wcgen.json", trajectories)
    write_features(out / "features_real.hdf5",
                   {f"{r.scan}_{vid}": f for vid, f in zip(r.scene.node_ids, r.features["none"][0], strict=True)})
    ctx.log(f"wrote {r.scan} as connectivity/R2R/trajectory/HDF5 files under {out}")
