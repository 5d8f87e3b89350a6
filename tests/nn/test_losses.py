"""softmax_cross_entropy: value, its fused gradient against finite differences, stability."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import softmax, softmax_cross_entropy
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient


@pytest.mark.parametrize(("batch", "classes"), [(1, 2), (1, 10), (3, 4), (5, 7)])
def test_softmax_cross_entropy_gradient_matches_finite_differences(batch, classes):
    rng = np.random.default_rng(batch * classes)
    logits = rng.standard_normal((batch, classes)) * 3
    targets = rng.integers(0, classes, size=batch)
    loss, dlogits, probs = softmax_cross_entropy(logits, targets)
    numeric = numerical_gradient(lambda z: softmax_cross_entropy(z, targets)[0], logits.copy())
    assert_gradients_close({"logits": dlogits}, {"logits": numeric})
    assert isinstance(loss, float)


def test_softmax_cross_entropy_is_the_batch_mean_of_minus_log_p_target():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    loss, dlogits, probs = softmax_cross_entropy(logits, np.array([2, 0]))
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(probs, [p, [1 / 3, 1 / 3, 1 / 3]], rtol=1e-14)
    assert loss == pytest.approx((-np.log(p[2]) + np.log(3)) / 2, rel=1e-14)
    # Seed 004: d H(y, p) / dz = p - y, divided by the batch size for the mean.
    expected = np.array([p - [0, 0, 1], [1 / 3 - 1, 1 / 3, 1 / 3]]) / 2
    np.testing.assert_allclose(dlogits, expected, rtol=1e-14, atol=1e-16)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [-5000.0, 5000.0, 5000.0]])
    loss, dlogits, probs = softmax_cross_entropy(logits, np.array([1, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits)) and np.all(np.isfinite(probs))
    assert loss == pytest.approx((2000.0 + np.log(2)) / 2)
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0, rtol=1e-15)


@pytest.mark.parametrize(
    "targets", [np.array([0, 3]), np.array([-1, 0]), np.array([0.0, 1.0]), np.array([0])]
)
def test_softmax_cross_entropy_rejects_bad_targets(targets):
    with pytest.raises(ValueError, match="targets"):
        softmax_cross_entropy(np.zeros((2, 3)), targets)


def test_softmax_cross_entropy_rejects_logits_that_are_not_a_matrix():
    with pytest.raises(ValueError, match="logits"):
        softmax_cross_entropy(np.zeros((2, 3, 1)), np.array([0, 1]))
