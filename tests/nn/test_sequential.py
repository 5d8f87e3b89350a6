"""Sequential: the trace's deltas and input gradient against finite differences of the loss,
layer names, thread safety, spec round trip, and a loss that goes down under SGD."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.nn import (
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    dump_params,
    from_spec,
    load_params,
    softmax_cross_entropy,
    to_spec,
)
from tests.floats import assert_equal_up_to_rounding
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient


def small_net(dtype=np.float64, rng=0) -> Sequential:
    """conv -> max pool -> relu -> conv -> tanh -> avg pool -> flatten -> linear, on 1x8x7.

    ReLU comes after max pooling (the same function) so that no pooling window holds tied
    zeros, where a finite difference would split what the exact gradient gives one winner."""
    rng = np.random.default_rng(rng)
    return Sequential(
        [
            Conv2d(1, 3, 3, padding=1, rng=rng, dtype=dtype),
            MaxPool2d(2, ceil_mode=True),  # 8x7 -> 4x4
            ReLU(),
            Conv2d(3, 2, (2, 3), padding=(0, 1), rng=rng, dtype=dtype),  # -> 3x4
            Tanh(),
            AvgPool2d(2, stride=1),  # -> 2x3
            Flatten(),
            Linear(2 * 2 * 3, 4, rng=rng, dtype=dtype),
        ]
    )


def summed_loss(logits: np.ndarray, targets: np.ndarray) -> float:
    """The loss whose gradients the trace reports: each item's own cross-entropy, summed."""
    return softmax_cross_entropy(logits, targets)[0] * logits.shape[0]


def run_from(net: Sequential, start: int, h: np.ndarray) -> np.ndarray:
    for layer in net.layers[start:]:
        h, _ = layer.forward(h)
    return h


@pytest.fixture(scope="module")
def traced():
    net = small_net()
    x = np.random.default_rng(1).standard_normal((3, 1, 8, 7))
    targets = np.array([0, 3, 1])
    return net, x, targets, net.trace(x, targets)


def test_trace_input_grad_matches_finite_differences_of_the_loss(traced):
    net, x, targets, trace = traced
    numeric = numerical_gradient(lambda v: summed_loss(net.predict(v), targets), x.copy())
    assert_gradients_close({"input": trace.input_grad}, {"input": numeric})


def test_trace_deltas_match_finite_differences_of_the_loss(traced):
    """grad_output of layer i is dL/d(output of layer i): perturb that output, run the rest."""
    net, _, targets, trace = traced
    for i, layer_trace in enumerate(trace.layers):
        output = layer_trace.output.copy()
        numeric = numerical_gradient(
            lambda h, i=i: summed_loss(run_from(net, i + 1, h), targets), output
        )
        assert_gradients_close(
            {"delta": layer_trace.grad_output}, {"delta": numeric}, context=layer_trace.name
        )


def test_trace_parameter_grads_match_finite_differences_of_the_loss(traced):
    net, x, targets, trace = traced
    for layer, layer_trace in zip(net.layers, trace.layers, strict=True):
        numeric = {
            key: numerical_gradient(lambda _: summed_loss(net.predict(x), targets), param)
            for key, param in layer.params.items()
        }
        assert_gradients_close(layer_trace.grads, numeric, context=layer_trace.name)


def test_trace_records_every_layer_of_the_pass(traced):
    net, x, targets, trace = traced
    assert [t.name for t in trace.layers] == net.names
    assert [t.kind for t in trace.layers] == [layer.kind for layer in net.layers]
    shape = x.shape
    for layer_trace, layer, (in_shape, out_shape) in zip(
        trace.layers, net.layers, net.shapes(x.shape), strict=True
    ):
        assert layer_trace.input_shape == shape == in_shape
        assert layer_trace.output_shape == layer_trace.output.shape == out_shape
        assert layer_trace.grad_output.shape == layer_trace.output.shape
        assert layer_trace.config == layer.config()
        assert layer_trace.params.keys() == layer_trace.grads.keys() == layer.params.keys()
        shape = out_shape
    np.testing.assert_array_equal(trace.layers[-1].output, trace.logits)
    loss, _, probs = softmax_cross_entropy(trace.logits, targets)
    assert trace.loss == loss
    np.testing.assert_allclose(trace.probabilities, probs)
    np.testing.assert_array_equal(trace.target, targets)
    np.testing.assert_array_equal(trace.prediction, trace.logits.argmax(axis=1))
    # Pool indices: the max pool's winners, only for max pooling.
    pool = trace.layers[1]
    _, (indices, _) = net.layers[1].forward(trace.layers[0].output)
    np.testing.assert_array_equal(pool.pool_indices, indices)
    assert all(t.pool_indices is None for i, t in enumerate(trace.layers) if i != 1)


def test_each_items_trace_is_the_same_alone_or_in_a_batch(traced):
    """Deltas are each item's own loss gradient, not diluted by the batch size."""
    net, x, targets, trace = traced
    alone = net.trace(x[1:2], targets[1:2])
    np.testing.assert_allclose(alone.input_grad, trace.input_grad[1:2], rtol=1e-12, atol=1e-15)
    for a, b in zip(alone.layers, trace.layers, strict=True):
        np.testing.assert_allclose(a.grad_output, b.grad_output[1:2], rtol=1e-12, atol=1e-15)


def test_trace_defaults_its_target_to_the_prediction():
    net = small_net()
    x = np.random.default_rng(2).standard_normal((2, 1, 8, 7))
    trace = net.trace(x)
    np.testing.assert_array_equal(trace.target, trace.prediction)
    assert trace.loss == softmax_cross_entropy(trace.logits, trace.prediction)[0]


def test_trace_of_a_network_without_logits_is_refused():
    net = Sequential([Conv2d(1, 1, 3, rng=0)])
    with pytest.raises(ValueError, match="logits"):
        net.trace(np.zeros((1, 1, 5, 5), dtype=np.float32))


def test_backward_of_forward_equals_the_trace_gradients():
    net = small_net()
    x = np.random.default_rng(3).standard_normal((2, 1, 8, 7))
    targets = np.array([2, 0])
    logits, caches = net.forward(x)
    _, dlogits, _ = softmax_cross_entropy(logits, targets)
    dx, grads = net.backward(dlogits, caches)
    trace = net.trace(x, targets)
    # forward/backward use the batch-mean loss; the trace the per-item sum (N times larger).
    np.testing.assert_allclose(dx * 2, trace.input_grad, rtol=1e-12)
    for g, layer_trace in zip(grads, trace.layers, strict=True):
        for key in g:
            np.testing.assert_allclose(g[key] * 2, layer_trace.grads[key], rtol=1e-12)


# Names


def test_default_names_count_each_short_kind():
    net = Sequential(
        [Conv2d(1, 2, 3, rng=0), ReLU(), MaxPool2d(2), Conv2d(2, 2, 3, rng=0), ReLU(),
         AvgPool2d(2), ConvTranspose2d(2, 2, 2, rng=0), Sigmoid(), Tanh(), Flatten(),
         Linear(8, 4, rng=0), ReLU(), Linear(4, 2, rng=0)]
    )
    assert net.names == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "deconv1", "sigmoid1",
        "tanh1", "flatten1", "fc1", "relu3", "fc2",
    ]
    assert [name for name, _ in net] == net.names and len(net) == 13


def test_given_names_are_kept_and_the_others_defaulted():
    net = Sequential([("features", Conv2d(1, 2, 3, rng=0)), ReLU(), ("head", Flatten())])
    assert net.names == ["features", "relu1", "head"]


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="unique"):
        Sequential([("a", ReLU()), ("a", Tanh())])
    with pytest.raises(ValueError, match="unique"):
        Sequential([("relu1", Tanh()), ReLU()])  # the default would clash


def test_parameter_count_sums_the_layers():
    net = small_net()
    assert net.parameter_count == (3 * 1 * 9 + 3) + (2 * 3 * 6 + 2) + (4 * 12 + 4)


# Concurrency


def test_one_network_traced_from_many_threads_gives_the_sequential_results():
    net = small_net(np.float32)
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal((4, 1, 8, 7)).astype(np.float32) for _ in range(24)]
    targets = [rng.integers(0, 4, size=4) for _ in range(24)]
    expected = [net.trace(x, t) for x, t in zip(inputs, targets, strict=True)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(net.trace, inputs, targets))
    # Threads may share BLAS differently than one caller: equal up to rounding on any kernel.
    for want, got in zip(expected, results, strict=True):
        assert got.loss == pytest.approx(want.loss, rel=1e-5)
        assert_equal_up_to_rounding(got.input_grad, want.input_grad)
        for a, b in zip(got.layers, want.layers, strict=True):
            assert_equal_up_to_rounding(a.output, b.output)
            assert_equal_up_to_rounding(a.grad_output, b.grad_output)
            for key in a.grads:
                assert_equal_up_to_rounding(a.grads[key], b.grads[key])


def test_tracing_does_not_change_the_parameters():
    net = small_net()
    before = {k: v.copy() for k, v in dump_params(net).items()}
    net.trace(np.random.default_rng(5).standard_normal((2, 1, 8, 7)), [0, 1])
    after = dump_params(net)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


# Specs


def test_spec_round_trip_rebuilds_the_same_network_through_json_and_npz():
    net = Sequential(
        [Conv2d(1, 2, (3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1), rng=0),
         ReLU(), MaxPool2d(2, stride=1, padding=1, ceil_mode=True),
         ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1, bias=False, rng=0),
         AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
         ("squash", Sigmoid()), Tanh(), Flatten(), Linear(2 * 9 * 8, 3, rng=0)]
    )
    spec = json.loads(json.dumps(to_spec(net)))
    assert [entry["kind"] for entry in spec] == [layer.kind for layer in net.layers]
    assert [entry["name"] for entry in spec] == net.names
    rebuilt = from_spec(spec, rng=123)
    assert to_spec(rebuilt) == spec
    buffer = io.BytesIO()
    np.savez(buffer, **dump_params(net))
    buffer.seek(0)
    with np.load(buffer) as arrays:
        load_params(rebuilt, dict(arrays))
    assert set(dump_params(net)) == {
        "conv1.weight", "conv1.bias", "deconv1.weight", "fc1.weight", "fc1.bias"
    }
    x = np.random.default_rng(6).standard_normal((2, 1, 9, 12)).astype(np.float32)
    assert_equal_up_to_rounding(rebuilt.predict(x), net.predict(x))


def test_from_spec_is_seeded_and_builds_float64_on_request():
    spec = to_spec(small_net())
    a, b = from_spec(spec, rng=7), from_spec(spec, rng=7)
    for key, value in dump_params(a).items():
        np.testing.assert_array_equal(value, dump_params(b)[key])
        assert value.dtype == np.float32
    wide = from_spec(spec, dtype=np.float64)
    assert all(v.dtype == np.float64 for v in dump_params(wide).values())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([{"kind": "conv3d", "in_channels": 1}], "unknown kind"),
        ([{"name": "x"}], "unknown kind"),
        ([{"kind": "relu", "bogus": 1}], "layer 0"),
        ([{"kind": "conv2d", "in_channels": 1, "out_channels": 1}], "layer 0"),
        ([{"kind": "conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 0}],
         "kernel_size"),
    ],
)
def test_bad_specs_are_refused_with_value_error(spec, message):
    with pytest.raises(ValueError, match=message):
        from_spec(spec)


def test_load_params_refuses_missing_or_misshapen_arrays():
    net = small_net(np.float32)
    params = dump_params(net)
    missing = {k: v for k, v in params.items() if k != "fc1.bias"}
    with pytest.raises(ValueError, match="missing parameter fc1.bias"):
        load_params(net, missing)
    with pytest.raises(ValueError, match="conv1.weight: shape"):
        load_params(net, {**params, "conv1.weight": np.zeros((3, 1, 2, 2))})


def test_load_params_keeps_the_networks_dtype():
    net = small_net(np.float32)
    load_params(net, {k: v.astype(np.float64) for k, v in dump_params(net).items()})
    assert all(v.dtype == np.float32 for v in dump_params(net).values())


# Learning


def test_a_tiny_network_loss_goes_down_under_a_few_sgd_steps():
    rng = np.random.default_rng(8)
    net = Sequential(
        [Conv2d(1, 4, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(),
         Linear(4 * 4 * 4, 3, rng=rng)]
    )
    x = rng.standard_normal((12, 1, 8, 8)).astype(np.float32)
    targets = np.arange(12) % 3
    x[targets == 1, :, :4] += 1.0  # give each class a visible pattern
    x[targets == 2, :, :, :4] -= 1.0
    losses = []
    for _ in range(15):
        logits, caches = net.forward(x)
        loss, dlogits, _ = softmax_cross_entropy(logits, targets)
        losses.append(loss)
        _, grads = net.backward(dlogits, caches)
        for layer, layer_grads in zip(net.layers, grads, strict=True):
            for key, grad in layer_grads.items():
                layer.params[key] -= 0.2 * grad
    final = softmax_cross_entropy(net.predict(x), targets)[0]
    assert final < 0.5 * losses[0], (losses, final)
    assert sum(b < a for a, b in zip(losses, losses[1:], strict=False)) >= 12, losses


@pytest.mark.parametrize("target", [[1, 2], [[1, 2, 0]], np.zeros((3, 1), dtype=int)])
def test_trace_refuses_a_target_that_does_not_match_the_batch(target):
    net = Sequential([Flatten(), Linear(4, 3, rng=0)])
    with pytest.raises(ValueError, match="one per batch item \\(3\\)"):
        net.trace(np.zeros((3, 1, 2, 2), dtype=np.float32), target=target)


def test_trace_applies_a_single_target_to_every_item():
    net = Sequential([Flatten(), Linear(4, 3, rng=0)])
    trace = net.trace(np.zeros((3, 1, 2, 2), dtype=np.float32), target=2)
    np.testing.assert_array_equal(trace.target, [2, 2, 2])
