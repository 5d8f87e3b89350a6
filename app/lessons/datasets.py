"""Seeded 2-D toy datasets for the perceptron lesson: AND, OR, XOR, two moons, circles.

Every dataset lives in the square [-EXTENT, EXTENT]^2 with labels 0/1, and is the same for
the same (name, n, seed). XOR is built from mirrored quadruples (u, v), (-u, -v) (label 0)
and (-u, v), (u, -v) (label 1): any straight line gets at most three of each quadruple right
(both diagonals' midpoints are the origin, which cannot lie on both sides of a line), so no
perceptron ever exceeds 75% on it.
"""

from __future__ import annotations

import numpy as np

EXTENT = 2.5
DATASETS = ("and", "or", "xor", "moons", "circles")
CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
JITTER = 0.45


def _corners(n: int, rng: np.random.Generator, labels_of_corners: list[int]):
    corner = np.arange(n) % 4
    points = CORNERS[corner] + rng.uniform(-JITTER, JITTER, size=(n, 2))
    return points, np.asarray(labels_of_corners)[corner]


def _xor(n: int, rng: np.random.Generator):
    quads = -(-n // 4)
    uv = rng.uniform(0.35, 1.6, size=(quads, 2))
    u, v = uv[:, 0], uv[:, 1]
    blocks = np.stack([
        np.stack([u, v], 1), np.stack([-u, -v], 1),     # label 0: x and y share a sign
        np.stack([-u, v], 1), np.stack([u, -v], 1),     # label 1: they differ
    ], 1)
    labels = np.tile([0, 0, 1, 1], quads)
    return blocks.reshape(-1, 2)[:n], labels[:n]


def _moons(n: int, rng: np.random.Generator, noise: float = 0.12):
    upper = np.arange(n) % 2 == 0
    t = rng.uniform(0, np.pi, size=n)
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x - 0.5, y - 0.25], 1) * 1.6 + rng.normal(0, noise, size=(n, 2))
    return points, (~upper).astype(np.int64)


def _circles(n: int, rng: np.random.Generator, noise: float = 0.1):
    inner = np.arange(n) % 2 == 1
    t = rng.uniform(0, 2 * np.pi, size=n)
    radius = np.where(inner, 0.8, 1.8) + rng.normal(0, noise, size=n)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], 1), inner.astype(np.int64)


def make_dataset(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 2) float64 inside [-EXTENT, EXTENT]^2, labels (n,) int64 0/1)."""
    rng = np.random.default_rng(seed)
    if name == "and":
        points, labels = _corners(n, rng, [0, 0, 0, 1])
    elif name == "or":
        points, labels = _corners(n, rng, [0, 1, 1, 1])
    elif name == "xor":
        points, labels = _xor(n, rng)
    elif name == "moons":
        points, labels = _moons(n, rng)
    elif name == "circles":
        points, labels = _circles(n, rng)
    else:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return np.clip(points, -EXTENT, EXTENT), labels.astype(np.int64)
