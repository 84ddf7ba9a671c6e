"""Medical-aware face de-identification and its benchmark (MeMa, arXiv 2412.10804).

Components: the detectors and embeddings (`detect`), medical regions (`regions`), synthetic signs (`signs`),
the anonymisers (`anonymizers`), the paper's composition (`medaware.MedicalAware`), the photo pipeline
(`pipeline.Deidentifier`) and the benchmark metrics (`metrics`). Names load on first use, so importing the
package costs nothing until dlib or OpenCV is needed.
"""

from __future__ import annotations

from paperzoo.core.lazy import lazy_exports

_WHERE = {
    "Face": "detect", "Detector": "detect", "make_detector": "detect", "embed": "detect", "face_chip": "detect",
    "face_mask": "regions", "region_mask": "regions", "REGIONS": "regions", "SIGNS": "signs",
    "draw_sign": "signs", "Anonymizer": "anonymizers", "ANONYMIZERS": "anonymizers", "compose": "medaware",
    "MedicalAware": "medaware", "FaceNotAnonymized": "medaware", "Deidentifier": "pipeline",
    "read_image": "images", "write_image": "images", "model_file": "models",
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
