"""The galleries: held-out images no bundled model trained on, by gallery id.

Two datasets: "digits" (the bundled MNIST digits, uint8 (28, 28) white ink on black; the
default) and "colour-shapes" (the colour shapes, uint8 (3, 20, 20) RGB). Each gallery holds
only its dataset's held-out split; ids run 0..N-1 and interleave the classes, so any page of a
gallery shows every class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from app.data import load_digits, split_indices
from app.data.colour_shapes import CLASSES as COLOUR_CLASSES
from app.data.colour_shapes import colour_split, load_colour_shapes
from app.services.errors import ApiError

DEFAULT_DATASET = "digits"


@dataclass(frozen=True)
class Dataset:
    id: str
    description: str
    classes: tuple[str, ...]
    load: Callable[[], tuple[np.ndarray, np.ndarray]]
    heldout: Callable[[], np.ndarray]


DATASETS: dict[str, Dataset] = {
    "digits": Dataset(
        "digits", "held-out MNIST digits (28x28 grayscale, white ink on black)",
        tuple(str(d) for d in range(10)), load_digits, lambda: split_indices()[1],
    ),
    "colour-shapes": Dataset(
        "colour-shapes", "held-out colour shapes (20x20 RGB)",
        COLOUR_CLASSES, load_colour_shapes, lambda: colour_split()[1],
    ),
}


def _dataset(dataset: str) -> Dataset:
    if dataset not in DATASETS:
        raise ApiError(
            422, "unknown_dataset",
            f"unknown dataset {dataset!r}; available: {', '.join(DATASETS)}",
            field="dataset", available=list(DATASETS),
        )
    return DATASETS[dataset]


@cache
def gallery_indices(dataset: str = DEFAULT_DATASET) -> np.ndarray:
    """Dataset indices of the gallery, in gallery-id order (classes interleaved)."""
    source = _dataset(dataset)
    _, labels = source.load()
    heldout = source.heldout()
    heldout_labels = labels[heldout]
    order = np.argsort(heldout_labels, kind="stable")
    rank = np.empty_like(order)
    # rank within its class: position in the class-sorted list minus the class's first position
    starts = np.searchsorted(heldout_labels[order], heldout_labels[order])
    rank[order] = np.arange(order.size) - starts
    return heldout[np.lexsort((heldout_labels, rank))]


def gallery_labels(dataset: str = DEFAULT_DATASET) -> np.ndarray:
    """The label of every gallery id."""
    _, labels = _dataset(dataset).load()
    return labels[gallery_indices(dataset)]


def sample_image(sample_id: int, dataset: str = DEFAULT_DATASET) -> tuple[np.ndarray, int]:
    """(uint8 image, label) of a gallery id: (28, 28) for digits, (3, 20, 20) RGB for colour
    shapes; 404 envelope if unknown."""
    ids = gallery_indices(dataset)
    if not 0 <= sample_id < ids.size:
        raise ApiError(
            404, "sample_not_found",
            f"unknown sample {sample_id}; sample ids run from 0 to {ids.size - 1}",
            sample=sample_id,
        )
    images, labels = _dataset(dataset).load()
    index = ids[sample_id]
    return images[index], int(labels[index])


def sample_digit(sample_id: int) -> tuple[np.ndarray, int]:
    """(uint8 (28, 28) white-on-black digit, label) of a gallery id; 404 envelope if unknown."""
    return sample_image(sample_id, "digits")


def dataset_for(model) -> str:
    """The gallery whose samples fit `model`: its architecture's `dataset`, else colour shapes
    for a 3-channel input and digits for a 1-channel one."""
    named = getattr(model.architecture, "dataset", None)
    if named in DATASETS:
        return named
    return "colour-shapes" if model.input_shape[0] == 3 else DEFAULT_DATASET


def as_picture(image: np.ndarray) -> np.ndarray:
    """A gallery image as a picture: (H, W) stays, (3, H, W) becomes (H, W, 3)."""
    return np.moveaxis(image, 0, -1) if image.ndim == 3 else image
