"""paperzoo.vlngen: WCGEN (arXiv 2412.06413), world-consistent panorama generation for vision-and-language
navigation, on procedural indoor scenes with a vectorised renderer, plus the downstream navigation agent.

Components load on first use, so `import paperzoo.vlngen` stays light.
"""

from __future__ import annotations

from paperzoo.core.lazy import lazy_exports

_WHERE = {
    "Camera": "camera", "assemble_equirect": "camera", "view_index": "camera", "view_angles": "camera",
    "Scene": "scene", "SceneSpec": "scene", "make_scene": "scene", "BoxRenderer": "render", "Views": "render",
    "warp": "warp", "rotate_view": "warp", "Warped": "warp", "Generator": "generators",
    "RestyleGenerator": "generators", "WCGen": "wcgen", "AuthorsWCGen": "wcgen", "IndependentGen": "wcgen",
    "MODES": "wcgen", "episode_metrics": "metrics", "reprojection_error": "metrics", "seam_error": "metrics",
    "NavAgent": "agent", "Graph": "formats", "read_connectivity": "formats", "read_r2r": "formats",
    "read_trajectories": "formats", "read_features": "formats",
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
