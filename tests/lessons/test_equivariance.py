"""Equivariance measured: stride-1 conv layers move their maps with the input (error 0 to float
tolerance on the interior), strides make odd shifts non-integer, pooling lowers the
invariance error, and the prediction curve is one batched pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.data import load_digits
from app.lessons.equivariance import equivariance, interior, prediction_curve, shift_maps
from app.models import load_model
from app.models.registry import ARCHITECTURES, Architecture, Model
from app.nn import from_spec

# float32 convolutions through BLAS: the same products land in different columns of the
# im2col matmul, so equal up to rounding (~1e-7 relative); a wrong shift or mask is O(1).
TOL = 1e-5


@pytest.fixture(scope="module")
def lenet():
    return load_model("lenet5")


def stride1_model(seed: int) -> Model:
    """A random all-stride-1 CNN (padding 1 and 0, a dilated conv) on 28x28 digits."""
    spec = [
        {"kind": "conv2d", "name": "conv1", "in_channels": 1, "out_channels": 4,
         "kernel_size": 3, "padding": 1},
        {"kind": "relu", "name": "relu1"},
        {"kind": "conv2d", "name": "conv2", "in_channels": 4, "out_channels": 3,
         "kernel_size": 3, "dilation": 2},
        {"kind": "tanh", "name": "tanh2"},
        {"kind": "flatten", "name": "flatten"},
        {"kind": "linear", "name": "fc", "in_features": 3 * 24 * 24, "out_features": 10},
    ]
    arch = Architecture("stride1", "stride 1", "test", spec)
    return Model(arch, from_spec(spec, rng=seed))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), dy=st.integers(-6, 6), dx=st.integers(-6, 6),
       index=st.integers(0, 4999))
def test_stride_1_conv_layers_are_equivariant_on_the_interior(seed, dy, dx, index):
    images, _ = load_digits()
    result = equivariance(stride1_model(seed), images[index], dy, dx)
    for row in result["layers"][:4]:
        assert row["whole"] and row["jump"] == [1, 1]
        assert row["equivariance_error"] is not None
        assert row["equivariance_error"] < TOL, row
    assert result["layers"][4]["jump"] is None  # flatten: no map


@pytest.mark.parametrize("dy,dx", [(0, 1), (-3, 0), (2, -2), (4, 4)])
def test_lenet5_conv1_is_equivariant_and_odd_shifts_are_half_positions_after_pooling(
        lenet, dy, dx):
    images, _ = load_digits()
    rows = {r["name"]: r for r in equivariance(lenet, images[11], dy, dx)["layers"]}
    assert rows["conv1"]["equivariance_error"] < TOL
    assert rows["relu1"]["equivariance_error"] < TOL
    assert rows["pool1"]["shift"] == [dy / 2, dx / 2]
    assert rows["pool1"]["whole"] == (dy % 2 == 0 and dx % 2 == 0)
    if rows["pool1"]["whole"]:
        assert rows["pool1"]["equivariance_error"] < TOL
        assert rows["conv2"]["equivariance_error"] < TOL
    else:
        assert rows["pool1"]["equivariance_error"] is None
    assert rows["pool2"]["whole"] == (dy % 4 == 0 and dx % 4 == 0)
    assert rows["fc3"]["jump"] is None and rows["fc3"]["invariance_error"] > 0


def test_the_border_breaks_equivariance_which_is_why_the_interior_is_compared(lenet):
    images, _ = load_digits()
    conv1 = equivariance(lenet, images[0], 0, 3)["layers"][0]
    assert conv1["equivariance_error_full"] > 100 * max(conv1["equivariance_error"], 1e-9)


def test_pooling_lowers_the_invariance_error_of_the_map_it_reads(lenet):
    images, _ = load_digits()
    lower = 0
    for index in range(0, 5000, 500):
        rows = {r["name"]: r for r in equivariance(lenet, images[index], 1, 1)["layers"]}
        lower += rows["pool1"]["invariance_error"] < rows["relu1"]["invariance_error"]
        lower += rows["pool2"]["invariance_error"] < rows["relu2"]["invariance_error"]
    assert lower >= 18  # of 20


def test_interior_keeps_outputs_whose_field_reads_only_shifted_real_pixels():
    # 5 outputs of a 3-wide field, stride 1, padding 1, on 5 pixels, shift 1 right:
    # real shifted pixels are 1..4; output i reads i-1..i+1 -> outputs 2 and 3
    np.testing.assert_array_equal(interior(5, 5, 3, 1, 1, 1), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(interior(5, 5, 3, 1, 1, -1), [0, 1, 1, 0, 0])
    assert not interior(5, 5, 3, 1, 1, 5).any()


def test_shift_maps_moves_the_last_two_axes():
    x = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3)
    y = shift_maps(x, 1, -1)
    np.testing.assert_array_equal(y[:, 1:, :2], x[:, :2, 1:])
    assert (y[:, 0] == 0).all() and (y[:, :, 2] == 0).all()


def test_prediction_curve_is_centred_on_the_unshifted_prediction(lenet):
    images, labels = load_digits()
    curve = prediction_curve(lenet, images[5], int(labels[5]), range(-4, 5), "y")
    assert [p["shift"] for p in curve] == list(range(-4, 5))
    probs = lenet.predict(images[5][None])[0]
    assert curve[4]["prediction"] == int(probs.argmax())
    assert curve[4]["probability"] == pytest.approx(float(probs.max()), rel=1e-5)
    assert "mlp" in ARCHITECTURES
