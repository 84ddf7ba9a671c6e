"""The generative models WCGEN calls, behind one small interface, and the classical stand-ins used offline.

WCGEN uses BLIP-2 (caption), DPT-MiDaS (depth), SDXL + depth ControlNet (text-to-image, img2img) and
SDXL-inpainting. No such weights exist offline, so `Generator` below names the calls and `RestyleGenerator`
implements them classically. A stand-in can only change appearance, not layout: it "imagines" a view by
re-styling the renderer's view of the true scene (the `hint`; the authors' code likewise fills holes with the
real target view), so what the consistency metrics measure is whether appearance agrees across views:

    style  S(x) = clip(x A + b)                        (an affine colour transform, A 3x3, b 3)
    text2img(prompt, depth, hint)      = S_z(hint),  z ~ the prompt's palette + fresh randomness
    inpaint(img, mask, prompt, depth, hint): fit (A, b) = argmin sum_known |hint A + b - img|^2 + lam |A - I|^2,
                                         fill the mask with S_(A+dA, b+db)(hint), (dA, db) ~ N(0, jitter^2)
                                         (without a hint: OpenCV Telea inpainting, a geometry-free fill)
    img2img(img, strength)             = (1 - s) img + s S_z(img),  z fresh: s -> 1 forgets the input
    caption(img, mask)                 = the named colour nearest to the mean of the masked pixels
    depth(img, true_depth)             = true metric depth ("gt"), or the authors' recipe on relative depth

To plug in diffusion models, subclass `Generator` and override the calls (see docs/vlngen.md).
"""

from __future__ import annotations

import numpy as np

from .scene import COLOURS


class Generator:
    """What WCGEN needs from its generative models. Images are float (H, W, 3) in [0, 1], depth (H, W) metres."""

    name = "abstract"

    def caption(self, img: np.ndarray, mask: np.ndarray | None = None) -> str:
        raise NotImplementedError

    def depth(self, img: np.ndarray, true_depth: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def text2img(self, prompt: str, depth: np.ndarray, hint: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def img2img(self, img: np.ndarray, prompt: str, depth: np.ndarray, strength: float,
                rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def inpaint(self, img: np.ndarray, mask: np.ndarray, prompt: str, depth: np.ndarray, hint: np.ndarray | None,
                rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


def nearest_colour(rgb: np.ndarray) -> str:
    names = list(COLOURS)
    table = np.array([COLOURS[n] for n in names])
    return names[int(np.argmin(((table - np.asarray(rgb)[None]) ** 2).sum(1)))]


def apply_style(img: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip(img @ A + b, 0.0, 1.0).astype(img.dtype)


def random_style(rng: np.random.Generator, strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A random appearance change: hue rotation about the grey axis, saturation and brightness gains, a tint."""
    theta = rng.uniform(-np.pi, np.pi) * strength
    axis = np.ones(3) / np.sqrt(3)
    Kx = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rot = np.eye(3) + np.sin(theta) * Kx + (1 - np.cos(theta)) * Kx @ Kx
    sat = 1 + strength * rng.uniform(-0.4, 0.4)
    grey = np.full((3, 3), 1 / 3)
    A = (grey + sat * (np.eye(3) - grey)) @ rot * (1 + strength * rng.uniform(-0.25, 0.15))
    b = strength * rng.uniform(-0.08, 0.08, 3)
    return A.T, b  # row-vector convention: x A + b


class RestyleGenerator(Generator):
    """Classical stand-in: every generated image is a colour re-styling of the true view (see module docstring).

    `jitter`: std of the random perturbation each call adds (a diffusion model never repeats itself exactly);
    `depth_model`: "gt" (the renderer's metric depth) or "authors" (relative inverse depth, normalised per
    view and scaled so the farthest radial depth is 4 m, as the authors do with DPT-MiDaS output).
    """

    name = "restyle"

    def __init__(self, jitter: float = 0.02, depth_model: str = "gt", ridge: float = 1e-2) -> None:
        if depth_model not in ("gt", "authors"):
            raise ValueError(f"depth_model must be 'gt' or 'authors', got {depth_model!r}")
        self.jitter, self.depth_model, self.ridge = jitter, depth_model, ridge

    def caption(self, img: np.ndarray, mask: np.ndarray | None = None) -> str:
        pixels = img[mask] if mask is not None and mask.any() else img.reshape(-1, 3)
        return nearest_colour(pixels.mean(axis=0))

    def depth(self, img: np.ndarray, true_depth: np.ndarray | None = None) -> np.ndarray:
        if true_depth is None:
            raise ValueError("the restyle stand-in estimates no depth from pixels: pass the renderer's depth")
        if self.depth_model == "gt":
            return true_depth
        inv = 1.0 / np.maximum(true_depth, 1e-3)  # what a relative-depth network predicts, up to scale and shift
        inv = (inv - inv.min()) / max(float(inv.max() - inv.min()), 1e-9)
        depth = 1.0 / np.maximum(inv, 1e-2)
        return depth * (4.0 / depth.max())

    def text2img(self, prompt: str, depth: np.ndarray, hint: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        if hint is None:
            raise ValueError("the restyle stand-in needs a hint image (the renderer's view) to imagine from")
        return apply_style(hint, *random_style(rng))

    def img2img(self, img: np.ndarray, prompt: str, depth: np.ndarray, strength: float,
                rng: np.random.Generator) -> np.ndarray:
        if strength <= 0:
            return img
        return ((1 - strength) * img + strength * apply_style(img, *random_style(rng))).astype(img.dtype)

    def inpaint(self, img: np.ndarray, mask: np.ndarray, prompt: str, depth: np.ndarray, hint: np.ndarray | None,
                rng: np.random.Generator) -> np.ndarray:
        if not mask.any():
            return img
        if hint is None:
            return opencv_inpaint(img, mask)
        known = ~mask
        if known.sum() < 16:  # nothing to match: imagine freely
            A, b = random_style(rng)
        else:
            A, b = fit_style(hint[known], img[known], self.ridge)
        A = A + rng.normal(0, self.jitter, (3, 3))
        b = b + rng.normal(0, self.jitter, 3)
        out = img.copy()
        out[mask] = apply_style(hint[mask], A, b)
        return out


def fit_style(src: np.ndarray, dst: np.ndarray, ridge: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares affine colour map dst ~ src A + b (src, dst: (N, 3)), ridge-pulled towards the identity."""
    X = np.concatenate([src, np.ones((len(src), 1))], axis=1).astype(float)
    prior = np.concatenate([np.eye(3), np.zeros((1, 3))])
    lam = ridge * len(src) * np.diag([1, 1, 1, 0.0])
    M = np.linalg.solve(X.T @ X + lam, X.T @ dst + lam @ prior)
    return M[:3], M[3]


def opencv_inpaint(img: np.ndarray, mask: np.ndarray, radius: int = 3) -> np.ndarray:
    """OpenCV's Telea inpainting of the masked pixels (needs opencv-python-headless: the `vlngen` extra)."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("OpenCV inpainting needs opencv-python-headless: pip install -e '.[vlngen]'") from exc
    u8 = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    out = cv2.inpaint(u8, mask.astype(np.uint8), radius, cv2.INPAINT_TELEA)
    return (out.astype(np.float32) / 255).astype(img.dtype)
