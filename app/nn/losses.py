"""Softmax, cross-entropy and the information measures of seed 004.

For a one-hot target y and prediction p = softmax(z):
    H(y, p) = -log p_target            (cross-entropy, the loss)
    H(p)    = -sum p log p             (entropy of the prediction)
    KL(y||p) = H(y, p) - H(y)          (and H(y) = 0 for a one-hot y)
    dH(y, p)/dz = p - y                (softmax's derivative folded into the loss)
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) logits, shifted by the row max so exp never overflows."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _check_targets(targets, n: int, k: int) -> np.ndarray:
    targets = np.asarray(targets)
    if targets.shape != (n,) or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be {n} integer class indices, got {targets!r}")
    if targets.size and (targets.min() < 0 or targets.max() >= k):
        raise ValueError(f"targets must lie in [0, {k - 1}], got {targets.tolist()}")
    return targets


def softmax_cross_entropy(
    logits: np.ndarray, targets
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer targets, fused.

    logits (N, K), targets (N,) ints -> (loss, dloss/dlogits (N, K), probabilities (N, K)).
    The gradient is (p - onehot(y)) / N.
    """
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, K), got shape {logits.shape}")
    n, k = logits.shape
    targets = _check_targets(targets, n, k)
    log_p = log_softmax(logits)
    probs = np.exp(log_p)
    rows = np.arange(n)
    loss = float(-log_p[rows, targets].mean())
    dlogits = probs.copy()
    dlogits[rows, targets] -= 1
    dlogits /= n
    return loss, dlogits, probs


def entropy(probs: np.ndarray) -> np.ndarray:
    """H(p) = -sum p log p per row (nats), with 0 log 0 = 0."""
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=-1)


def cross_entropy(target_probs: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """H(y, p) = -sum y log p per row (nats); terms with y = 0 contribute 0."""
    y = np.asarray(target_probs, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(p), 0.0)
    return -terms.sum(axis=-1)


def kl_divergence(target_probs: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """KL(y || p) = H(y, p) - H(y) per row (nats)."""
    return cross_entropy(target_probs, probs) - entropy(target_probs)
