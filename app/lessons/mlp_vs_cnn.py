"""An MLP next to a CNN: its layers as matrix-vector products, parameter counts, and what a
shift of the input does to each.

A hidden layer of the MLP computes n = Θ x + b and a = act(n). Backpropagation gives its delta
(the loss's gradient with respect to n) from the next layer's: δ = (Θ_nextᵀ δ_next) ∘ act'(n),
with act'(n) = 1 - a² for tanh and a(1 - a) for the sigmoid.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from app.models.registry import Model
from app.nn.layers import Linear, Sigmoid, Tanh
from app.nn.losses import softmax

ACTIVATIONS = {Tanh: ("tanh", lambda a: 1.0 - a * a), Sigmoid: ("sigmoid", lambda a: a * (1 - a))}


def hidden_layers(model: Model) -> list[str]:
    """Names of the model's Linear layers that an activation follows (the hidden layers)."""
    names, layers = model.network.names, model.network.layers
    return [n for n, layer, after in zip(names, layers, layers[1:], strict=False)
            if isinstance(layer, Linear) and type(after) in ACTIVATIONS]


def matrix_form(model: Model, image: np.ndarray, label: int, layer: str) -> dict[str, Any]:
    """One real trace of `image` (28, 28) with target `label`, and hidden layer `layer`'s step
    recomputed as matrix-vector products (float64) next to the core's numbers.

    Returns x (the layer's input, flattened), theta_shape, bias, n = Θx + b, a = act(n),
    delta_next (δ of the next Linear), back = Θ_nextᵀ δ_next, act_prime = act'(n),
    delta = back ∘ act'(n), the trace's own n, a and δ, and the largest differences.
    Raises KeyError for a layer that is not hidden."""
    if layer not in hidden_layers(model):
        raise KeyError(layer)
    trace = model.trace(image, label)
    by_name = {t.name: t for t in trace.layers}
    names = model.network.names
    i = names.index(layer)
    act_name, act_prime = ACTIVATIONS[type(model.network.layers[i + 1])]
    nxt = next(n for n in names[i + 2:] if isinstance(model.network.layers[names.index(n)],
                                                       Linear))
    x = (trace.input if i == 0 else by_name[names[i - 1]].output).reshape(-1).astype(np.float64)
    theta = by_name[layer].params["weight"].astype(np.float64)
    bias = by_name[layer].params["bias"].astype(np.float64)
    n = theta @ x + bias
    a = np.tanh(n) if act_name == "tanh" else 1.0 / (1.0 + np.exp(-n))
    theta_next = by_name[nxt].params["weight"].astype(np.float64)
    delta_next = by_name[nxt].grad_output.reshape(-1).astype(np.float64)
    back = theta_next.T @ delta_next
    prime = act_prime(a)
    delta = back * prime
    core_n = by_name[layer].output.reshape(-1).astype(np.float64)
    core_a = by_name[names[i + 1]].output.reshape(-1).astype(np.float64)
    core_delta = by_name[layer].grad_output.reshape(-1).astype(np.float64)
    return {
        "layer": layer, "activation": act_name, "next_layer": nxt,
        "theta_shape": list(theta.shape), "theta_next_shape": list(theta_next.shape),
        "x": x, "theta": theta, "bias": bias, "n": n, "a": a, "delta_next": delta_next,
        "back": back, "act_prime": prime, "delta": delta,
        "core_n": core_n, "core_a": core_a, "core_delta": core_delta,
        "forward_max_abs_difference": float(max(np.abs(n - core_n).max(),
                                                np.abs(a - core_a).max())),
        "backward_max_abs_difference": float(np.abs(delta - core_delta).max()),
        "prediction": int(trace.prediction[0]),
        "probability": float(trace.probabilities[0, trace.prediction[0]]),
        "loss": float(trace.loss),
    }


def parameter_counts(height: int, width: int, hidden: int, kernel: int) -> dict[str, int]:
    """Weights (biases apart) of one layer from an H x W image to `hidden` units: fully
    connected (every unit reads every pixel), locally connected (every unit its own k x k
    patch) and one shared k x k kernel (a convolution's single feature map). Exact integers."""
    return {
        "fully_connected": height * width * hidden,
        "locally_connected": hidden * kernel * kernel,
        "shared_kernel": kernel * kernel,
    }


def shift_images(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(N, H, W) images moved down by dy and right by dx pixels (negative: up, left); what
    moves out is lost, what comes in is 0 (black)."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[:, max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \
        images[:, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


DIRECTIONS = (("right", 0, 1), ("left", 0, -1), ("down", 1, 0), ("up", -1, 0))


def shift_report(model: Model, images: np.ndarray, labels: np.ndarray, pixels: int
                 ) -> dict[str, Any]:
    """Held-out accuracy and mean probability of the true class, unshifted and shifted by
    `pixels` in each of the four directions, plus the mean over the four."""
    def score(batch):
        probs = softmax(model.network.predict(model.prepare(batch)).astype(np.float64))
        return {"accuracy": float((probs.argmax(1) == labels).mean()),
                "true_class_probability": float(probs[np.arange(len(labels)), labels].mean())}

    shifted = {name: score(shift_images(images, dy * pixels, dx * pixels))
               for name, dy, dx in DIRECTIONS}
    return {
        "model": model.id, "name": model.architecture.name,
        "parameters": int(model.network.parameter_count),
        "unshifted": score(images),
        "shifted": shifted,
        "shifted_mean_accuracy": float(np.mean([s["accuracy"] for s in shifted.values()])),
    }


@lru_cache(maxsize=16)
def cached_shift_report(model_id: str, pixels: int) -> dict[str, Any]:
    """shift_report of a bundled model on the held-out digits (deterministic: cached)."""
    from app.data import load_digits, split_indices
    from app.models import load_model

    images, labels = load_digits()
    _, heldout = split_indices()
    return shift_report(load_model(model_id), images[heldout], labels[heldout].astype(np.intp),
                        pixels)
