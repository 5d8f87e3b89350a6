"""Untrusted image bytes or a drawn canvas -> the 28x28 MNIST-format input, with every step shown.

- `containers`: what the bytes claim to be (by content, an allow-list) and bounds on their
  container structure and metadata, checked before Pillow parses anything;
- `decode`: `decode_image`, bytes -> an upright 8-bit grayscale image, bounded in pixels,
  frames and memory, shrunk to a working size before any float array exists;
- `canvas`: `pixels_to_image`, a drawn canvas sent as JSON, validated;
- `recipe`: `preprocess`, the MNIST recipe (polarity, background, crop to the ink, scale the
  longer side to 20, centre by mass in 28x28), returning each step's image; every picture
  without ink ends in one result, `blank`;
- `dataurl`: `png_data_url`, a step's image for the JSON response.

Failures raise `ImageRejected` (status, code, message, details); the API layer renders it as the
error envelope. This package knows nothing of HTTP frameworks.
"""

from __future__ import annotations

from typing import Any

from app.imaging.canvas import pixels_to_image
from app.imaging.containers import (
    ALLOWED_FORMATS,
    MAX_EXIF_BYTES,
    MAX_GIF_BLOCKS,
    MAX_JPEG_MARKERS,
    MAX_JPEG_SCANS,
    MAX_PNG_CHUNKS,
    MAX_WEBP_CHUNKS,
    check_structure,
)
from app.imaging.dataurl import png_data_url
from app.imaging.decode import WORKING_SIDE, check_dimensions, decode_image
from app.imaging.errors import ImageRejected
from app.imaging.recipe import MNIST_BOX, MNIST_CENTRE, MNIST_SIDE, Preprocessed, preprocess
from app.settings import Settings


def image_to_input(data: bytes, settings: Settings) -> Preprocessed:
    """Upload bytes -> Preprocessed (decode_image, then preprocess)."""
    return preprocess(decode_image(data, settings))


def pixels_to_input(pixels: Any, settings: Settings) -> Preprocessed:
    """A drawn canvas from JSON -> Preprocessed (pixels_to_image, then preprocess)."""
    return preprocess(pixels_to_image(pixels, settings))


__all__ = [
    "ALLOWED_FORMATS",
    "MAX_EXIF_BYTES",
    "MAX_GIF_BLOCKS",
    "MAX_JPEG_MARKERS",
    "MAX_JPEG_SCANS",
    "MAX_PNG_CHUNKS",
    "MAX_WEBP_CHUNKS",
    "MNIST_BOX",
    "MNIST_CENTRE",
    "MNIST_SIDE",
    "WORKING_SIDE",
    "ImageRejected",
    "Preprocessed",
    "check_dimensions",
    "check_structure",
    "decode_image",
    "image_to_input",
    "pixels_to_image",
    "pixels_to_input",
    "png_data_url",
    "preprocess",
]
