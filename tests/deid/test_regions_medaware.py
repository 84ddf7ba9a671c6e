"""ROI masks from known landmarks; the composition keeps the ROI bit for bit and changes the rest."""

import numpy as np
import pytest

from paperzoo.core.errors import UserError
from paperzoo.deid.anonymizers import ANONYMIZERS, Blur, MaskOut, Pixelate, Swap
from paperzoo.deid.medaware import FaceNotAnonymized, MedicalAware, compose, soft_keep
from paperzoo.deid.regions import REGIONS, face_mask, parse_regions, region_mask

SHAPE = (200, 200, 3)


def _inside(mask, pts):
    return all(mask[int(round(y)), int(round(x))] for x, y in pts)


def test_periocular_holds_eyes_and_brows_but_not_mouth_or_nose_tip(template_face):
    m = region_mask(SHAPE, template_face, ("periocular",))
    p = template_face.points
    assert _inside(m, p[36:48]) and _inside(m, p[17:27])
    assert not m[int(p[51, 1]), int(p[51, 0])] and not m[int(p[33, 1]), int(p[33, 0])]
    # two separate blobs, the nose bridge between the eyes is not kept
    assert not m[88, 100]


def test_lips_nose_cheeks_and_skin_masks(template_face):
    p = template_face.points
    lips = region_mask(SHAPE, template_face, ("lips",))
    assert _inside(lips, p[48:60]) and not lips[88, 70]
    nose = region_mask(SHAPE, template_face, ("nose",))
    assert _inside(nose, p[27:36]) and not nose[150, 100]
    cheeks = region_mask(SHAPE, template_face, ("cheeks",))
    assert cheeks[125, 55] and cheeks[125, 145] and not cheeks[125, 100]
    skin = region_mask(SHAPE, template_face, ("skin",))
    assert skin[125, 55] and not skin[88, 70] and not skin[150, 100]


def test_every_region_lies_inside_the_face_mask(template_face):
    face = face_mask(SHAPE, template_face)
    assert face[52, 100], "the forehead above the brows belongs to the face mask"
    for name in REGIONS:
        m = region_mask(SHAPE, template_face, (name,))
        assert m.any(), name
        assert (m & ~face).sum() <= 0.05 * m.sum(), name


def test_five_point_regions_are_ellipses_around_the_points(template_face):
    from paperzoo.deid.detect import Face

    p = template_face.points
    five = np.array([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])
    f5 = Face(template_face.box, 1.0, "centerface", points5=five)
    peri = region_mask(SHAPE, f5, ("periocular",))
    assert _inside(peri, five[:2]) and not _inside(peri, five[3:4])
    lips = region_mask(SHAPE, f5, ("lips",))
    assert lips[150, 100] and not lips[88, 70]


def test_unknown_region_names_are_user_errors(template_face):
    with pytest.raises(UserError, match="valid: periocular"):
        parse_regions("periocular,ears")
    assert parse_regions("none") == () and parse_regions("eyes, lips") == ("eyes", "lips")


def _photo():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, SHAPE, dtype=np.uint8)


@pytest.mark.parametrize("blend", ["feather", "poisson"])
@pytest.mark.parametrize("method", ["blur", "pixelate", "mask", "inpaint"])
def test_composition_keeps_roi_pixels_exactly_and_changes_outside(template_face, method, blend):
    x = _photo()
    composer = MedicalAware(ANONYMIZERS[method](), keep=("periocular", "lips"), blend=blend)
    y = composer.apply(x, [template_face])
    m_face, m_med = composer.masks(SHAPE, template_face)
    assert np.array_equal(y[m_med], x[m_med])
    # beyond the feather ramp, the anonymised part of the face differs from the original nearly everywhere
    from scipy.ndimage import binary_dilation

    far = m_face & ~binary_dilation(m_med, iterations=int(composer.feather * template_face.width) + 2)
    changed = np.any(y != x, axis=2)
    assert changed[far].mean() > 0.9
    assert np.array_equal(y[~m_face], x[~m_face]), "pixels outside the face are untouched"


def test_whole_face_scope_changes_the_roi_too(template_face):
    x = _photo()
    y = MedicalAware(Blur(), keep=()).apply(x, [template_face])
    roi = region_mask(SHAPE, template_face, ("periocular",))
    assert np.any(y[roi] != x[roi], axis=1).mean() > 0.9


def test_compose_formula_on_constant_images():
    x = np.full((20, 20, 3), 200, np.uint8)
    a = np.full((20, 20, 3), 0, np.uint8)
    roi = np.zeros((20, 20), bool)
    roi[5:10, 5:10] = True
    face = np.ones((20, 20), bool)
    y = compose(x, a, roi, face, feather_px=4)
    m = soft_keep(roi, 4)
    assert np.array_equal(y[roi], x[roi]) and m[roi].min() == 1.0
    expected = np.round(m * 200.0).astype(np.uint8)
    assert np.array_equal(y[..., 0], expected)  # y = M x + (1 - M) A with A = 0
    assert y[0, 0, 0] == 0 and 0 < y[5, 11, 0] < 200


def test_a_kept_region_too_large_is_refused(template_face):
    with pytest.raises(FaceNotAnonymized, match="covers"):
        MedicalAware(Blur(), keep=("skin", "periocular", "lips", "nose"), max_keep=0.5).apply(_photo(),
                                                                                         [template_face])


def test_anonymisers_leave_pixels_outside_the_mask_alone(template_face):
    x = _photo()
    m = face_mask(SHAPE, template_face)
    for anon in (Blur(), Pixelate(), MaskOut(), ANONYMIZERS["inpaint"]()):
        y = anon.anonymize(x, m, template_face)
        assert np.array_equal(y[~m], x[~m]), anon.name
        assert np.any(y[m] != x[m], axis=1).mean() > 0.9, anon.name
    mask = MaskOut().anonymize(x, m, template_face)
    assert np.all(mask[m] == 128)
    half = MaskOut(level=0.5).anonymize(x, m, template_face)
    assert np.allclose(half[m].astype(float), (x[m].astype(float) + 128) / 2, atol=1)


def test_pixelate_is_blockwise_constant_and_blur_smooths(template_face):
    x = _photo()
    m = np.ones(SHAPE[:2], bool)
    blur = Blur().anonymize(x, m, template_face)
    assert blur.astype(float).std() < 0.3 * x.astype(float).std()
    pix = Pixelate().anonymize(x, m, template_face)
    assert len(np.unique(pix.reshape(-1, 3), axis=0)) < 0.02 * m.sum()


def test_swap_warps_donor_faces_and_needs_donors(template_face):
    x = _photo()
    donor = np.full(SHAPE, (200, 150, 120), np.uint8)
    m = face_mask(SHAPE, template_face)
    y = Swap([(donor, template_face.points)], k=1).anonymize(x, m, template_face)
    assert y[m].std(axis=0).max() < x[m].std(axis=0).max()  # the flat donor replaced the noisy face
    with pytest.raises(UserError, match="donor"):
        Swap([], k=1).anonymize(x, m, template_face)


def test_generative_hook_calls_the_user_inpainter(template_face):
    from paperzoo.deid.anonymizers import Generative, load_inpainter

    calls = []

    def paint(rgb, mask):
        calls.append(mask.sum())
        return np.zeros_like(rgb)

    x = _photo()
    y = MedicalAware(Generative(paint), keep=("lips",)).apply(x, [template_face])
    assert calls and y[face_mask(SHAPE, template_face) & ~region_mask(SHAPE, template_face, ("lips",))].max() <= 200
    with pytest.raises(UserError, match="needs an in-painter"):
        Generative(None)
    assert callable(load_inpainter("numpy:zeros_like"))
    with pytest.raises(UserError, match="package.module:function"):
        load_inpainter("no_colon")
