"""One SGD step (app.services.sgd_step): on a copy, loss_after from a fresh forward pass,
first-order prediction within O(lr^2), second-order term against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from app.models import load_model
from app.nn.losses import softmax_cross_entropy
from app.services.errors import ApiError
from app.services.samples import sample_digit
from app.services.sgd_step import sgd_step
from tests.services.graphs import tiny_resnet

DIGIT = sample_digit(7)[0]  # a 7
TARGET = 3  # not the prediction: the gradient is far from zero


def _state(model):
    return [(k, v.copy()) for layer in model.network.layers
            for k, v in (*layer.params.items(), *layer.buffers.items())]


def _loss(network, x, target):
    return softmax_cross_entropy(network.predict(x), np.array([target]))[0]


@pytest.mark.parametrize("model_id", ["lenet5", "resnet-mini"])
def test_the_served_models_weights_stay_bit_identical(model_id):
    model = load_model(model_id)
    before = _state(model)
    sgd_step(model, DIGIT, lr=5.0, target=TARGET)
    after = _state(model)
    assert [k for k, _ in after] == [k for k, _ in before]
    for (_, a), (_, b) in zip(before, after, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("model_id", ["lenet5", "resnet-mini"])
def test_loss_after_equals_a_fresh_forward_pass_with_the_updated_weights(model_id):
    model = load_model(model_id)
    lr = 0.05
    body = sgd_step(model, DIGIT, lr=lr, target=TARGET)
    network = model.network.astype(np.float64)
    x = model.prepare(DIGIT[None]).astype(np.float64)
    trace = network.trace(x, [TARGET])
    assert body["loss_before"] == pytest.approx(trace.loss, rel=1e-12)
    for layer, lt in zip(network.layers, trace.layers, strict=True):
        for key in layer.params:
            layer.params[key] = layer.params[key] - lr * lt.grads[key]
    assert body["loss_after"] == pytest.approx(_loss(network, x, TARGET), rel=1e-10)
    assert body["actual_change"] == body["loss_after"] - body["loss_before"]
    grad2 = sum(float((lt.grads[k] ** 2).sum()) for lt in trace.layers for k in lt.grads)
    assert body["predicted_change"] == pytest.approx(-lr * grad2, rel=1e-12)
    assert body["grad_norm"] == pytest.approx(np.sqrt(grad2), rel=1e-12)


def test_each_parameters_norms_and_update_ratio():
    model = load_model("lenet5")
    lr = 0.1
    body = sgd_step(model, DIGIT, lr=lr, target=TARGET)
    trace = model.network.astype(np.float64).trace(
        model.prepare(DIGIT[None]).astype(np.float64), [TARGET])
    rows = {row["name"]: row for row in body["parameters"]}
    assert list(rows)[:2] == ["conv1.weight", "conv1.bias"]
    lt = trace.layers[0]
    row = rows["conv1.weight"]
    assert row["grad_norm"] == pytest.approx(np.linalg.norm(lt.grads["weight"]), rel=1e-12)
    assert row["update_norm"] == pytest.approx(lr * row["grad_norm"], rel=1e-12)
    assert row["update_ratio"] == pytest.approx(
        row["update_norm"] / np.linalg.norm(lt.params["weight"]), rel=1e-12)
    assert len(rows) == sum(len(layer.params) for layer in model.network.layers)


@pytest.mark.parametrize("model_id", ["lenet5", "resnet-mini"])
@pytest.mark.parametrize("sample", [7, 0])
def test_first_order_prediction_error_shrinks_like_lr_squared(model_id, sample):
    """|actual - predicted| / lr^2 settles to |g^T H g| / 2 as lr -> 0 (float64): dividing lr
    by 10 divides the error by 100, and the second-order prediction is closer still. (lr is
    tiny because |g| is large for a wrong target: 1e-6 moves the weights by about 1e-4.)"""
    model = load_model(model_id)
    digit = sample_digit(sample)[0]
    errors = {}
    for lr in (1e-6, 1e-7):
        body = sgd_step(model, digit, lr=lr, target=TARGET)
        errors[lr] = abs(body["actual_change"] - body["predicted_change"])
        second = abs(body["actual_change"] - body["predicted_change_second_order"])
        assert second < 0.05 * errors[lr]
    assert errors[1e-6] / errors[1e-7] == pytest.approx(100, rel=0.05)
    assert errors[1e-6] / 1e-12 == pytest.approx(abs(body["curvature"]) / 2, rel=0.02)


@pytest.mark.parametrize("model_id", ["lenet5", "resnet-mini"])
def test_curvature_matches_a_second_difference_of_the_loss_along_the_gradient(model_id):
    """g^T H g = d^2/ds^2 L(w + s g) at s = 0, by central differences of the loss itself
    (float64), independent of the service's gradient differences."""
    model = load_model(model_id)
    body = sgd_step(model, DIGIT, lr=1e-3, target=TARGET)
    network = model.network.astype(np.float64)
    x = model.prepare(DIGIT[None]).astype(np.float64)
    grads = [lt.grads for lt in network.trace(x, [TARGET]).layers]

    def loss_at(s):
        moved = network.astype(np.float64)
        for layer, g in zip(moved.layers, grads, strict=True):
            for key in layer.params:
                layer.params[key] = layer.params[key] + s * g[key]
        return _loss(moved, x, TARGET)

    h = 1e-5 / body["grad_norm"]
    second = (loss_at(h) - 2 * loss_at(0.0) + loss_at(-h)) / h**2
    assert body["curvature"] == pytest.approx(second, rel=1e-3)


def test_a_large_step_is_predicted_badly():
    body = sgd_step(load_model("lenet5"), DIGIT, lr=1.0, target=TARGET)
    assert abs(body["actual_change"] - body["predicted_change"]) > abs(body["actual_change"])


def test_feature_maps_before_and_after_for_a_small_model():
    body = sgd_step(load_model("lenet5"), DIGIT, lr=0.1, target=TARGET)
    conv1 = body["layers"][0]
    assert conv1["name"] == "conv1" and conv1["before"]["shape"] == [6, 28, 28]
    assert conv1["output_before"]["shape"] == [6, 28, 28]
    assert conv1["output_after"]["shape"] == [6, 28, 28] and conv1["change_norm"] > 0
    assert "output_before" not in body["layers"][-1]  # the logits are no feature map
    assert body["prediction_before"] == 7


def test_a_registered_graph_model_takes_a_step():
    body = sgd_step(tiny_resnet(), DIGIT, lr=0.01, target=2)
    assert np.isfinite(body["loss_after"]) and body["parameters"][0]["name"] == "conv1.weight"


@pytest.mark.parametrize("lr", [0.0, -1.0, 101.0, float("nan"), float("inf")])
def test_a_learning_rate_out_of_range_is_a_422(lr):
    with pytest.raises(ApiError) as caught:
        sgd_step(load_model("lenet5"), DIGIT, lr=lr)
    assert caught.value.status == 422 and caught.value.code == "invalid_lr"


def test_a_target_out_of_range_is_a_422():
    with pytest.raises(ApiError) as caught:
        sgd_step(load_model("lenet5"), DIGIT, lr=0.1, target=10)
    assert caught.value.code == "invalid_target"
