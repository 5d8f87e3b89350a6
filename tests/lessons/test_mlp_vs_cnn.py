"""The MLP lesson's numbers: a hidden layer's step as matrix-vector products equals the core's
trace, the parameter counts are exact, and shifting moves digits without wrapping."""

from __future__ import annotations

import numpy as np
import pytest

from app.data import load_digits
from app.lessons.mlp_vs_cnn import (
    hidden_layers,
    matrix_form,
    parameter_counts,
    shift_images,
    shift_report,
)
from app.models import load_model

# The trace runs in float32 (BLAS matmuls); the recomputation in float64. Relative error
# ~1e-6; a transposed Θ, a missing act'(n) or the wrong delta is off by O(1) relatively.
RTOL = 1e-4


@pytest.fixture(scope="module")
def mlp():
    return load_model("mlp")


def test_the_mlp_is_784_300_100_10_with_two_tanh_hidden_layers(mlp):
    assert hidden_layers(mlp) == ["fc1", "fc2"]
    shapes = [layer.params["weight"].shape for layer in mlp.network.layers if layer.params]
    assert shapes == [(300, 784), (100, 300), (10, 100)]
    assert mlp.network.parameter_count == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert load_model("lenet5").card["heldout"]["total"] == mlp.card["heldout"]["total"] == 500


@pytest.mark.parametrize("layer", ["fc1", "fc2"])
@pytest.mark.parametrize("index", [0, 7, 123])
def test_act_of_theta_x_plus_b_and_the_delta_match_the_core_trace(mlp, layer, index):
    images, labels = load_digits()
    r = matrix_form(mlp, images[index], int(labels[index]), layer)
    np.testing.assert_allclose(r["n"], r["core_n"], rtol=RTOL, atol=1e-5)
    np.testing.assert_allclose(r["a"], r["core_a"], rtol=RTOL, atol=1e-5)
    scale = np.abs(r["core_delta"]).max()
    assert scale > 0
    np.testing.assert_allclose(r["delta"], r["core_delta"], rtol=RTOL, atol=1e-5 * scale)
    np.testing.assert_allclose(r["act_prime"], 1 - r["a"] ** 2)
    assert r["theta_shape"][0] == r["n"].size == r["delta"].size


def test_a_relu_network_has_no_hidden_layer_in_this_sense():
    assert hidden_layers(load_model("lenet5")) == []
    images, labels = load_digits()
    with pytest.raises(KeyError):
        matrix_form(load_model("lenet5"), images[0], int(labels[0]), "fc1")


def test_the_classic_parameter_counts_are_exact():
    assert parameter_counts(1000, 1000, 1000, 10) == {
        "fully_connected": 10**9, "locally_connected": 100_000, "shared_kernel": 100}
    assert parameter_counts(28, 28, 300, 5)["fully_connected"] == 784 * 300


def test_shift_images_moves_pixels_and_fills_with_zeros():
    image = np.arange(1, 17, dtype=np.uint8).reshape(1, 4, 4)
    right = shift_images(image, 0, 1)[0]
    np.testing.assert_array_equal(right[:, 1:], image[0, :, :-1])
    assert (right[:, 0] == 0).all()
    up = shift_images(image, -2, 0)[0]
    np.testing.assert_array_equal(up[:2], image[0, 2:])
    assert (up[2:] == 0).all()
    np.testing.assert_array_equal(shift_images(image, 0, 0), image)
    assert (shift_images(image, 5, 0) == 0).all()


def test_a_3_pixel_shift_costs_the_mlp_more_accuracy_than_lenet5(mlp):
    images, labels = load_digits()
    idx = np.arange(0, 5000, 10)  # 500 digits, every class
    cnn = shift_report(load_model("lenet5"), images[idx], labels[idx].astype(np.intp), 3)
    dense = shift_report(mlp, images[idx], labels[idx].astype(np.intp), 3)
    cnn_drop = cnn["unshifted"]["accuracy"] - cnn["shifted_mean_accuracy"]
    mlp_drop = dense["unshifted"]["accuracy"] - dense["shifted_mean_accuracy"]
    assert mlp_drop > cnn_drop + 0.02
    assert set(cnn["shifted"]) == {"right", "left", "down", "up"}
