"""Images built in the tests: PNG bytes, and photo-like versions of MNIST digits."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def png_bytes(image: np.ndarray | Image.Image, fmt: str = "PNG") -> bytes:
    """uint8 (H, W) or a PIL image -> encoded bytes."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def photo_like(digit: np.ndarray, seed: int = 0) -> np.ndarray:
    """A white-on-black 28x28 digit -> uint8 (300, 420): dark ink on light, uneven paper,
    scaled up 5x and pasted off-centre (towards the top left), with sensor noise."""
    rng = np.random.default_rng(seed)
    ink = np.asarray(Image.fromarray(digit).resize((140, 140), Image.Resampling.BILINEAR))
    canvas_h, canvas_w = 300, 420
    rows = np.linspace(0, 1, canvas_h)[:, None]
    cols = np.linspace(0, 1, canvas_w)[None, :]
    paper = 225 - 25 * rows - 15 * cols  # light, unevenly lit: 185..225
    top, left = 40, 70
    photo = paper.copy()
    patch = photo[top : top + 140, left : left + 140]
    photo[top : top + 140, left : left + 140] = patch - (patch - 30) * (ink / 255.0)
    photo += rng.normal(0, 4, photo.shape)
    return np.clip(photo, 0, 255).astype(np.uint8)
