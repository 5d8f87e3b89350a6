"""A step's image as a PNG data URL, for the JSON response."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def png_data_url(image: np.ndarray) -> str:
    """uint8 (H, W) -> "data:image/png;base64,..." (grayscale PNG); uint8 (H, W, 3) -> an
    RGB PNG."""
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    if arr.ndim != 2 and not (arr.ndim == 3 and arr.shape[2] == 3):
        raise ValueError(f"expected (H, W) or (H, W, 3), got {arr.shape}")
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
