"""The gallery: held-out digits no bundled model trained on, by gallery id."""

from __future__ import annotations

from functools import cache

import numpy as np

from app.data import load_digits, split_indices
from app.services.errors import ApiError


@cache
def gallery_indices() -> np.ndarray:
    """Dataset indices of the gallery, in gallery-id order (classes interleaved)."""
    _, labels = load_digits()
    _, heldout = split_indices()
    heldout_labels = labels[heldout]
    order = np.argsort(heldout_labels, kind="stable")
    rank = np.empty_like(order)
    # rank within its class: position in the class-sorted list minus the class's first position
    starts = np.searchsorted(heldout_labels[order], heldout_labels[order])
    rank[order] = np.arange(order.size) - starts
    return heldout[np.lexsort((heldout_labels, rank))]


def sample_digit(sample_id: int) -> tuple[np.ndarray, int]:
    """(uint8 (28, 28) white-on-black digit, label) of a gallery id; 404 envelope if unknown."""
    ids = gallery_indices()
    if not 0 <= sample_id < ids.size:
        raise ApiError(
            404, "sample_not_found",
            f"unknown sample {sample_id}; sample ids run from 0 to {ids.size - 1}",
            sample=sample_id,
        )
    images, labels = load_digits()
    index = ids[sample_id]
    return images[index], int(labels[index])
