"""MoRe (arXiv 2412.11076): weakly supervised semantic segmentation with regularised class-patch attention.

Components: ``MultiTokenViT`` (multi-class-token ViT with CAM, LAM and a LargeFOV head),
``GraphCategoryRepresentation`` (GCR), the losses (``cle_loss``, ``une_loss``, ``distinct_loss``, ``ptc_loss``,
``seg_loss``), pure-PyTorch refinement (``PAR``, ``dense_energy_loss``, ``LocalCRF``), synthetic scenes
(``make_scenes``), VOC / COCO readers (``read_voc``, ``read_coco_instances``) and the segmentation metrics.
Importing the package loads torch but builds nothing.
"""

from .formats import read_coco_instances, read_mask_png, read_voc, voc_palette, write_palette_png
from .gcr import GraphCategoryRepresentation
from .losses import Reduce, cle_loss, distinct_loss, ptc_loss, seg_loss, une_loss
from .maps import cam_to_label, multi_scale_maps, refined_label
from .methods import METHODS, Method
from .metrics import confusion_matrix, iou_per_class, miou
from .model import MultiTokenViT, ViTConfig
from .refine import PAR, LocalCRF, dense_energy_loss
from .scenes import SceneSpec, make_scenes

__all__ = ["METHODS", "PAR", "GraphCategoryRepresentation", "LocalCRF", "Method", "MultiTokenViT", "Reduce",
           "SceneSpec", "ViTConfig", "cam_to_label", "cle_loss", "confusion_matrix", "dense_energy_loss",
           "distinct_loss", "iou_per_class", "make_scenes", "miou", "multi_scale_maps", "ptc_loss",
           "read_coco_instances", "read_mask_png", "read_voc", "refined_label", "seg_loss", "une_loss",
           "voc_palette", "write_palette_png"]
