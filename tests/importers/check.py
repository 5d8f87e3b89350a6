"""The importer's two proofs for a model: every graph node's output against onnx's own
ReferenceEvaluator (an independent NumPy implementation of the spec), and the imported graph's
backward against central finite differences in float64."""

from __future__ import annotations

import numpy as np
from onnx.reference import ReferenceEvaluator

from app.importers import import_onnx
from app.nn import INPUT
from tests.floats import assert_equal_up_to_rounding
from tests.nn.gradcheck import EPS, assert_gradients_close, numerical_gradient

REL = 1e-5
# Central differences through a whole network: the score sums many terms, so its float64
# rounding (~1e-16 of their magnitude, divided by 2 eps) reaches ~1e-7; a gradient bug is O(1).
GRAPH_RTOL, GRAPH_ATOL = 1e-5, 1e-6


def outputs_by_node(graph, x):
    """Every graph node's output for x, by node name."""
    _, _, outputs = graph._forward(x, keep=True)
    return dict(zip(graph.names, outputs, strict=True))


def check_against_reference(model, x: np.ndarray, **limits):
    """Import `model`, run it and the reference on x, and compare every node that stands for
    an ONNX tensor (and the head, when there is one). -> (graph, card)."""
    graph, card = import_onnx(model.SerializeToString(), **limits)
    reference = ReferenceEvaluator(model).run(None, {"x": x}, intermediate=True)
    ours = outputs_by_node(graph, x)
    compared = 0
    for layer in card["layers"]:
        tensor = layer["onnx"]["output"]
        if tensor:
            assert_equal_up_to_rounding(ours[layer["name"]], reference[tensor], rel=REL,
                                        err_msg=f"node {layer['name']} ({tensor})")
            compared += 1
    assert compared, "no node was compared"
    final = ours[graph.output]
    want = reference[model.graph.output[0].name]
    if card["head"]:
        shifted = final.astype(np.float64) - final.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        final = log_p if card["head"]["op"] == "LogSoftmax" else np.exp(log_p)
    assert_equal_up_to_rounding(final, want, rel=REL, err_msg="model output")
    return graph, card


def check_backward(graph, x: np.ndarray, sample: int | None = None, seed: int = 0) -> None:
    """d<graph(x), g>/d(input, parameters) against central differences, in float64: every
    input element, and every parameter element (or `sample` of each parameter's, at random)."""
    rng = np.random.default_rng(seed)
    net = graph.astype(np.float64)
    x = x.astype(np.float64)
    y, caches = net.forward(x)
    upstream = rng.standard_normal(y.shape)
    dx, grads = net.backward(upstream, caches)

    def score(_=None):
        return float((net.forward(x)[0] * upstream).sum())

    analytic, numeric = {INPUT: dx}, {INPUT: numerical_gradient(score, x)}
    for name, layer, grad in zip(net.names, net.layers, grads, strict=True):
        for key, value in layer.params.items():
            if sample is None:
                analytic[f"{name}.{key}"] = grad[key]
                numeric[f"{name}.{key}"] = numerical_gradient(score, value)
                continue
            flat = value.reshape(-1)
            for i in rng.choice(flat.size, size=min(sample, flat.size), replace=False):
                original = flat[i]
                flat[i] = original + EPS
                plus = score()
                flat[i] = original - EPS
                minus = score()
                flat[i] = original
                numeric[f"{name}.{key}[{i}]"] = np.array((plus - minus) / (2 * EPS))
                analytic[f"{name}.{key}[{i}]"] = grad[key].reshape(-1)[i]
    assert_gradients_close(analytic, numeric, rtol=GRAPH_RTOL, atol=GRAPH_ATOL,
                           context="imported graph")
