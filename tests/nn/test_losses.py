"""Losses: softmax_cross_entropy (value, fused gradient against finite differences, stability),
the one float64 log-sum-exp loss, and the information measures."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import (
    cross_entropy,
    entropy,
    information,
    kl_divergence,
    softmax,
    softmax_cross_entropy,
)
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
    # d H(y, p) / dz = p - y, divided by the batch size for the mean.
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


# One loss: float64 log-sum-exp from the logits, everywhere.


def test_loss_is_float64_log_sum_exp_even_for_float32_logits():
    logits = np.array([[0.5, 3.25, -1.0], [2.0, 2.0, 9.5]], np.float32)
    targets = np.array([1, 0])
    z = logits.astype(np.float64)
    expected = np.mean(np.log(np.exp(z).sum(axis=1)) - z[[0, 1], targets])
    loss, dlogits, probs = softmax_cross_entropy(logits, targets)
    assert loss == pytest.approx(expected, rel=1e-13)
    assert dlogits.dtype == probs.dtype == np.float32  # the gradient keeps the logits' dtype


def test_a_confident_predictions_tiny_loss_keeps_its_digits():
    """-log p = log(1 + e^-15.42...) = 2e-7, not 0 (float32 1 - p rounds it away)."""
    gap = -np.log(2e-7)
    logits = np.array([[0.0, gap, 0.0 - 40]], np.float32)
    expected = np.log1p(np.exp(0.0 - np.float64(np.float32(gap))) + np.exp(-40.0 - gap))
    loss, _, _ = softmax_cross_entropy(logits, np.array([1]))
    assert loss == pytest.approx(expected, rel=1e-12)
    assert loss == pytest.approx(2e-7, rel=1e-5)
    info = information(logits[0], 1)
    assert info["cross_entropy"] == pytest.approx(loss, rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_trace_loss_and_information_agree(seed):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((1, 10)) * 10 ** rng.uniform(-1, 1.5)).astype(np.float32)
    target = int(rng.integers(10))
    loss, _, _ = softmax_cross_entropy(logits, np.array([target]))
    info = information(logits[0], target)
    assert info["cross_entropy"] == pytest.approx(loss, rel=1e-9)
    p = softmax(logits[0].astype(np.float64))
    assert info["entropy"] == pytest.approx(-(p * np.log(p)).sum(), rel=1e-9, abs=1e-15)
    assert info["kl_divergence"] == pytest.approx(info["cross_entropy"], rel=1e-12)
    assert info["target_entropy"] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_cross_entropy_is_entropy_plus_kl_for_any_target_distribution(seed):
    """H(y, p) = H(y) + KL(y || p), with KL computed from its own definition."""
    rng = np.random.default_rng(seed)
    y = rng.dirichlet(np.ones(6), size=3)
    y[0, :2] = 0  # zero-probability classes contribute nothing
    y[0] /= y[0].sum()
    p = softmax(rng.standard_normal((3, 6)) * 3)
    np.testing.assert_allclose(cross_entropy(y, p), entropy(y) + kl_divergence(y, p),
                               rtol=1e-12)
    assert (kl_divergence(y, p) >= 0).all()
    np.testing.assert_allclose(kl_divergence(p, p), 0.0, atol=1e-15)


def test_information_names_a_bad_target_or_logits():
    with pytest.raises(ValueError, match="target"):
        information(np.zeros(3), 3)
    with pytest.raises(ValueError, match="logits"):
        information(np.zeros((2, 3)), 0)
