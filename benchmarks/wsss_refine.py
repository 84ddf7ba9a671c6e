"""wsss: pure-PyTorch PAR and CRF-like refinement, images/s at 320x320, against per-pixel loops and pydensecrf.

The per-pixel loops (`par_loop`, `crf_loop`) compute the same thing one pixel at a time; they are timed on a
32x32 crop (their cost is linear in the pixel count) and extrapolated to 320x320, after checking on that crop
that the batched version gives the same output. pydensecrf (fully connected CRF, permutohedral lattice) is a
different approximation of the dense CRF: it is compared on speed, and on how often its labels agree.

    python benchmarks/wsss_refine.py
"""

from __future__ import annotations

import time

import numpy as np
import torch

from paperzoo.wsss.refine import PAR, LocalCRF, crf_loop, par_loop

SIZE, CROP, CLASSES, REPEATS = 320, 32, 21, 3


def scene(size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """An image with a few flat regions plus noise, and soft class scores that roughly follow them."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    region = ((yy // (size // 4)) + 2 * (xx // (size // 3))) % 5
    palette = torch.rand(5, 3, generator=g) * 255
    img = palette[region].permute(2, 0, 1)[None] + torch.randn(1, 3, size, size, generator=g) * 8
    logits = torch.randn(1, CLASSES, size, size, generator=g) * 0.5
    logits[0, region % CLASSES, yy, xx] += 1.5
    return img.double(), logits.softmax(1).double()


def timed(fn, repeats: int = REPEATS) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.set_num_threads(1)
    img, probs = scene(SIZE)
    crop_img, crop_probs = img[..., :CROP, :CROP].contiguous(), probs[..., :CROP, :CROP].contiguous()
    scale = (SIZE / CROP) ** 2
    print(f"refinement at {SIZE}x{SIZE}, {CLASSES} classes, 1 torch thread "
          f"(loops timed on {CROP}x{CROP}, x{scale:.0f})")

    crf = LocalCRF(iters=10, radius=5)
    t_crf = 0.0
    for label, fast, loop, repeats in (
            ("PAR (6 dilations, 10 iters)", PAR(), par_loop, REPEATS),
            ("CRF-like mean field (11x11 window, 10 iters)", crf, crf_loop, 1)):
        t_fast = timed(lambda f=fast: f(img, probs), repeats=repeats)
        check = fast(crop_img, crop_probs)[0].numpy()
        start = time.perf_counter()
        ref = loop(fast, crop_img[0].numpy(), crop_probs[0].numpy())
        t_loop = (time.perf_counter() - start) * scale
        print(f"{label}: torch {1 / t_fast:.2f} img/s, loop {1 / t_loop:.4f} img/s -> {t_loop / t_fast:.0f}x; "
              f"max |torch - loop| on the crop = {np.abs(check - ref).max():.1e}")
        t_crf = t_fast  # the last one is the CRF

    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_softmax
    except ImportError:
        print("pydensecrf: not installed (optional: pip install -c constraints.txt pydensecrf2)")
        return
    rgb = np.ascontiguousarray(img[0].permute(1, 2, 0).clamp(0, 255).numpy().astype(np.uint8))
    p = np.ascontiguousarray(probs[0].numpy().astype(np.float32))

    def dense() -> np.ndarray:
        d = dcrf.DenseCRF2D(SIZE, SIZE, CLASSES)
        d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(p)))
        d.addPairwiseGaussian(sxy=3, compat=3)
        d.addPairwiseBilateral(sxy=80, srgb=13, rgbim=rgb, compat=10)
        return np.array(d.inference(10)).reshape(CLASSES, SIZE, SIZE)

    t_dense = timed(dense, repeats=1)
    agree = float((dense().argmax(0) == crf(img, probs)[0].argmax(0).numpy()).mean())
    print(f"pydensecrf (fully connected, 10 iters): {1 / t_dense:.2f} img/s; ours / pydensecrf speed = "
          f"{t_dense / t_crf:.2f}x; label agreement {agree:.3f}")


if __name__ == "__main__":
    main()
