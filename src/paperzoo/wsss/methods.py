"""The five localisation methods the experiment compares, as small subclasses of one base class.

    cam       CAM of the classifier weights (the multi-token ViT trained without MoRe)
    lam       LAM = <class token, patch> of the same kind of model, without MoRe
    lam_gcr   LAM with Graph Category Representation (implicit regularisation)
    lam_lir   LAM with Localization-informed Regularisation (L_CLE + L_UNE, explicit)
    lam_more  LAM with both: MoRe

A method says whether its model has GCR, which map it localises with (and trains the segmentation head
from), and which extra regularisers it adds to the shared losses.
"""

from __future__ import annotations

from torch import Tensor

from .losses import Reduce, cle_loss, une_loss


class Method:
    name = "lam"
    label = "LAM"
    gcr = False

    def localisation(self, maps: dict[str, Tensor]) -> Tensor:
        """The normalised (B, K, H, W) map this method localises with."""
        return maps["lam"]

    def regularisers(self, out, cle_mask: Tensor, une_mask: Tensor, labels: Tensor, priority: Tensor, loss,
                     red: Reduce) -> dict[str, Tensor]:
        """Extra weighted loss terms {name: value}, already multiplied by their weights."""
        return {}


class CAMMethod(Method):
    name, label = "cam", "CAM"

    def localisation(self, maps: dict[str, Tensor]) -> Tensor:
        return maps["cam"]


class LAMMethod(Method):
    name, label = "lam", "LAM"


class LAMGCR(LAMMethod):
    name, label, gcr = "lam_gcr", "LAM + GCR", True


class LAMLIR(LAMMethod):
    name, label = "lam_lir", "LAM + LIR"

    def regularisers(self, out, cle_mask, une_mask, labels, priority, loss, red):
        cle = cle_loss(out.cls_tokens, out.patches, cle_mask, labels, loss.cle_temp, red)
        une = une_loss(out.cls_tokens, out.patches, une_mask, labels, priority, loss.une_select, loss.une_window,
                       loss.une_threshold, loss.une_anchor, red)
        return {"cle": loss.w_cle * cle, "une": loss.w_une * une}


class LAMMoRe(LAMLIR):
    name, label, gcr = "lam_more", "LAM + MoRe", True


METHODS: dict[str, Method] = {m.name: m for m in (CAMMethod(), LAMMethod(), LAMGCR(), LAMLIR(), LAMMoRe())}
