"""The file formats of the VLN community, read and written: Matterport connectivity JSON, R2R episodes, WCGEN's
trajectory list and DUET-style HDF5 view features.

    connectivity  <scan>_connectivity.json: [{"image_id", "pose": 16 floats (4x4 camera-to-world, row-major;
                  position = pose[3], pose[7], pose[11]), "included", "visible": [bool]*N, "unobstructed": [bool]*N,
                  "height"}]; an edge is a pair of included viewpoints unobstructed from each other
    R2R           [{"distance", "scan", "path_id", "path": [image_id, ...], "heading", "instructions": [str, ...]}]
    trajectories  [{"instruction_id", "path": ["<scan>/<image_id>/<view>.jpg", ...]}]  (WCGEN's generated images)
    features      HDF5 with one dataset "<scan>_<image_id>" of shape (36, D) per viewpoint (DUET's layout)

Every reader raises DataError naming the file and what is wrong; graph checks (a path through viewpoints the
scan does not have, a goal that cannot be reached) are DataErrors too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paperzoo.core.errors import DataError
from paperzoo.core.io import atomic_write_bytes, atomic_write_json
from paperzoo.core.loaders import loader


@dataclass
class Graph:
    """A scan's navigation graph: viewpoint ids, positions (N, 3) and undirected edges."""

    scan: str
    ids: list[str]
    positions: np.ndarray
    edges: list[tuple[int, int]]

    def index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.ids)}

    def distances(self) -> np.ndarray:
        """All-pairs geodesic distances (metres) along edges; inf between disconnected viewpoints."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import shortest_path

        n = len(self.ids)
        if not self.edges:
            d = np.full((n, n), np.inf)
            np.fill_diagonal(d, 0)
            return d
        a = np.array(self.edges)
        w = np.linalg.norm(self.positions[a[:, 0]] - self.positions[a[:, 1]], axis=1)
        m = coo_matrix((w, (a[:, 0], a[:, 1])), shape=(n, n))
        return shortest_path(m, directed=False)


def _read_json(path: Path, what: str) -> Any:
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as UTF-8 text ({exc.__class__.__name__}); expected {what}") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected {what}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); expected {what}") from None


def _read_list(path: Path, what: str) -> list:
    """A JSON file holding a non-empty list, or a DataError naming the file and `what` was expected."""
    data = _read_json(path, what)
    if not isinstance(data, list) or not data:
        raise DataError(f"{path}: expected a non-empty JSON list, got {type(data).__name__}; expected {what}")
    return data


def write_json(path: Path, items: list[dict[str, Any]]) -> Path:
    """R2R episodes or a trajectory list, written atomically."""
    return atomic_write_json(Path(path), items)


write_r2r = write_trajectories = write_json


def write_connectivity(path: Path, graph: Graph, camera_height: float = 1.5) -> Path:
    n = len(graph.ids)
    adj = np.zeros((n, n), dtype=bool)
    for a, b in graph.edges:
        adj[a, b] = adj[b, a] = True
    items = []
    for i, vid in enumerate(graph.ids):
        pose = np.eye(4)
        pose[:3, 3] = graph.positions[i]
        items.append({"image_id": vid, "pose": [float(x) for x in pose.ravel()], "included": True,
                      "visible": [bool(x) for x in adj[i]], "unobstructed": [bool(x) for x in adj[i]],
                      "height": float(camera_height)})
    return atomic_write_json(Path(path), items)


@loader("vlngen.connectivity", suffix=".json", doc="Matterport3D simulator connectivity JSON")
def read_connectivity(path: Path, scan: str | None = None) -> Graph:
    """A scan's graph from `<scan>_connectivity.json` (only viewpoints marked `included`)."""
    path = Path(path)
    what = "a Matterport connectivity list [{image_id, pose[16], included, unobstructed[N]}]"
    data = _read_list(path, what)
    n = len(data)
    for k, item in enumerate(data):
        if not isinstance(item, dict) or not {"image_id", "pose", "unobstructed"} <= set(item):
            raise DataError(f"{path}: entry {k} lacks image_id, pose or unobstructed; expected {what}")
        if len(item["pose"]) != 16 or len(item["unobstructed"]) != n:
            raise DataError(f"{path}: entry {k} ({item['image_id']}): pose needs 16 numbers and unobstructed {n} "
                            f"flags, got {len(item['pose'])} and {len(item['unobstructed'])}")
    keep = [k for k, item in enumerate(data) if item.get("included", True)]
    remap = {old: new for new, old in enumerate(keep)}
    ids = [str(data[k]["image_id"]) for k in keep]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: duplicate image_id values; every viewpoint must be listed once")
    pos = np.array([[data[k]["pose"][3], data[k]["pose"][7], data[k]["pose"][11]] for k in keep], dtype=float)
    edges = sorted({(min(remap[a], remap[b]), max(remap[a], remap[b])) for a in keep
                    for b, flag in enumerate(data[a]["unobstructed"]) if flag and b in remap and b != a})
    name = scan or path.name.removesuffix("_connectivity.json").removesuffix(".json")
    return Graph(name, ids, pos, edges)


@loader("vlngen.r2r", suffix=".json", doc="R2R episodes JSON")
def read_r2r(path: Path) -> list[dict[str, Any]]:
    """R2R episodes, each with scan, path (viewpoint ids), heading and instructions."""
    path = Path(path)
    what = "an R2R list [{scan, path_id, path: [viewpoint ids], heading, instructions: [text]}]"
    data = _read_list(path, what)
    for k, ep in enumerate(data):
        if not isinstance(ep, dict) or not {"scan", "path", "instructions"} <= set(ep):
            raise DataError(f"{path}: episode {k} lacks scan, path or instructions; expected {what}")
        if not isinstance(ep["path"], list) or not ep["path"]:
            raise DataError(f"{path}: episode {k} (path_id {ep.get('path_id')}) has an empty path")
        if not isinstance(ep["instructions"], list) or not all(isinstance(s, str) for s in ep["instructions"]):
            raise DataError(f"{path}: episode {k}: instructions must be a list of strings")
    return data


def check_episodes(episodes: list[dict[str, Any]], graphs: dict[str, Graph], source: Path | str) -> None:
    """Every episode's scan exists, its path steps along edges of known viewpoints and its goal is reachable."""
    dist_cache: dict[str, np.ndarray] = {}
    for k, ep in enumerate(episodes):
        scan = ep["scan"]
        if scan not in graphs:
            raise DataError(f"{source}: episode {k} uses scan {scan!r}, which has no connectivity graph; "
                            f"known scans: {', '.join(sorted(graphs)) or 'none'}")
        g = graphs[scan]
        idx = g.index()
        missing = [v for v in ep["path"] if v not in idx]
        if missing:
            raise DataError(f"{source}: episode {k} (path_id {ep.get('path_id')}) visits viewpoint(s) "
                            f"{', '.join(missing[:3])} that scan {scan!r} does not have")
        dist = dist_cache.setdefault(scan, g.distances())
        start, goal = idx[ep["path"][0]], idx[ep["path"][-1]]
        if not np.isfinite(dist[start, goal]):
            raise DataError(f"{source}: episode {k} (path_id {ep.get('path_id')}): goal {ep['path'][-1]} is "
                            f"unreachable from {ep['path'][0]} in scan {scan!r}'s graph")


@loader("vlngen.trajectories", suffix=".json", doc="WCGEN trajectory list JSON")
def read_trajectories(path: Path) -> list[dict[str, Any]]:
    """[{instruction_id, path: ["scan/viewpoint/view.jpg", ...]}], each image path checked for its layout."""
    path = Path(path)
    what = 'a list [{"instruction_id": ..., "path": ["<scan>/<viewpoint>/<view 0-35>.jpg", ...]}]'
    data = _read_list(path, what)
    for k, item in enumerate(data):
        if not isinstance(item, dict) or "instruction_id" not in item or not isinstance(item.get("path"), list):
            raise DataError(f"{path}: entry {k} lacks instruction_id or a path list; expected {what}")
        for p in item["path"]:
            parts = str(p).split("/")
            if len(parts) != 3 or not parts[2].endswith(".jpg") or not parts[2][:-4].isdigit() \
                    or not 0 <= int(parts[2][:-4]) < 36:
                raise DataError(f"{path}: entry {k}: image path {p!r} is not <scan>/<viewpoint>/<0-35>.jpg")
    return data


def write_features(path: Path, features: dict[str, np.ndarray]) -> Path:
    """DUET-style HDF5: one (36, D) float32 dataset per "<scan>_<viewpoint>" key, written atomically."""
    import io

    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as fh:
        for key, value in features.items():
            fh.create_dataset(key, data=np.asarray(value, dtype=np.float32))
    return atomic_write_bytes(Path(path), buf.getvalue())


@loader("vlngen.features", suffix=".hdf5", doc="DUET-style HDF5 view features")
def read_features(path: Path) -> dict[str, np.ndarray]:
    """{"<scan>_<viewpoint>": (36, D)} from an HDF5 file."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as fh:
            out = {k: np.asarray(fh[k]) for k in fh.keys() if isinstance(fh[k], h5py.Dataset)}
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0]}); expected DUET view "
                        "features, one (36, D) dataset per <scan>_<viewpoint>") from None
    if not out:
        raise DataError(f"{path}: holds no datasets; expected one (36, D) dataset per <scan>_<viewpoint>")
    bad = [k for k, v in out.items() if v.ndim != 2 or v.shape[0] != 36]
    if bad:
        raise DataError(f"{path}: dataset {bad[0]} has shape {out[bad[0]].shape}; every dataset must be (36, D)")
    return out
