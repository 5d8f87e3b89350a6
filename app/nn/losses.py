"""Softmax, cross-entropy and the information measures of a prediction.

For a one-hot target y and prediction p = softmax(z):
    H(y, p) = -log p_target            (cross-entropy, the loss)
    H(p)    = -sum p log p             (entropy of the prediction)
    KL(y||p) = H(y, p) - H(y)          (and H(y) = 0 for a one-hot y)
    dH(y, p)/dz = p - y                (softmax's derivative folded into the loss)

The loss is computed one way everywhere (`target_losses`): in float64, by log-sum-exp from
the logits, -log p_t = logsumexp(z) - z_t = (m - z_t) + log1p(sum_{j != argmax} e^(z_j - m))
with m = max z. So a confident prediction's small loss (2e-7) keeps its digits instead of
rounding to 0 through 1 - p, and the trace's loss and `information` agree exactly.
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


def target_losses(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """-log softmax(z)[target] per row, in float64 by log-sum-exp: logits (..., K), targets
    (...) ints -> (...) float64. Exact to float64 rounding even when the loss is tiny."""
    z = np.asarray(logits, dtype=np.float64)
    top = z.argmax(axis=-1)[..., None]
    m = np.take_along_axis(z, top, axis=-1)
    with np.errstate(invalid="ignore"):  # inf - inf: a non-finite logit stays non-finite
        rest = np.exp(z - m)
    np.put_along_axis(rest, top, 0.0, axis=-1)  # the max's own e^0 = 1 is log1p's 1
    z_t = np.take_along_axis(z, np.asarray(targets)[..., None], axis=-1)
    return ((m - z_t) + np.log1p(rest.sum(axis=-1, keepdims=True)))[..., 0]


def softmax_cross_entropy(
    logits: np.ndarray, targets
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer targets, fused.

    logits (N, K), targets (N,) ints -> (loss, dloss/dlogits (N, K), probabilities (N, K)).
    The loss is the mean of `target_losses` (float64 log-sum-exp); the gradient, in the
    logits' dtype, is (p - onehot(y)) / N.
    """
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, K), got shape {logits.shape}")
    n, k = logits.shape
    targets = _check_targets(targets, n, k)
    log_p = log_softmax(logits)
    probs = np.exp(log_p)
    rows = np.arange(n)
    loss = float(target_losses(logits, targets).mean())
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
    """KL(y || p) = sum y log(y / p) per row (nats); terms with y = 0 contribute 0.
    Computed from its definition, so H(y, p) = H(y) + KL(y || p) is a real check."""
    y = np.asarray(target_probs, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * (np.log(y) - np.log(p)), 0.0)
    return terms.sum(axis=-1)


def information(logits: np.ndarray, target: int) -> dict[str, float]:
    """The information measures of one prediction, for a one-hot target y and
    p = softmax(logits), in nats, all in float64 from the logits.

    logits (K,) -> {"cross_entropy": H(y, p) (the loss, by `target_losses`), "entropy": H(p),
    "kl_divergence": KL(y || p), "target_entropy": H(y) (0 for one-hot y)};
    H(y, p) = H(y) + KL(y || p).
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 1 or not z.size:
        raise ValueError(f"logits must be a non-empty vector, got shape {z.shape}")
    target = int(target)
    if not 0 <= target < z.size:
        raise ValueError(f"target must lie in [0, {z.size - 1}], got {target}")
    log_p = -target_losses(np.broadcast_to(z, (z.size, z.size)), np.arange(z.size))
    p = np.exp(log_p)
    loss = float(-log_p[target])
    return {
        "cross_entropy": loss,
        "entropy": float(-(p * log_p).sum()) + 0.0,
        "kl_divergence": loss,  # KL(y || p) = H(y, p) - H(y), and H(y) = 0
        "target_entropy": 0.0,
    }


MSE_REDUCTIONS = ("mean", "sum")


def mse_loss(y: np.ndarray, target, reduction: str = "mean") -> tuple[float, np.ndarray]:
    """Mean squared error, as torch.nn.functional.mse_loss, with its gradient.

    y (any shape), target (the same shape) -> (loss, dloss/dy shaped like y, in y's dtype).
    reduction "mean": L = sum (y - t)^2 / n over all n elements, dL/dy = 2 (y - t) / n;
    reduction "sum":  L = sum (y - t)^2,                        dL/dy = 2 (y - t).
    The loss is summed in float64.
    """
    if reduction not in MSE_REDUCTIONS:
        raise ValueError(f"reduction must be one of {MSE_REDUCTIONS}, got {reduction!r}")
    y = np.asarray(y)
    target = np.asarray(target)
    if target.shape != y.shape:
        raise ValueError(f"target must have the output's shape {y.shape}, got {target.shape}")
    diff = y.astype(np.float64) - target.astype(np.float64)
    total = float(np.square(diff).sum())
    scale = 2.0 / diff.size if reduction == "mean" and diff.size else 2.0
    loss = total / diff.size if reduction == "mean" and diff.size else total
    dtype = y.dtype if np.issubdtype(y.dtype, np.floating) else np.float64
    return loss, (scale * diff).astype(dtype, copy=False)
