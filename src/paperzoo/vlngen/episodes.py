"""R2R-style episodes on the synthetic scenes: shortest paths to a piece of furniture, template instructions,
the speaker stand-in that re-describes generated scenes, and the panoramic view features the agent sees.

An episode walks from a viewpoint that sees the goal object to the viewpoint nearest it (3.5-12 m away along the
graph, so standing still fails the 3 m success radius); its instruction names the object's colour and kind
("walk to the green sofa and stop"). For generated scenes
the colour is what the speaker sees: the named colour nearest the mean of the object's pixels in the generated
view that shows most of it (WCGEN re-writes instructions with a speaker model for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import N_VIEWS
from .formats import Graph
from .generators import nearest_colour
from .scene import COLOURS, FURNITURE, Scene

TEMPLATES = (
    "walk to the {colour} {kind} and stop",
    "go to the {colour} {kind}",
    "find the {colour} {kind} and wait there",
    "head towards the {colour} {kind} then stop next to it",
)
VOCAB = sorted({w for t in TEMPLATES for w in t.replace("{colour}", "").replace("{kind}", "").split()}
               | set(COLOURS) | {f[0] for f in FURNITURE})
TOKENS = {w: i + 1 for i, w in enumerate(VOCAB)}  # 0 = padding


@dataclass
class Episode:
    scan: str
    path_id: int
    path: list[int]
    goal_object: int
    template: int
    instruction: str = ""


def graph_of(scene: Scene) -> Graph:
    return Graph(scene.scan, list(scene.node_ids), scene.nodes, list(scene.edges))


def shortest_paths(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """(distances, predecessors) of every pair of viewpoints."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    n = len(graph.ids)
    a = np.array(graph.edges).reshape(-1, 2)
    w = np.linalg.norm(graph.positions[a[:, 0]] - graph.positions[a[:, 1]], axis=1)
    m = coo_matrix((w, (a[:, 0], a[:, 1])), shape=(n, n))
    return shortest_path(m, directed=False, return_predecessors=True)


def walk(pred: np.ndarray, start: int, goal: int) -> list[int]:
    path = [goal]
    while path[-1] != start:
        path.append(int(pred[start, path[-1]]))
        if path[-1] < 0:
            raise ValueError(f"goal {goal} unreachable from {start}")
    return path[::-1]


def sample_episodes(scene: Scene, n: int, rng: np.random.Generator, visible: np.ndarray | None = None,
                    min_m: float = 3.5, max_m: float = 12.0, min_pixels: float = 0.002) -> list[Episode]:
    """Up to n episodes whose goal is the viewpoint nearest a piece of furniture (in its room).

    `visible[node, obj]`: the fraction of a viewpoint's level-row pixels showing the object; when given, the
    goal object must be in sight from the start (>= `min_pixels`), so the instruction can be grounded.
    """
    dist, pred = shortest_paths(graph_of(scene))
    rooms = scene.room_of(scene.nodes)
    out: list[Episode] = []
    for _ in range(20 * n):
        if len(out) == n or not scene.furniture:
            break
        obj = int(rng.integers(len(scene.furniture)))
        item = scene.furniture[obj]
        here = np.flatnonzero(rooms == item.room)
        if not len(here):
            continue
        goal = int(here[np.argmin(np.linalg.norm(scene.nodes[here, :2] - item.centre[:2], axis=1))])
        ok = (dist[:, goal] >= min_m) & (dist[:, goal] <= max_m)
        if visible is not None:
            ok &= visible[:, obj] >= min_pixels
        starts = np.flatnonzero(ok)
        if not len(starts):
            continue
        start = int(rng.choice(starts))
        ep = Episode(scene.scan, len(out), walk(pred, start, goal), obj, int(rng.integers(len(TEMPLATES))))
        ep.instruction = instruction(ep, item.colour, item.kind)
        out.append(ep)
    return out


def visibility(ids: dict[int, np.ndarray], n_objects: int) -> np.ndarray:
    """(N, n_objects): fraction of each viewpoint's level-row pixels (views 12-23) showing each object."""
    out = np.zeros((len(ids), n_objects))
    for node, v in ids.items():
        level = v[12:24].ravel()
        counts = np.bincount(level[level >= 0], minlength=n_objects)[:n_objects]
        out[node] = counts / level.size
    return out


def instruction(ep: Episode, colour: str, kind: str) -> str:
    return TEMPLATES[ep.template].format(colour=colour, kind=kind)


def speaker_colour(rgb: np.ndarray, ids: np.ndarray, obj: int) -> str | None:
    """The colour a speaker names for object `obj` in a viewpoint's views (36, H, W, 3); None if unseen."""
    counts = (ids == obj).reshape(N_VIEWS, -1).sum(1)
    if counts.max() == 0:
        return None
    v = int(np.argmax(counts))
    return nearest_colour(rgb[v][ids[v] == obj].mean(axis=0))


def tokenize(text: str, length: int = 12) -> np.ndarray:
    ids = [TOKENS.get(w, 0) for w in text.lower().split()][:length]
    return np.array(ids + [0] * (length - len(ids)), dtype=np.int64)


def view_features(rgb: np.ndarray, depth: np.ndarray, grid: int = 3) -> np.ndarray:
    """(36, 4 grid^2): per view, mean colour and mean inverse depth in a grid x grid layout of blocks."""
    V, H, W, _ = rgb.shape
    hs, ws = H // grid, W // grid
    blocks = rgb[:, : hs * grid, : ws * grid].reshape(V, grid, hs, grid, ws, 3).mean(axis=(2, 4))
    inv = 1.0 / np.maximum(depth[:, : hs * grid, : ws * grid], 0.1)
    inv = inv.reshape(V, grid, hs, grid, ws).mean(axis=(2, 4))
    return np.concatenate([blocks.reshape(V, -1), inv.reshape(V, -1)], axis=1).astype(np.float32)


def r2r_record(ep: Episode, scene: Scene, dist: np.ndarray) -> dict:
    """The R2R JSON form of an episode (viewpoint ids, heading of the first step, walked distance)."""
    from .scene import edge_heading

    heading = edge_heading(scene, ep.path[0], ep.path[1]) if len(ep.path) > 1 else 0.0
    length = float(sum(dist[a, b] for a, b in zip(ep.path, ep.path[1:], strict=False)))
    return {"distance": length, "scan": ep.scan, "path_id": ep.path_id,
            "path": [scene.node_ids[i] for i in ep.path], "heading": heading, "instructions": [ep.instruction]}
