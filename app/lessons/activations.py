"""Activation functions, evaluated by the core: f(x) from each layer's forward and f'(x) from
its own backward with dy = 1, on a grid of x; where each one saturates (|f'| below a
threshold, computed from those derivatives); and f, f' at the ends of the input ranges that
keep sigmoid and tanh out of saturation ([0, 1] and [-1, 1]) next to a raw pixel value, 255.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.activations import Clamp, Identity, LeakyReLU, ReLU, ReLU6, Sigmoid, Sign, Tanh
from app.nn.base import Layer

# kind -> (display name, factory), in the order the lesson shows them.
ACTIVATIONS: dict[str, tuple[str, Any]] = {
    "sign": ("sign", Sign),
    "sigmoid": ("sigmoid", Sigmoid),
    "tanh": ("tanh", Tanh),
    "relu": ("ReLU", ReLU),
    "leakyrelu": ("LeakyReLU", LeakyReLU),
    "relu6": ("ReLU6", ReLU6),
    "identity": ("identity", Identity),
    "clamp": ("clamp", Clamp),
}
SATURATION_THRESHOLD = 0.01
# The input range each squashing function is usually fed (scaled pixels), and a raw pixel.
INPUT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
RAW_PIXEL = 255.0


def make_layer(kind: str, *, negative_slope: float = 0.01, min_val: float = -1.0,
               max_val: float = 1.0) -> Layer:
    """The core's layer for `kind` (a key of ACTIVATIONS); KeyError for any other."""
    factory = ACTIVATIONS[kind][1]
    if kind == "leakyrelu":
        return factory(negative_slope)
    if kind == "clamp":
        return factory(min_val, max_val)
    return factory()


def f_and_derivative(layer: Layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) by the layer's forward and f'(x) by its backward with dy = 1, float64, shape of x."""
    x = np.asarray(x, dtype=np.float64)
    y, cache = layer.forward(x)
    dx, _ = layer.backward(np.ones_like(x), cache)
    return np.asarray(y, dtype=np.float64), np.asarray(dx, dtype=np.float64)


def saturated_intervals(x: np.ndarray, df: np.ndarray,
                        threshold: float = SATURATION_THRESHOLD) -> list[tuple[float, float]]:
    """The runs of consecutive grid points where |f'(x)| < threshold, as [first x, last x]."""
    flat = np.abs(df) < threshold
    if not flat.any():
        return []
    edges = np.diff(np.concatenate(([0], flat.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(float(x[a]), float(x[b])) for a, b in zip(starts, stops, strict=True)]


def evaluate(kind: str, x_min: float, x_max: float, points: int, *,
             negative_slope: float = 0.01, min_val: float = -1.0,
             max_val: float = 1.0) -> dict[str, Any]:
    """f and f' of activation `kind` on `points` evenly spaced x in [x_min, x_max] (x_min <
    x_max, points >= 2), the saturated intervals, and probes at the scaled input range's ends
    and at a raw pixel."""
    layer = make_layer(kind, negative_slope=negative_slope, min_val=min_val, max_val=max_val)
    x = np.linspace(x_min, x_max, points)
    y, df = f_and_derivative(layer, x)
    lo, hi = INPUT_RANGES.get(kind, (-1.0, 1.0))
    probe_x = np.array([lo, hi, RAW_PIXEL])
    probe_y, probe_df = f_and_derivative(layer, probe_x)
    return {
        "kind": kind,
        "name": ACTIVATIONS[kind][0],
        "config": layer.config(),
        "x": x.tolist(),
        "f": y.tolist(),
        "df": df.tolist(),
        "threshold": SATURATION_THRESHOLD,
        "saturated": [list(run) for run in saturated_intervals(x, df)],
        "input_range": list(INPUT_RANGES[kind]) if kind in INPUT_RANGES else None,
        "probes": [{"x": float(a), "f": float(b), "df": float(c)}
                   for a, b, c in zip(probe_x, probe_y, probe_df, strict=True)],
    }
