"""Central finite differences in float64, for checking every backward pass of app.nn.

A layer is checked through the scalar L = <forward(x), g> for a random upstream gradient g
(never all-ones: ones would hide a transposed or mis-summed gradient). Its analytic
gradients are `backward(g, cache)`; the numeric ones are (L(v + eps) - L(v - eps)) / 2eps per
element of the input and of every parameter.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.nn import Layer

EPS = 1e-6
# Central differences in float64 with eps = 1e-6 are accurate to ~1e-9 relative here;
# a real gradient bug is off by O(1).
RTOL = 1e-6
ATOL = 1e-8


def numerical_gradient(
    scalar_fn: Callable[[np.ndarray], float], value: np.ndarray, eps: float = EPS
) -> np.ndarray:
    """d scalar_fn / d value by central differences, one element at a time.

    value (any shape, float64) is perturbed in place and restored; returns value's shape.
    """
    grad = np.zeros_like(value, dtype=np.float64)
    flat_value, flat_grad = value.reshape(-1), grad.reshape(-1)
    for i in range(flat_value.size):
        original = flat_value[i]
        flat_value[i] = original + eps
        plus = scalar_fn(value)
        flat_value[i] = original - eps
        minus = scalar_fn(value)
        flat_value[i] = original
        flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def numerical_input_gradient(
    layer: Layer, x: np.ndarray, upstream: np.ndarray, eps: float = EPS
) -> np.ndarray:
    """d<layer.forward(x), upstream>/dx for x (N, ...) -> (N, ...), vectorised per batch item.

    Every perturbation of item n's D elements becomes one row of a batch of 2D copies of
    x[n], run through a single forward. Valid because layers treat batch items
    independently (tests/nn/test_layer_gradients.py proves that separately).
    """
    n = x.shape[0]
    item_shape = x.shape[1:]
    size = int(np.prod(item_shape))
    bump = (eps * np.eye(size)).reshape(size, *item_shape)
    grad = np.empty_like(x, dtype=np.float64)
    for item in range(n):
        batch = np.concatenate([x[item] + bump, x[item] - bump])
        y, _ = layer.forward(batch)
        scores = (y.reshape(2 * size, -1) * upstream[item].reshape(1, -1)).sum(axis=1)
        grad[item] = ((scores[:size] - scores[size:]) / (2 * eps)).reshape(item_shape)
    return grad


def layer_gradients(
    layer: Layer, x: np.ndarray, rng: np.random.Generator, eps: float = EPS
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(analytic, numeric) gradients of <forward(x), g> for a random g, keyed "input" and
    like layer.params. The layer and x must be float64."""
    assert x.dtype == np.float64, x.dtype
    assert all(p.dtype == np.float64 for p in layer.params.values())
    y, cache = layer.forward(x)
    upstream = rng.standard_normal(y.shape)
    dx, grads = layer.backward(upstream, cache)
    assert set(grads) == set(layer.params), (set(grads), set(layer.params))
    analytic = {"input": dx, **grads}
    numeric = {"input": numerical_input_gradient(layer, x, upstream, eps)}

    def score(_: np.ndarray) -> float:
        return float((layer.forward(x)[0] * upstream).sum())

    for key, param in layer.params.items():
        numeric[key] = numerical_gradient(score, param, eps)
    return analytic, numeric


def assert_gradients_close(
    analytic: dict[str, np.ndarray],
    numeric: dict[str, np.ndarray],
    rtol: float = RTOL,
    atol: float = ATOL,
    context: str = "",
) -> None:
    """Every analytic gradient equals its numeric one in shape and value."""
    assert analytic.keys() == numeric.keys(), (analytic.keys(), numeric.keys())
    for key in numeric:
        a, n = np.asarray(analytic[key]), numeric[key]
        assert a.shape == n.shape, f"{context} d/d{key}: shape {a.shape} != {n.shape}"
        scale = max(1.0, float(np.abs(n).max(initial=0.0)))
        np.testing.assert_allclose(
            a, n, rtol=rtol, atol=atol * scale, err_msg=f"{context} d/d{key}"
        )


def check_layer(layer: Layer, x: np.ndarray, rng: np.random.Generator, context: str = "") -> None:
    """Assert that layer.backward matches central finite differences for input and params."""
    analytic, numeric = layer_gradients(layer, x, rng)
    assert_gradients_close(analytic, numeric, context=context or repr(layer))


def distinct_values(shape: tuple[int, ...], rng: np.random.Generator, gap: float = 0.01):
    """A float64 array of the given shape whose entries are pairwise at least `gap` apart,
    so max pooling has no ties and no winner changes under an eps perturbation."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * gap - size * gap / 2).reshape(shape).astype(np.float64)


def away_from_zero(shape: tuple[int, ...], rng: np.random.Generator, margin: float = 0.05):
    """Standard-normal float64 entries pushed at least `margin` away from 0 (ReLU's kink)."""
    values = rng.standard_normal(shape)
    return values + np.where(values >= 0, margin, -margin)


def multi_input_gradients(
    layer: Layer, xs: list[np.ndarray], rng: np.random.Generator, eps: float = EPS
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(analytic, numeric) gradients of <forward(*xs), g> for a random g, keyed "input0",
    "input1", ... and like layer.params; every input perturbed element by element (no
    assumption that batch items are independent: right for BatchNorm in training mode and
    for layers with several inputs). A single-input layer gets xs = [x]."""
    assert all(x.dtype == np.float64 for x in xs)

    def run(*args):
        return layer.forward(*args) if layer.arity != 1 else layer.forward(args[0])

    y, cache = run(*xs)
    upstream = rng.standard_normal(y.shape)
    dxs, grads = layer.backward(upstream, cache)
    if layer.arity == 1:
        dxs = (dxs,)
    assert set(grads) == set(layer.params), (set(grads), set(layer.params))
    analytic = {f"input{i}": dx for i, dx in enumerate(dxs)} | grads

    def score(_: np.ndarray) -> float:
        return float((run(*xs)[0] * upstream).sum())

    numeric = {f"input{i}": numerical_gradient(score, x, eps) for i, x in enumerate(xs)}
    for key, param in layer.params.items():
        numeric[key] = numerical_gradient(score, param, eps)
    return analytic, numeric


def check_coupled(
    layer: Layer, xs: list[np.ndarray], rng: np.random.Generator, context: str = ""
) -> None:
    """check_layer for layers with several inputs or whose batch items interact."""
    analytic, numeric = multi_input_gradients(layer, xs, rng)
    assert_gradients_close(analytic, numeric, context=context or repr(layer))
