"""The generated "colour shapes" dataset (scripts/make_colour_shapes.py): 2,250 RGB images,
20x20, of a square, disc or triangle in red, green or blue on a textured background. Label =
shape * 3 + colour (9 classes): it depends on both. Images are uint8 (N, 3, 20, 20)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parent / "colour_shapes.npz"
SHAPES = ("square", "disc", "triangle")
COLOURS = ("red", "green", "blue")
CLASSES = tuple(f"{c} {s}" for s in SHAPES for c in COLOURS)
TRAIN_PER_CLASS = 200


@lru_cache(maxsize=1)
def load_colour_shapes() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (2250, 3, 20, 20), labels uint8 (2250,)), read-only."""
    with np.load(PATH) as f:
        images, labels = f["images"], f["labels"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def colour_split() -> tuple[np.ndarray, np.ndarray]:
    """(train, heldout) indices: the classes are interleaved, so the first 200 images of every
    class train and the last 50 are held out (never trained on)."""
    _, labels = load_colour_shapes()
    index = np.arange(labels.size)
    heldout = index // len(CLASSES) >= TRAIN_PER_CLASS
    return index[~heldout], index[heldout]
