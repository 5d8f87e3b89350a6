"""A drawn canvas sent as JSON (a 2-D list of numbers 0-255) -> uint8 (H, W), validated."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.imaging.decode import check_dimensions
from app.imaging.errors import ImageRejected
from app.settings import Settings


def _invalid_pixels(reason: str, **details: Any) -> ImageRejected:
    return ImageRejected(422, "invalid_pixels", f"pixels: {reason}", **details)


def pixels_to_image(pixels: Any, settings: Settings) -> np.ndarray:
    """A drawn canvas from JSON (a 2-D list of numbers 0-255, each side 1..max_canvas_side)
    -> uint8 (H, W). Floats are rounded. Raises ImageRejected 422 invalid_pixels naming why."""
    limit = settings.max_canvas_side
    if isinstance(pixels, np.ndarray):
        rows = pixels
    else:
        if not isinstance(pixels, (list, tuple)):
            raise _invalid_pixels("expected a 2-D array (a list of rows of numbers)")
        if not pixels or len(pixels) > limit:
            raise _invalid_pixels(
                f"{len(pixels)} rows; a canvas has 1 to {limit} rows", max_side=limit
            )
        width = None
        for i, row in enumerate(pixels):
            if not isinstance(row, (list, tuple)):
                raise _invalid_pixels(f"row {i} is not a list of numbers")
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise _invalid_pixels(
                    f"ragged array: row 0 has {width} values but row {i} has {len(row)}"
                )
        if not width or width > limit:
            raise _invalid_pixels(
                f"rows of {width} values; a canvas has 1 to {limit} columns", max_side=limit
            )
        try:
            rows = np.array(pixels)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _invalid_pixels("every value must be a number") from exc
    if rows.ndim != 2:
        raise _invalid_pixels(f"expected a 2-D array, got {rows.ndim} dimensions")
    height, width = rows.shape
    if not (1 <= height <= limit and 1 <= width <= limit):
        raise _invalid_pixels(
            f"the canvas is {width}x{height}; each side must be 1 to {limit}", max_side=limit
        )
    if rows.dtype.kind not in "iuf":
        raise _invalid_pixels("every value must be a number (no strings, booleans or nulls)")
    values = rows.astype(np.float64, copy=False)
    if not np.isfinite(values).all():
        raise _invalid_pixels("NaN and Infinity are not pixel values")
    if values.min() < 0 or values.max() > 255:
        raise _invalid_pixels(f"values must lie in 0..255, got {values.min():g}..{values.max():g}")
    check_dimensions(width, height, settings)
    return np.rint(values).astype(np.uint8)
