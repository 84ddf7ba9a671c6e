"""The 50-joint upper-body skeleton of the Progressive Transformers (PT) data, and forward kinematics on it.

Joint order (PT): 0 head, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left shoulder/elbow/wrist, 8-28 left
hand, 29-49 right hand (21 joints each: wrist, then thumb, index, middle, ring, pinky with 4 joints per finger,
base to tip). As in PT's plotting the hands hang off the elbows (3 -> 29, 6 -> 8): the hand's wrist joint
coincides with the arm's wrist joint. Coordinates are in PT's stored units (the 3-D lifted joints divided by
3), x to the signer's left, y down (image convention), z towards the camera; the neck is the origin.

Forward kinematics. Every joint j except the neck ends one bone parent(j) -> j with a rest offset o_j (length
times direction, in the rest pose) and a rotation R_j (Euler angles, applied at the parent joint). Rotations
compose down each chain:

    G_neck = I,   G_j = G_parent(j) R_j,   p_neck = 0,   p_j = p_parent(j) + G_j o_j

so |p_j - p_parent(j)| = |o_j| exactly: bones never stretch, whatever the angles.
Shapes: angles (T, 50, 3) radians (row 1, the neck, is ignored) -> positions (T, 50, 3).
"""

from __future__ import annotations

import numpy as np

N_JOINTS = 50
N_VALUES = 3 * N_JOINTS  # joint values per frame in a .skels line; the counter follows
HEAD, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = range(8)
L_HAND, R_HAND = 8, 29  # wrist joint of each 21-joint hand
FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def _hand_parents(wrist: int, elbow: int) -> dict[int, int]:
    parents = {wrist: elbow}
    for f in range(5):
        base = wrist + 1 + 4 * f
        parents[base] = wrist
        for k in range(1, 4):
            parents[base + k] = base + k - 1
    return parents


PARENT: dict[int, int] = {HEAD: NECK, R_SHOULDER: NECK, R_ELBOW: R_SHOULDER, R_WRIST: R_ELBOW,
                          L_SHOULDER: NECK, L_ELBOW: L_SHOULDER, L_WRIST: L_ELBOW,
                          **_hand_parents(L_HAND, L_ELBOW), **_hand_parents(R_HAND, R_ELBOW)}
ORDER = sorted(PARENT)  # parents always have smaller indices: a topological order
BONES: list[tuple[int, int]] = [(PARENT[j], j) for j in ORDER]
assert all(PARENT[j] < j or PARENT[j] == NECK for j in ORDER)


def _rest_offsets() -> np.ndarray:
    """o_j for every joint (row of the neck is 0): a relaxed pose, arms hanging, left/right mirror images."""
    o = np.zeros((N_JOINTS, 3))
    o[HEAD] = (0.0, -0.17, 0.0)
    upper, fore = 0.21, 0.19
    for side, shoulder, elbow, wrist, hand in ((-1, R_SHOULDER, R_ELBOW, R_WRIST, R_HAND),
                                               (1, L_SHOULDER, L_ELBOW, L_WRIST, L_HAND)):
        o[shoulder] = (side * 0.125, 0.01, 0.0)
        o[elbow] = (0.0, upper, 0.0)
        o[wrist] = (0.0, fore, 0.0)
        o[hand] = (0.0, fore, 0.0)  # the hand's wrist coincides with the arm's wrist
        # metacarpals fan out from the wrist; phalanges continue along the metacarpal's direction
        spread = np.array([-0.9, -0.25, 0.0, 0.22, 0.45])  # thumb .. pinky, radians from the forearm axis
        meta_len = np.array([0.022, 0.030, 0.030, 0.028, 0.026])
        phal_len = np.array([[0.018, 0.014, 0.012], [0.016, 0.011, 0.009], [0.018, 0.012, 0.010],
                             [0.017, 0.011, 0.009], [0.013, 0.009, 0.008]])
        for f in range(5):
            base = hand + 1 + 4 * f
            direction = np.array([-side * np.sin(spread[f]), np.cos(spread[f]), 0.0])
            o[base] = meta_len[f] * direction
            for k in range(3):
                o[base + 1 + k] = phal_len[f, k] * direction
    return o


REST_OFFSETS = _rest_offsets()
BONE_LENGTHS = np.linalg.norm(REST_OFFSETS[[j for _, j in BONES]], axis=1)


def rotation_matrices(angles: np.ndarray) -> np.ndarray:
    """R = Rz(c) Ry(b) Rx(a) for angles (..., 3) = (a, b, c) -> (..., 3, 3)."""
    a, b, c = angles[..., 0], angles[..., 1], angles[..., 2]
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    r = np.empty(angles.shape[:-1] + (3, 3))
    r[..., 0, 0] = cc * cb
    r[..., 0, 1] = cc * sb * sa - sc * ca
    r[..., 0, 2] = cc * sb * ca + sc * sa
    r[..., 1, 0] = sc * cb
    r[..., 1, 1] = sc * sb * sa + cc * ca
    r[..., 1, 2] = sc * sb * ca - cc * sa
    r[..., 2, 0] = -sb
    r[..., 2, 1] = cb * sa
    r[..., 2, 2] = cb * ca
    return r


def forward_kinematics(angles: np.ndarray, scale: float | np.ndarray = 1.0) -> np.ndarray:
    """Joint positions (T, 50, 3) from joint rotations (T, 50, 3); `scale` multiplies every bone length."""
    angles = np.asarray(angles, dtype=float)
    if angles.ndim != 3 or angles.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"angles must have shape (T, {N_JOINTS}, 3), got {angles.shape}")
    rot = rotation_matrices(angles)
    frames = angles.shape[0]
    glob = np.empty((frames, N_JOINTS, 3, 3))
    glob[:, NECK] = np.eye(3)
    pos = np.zeros((frames, N_JOINTS, 3))
    offsets = REST_OFFSETS * scale
    for j in ORDER:
        p = PARENT[j]
        glob[:, j] = glob[:, p] @ rot[:, j]
        pos[:, j] = pos[:, p] + glob[:, j] @ offsets[j]
    return pos


def bone_lengths(positions: np.ndarray) -> np.ndarray:
    """|p_j - p_parent(j)| per frame and bone: (T, 50, 3) or (T, 150) -> (T, 49)."""
    p = np.asarray(positions).reshape(len(positions), N_JOINTS, 3)
    child = [j for _, j in BONES]
    parent = [i for i, _ in BONES]
    return np.linalg.norm(p[:, child] - p[:, parent], axis=-1)
