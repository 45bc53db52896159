"""The multi-task ranker as an ONNX graph run by onnxruntime, compared with numpy inference
(bench/bench_ranking.py) and serving. Optional: needs the `onnx` and `onnxruntime` packages (extra `onnx`).

Serving uses it when onnxruntime is installed (RankingSettings.backend "auto"; measured faster
than numpy, see README 'Ranking stack'), numpy otherwise. The graph is built straight from the
exported weights, so no torch is needed to produce it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from reelrank.labels.labeller import HEADS
from reelrank.ranking.ranker_model import MultiTaskRanker, RankerBundle


def onnx_predictor(ranker: MultiTaskRanker, threads: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """x (N, F) float32 -> (N, T) probabilities, through onnxruntime."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(ranker.mean, "mean"), numpy_helper.from_array(ranker.std, "std")]
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"]), helper.make_node("Div", ["c", "std"], ["h0"])]
    h = "h0"
    for i, (w, b) in enumerate(ranker.layers):
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [helper.make_node("Gemm", [h, f"w{i}", f"b{i}"], [f"g{i}"]),
                  helper.make_node("Relu", [f"g{i}"], [f"h{i + 1}"])]
        h = f"h{i + 1}"
    inits += [numpy_helper.from_array(ranker.head_w, "hw"), numpy_helper.from_array(ranker.head_b, "hb")]
    nodes += [helper.make_node("Gemm", [h, "hw", "hb"], ["logits"]), helper.make_node("Sigmoid", ["logits"], ["p"])]
    f, t = ranker.mean.shape[0], ranker.head_b.shape[0]
    graph = helper.make_graph(nodes, "ranker", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, f])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, t])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = sess.run(["p"], {"x": x})[0]
        return out

    return run


class OnnxRanker:
    """MultiTaskRanker.predict through onnxruntime (same outputs, same head names)."""

    def __init__(self, ranker: MultiTaskRanker, threads: int = 1) -> None:
        self._run = onnx_predictor(ranker, threads)

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        p = self._run(np.ascontiguousarray(x, dtype=np.float32))  # (N, T)
        out = {name: p[:, i] for i, name in enumerate(HEADS)}
        out["watch"] = p[:, len(HEADS)]
        return out


def with_onnx(bundle: RankerBundle) -> RankerBundle:
    """The bundle with its ranker on onnxruntime when that is installed; unchanged otherwise."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return bundle
    assert isinstance(bundle.ranker, MultiTaskRanker)
    return dataclasses.replace(bundle, ranker=OnnxRanker(bundle.ranker))
