"""Synthetic scenes, CAM thresholds -> pseudo-labels, PAR-refined labels, and the model's CAM / LAM."""

import math

import numpy as np
import torch

from paperzoo.wsss.maps import cam_to_label, minmax, multi_scale_maps, refined_label
from paperzoo.wsss.model import MultiTokenViT, ViTConfig, normalise
from paperzoo.wsss.refine import PAR
from paperzoo.wsss.scenes import CLASSES, HOME, SceneSpec, make_scenes


def test_scenes_are_deterministic_and_labels_match_masks():
    spec = SceneSpec(size=48, n_classes=4, min_visible=10)
    a, b = make_scenes(spec, 12, 3), make_scenes(spec, 12, 3)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, make_scenes(spec, 12, 4).images)
    for mask, lab in zip(a.masks, a.labels, strict=True):
        present = {int(v) - 1 for v in np.unique(mask) if 0 < v < 255}
        assert present == set(np.nonzero(lab)[0].tolist())
    assert a.labels.sum(1).min() >= 1 and a.images.dtype == np.uint8


def test_objects_mostly_sit_on_their_home_background():
    """The co-occurrence that causes artifacts: the pixels around a boat are mostly water-blue."""
    from paperzoo.wsss import scenes

    rng = np.random.default_rng(0)
    spec = SceneSpec(size=64, n_classes=5, co_occurrence=1.0, max_objects=1)
    homes = []
    for _ in range(40):
        regions, kinds = scenes._region_layout(spec, [HOME[CLASSES[0]]], rng)
        homes.append(kinds[0] == "water")
    assert np.mean(homes) == 1.0
    spec0 = SceneSpec(size=64, n_classes=5, co_occurrence=0.0, max_objects=1)
    homes0 = [scenes._region_layout(spec0, ["water"], rng)[1][0] == "water" for _ in range(200)]
    assert np.mean(homes0) < 0.35


def test_cam_thresholds_give_class_ignore_and_background():
    cam = torch.zeros(1, 2, 1, 4)
    cam[0, 0, 0] = torch.tensor([0.9, 0.5, 0.1, 0.0])
    cam[0, 1, 0] = torch.tensor([0.0, 0.0, 0.0, 0.95])
    labels = torch.tensor([[1.0, 0.0]])  # class 1 is absent: its map is ignored
    assert cam_to_label(cam, labels, high=0.7, low=0.25).tolist() == [[[1, 255, 0, 0]]]
    assert cam_to_label(cam, torch.tensor([[1.0, 1.0]]), bkg=0.5).tolist() == [[[1, 0, 0, 2]]]
    m = minmax(torch.tensor([[[[2.0, 4.0, 6.0]]]]))
    assert torch.allclose(m, torch.tensor([[[[0.0, 0.5, 1.0]]]]), atol=1e-4)


def test_refined_label_keeps_confident_regions_and_marks_the_rest_uncertain():
    img = torch.zeros(1, 3, 16, 16)
    img[..., 8:] = 255.0
    cam = torch.zeros(1, 1, 16, 16)
    cam[..., 9:] = 1.0  # confident object on the right
    cam[..., 8] = 0.5  # an uncertain column
    lab = refined_label(PAR(dilations=(1, 2), iters=5), img, cam, torch.tensor([[1.0]]), high=0.7, low=0.25)
    assert (lab[0, :, 10:] == 1).all() and (lab[0, :, :6] == 0).all()


def test_lam_is_the_raw_dot_product_and_multiscale_maps_are_normalised():
    torch.manual_seed(0)
    cfg = ViTConfig(image_size=32, patch=8, dim=16, depth=3, heads=2, n_classes=3, gcr=True, decoder_dim=8)
    model = MultiTokenViT(cfg).eval()
    x = normalise(torch.randint(0, 255, (2, 32, 32, 3), dtype=torch.uint8))
    out = model(x)
    assert out.logits.shape == (2, 3) and out.seg.shape == (2, 4, 4, 4) and out.cls_tokens.shape == (2, 3, 16)
    cam, _, lam, _ = model.maps(x)
    want = (out.patches[:, None] * out.cls_tokens[:, :, :, None, None]).sum(2)
    torch.testing.assert_close(lam, want)
    torch.testing.assert_close(out.token_logits, want.flatten(2).amax(-1) / math.sqrt(16))
    torch.testing.assert_close(cam, torch.einsum("bdhw,kd->bkhw", out.patches, model.classifier.weight[:, :, 0, 0]))
    maps = multi_scale_maps(model, x, (1.0, 0.5))
    for k in ("cam", "cam_aux", "lam"):
        assert maps[k].shape == (2, 3, 32, 32)
        assert float(maps[k].amin()) >= 0 and float(maps[k].amax()) <= 1.0
    assert model(normalise(torch.zeros(1, 48, 48, 3))).patches.shape == (1, 16, 6, 6)  # other sizes: resized positions
