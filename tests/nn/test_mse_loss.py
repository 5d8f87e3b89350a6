"""mse_loss: its value and gradient worked by hand, both reductions against central finite
differences in float64, the dtype of the gradient, and refusals by name."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn.losses import mse_loss
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient


def test_mse_of_a_hand_worked_pair_is_the_mean_square_and_its_gradient_two_diff_over_n():
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = np.array([[1.0, 0.0], [0.0, 8.0]])
    # differences 0, 2, 3, -4: squares 0 + 4 + 9 + 16 = 29 over 4 elements.
    loss, dy = mse_loss(y, t)
    assert loss == pytest.approx(29 / 4, rel=1e-15)
    np.testing.assert_array_equal(dy, np.array([[0.0, 4.0], [6.0, -8.0]]) / 4)
    loss, dy = mse_loss(y, t, reduction="sum")
    assert loss == 29.0
    np.testing.assert_array_equal(dy, [[0.0, 4.0], [6.0, -8.0]])


def test_mse_of_a_perfect_reconstruction_is_zero_with_a_zero_gradient():
    y = np.linspace(0, 1, 12).reshape(1, 1, 3, 4)
    loss, dy = mse_loss(y, y.copy())
    assert loss == 0.0
    assert not dy.any()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(1,), (3, 4), (2, 1, 3, 3)])
def test_mse_gradient_matches_finite_differences(shape, reduction):
    rng = np.random.default_rng(len(shape))
    y = rng.standard_normal(shape)
    t = rng.standard_normal(shape)
    _, dy = mse_loss(y, t, reduction)
    numeric = numerical_gradient(lambda v: mse_loss(v, t, reduction)[0], y.copy())
    assert_gradients_close({"y": dy}, {"y": numeric})


def test_mse_gradient_keeps_the_outputs_float_dtype_and_the_loss_is_a_float():
    y = np.full((2, 3), 0.5, dtype=np.float32)
    loss, dy = mse_loss(y, np.zeros((2, 3)))
    assert isinstance(loss, float) and loss == pytest.approx(0.25)
    assert dy.dtype == np.float32


def test_mse_refuses_a_target_of_another_shape_and_an_unknown_reduction():
    with pytest.raises(ValueError, match="target must have the output's shape"):
        mse_loss(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        mse_loss(np.zeros(2), np.zeros(2), reduction="none")
