"""The perceptron and the two-layer perceptron on 2-D points, trained by the core's own code.

- `perceptron_rule_step`: Rosenblatt's rule for a sign unit, one point at a time. Labels are
  -1/+1; a point is misclassified when y (w.x + b) <= 0 (a point on the line counts as wrong),
  and then w += lr y x, b += lr y; otherwise nothing changes.
- `binary_network`: a sigmoid unit (width 0: one Linear(2, 1), logistic regression) or an MLP
  with one hidden layer, Linear(2, H) -> Tanh/Sigmoid -> Linear(H, 1), from app.nn's layers.
  Its output is a logit z; p = sigmoid(z) is the probability of class 1.
- `bce_with_logits`: the mean binary cross-entropy of sigmoid(z) against 0/1 labels, computed
  from z without overflow, and its gradient (sigmoid(z) - y) / N.
- `gradient_step`: one full-batch gradient-descent step: forward, loss, the layers' own
  backward, then p -= lr dL/dp for every parameter (`sgd_step`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.nn.layers import Grads, Linear, Sigmoid, Tanh
from app.nn.network import Sequential

HIDDEN_ACTIVATIONS = {"tanh": Tanh, "sigmoid": Sigmoid}


@dataclass(frozen=True)
class RuleStep:
    """One visit of the perceptron rule to one point."""

    activation: float          # w.x + b before the update
    misclassified: bool        # y (w.x + b) <= 0
    weight_update: np.ndarray  # (2,) lr y x, or zeros
    bias_update: float         # lr y, or 0
    weight: np.ndarray         # (2,) after the update
    bias: float                # after the update


def perceptron_rule_step(
    weight: np.ndarray, bias: float, point: np.ndarray, label: int, learning_rate: float
) -> RuleStep:
    """The perceptron rule on one point: weight (2,), point (2,), label -1 or +1."""
    if label not in (-1, 1):
        raise ValueError(f"the perceptron rule needs labels -1 or +1, got {label!r}")
    weight = np.asarray(weight, dtype=np.float64)
    point = np.asarray(point, dtype=np.float64)
    activation = float(weight @ point + bias)
    wrong = label * activation <= 0
    dw = learning_rate * label * point if wrong else np.zeros_like(weight)
    db = float(learning_rate * label) if wrong else 0.0
    return RuleStep(activation, bool(wrong), dw, db, weight + dw, float(bias + db))


def sign_predictions(weight: np.ndarray, bias: float, points: np.ndarray) -> np.ndarray:
    """1 where w.x + b > 0, else 0, for points (N, 2): the sign unit's class per point."""
    return (points @ np.asarray(weight, dtype=np.float64) + bias > 0).astype(np.int64)


def perceptron_criterion(weight: np.ndarray, bias: float, points: np.ndarray,
                         labels01: np.ndarray) -> float:
    """The loss the rule descends: mean of max(0, -y (w.x + b)) with y = 2 label - 1."""
    y = 2 * np.asarray(labels01, dtype=np.float64) - 1
    return float(np.maximum(0.0, -y * (points @ weight + bias)).mean())


def binary_network(width: int, activation: str = "tanh", rng=None) -> Sequential:
    """A float64 network from (N, 2) points to (N, 1) logits: width 0 is a single sigmoid
    unit (names fc1); otherwise fc1 (H, 2) -> activation -> fc2 (1, H)."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 0:
        raise ValueError(f"width must be an int >= 0, got {width!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if width == 0:
        return Sequential([("fc1", Linear(2, 1, rng=rng, dtype=np.float64))])
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(HIDDEN_ACTIVATIONS)}")
    return Sequential([
        ("fc1", Linear(2, int(width), rng=rng, dtype=np.float64)),
        (activation, HIDDEN_ACTIVATIONS[activation]()),
        ("fc2", Linear(int(width), 1, rng=rng, dtype=np.float64)),
    ])


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), split by sign so exp never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def bce_with_logits(logits: np.ndarray, labels01: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of sigmoid(z) against 0/1 labels, and dL/dz.

    logits (N, 1) or (N,), labels (N,) -> (loss, gradient shaped like logits). Per point
    the loss is log(1 + e^z) - y z = max(z, 0) - y z + log(1 + e^-|z|); its derivative
    is sigmoid(z) - y.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels01, dtype=np.float64).reshape(z.shape)
    n = max(1, y.shape[0])
    loss = float((np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))).sum() / n)
    return loss, (sigmoid(z) - y) / n


def sgd_step(network: Sequential, grads: list[Grads], learning_rate: float) -> list[Grads]:
    """p -= lr dL/dp for every parameter, in place; returns the updates (-lr dL/dp)."""
    updates: list[Grads] = []
    for layer, layer_grads in zip(network.layers, grads, strict=True):
        step = {key: -learning_rate * g for key, g in layer_grads.items()}
        for key, delta in step.items():
            layer.params[key] = layer.params[key] + delta
        updates.append(step)
    return updates


@dataclass(frozen=True)
class GradientStep:
    loss: float               # before the update
    grads: list[Grads]        # per layer, keyed like params
    updates: list[Grads]      # per layer: -lr * grads


def gradient_step(
    network: Sequential, points: np.ndarray, labels01: np.ndarray, learning_rate: float
) -> GradientStep:
    """One full-batch gradient-descent step of the mean binary cross-entropy, in place."""
    logits, caches = network.forward(np.asarray(points, dtype=np.float64))
    loss, dlogits = bce_with_logits(logits, labels01)
    _, grads = network.backward(dlogits, caches)
    updates = sgd_step(network, grads, learning_rate)
    return GradientStep(loss, grads, updates)


def network_loss(network: Sequential, points: np.ndarray, labels01: np.ndarray) -> float:
    return bce_with_logits(network.predict(np.asarray(points, dtype=np.float64)), labels01)[0]


def network_predictions(network: Sequential, points: np.ndarray) -> np.ndarray:
    """1 where the logit is > 0 (p > 1/2), else 0."""
    return (network.predict(np.asarray(points, dtype=np.float64))[:, 0] > 0).astype(np.int64)
