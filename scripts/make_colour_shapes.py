"""Generate the "colour shapes" dataset: app/data/colour_shapes.npz (committed).

Every image is 20x20 RGB: one shape (square, disc or triangle) in one colour (red, green or
blue) on a textured background (stripes of random angle and frequency in two random dull
colours, plus noise). The label is shape * 3 + colour, 9 classes, so it depends on both the
shape and the colour: a grayscale network cannot tell a red square from a green one. Shapes
vary in size, position and shade. Deterministic: the same seed gives the same bytes.

    python scripts/make_colour_shapes.py            # writes app/data/colour_shapes.npz
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "app" / "data" / "colour_shapes.npz"
SIZE = 20
SHAPES = ("square", "disc", "triangle")
COLOURS = ("red", "green", "blue")
PER_CLASS = 250          # 200 for training, 50 held out
HELDOUT_PER_CLASS = 50
SEED = 0


def background(rng: np.random.Generator) -> np.ndarray:
    """(SIZE, SIZE, 3) float in [0, 1]: stripes between two dull colours, plus noise."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(3, 8)
    t = 0.5 + 0.5 * np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period)
    a, b = rng.uniform(0.15, 0.55, size=(2, 3))
    img = a + (b - a) * t[..., None]
    return img + rng.normal(0, 0.04, size=img.shape)


def mask(shape: str, rng: np.random.Generator) -> np.ndarray:
    """(SIZE, SIZE) bool: the shape at a random size and place, fully inside the image."""
    half = rng.uniform(4, 7)
    cy, cx = rng.uniform(half + 1, SIZE - half - 1, size=2)
    y, x = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    if shape == "square":
        return (np.abs(y - cy) <= half * 0.85) & (np.abs(x - cx) <= half * 0.85)
    if shape == "disc":
        return (y - cy) ** 2 + (x - cx) ** 2 <= half ** 2
    # triangle pointing up: below the two slanted edges, above the base
    top, base = cy - half, cy + half * 0.8
    inside = (y >= top) & (y <= base)
    width = (y - top) / (base - top) * half
    return inside & (np.abs(x - cx) <= width)


def colour(index: int, rng: np.random.Generator) -> np.ndarray:
    """A bright, saturated shade of red, green or blue (RGB in [0, 1])."""
    rgb = rng.uniform(0.0, 0.3, size=3)
    rgb[index] = rng.uniform(0.75, 1.0)
    return rgb


def make(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, SIZE, SIZE), labels uint8 (N,)), classes interleaved."""
    rng = np.random.default_rng(seed)
    classes = len(SHAPES) * len(COLOURS)
    images = np.empty((classes * PER_CLASS, 3, SIZE, SIZE), dtype=np.uint8)
    labels = np.empty(classes * PER_CLASS, dtype=np.uint8)
    for n in range(classes * PER_CLASS):
        label = n % classes
        shape, col = divmod(label, len(COLOURS))
        img = background(rng)
        m = mask(SHAPES[shape], rng)
        img[m] = colour(col, rng) + rng.normal(0, 0.03, size=(int(m.sum()), 3))
        images[n] = np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8).transpose(2, 0, 1)
        labels[n] = label
    return images, labels


def main() -> None:
    images, labels = make()
    np.savez_compressed(OUT, images=images, labels=labels)
    print(f"wrote {OUT}: {images.shape} images, {len(set(labels.tolist()))} classes")


if __name__ == "__main__":
    main()
