"""Cost of feature capture: forward hooks (paperzoo.distill.FeatureCapture) vs output_hidden_states +
output_attentions, on the MiniLM-L6 teacher (CPU). Run: python benchmarks/distill_capture.py"""

import time

import torch

from paperzoo.distill.hooks import FeatureCapture, qkv_paths
from paperzoo.distill.models import load_encoder, minilm_dir


def bench(fn, repeats=5):
    fn()
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]


def main():
    model = load_encoder(minilm_dir()).eval()
    ids = torch.randint(1000, 20000, (32, 128))
    mask = torch.ones_like(ids)
    paths = ["encoder.layer.2", "encoder.layer.5", *qkv_paths(model, 2), *qkv_paths(model, 5)]

    def plain():
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask)

    def hooks():
        with torch.no_grad(), FeatureCapture(model, paths, detach=True):
            model(input_ids=ids, attention_mask=mask)

    def outputs():
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)

    for name, fn in [("plain forward", plain), ("hooks (2 layers + q/k/v)", hooks),
                     ("output_hidden_states+attentions", outputs)]:
        print(f"{name:35s} {1000 * bench(fn):8.1f} ms / batch of 32x128")


if __name__ == "__main__":
    main()
