"""ONNX export of a trained network and its onnxruntime session.

The exported graph takes ``windows`` (batch, window, features) float32 and returns the
network's raw ``outputs`` (logits, or the scaled regression value) and its penultimate
``representation``; the estimator applies the softmax and the un-scaling itself, so
torch and onnxruntime share the same post-processing.
"""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np

from trademl.errors import TradeMLError

__all__ = ["ONNX_TOLERANCE", "OnnxRunner", "export_onnx"]

logger = logging.getLogger(__name__)

# largest |onnxruntime - torch| accepted on the network's outputs at export
ONNX_TOLERANCE = 1e-5


def export_onnx(network, window: int, n_features: int, sample: np.ndarray) -> bytes:
    """The network as ONNX bytes, checked against torch on ``sample`` windows."""
    import torch

    network = network.to("cpu").eval()
    example = torch.zeros(2, window, n_features, dtype=torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer warnings are not actionable
        torch.onnx.export(
            network,
            (example,),
            buffer,
            input_names=["windows"],
            output_names=["outputs", "representation"],
            dynamic_axes={
                "windows": {0: "batch"},
                "outputs": {0: "batch"},
                "representation": {0: "batch"},
            },  # fmt: skip
            opset_version=17,
            dynamo=False,
        )
    blob = buffer.getvalue()
    with torch.no_grad():
        expected = network(torch.from_numpy(sample))[0].numpy()
    got = OnnxRunner(blob).run(sample)[0]
    worst = float(np.max(np.abs(got - expected))) if len(sample) else 0.0
    if not worst <= ONNX_TOLERANCE:
        raise TradeMLError(
            f"ONNX export differs from torch by {worst:.2e} (> {ONNX_TOLERANCE:g}); "
            "set onnx=false to serve the torch network"
        )
    logger.debug("ONNX export: %d bytes, max |onnx - torch| = %.2e", len(blob), worst)
    return blob


class OnnxRunner:
    """An onnxruntime session over exported bytes, single-threaded by default."""

    def __init__(self, blob: bytes, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            blob, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def run(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outputs, representation = self.session.run(
            None, {"windows": np.ascontiguousarray(windows, dtype=np.float32)}
        )
        return outputs, representation
