"""The multi-task rankers (shared-bottom and MMoE) as ONNX graphs run by onnxruntime, compared with
numpy inference (bench/bench_ranking.py) and serving. Optional: needs the `onnx` and `onnxruntime`
packages (extra `onnx`).

Serving uses it when onnxruntime is installed (RankingSettings.backend "auto"; measured faster
than numpy, see README 'Ranking stack'), numpy otherwise. The graph is built straight from the
exported weights, so no torch is needed to produce it; `onnx_model` is also what training/export.py
writes next to `ranker.npz` as `ranker.onnx`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from reelrank.ranking.ranker_model import MMoERanker, MultiTaskRanker, Ranker, RankerBundle, head_dict


def _shared_bottom(ranker: MultiTaskRanker, helper: Any, nh: Any) -> tuple[list[Any], list[Any]]:
    inits, nodes, h = [], [], "h0"
    for i, (w, b) in enumerate(ranker.layers):
        inits += [nh.from_array(w, f"w{i}"), nh.from_array(b, f"b{i}")]
        nodes += [helper.make_node("Gemm", [h, f"w{i}", f"b{i}"], [f"g{i}"]),
                  helper.make_node("Relu", [f"g{i}"], [f"h{i + 1}"])]
        h = f"h{i + 1}"
    inits += [nh.from_array(ranker.head_w, "hw"), nh.from_array(ranker.head_b, "hb")]
    nodes += [helper.make_node("Gemm", [h, "hw", "hb"], ["logits"])]
    return inits, nodes


def _mmoe(ranker: MMoERanker, helper: Any, nh: Any) -> tuple[list[Any], list[Any]]:
    """Experts as one batched MatMul per layer ((E, N, D) @ (E, D, D')), gates as one Gemm + Softmax."""
    e, t = ranker.n_experts, ranker.head_b.shape[0]
    inits = [nh.from_array(np.asarray([0], np.int64), "ax0"),
             nh.from_array(np.asarray([0, t, e], np.int64), "g_shape"), nh.from_array(np.asarray([2], np.int64), "ax2"),
             nh.from_array(ranker.gate_w, "gw"), nh.from_array(ranker.gate_b, "gb"),
             nh.from_array(ranker.head_w, "hw"), nh.from_array(ranker.head_b, "hb")]
    nodes = [helper.make_node("Unsqueeze", ["h0", "ax0"], ["e0"])]  # (1, N, F): broadcast over experts
    h = "e0"
    for i, (w, b) in enumerate(ranker.experts):
        inits += [nh.from_array(w, f"ew{i}"), nh.from_array(b[:, None, :], f"eb{i}")]  # (E, D, D'), (E, 1, D')
        nodes += [helper.make_node("MatMul", [h, f"ew{i}"], [f"em{i}"]),
                  helper.make_node("Add", [f"em{i}", f"eb{i}"], [f"ea{i}"]),
                  helper.make_node("Relu", [f"ea{i}"], [f"e{i + 1}"])]
        h = f"e{i + 1}"
    nodes += [helper.make_node("Transpose", [h], ["experts"], perm=[1, 0, 2]),  # (N, E, H)
              helper.make_node("Gemm", ["h0", "gw", "gb"], ["gl"]),  # (N, T * E)
              helper.make_node("Reshape", ["gl", "g_shape"], ["gl3"]),  # (N, T, E)
              helper.make_node("Softmax", ["gl3"], ["gate"], axis=2),
              helper.make_node("MatMul", ["gate", "experts"], ["mix"]),  # (N, T, H)
              helper.make_node("Mul", ["mix", "hw"], ["mw"]),
              helper.make_node("ReduceSum", ["mw", "ax2"], ["ms"], keepdims=0),  # (N, T)
              helper.make_node("Add", ["ms", "hb"], ["logits"])]
    return inits, nodes


def onnx_model(ranker: Ranker) -> Any:
    """The ranker as an ONNX ModelProto: input x (N, F) float32 -> output p (N, T) probabilities."""
    import onnx
    from onnx import TensorProto, helper
    from onnx import numpy_helper as nh

    inits = [nh.from_array(ranker.mean, "mean"), nh.from_array(ranker.std, "std")]
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"]), helper.make_node("Div", ["c", "std"], ["h0"])]
    body = _mmoe(ranker, helper, nh) if isinstance(ranker, MMoERanker) else _shared_bottom(ranker, helper, nh)
    inits += body[0]
    nodes += [*body[1], helper.make_node("Sigmoid", ["logits"], ["p"])]
    f, t = ranker.mean.shape[0], ranker.head_b.shape[0]
    graph = helper.make_graph(nodes, ranker.arch, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, f])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, t])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def onnx_predictor(ranker: Ranker, threads: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """x (N, F) float32 -> (N, T) probabilities, through onnxruntime."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle pool threads must not spin: on a 2-core box they would take CPU from the request threads.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    sess = ort.InferenceSession(onnx_model(ranker).SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = sess.run(["p"], {"x": x})[0]
        return out

    return run


class OnnxRanker:
    """MultiTaskRanker / MMoERanker .predict through onnxruntime (same outputs, same head names)."""

    def __init__(self, ranker: Ranker, threads: int = 1) -> None:
        self.arch = ranker.arch
        self._run = onnx_predictor(ranker, threads)

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return head_dict(self._run(np.ascontiguousarray(x, dtype=np.float32)))  # (N, T)


def with_onnx(bundle: RankerBundle) -> RankerBundle:
    """The bundle with its ranker on onnxruntime when that is installed; unchanged otherwise."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return bundle
    assert isinstance(bundle.ranker, MultiTaskRanker | MMoERanker)
    return dataclasses.replace(bundle, ranker=OnnxRanker(bundle.ranker))
