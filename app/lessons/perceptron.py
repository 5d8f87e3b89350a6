"""The perceptron lesson's service: run the next K training steps from a given state.

Stateless: the page sends the points (as edited), the model and its current weights, and
gets back every step's numbers, the new weights, and the decision values on a grid. Models:

- "perceptron": a sign unit trained by the perceptron rule, one point per step, visiting the
  points in order (step t visits point t mod N; epoch = t // N);
- "sigmoid": a sigmoid unit trained by full-batch gradient descent on the cross-entropy;
- "mlp": one hidden layer (tanh or sigmoid) of `width` units, trained the same way.

All arithmetic is float64 in app.nn (app/nn/perceptron.py); JSON floats round-trip exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.lessons.datasets import EXTENT
from app.nn.network import Sequential
from app.nn.perceptron import (
    binary_network,
    gradient_step,
    network_loss,
    network_predictions,
    perceptron_criterion,
    perceptron_rule_step,
    sigmoid,
    sign_predictions,
)
from app.nn.spec import dump_params

MODELS = ("perceptron", "sigmoid", "mlp")


class LessonInputError(ValueError):
    """A request that is well-formed but cannot be run (e.g. weights of the wrong shape);
    `field` names the culprit."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass
class TrainSetup:
    points: np.ndarray           # (N, 2) float64
    labels: np.ndarray           # (N,) 0/1
    model: str
    width: int = 3
    activation: str = "tanh"
    learning_rate: float = 0.5
    steps: int = 20
    step: int = 0                # how many steps the state has already taken
    weights: dict[str, Any] | None = None
    seed: int = 0
    grid_size: int = 61


def _network(setup: TrainSetup) -> Sequential:
    width = setup.width if setup.model == "mlp" else 0
    network = binary_network(width, setup.activation, rng=setup.seed)
    if setup.weights is not None:
        _load(network, setup.weights)
    return network


def _load(network: Sequential, weights: dict[str, Any]) -> None:
    expected = dump_params(network)
    if set(weights) != set(expected):
        raise LessonInputError(
            f"weights must have exactly the keys {', '.join(sorted(expected))}; "
            f"got {', '.join(sorted(weights)) or 'none'}", field="state.weights",
        )
    for name, layer in network:
        for key in layer.params:
            flat = f"{name}.{key}"
            try:
                value = np.asarray(weights[flat], dtype=np.float64)
            except (TypeError, ValueError):
                raise LessonInputError(f"{flat} must be numbers", field="state.weights") from None
            if value.shape != layer.params[key].shape:
                raise LessonInputError(
                    f"{flat} has shape {list(value.shape)}; this model needs "
                    f"{list(layer.params[key].shape)}", field="state.weights",
                )
            if not np.isfinite(value).all():
                raise LessonInputError(f"{flat} holds NaN or infinity", field="state.weights")
            layer.params[key] = value


def _lists(params: dict[str, np.ndarray]) -> dict[str, Any]:
    return {k: np.asarray(v, dtype=np.float64).tolist() for k, v in params.items()}


def _flat_params(network: Sequential) -> dict[str, Any]:
    return _lists(dump_params(network))


def line_segment(weight: np.ndarray, bias: float, extent: float = EXTENT) -> list | None:
    """The part of the line w.x + b = 0 inside the square [-extent, extent]^2, as
    [[x0, y0], [x1, y1]], or None when the line misses the square (or w = 0)."""
    w1, w2 = float(weight[0]), float(weight[1])
    found: list[tuple[float, float]] = []
    if abs(w2) > 1e-12:
        for x in (-extent, extent):
            y = -(bias + w1 * x) / w2
            if -extent <= y <= extent:
                found.append((x, y))
    if abs(w1) > 1e-12:
        for y in (-extent, extent):
            x = -(bias + w2 * y) / w1
            if -extent <= x <= extent:
                found.append((x, y))
    unique: list[tuple[float, float]] = []
    for p in found:
        if all(abs(p[0] - q[0]) > 1e-9 or abs(p[1] - q[1]) > 1e-9 for q in unique):
            unique.append(p)
    if len(unique) < 2:
        return None
    return [list(unique[0]), list(unique[1])]


def grid_points(size: int, extent: float = EXTENT) -> np.ndarray:
    """(size*size, 2) points of a size x size grid over the square, row 0 at the top
    (y = +extent), column 0 at the left (x = -extent)."""
    axis = np.linspace(-extent, extent, size)
    gx, gy = np.meshgrid(axis, axis[::-1])
    return np.stack([gx.ravel(), gy.ravel()], 1)


def _accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float((predictions == labels).mean()) if labels.size else 1.0


def _run_rule(setup: TrainSetup, network: Sequential) -> list[dict[str, Any]]:
    layer = network.layers[0]
    weight, bias = layer.params["weight"][0].copy(), float(layer.params["bias"][0])
    n = len(setup.points)
    records = []
    for t in range(setup.step, setup.step + setup.steps):
        i = t % n
        label = int(setup.labels[i])
        step = perceptron_rule_step(weight, bias, setup.points[i], 2 * label - 1,
                                    setup.learning_rate)
        weight, bias = step.weight, step.bias
        predictions = sign_predictions(weight, bias, setup.points)
        records.append({
            "step": t + 1, "epoch": t // n, "point": i, "label": label,
            "activation": step.activation, "misclassified": step.misclassified,
            "update": {"fc1.weight": [step.weight_update.tolist()],
                       "fc1.bias": [step.bias_update]},
            "weights": {"fc1.weight": [weight.tolist()], "fc1.bias": [bias]},
            "loss": perceptron_criterion(weight, bias, setup.points, setup.labels),
            "accuracy": _accuracy(predictions, setup.labels),
        })
    layer.params["weight"] = weight[None, :]
    layer.params["bias"] = np.array([bias])
    return records


def _run_gradient(setup: TrainSetup, network: Sequential) -> list[dict[str, Any]]:
    records = []
    for t in range(setup.step, setup.step + setup.steps):
        result = gradient_step(network, setup.points, setup.labels, setup.learning_rate)
        predictions = network_predictions(network, setup.points)
        records.append({
            "step": t + 1, "epoch": t, "loss_before": result.loss,
            "update": {
                f"{name}.{key}": np.asarray(value).tolist()
                for name, layer_updates in zip(network.names, result.updates, strict=True)
                for key, value in layer_updates.items()
            },
            "weights": _flat_params(network),
            "loss": network_loss(network, setup.points, setup.labels),
            "accuracy": _accuracy(predictions, setup.labels),
            "misclassified_points": np.flatnonzero(predictions != setup.labels).tolist(),
        })
    return records


def hidden_view(network: Sequential, points: np.ndarray) -> dict[str, Any]:
    """The MLP's hidden layer: each unit's own line w_j.x + b_j = 0, and every point's
    position in hidden space projected on two axes: the output unit's logit z = w2.h + b2
    (the output boundary is z = 0, a vertical line) and the direction of largest remaining
    spread of h."""
    fc1, act, fc2 = network.layers
    w1, b1 = fc1.params["weight"], fc1.params["bias"]
    hidden, _ = act.forward(points @ w1.T + b1)
    w2, b2 = fc2.params["weight"][0], float(fc2.params["bias"][0])
    logit = hidden @ w2 + b2
    norm = float(np.linalg.norm(w2))
    direction = w2 / norm if norm > 0 else np.zeros_like(w2)
    rest = hidden - np.outer(hidden @ direction, direction)
    rest = rest - rest.mean(axis=0)
    if hidden.shape[1] > 1 and np.abs(rest).max(initial=0) > 1e-12:
        _, _, vt = np.linalg.svd(rest, full_matrices=False)
        other = rest @ vt[0]
        other = other * (1 if other.sum() >= 0 else -1)  # a stable orientation
    else:
        other = np.zeros(len(points))
    return {
        "lines": [line_segment(w1[j], float(b1[j])) for j in range(w1.shape[0])],
        "activations": hidden.tolist(),
        "projection": np.stack([logit, other], 1).tolist(),
        "axes": ["output logit w2·h + b2 (boundary at 0)", "largest remaining spread of h"],
    }


def train(setup: TrainSetup) -> dict[str, Any]:
    """Run setup.steps steps from the given state; returns the response body."""
    if setup.model not in MODELS:
        raise LessonInputError(f"model must be one of {', '.join(MODELS)}", field="model")
    if len(setup.points) < 1:
        raise LessonInputError("at least one point is needed", field="points")
    network = _network(setup)
    if setup.model == "perceptron":
        records = _run_rule(setup, network)
    else:
        records = _run_gradient(setup, network)
    grid = grid_points(setup.grid_size)
    fc1 = network.layers[0]
    body: dict[str, Any] = {
        "model": setup.model,
        "state": {"step": setup.step + setup.steps, "weights": _flat_params(network)},
        "steps": records,
        "extent": EXTENT,
        "grid_size": setup.grid_size,
    }
    if setup.model == "perceptron":
        w, b = fc1.params["weight"][0], float(fc1.params["bias"][0])
        body["grid"] = sign_predictions(w, b, grid).astype(float).reshape(
            setup.grid_size, setup.grid_size).tolist()
        predictions = sign_predictions(w, b, setup.points)
        body["loss"] = perceptron_criterion(w, b, setup.points, setup.labels)
    else:
        logits = network.predict(grid)[:, 0]
        body["grid"] = sigmoid(logits).reshape(setup.grid_size, setup.grid_size).tolist()
        predictions = network_predictions(network, setup.points)
        body["loss"] = network_loss(network, setup.points, setup.labels)
    body["accuracy"] = _accuracy(predictions, setup.labels)
    body["misclassified_points"] = np.flatnonzero(predictions != setup.labels).tolist()
    if setup.model == "mlp":
        body["boundary"] = None
        body["hidden"] = hidden_view(network, setup.points)
    else:
        body["boundary"] = line_segment(fc1.params["weight"][0], float(fc1.params["bias"][0]))
        body["hidden"] = None
    return body
