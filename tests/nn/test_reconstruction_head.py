"""Graph.trace's reconstruction head: MSE against the input (or a given target image), no
probabilities or prediction, the reconstruction and its error map; the input gradient, every
node's delta and every parameter gradient against central finite differences; and the
classification head unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import Conv2d, ConvTranspose2d, Graph, Sigmoid, Tanh
from app.nn.losses import mse_loss
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient
from tests.nn.test_graph import run_graph

F64 = np.float64


def tiny_autoencoder(rng) -> Graph:
    """2x6x6 -> conv stride 2 (3x3x3) -> tanh -> deconv k3 s2 (2x6x6) -> sigmoid."""
    return Graph([
        ("conv", Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=F64)),
        ("tanh", Tanh()),
        ("deconv", ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, rng=rng,
                                   dtype=F64)),
        ("sigmoid", Sigmoid()),
    ])


def summed_mse(output, target) -> float:
    """Each item's own loss, summed: the trace's deltas are per item, not of the batch mean."""
    return mse_loss(output, target)[0] * output.shape[0]


@pytest.mark.parametrize("given_target", [False, True], ids=["input", "target"])
def test_reconstruction_trace_gradients_match_finite_differences(given_target):
    rng = np.random.default_rng(3)
    graph = tiny_autoencoder(rng)
    x = rng.uniform(0, 1, (2, 2, 6, 6))
    target = rng.uniform(0, 1, x.shape) if given_target else None
    trace = graph.trace(x, target, head="reconstruction")

    # The target is a constant, even when it is the input (as torch's detached target): the
    # input gradient is the one through the network.
    t = x.copy() if target is None else target
    numeric = numerical_gradient(lambda v: summed_mse(run_graph(graph, v), t), x.copy())
    assert_gradients_close({"input": trace.input_grad}, {"input": numeric})
    before = [node.output for node in trace.layers]
    for i, node in enumerate(trace.layers):
        numeric = numerical_gradient(
            lambda h, i=i: summed_mse(run_graph(graph, x, (i, h), before), t), node.output.copy()
        )
        assert_gradients_close({"delta": node.grad_output}, {"delta": numeric}, context=node.name)
        numeric = {key: numerical_gradient(lambda _: summed_mse(run_graph(graph, x), t), p)
                   for key, p in graph.layers[i].params.items()}
        assert_gradients_close(node.grads, numeric, context=node.name)


def test_reconstruction_trace_has_the_reconstruction_error_map_and_no_probabilities():
    rng = np.random.default_rng(4)
    graph = tiny_autoencoder(rng)
    x = rng.uniform(0, 1, (1, 2, 6, 6))
    trace = graph.trace(x, head="reconstruction")
    assert trace.head == "reconstruction"
    assert trace.probabilities is None and trace.prediction is None
    np.testing.assert_array_equal(trace.reconstruction, trace.layers[-1].output)
    np.testing.assert_array_equal(trace.target, x)
    assert trace.error_map.shape == x.shape
    np.testing.assert_allclose(trace.error_map, (trace.reconstruction - x) ** 2, rtol=1e-15)
    assert trace.loss == pytest.approx(trace.error_map.mean(), rel=1e-12)
    # The output's delta is dL/dy = 2 (y - x) / (pixels of one item).
    np.testing.assert_allclose(trace.layers[-1].grad_output,
                               2 * (trace.reconstruction - x) / x[0].size, rtol=1e-12)


def test_a_classification_trace_keeps_its_fields_and_has_no_reconstruction():
    rng = np.random.default_rng(5)
    from app.nn import Flatten, Linear
    graph = Graph([Flatten(), Linear(4, 3, rng=rng, dtype=F64)])
    x = rng.standard_normal((2, 1, 2, 2))
    trace = graph.trace(x, [0, 2])
    assert trace.head == "classification"
    assert trace.probabilities.shape == (2, 3) and trace.prediction.shape == (2,)
    assert trace.reconstruction is None and trace.error_map is None
    np.testing.assert_array_equal(trace.target, [0, 2])


def test_reconstruction_head_refuses_a_target_of_another_shape_and_an_unknown_head():
    rng = np.random.default_rng(6)
    graph = tiny_autoencoder(rng)
    x = rng.uniform(0, 1, (1, 2, 6, 6))
    with pytest.raises(ValueError, match="reconstruction target must have the output's shape"):
        graph.trace(x, np.zeros((1, 2, 5, 5)), head="reconstruction")
    with pytest.raises(ValueError, match="head must be one of"):
        graph.trace(x, head="regression")
