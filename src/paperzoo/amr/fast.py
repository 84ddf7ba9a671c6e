"""Faster inference paths for a trained LSTM, each a callable complex frames (N, L) -> logits (N, C) that computes
the same function as the eager module (the features stay in torch: ONNX has no complex tensors):

    eager:        logits = model(model.features(z))
    torchscript:  the module traced on (N, L / k, C k) features, frozen and optimised for inference
    onnxruntime:  the module exported to ONNX (opset 17, LSTM op) and run by ONNX Runtime on one thread

The weights stay in safetensors: both fast paths are built in memory from the loaded module at start-up.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch

from paperzoo.amr.model import AmpPhaseLSTM

Predict = Callable[[np.ndarray], np.ndarray]


def eager(model: AmpPhaseLSTM) -> Predict:
    model.eval()

    @torch.inference_mode()
    def run(frames: np.ndarray) -> np.ndarray:
        return model(model.features(frames)).numpy()
    return run


def torchscript(model: AmpPhaseLSTM, example: np.ndarray) -> Predict:
    model.eval()
    with torch.inference_mode():
        traced = torch.jit.trace(model, model.features(example))
    traced = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))

    @torch.inference_mode()
    def run(frames: np.ndarray) -> np.ndarray:
        return traced(model.features(frames)).numpy()
    return run


def onnxruntime(model: AmpPhaseLSTM, example: np.ndarray, threads: int = 1) -> Predict:
    """Needs the optional `onnx` and `onnxruntime` packages (extra `rf-bench`); ImportError otherwise."""
    import onnxruntime as ort

    model.eval()
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (model.features(example),), buf, input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}}, opset_version=17, dynamo=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])

    def run(frames: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = model.features(frames).numpy()
        return session.run(None, {"x": x})[0]
    return run
