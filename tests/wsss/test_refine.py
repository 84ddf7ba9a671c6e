"""PAR, the CRF-like mean field and the dense energy loss: against per-pixel loops, constant inputs, edges."""

import numpy as np
import pytest
import torch

from paperzoo.wsss.refine import PAR, LocalCRF, bilateral_kernel, crf_loop, dense_energy_loss, par_loop


def test_par_equals_the_per_pixel_loop():
    g = torch.Generator().manual_seed(0)
    img, mask = torch.rand(1, 3, 9, 11, generator=g) * 255, torch.rand(1, 3, 9, 11, generator=g)
    par = PAR(dilations=(1, 2, 4), iters=3)
    got = par(img.double(), mask.double())[0].numpy()
    want = par_loop(par, img[0].double().numpy(), mask[0].double().numpy())
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_par_leaves_a_constant_mask_unchanged_on_any_image():
    img = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 255
    mask = torch.full((2, 4, 16, 16), 0.3)
    out = PAR(iters=5)(img, mask)
    # each pixel's weights sum to 1 + w2, so a constant map is scaled by (1 + w2) per iteration
    torch.testing.assert_close(out, mask * (1 + 0.01) ** 5)


def test_par_respects_an_image_edge():
    img = torch.zeros(1, 3, 16, 16)
    img[..., 8:] = 255.0  # black left half, white right half
    img += torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))  # a little texture
    mask = torch.zeros(1, 2, 16, 16)
    mask[0, 0, :, :6] = 1.0  # class 0 seeded only well inside the left half
    mask[0, 1, :, 10:] = 1.0
    out = PAR(dilations=(1, 2, 4), iters=10)(img, mask)
    left, right = out[0, :, :, :8], out[0, :, :, 8:]
    assert (left[0] > left[1]).all() and (right[1] > right[0]).all()  # labels do not cross the edge
    assert left[0, :, 7].min() > 10 * left[1, :, 7].max()


def test_local_crf_equals_the_per_pixel_loop_and_keeps_confident_labels():
    g = torch.Generator().manual_seed(3)
    img = torch.rand(1, 3, 7, 8, generator=g) * 255
    probs = torch.rand(1, 3, 7, 8, generator=g).softmax(1)
    crf = LocalCRF(iters=3, radius=2)
    np.testing.assert_allclose(crf(img.double(), probs.double())[0].numpy(),
                               crf_loop(crf, img[0].double().numpy(), probs[0].double().numpy()), atol=1e-12)
    sure = torch.zeros(1, 2, 8, 8)
    sure[0, 0, :, :4] = sure[0, 1, :, 4:] = 1.0
    sure = sure * 0.98 + 0.01
    img = torch.zeros(1, 3, 8, 8)
    img[..., 4:] = 255
    assert (LocalCRF(iters=5, radius=2)(img, sure).argmax(1) == sure.argmax(1)).all()


def test_bilateral_kernel_and_energy_value_and_gradient():
    g = torch.Generator().manual_seed(4)
    img = torch.rand(2, 3, 4, 4, generator=g) * 255
    k = bilateral_kernel(img, 15.0, 3.0)
    i, j = 1, 6  # pixels (0, 1) and (1, 2)
    d2 = ((0 - 1) ** 2 + (1 - 2) ** 2) / 9 + float(((img[0, :, 0, 1] - img[0, :, 1, 2]) ** 2).sum()) / 225
    assert float(k[0, i, j]) == pytest.approx(np.exp(-0.5 * d2), rel=1e-5)
    logits = torch.randn(2, 3, 4, 4, generator=g, requires_grad=True)
    pseudo = torch.randint(0, 3, (2, 4, 4), generator=g)
    pseudo[0, 0] = 255
    e = dense_energy_loss(img, logits, pseudo, sigma_rgb=15.0, sigma_xy=3.0, scale=1.0)
    s = logits.softmax(1).detach()
    gate = (1 - s.max(1).values).masked_fill(pseudo == 255, 1.0)
    for b in range(2):
        sb = s[b].flatten(1)
        ws = (k[b] @ sb.T).T * gate[b].flatten()
        assert float(e[b].detach()) == pytest.approx(float(-(sb * ws).sum()), rel=1e-5)
    # gradient w.r.t. the softmax output is the authors' -2 G (W S) / B
    prob = logits.softmax(1).detach().requires_grad_(True)
    from paperzoo.wsss.refine import _DenseEnergy, bilateral_features, bilateral_filter

    feats = bilateral_features(img, 15.0, 3.0)
    v = torch.rand(2, 3, 16, generator=g)
    torch.testing.assert_close(bilateral_filter(feats, v, chunk=5), torch.einsum("bij,bkj->bki", k, v))  # chunked
    ones = torch.ones(2, 4, 4)
    _DenseEnergy.apply(prob, feats, gate, ones).backward()
    ws = torch.einsum("bij,bkj->bki", k, prob.detach().flatten(2)).view_as(prob) * gate.unsqueeze(1)
    torch.testing.assert_close(prob.grad, -2 * ws / 2)
