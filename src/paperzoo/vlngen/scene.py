"""Procedural indoor scenes on a navigation graph: a grid of textured rooms joined by doors, furniture boxes,
and viewpoints connected where a person can walk straight from one to the other (Matterport's `unobstructed`).

A scene is axis-aligned boxes: the shell (floor, ceiling, outer walls; seen from inside), interior wall segments
with door gaps, and furniture. Surfaces carry procedural textures (plain, checker tiles, wallpaper stripes, wood
planks); each room has its own floor and wall material, each piece of furniture a named colour, which template
instructions refer to ("walk to the green sofa").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# the colours instructions name (sRGB in [0, 1]); the speaker stand-in names the nearest of these
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.80, 0.12, 0.10), "orange": (0.95, 0.50, 0.08), "yellow": (0.92, 0.85, 0.15),
    "green": (0.15, 0.62, 0.20), "teal": (0.05, 0.55, 0.55), "blue": (0.12, 0.25, 0.85),
    "purple": (0.50, 0.18, 0.65), "pink": (0.95, 0.50, 0.70), "white": (0.93, 0.93, 0.90),
    "black": (0.08, 0.08, 0.09), "brown": (0.45, 0.28, 0.12), "gray": (0.50, 0.50, 0.52),
}
# furniture kinds: (name, footprint ranges (sx, sy) in metres, height range)
FURNITURE = (
    ("table", (0.8, 1.6), (0.6, 1.0), (0.70, 0.80)),
    ("cabinet", (0.5, 1.0), (0.4, 0.6), (1.2, 2.0)),
    ("sofa", (1.6, 2.2), (0.8, 0.9), (0.75, 0.85)),
    ("bed", (1.4, 1.8), (1.9, 2.1), (0.45, 0.60)),
    ("shelf", (0.9, 1.4), (0.3, 0.4), (1.6, 2.1)),
)
PATTERNS = ("plain", "checker", "stripes", "planks")
FLOOR, WALL, CEILING = 0, 1, 2


@dataclass(frozen=True)
class Material:
    """Two colours mixed by a procedural pattern with a period of `scale` metres."""

    colour: tuple[float, float, float]
    colour2: tuple[float, float, float]
    pattern: int
    scale: float


@dataclass
class Furniture:
    kind: str
    colour: str
    lo: np.ndarray
    hi: np.ndarray
    room: int

    @property
    def centre(self) -> np.ndarray:
        return (self.lo + self.hi) / 2


@dataclass
class SceneSpec:
    """Knobs of the generator (the experiment's `scene.*` config maps onto these)."""

    rooms_x: int = 2
    rooms_y: int = 2
    room_size: float = 5.0
    wall_height: float = 2.8
    furniture_per_room: int = 2
    node_spacing: float = 1.7
    edge_length: float = 2.5
    camera_height: float = 1.5
    door_width: float = 1.2


@dataclass
class Scene:
    """Boxes, materials, furniture and the navigation graph of one scene (`scan` in Matterport terms)."""

    scan: str
    spec: SceneSpec
    shell_lo: np.ndarray
    shell_hi: np.ndarray
    box_lo: np.ndarray  # (M, 3) solids: interior walls, then furniture
    box_hi: np.ndarray
    box_material: np.ndarray  # (M,) material index, -1 = the room's structural material
    box_object: np.ndarray  # (M,) furniture index, -1 for walls
    materials: list[Material]
    room_materials: np.ndarray  # (n_rooms, 3): floor, wall, ceiling material of each room
    furniture: list[Furniture]
    doors: list[tuple[float, float, int]] = field(default_factory=list)  # (x, y, axis normal to the wall)
    nodes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (N, 3) camera positions
    node_ids: list[str] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def n_rooms(self) -> int:
        return self.spec.rooms_x * self.spec.rooms_y

    def room_of(self, xy: np.ndarray) -> np.ndarray:
        """Room index of points (..., >=2) by their x, y."""
        s = self.spec
        ix = np.clip(np.floor(xy[..., 0] / s.room_size), 0, s.rooms_x - 1).astype(int)
        iy = np.clip(np.floor(xy[..., 1] / s.room_size), 0, s.rooms_y - 1).astype(int)
        return iy * s.rooms_x + ix

    def adjacency(self) -> list[list[int]]:
        adj: list[list[int]] = [[] for _ in range(len(self.nodes))]
        for a, b in self.edges:
            adj[a].append(b)
            adj[b].append(a)
        return [sorted(n) for n in adj]


def _random_material(rng: np.random.Generator, kind: int) -> Material:
    hue_base = rng.uniform(0, 1)
    c1 = _hsv(hue_base, rng.uniform(0.15, 0.6), rng.uniform(0.45, 0.9))
    c2 = _hsv((hue_base + rng.uniform(-0.1, 0.1)) % 1, rng.uniform(0.1, 0.6), rng.uniform(0.3, 0.8))
    pattern = int(rng.choice([0, 1, 3]) if kind == FLOOR else rng.choice([0, 2]) if kind == WALL else 0)
    scale = float(rng.uniform(0.3, 0.7) if pattern else 0.25)
    return Material(c1, c2, pattern, scale)


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return tuple(float(c) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]


def _walls_with_doors(spec: SceneSpec, rng: np.random.Generator) -> tuple[list, list, list]:
    """Interior wall boxes between grid rooms; a random spanning tree of doors plus every other door w.p. 1/2."""
    nx, ny, L, th, H = spec.rooms_x, spec.rooms_y, spec.room_size, 0.1, spec.wall_height
    pairs = [((x, y), (x + 1, y)) for x in range(nx - 1) for y in range(ny)]
    pairs += [((x, y), (x, y + 1)) for x in range(nx) for y in range(ny - 1)]
    order = rng.permutation(len(pairs))
    parent = {(x, y): (x, y) for x in range(nx) for y in range(ny)}

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    doors = set()
    for k in order:  # Kruskal on a random order: every room reachable
        a, b = pairs[k]
        if find(a) != find(b):
            parent[find(a)] = find(b)
            doors.add(k)
        elif rng.random() < 0.5:
            doors.add(k)
    lo, hi, centres = [], [], []
    for k, (a, b) in enumerate(pairs):
        vertical = a[1] == b[1]  # rooms side by side in x: the wall runs along y at x = (a.x+1) L
        c = (a[0] + 1) * L if vertical else (a[1] + 1) * L
        start = (a[1] if vertical else a[0]) * L
        segments = [(start, start + L)]
        if k in doors:
            mid = start + rng.uniform(1.2, L - 1.2)
            segments = [(start, mid - spec.door_width / 2), (mid + spec.door_width / 2, start + L)]
            centres.append((c, mid, 0) if vertical else (mid, c, 1))  # (x, y, axis the wall is normal to)
        for s0, s1 in segments:
            if vertical:
                lo.append(np.array([c - th / 2, s0, 0.0]))
                hi.append(np.array([c + th / 2, s1, H]))
            else:
                lo.append(np.array([s0, c - th / 2, 0.0]))
                hi.append(np.array([s1, c + th / 2, H]))
    return lo, hi, centres


def _place_furniture(spec: SceneSpec, rng: np.random.Generator, room: int, taken: list[tuple]) -> Furniture | None:
    L = spec.room_size
    x0, y0 = (room % spec.rooms_x) * L, (room // spec.rooms_x) * L
    for _ in range(40):
        kind, (ax, bx), (ay, by), (ah, bh) = FURNITURE[rng.integers(len(FURNITURE))]
        sx, sy, h = rng.uniform(ax, bx), rng.uniform(ay, by), rng.uniform(ah, bh)
        if rng.random() < 0.5:
            sx, sy = sy, sx
        cx, cy = x0 + rng.uniform(0.35 + sx / 2, L - 0.35 - sx / 2), y0 + rng.uniform(0.35 + sy / 2, L - 0.35 - sy / 2)
        rect = (cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2)
        if all(rect[2] + 0.7 < r[0] or r[2] + 0.7 < rect[0] or rect[3] + 0.7 < r[1] or r[3] + 0.7 < rect[1]
               for r in taken):
            taken.append(rect)
            colour = list(COLOURS)[rng.integers(len(COLOURS))]
            return Furniture(kind, colour, np.array([rect[0], rect[1], 0.0]), np.array([rect[2], rect[3], h]), room)
    return None


def make_scene(scan: str, spec: SceneSpec, seed: int) -> Scene:
    """A random scene: rooms, doors, furniture and its navigation graph (deterministic in `seed`)."""
    rng = np.random.default_rng(seed)
    n_rooms = spec.rooms_x * spec.rooms_y
    materials: list[Material] = []
    room_materials = np.zeros((n_rooms, 3), dtype=int)
    for r in range(n_rooms):
        for kind in (FLOOR, WALL, CEILING):
            room_materials[r, kind] = len(materials)
            materials.append(_random_material(rng, kind))
    wall_lo, wall_hi, doors = _walls_with_doors(spec, rng)
    furniture: list[Furniture] = []
    for room in range(n_rooms):
        taken: list[tuple] = [(x - 0.6, y - 0.6, x + 0.6, y + 0.6) for x, y, _ in doors]  # keep doorways free
        for _ in range(spec.furniture_per_room):
            item = _place_furniture(spec, rng, room, taken)
            if item is not None:
                furniture.append(item)
    box_material = [-1] * len(wall_lo)
    for item in furniture:
        box_material.append(len(materials))
        base = COLOURS[item.colour]
        materials.append(Material(base, tuple(0.8 * c for c in base), int(rng.choice([0, 2])), 0.15))
    scene = Scene(
        scan=scan, spec=spec, shell_lo=np.zeros(3),
        shell_hi=np.array([spec.rooms_x * spec.room_size, spec.rooms_y * spec.room_size, spec.wall_height]),
        box_lo=np.array(wall_lo + [f.lo for f in furniture]).reshape(-1, 3),
        box_hi=np.array(wall_hi + [f.hi for f in furniture]).reshape(-1, 3),
        box_material=np.array(box_material), box_object=np.array([-1] * len(wall_lo) + list(range(len(furniture)))),
        materials=materials, room_materials=room_materials, furniture=furniture, doors=doors,
    )
    build_graph(scene, rng)
    return scene


def _segment_hits_rect(p: np.ndarray, q: np.ndarray, rect: np.ndarray) -> bool:
    """Whether the 2-D segment p-q meets the axis-aligned rectangle (x0, y0, x1, y1) (Liang-Barsky clipping)."""
    d = q - p
    t0, t1 = 0.0, 1.0
    for axis in (0, 1):
        for bound, sign in ((rect[axis], -1.0), (rect[axis + 2], 1.0)):
            num, den = sign * (bound - p[axis]), sign * d[axis]
            if den == 0:
                if num < 0:
                    return False
                continue
            t = num / den
            if den < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return t0 <= t1


def build_graph(scene: Scene, rng: np.random.Generator) -> None:
    """Viewpoints on a jittered grid in free space (and in every door), edges where the straight walk is free."""
    s = scene.spec
    margin = 0.5
    obstacles = [np.array([lo[0] - 0.2, lo[1] - 0.2, hi[0] + 0.2, hi[1] + 0.2])
                 for lo, hi in zip(scene.box_lo, scene.box_hi, strict=True)]
    points = []
    for room in range(scene.n_rooms):
        x0, y0 = (room % s.rooms_x) * s.room_size, (room // s.rooms_x) * s.room_size
        n = max(1, int((s.room_size - 2 * margin) // s.node_spacing) + 1)
        offs = np.linspace(margin, s.room_size - margin, n) if n > 1 else np.array([s.room_size / 2])
        for gx in offs:
            for gy in offs:
                points.append(np.array([x0 + gx, y0 + gy]) + rng.uniform(-0.2, 0.2, 2))
    for x, y, axis in scene.doors:  # the door, and a step before and after it
        for off in (-0.8, 0.0, 0.8):
            points.append(np.array([x + off * (axis == 0), y + off * (axis == 1)]))
    free = [p for p in points if not any(o[0] <= p[0] <= o[2] and o[1] <= p[1] <= o[3] for o in obstacles)]
    nodes = np.array([[p[0], p[1], s.camera_height] for p in free])
    edges = []
    for a in range(len(nodes)):
        for b in range(a + 1, len(nodes)):
            pa, pb = nodes[a, :2], nodes[b, :2]
            if np.linalg.norm(pa - pb) <= s.edge_length and not any(_segment_hits_rect(pa, pb, o) for o in obstacles):
                edges.append((a, b))
    keep = _largest_component(len(nodes), edges)
    remap = {old: new for new, old in enumerate(keep)}
    scene.nodes = nodes[keep]
    scene.edges = [(remap[a], remap[b]) for a, b in edges if a in remap and b in remap]
    scene.node_ids = [f"{scene.scan}_{i:03d}" for i in range(len(keep))]


def _largest_component(n: int, edges: list[tuple[int, int]]) -> list[int]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return []
    a = np.array(edges, dtype=int).reshape(-1, 2)
    m = coo_matrix((np.ones(len(a)), (a[:, 0], a[:, 1])), shape=(n, n))
    _, labels = connected_components(m, directed=False)
    big = np.bincount(labels).argmax()
    return [i for i in range(n) if labels[i] == big]


def edge_heading(scene: Scene, a: int, b: int) -> float:
    """Simulator heading from viewpoint a to viewpoint b."""
    d = scene.nodes[b] - scene.nodes[a]
    return math.atan2(d[0], d[1]) % (2 * math.pi)
