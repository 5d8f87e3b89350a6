"""Untrusted image bytes or a drawn canvas -> the 28x28 MNIST-format input, with every step shown.

Two halves:

- `decode_image` turns uploaded bytes into an 8-bit grayscale PIL image, safely: the type is
  decided by content (an allow-list), the pixel count and aspect ratio are checked from the
  header before a single pixel is decoded, every decoder failure becomes a 422, EXIF orientation
  is applied, every mode is normalised explicitly, and the image is shrunk to a working size
  before any float array exists. `pixels_to_image` validates a drawn canvas sent as JSON.
- `preprocess` applies the MNIST recipe (invert when the background is light, crop to the ink,
  scale the longer side to 20, centre by mass in 28x28) and returns each step's image so the UI
  can show what the network saw.

Failures raise `ImageRejected` (status, code, message, details); the API layer renders it as the
error envelope. This module knows nothing of HTTP frameworks.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.settings import Settings

# Pillow's name -> what users call it. GIF uses its first frame only.
ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP", "BMP": "BMP"}
# Images are shrunk to this longest side before any float work: the network sees 28x28.
WORKING_SIDE = 512
MNIST_SIDE = 28
MNIST_BOX = 20
# MNIST digits have their centre of mass at (row, col) = (14, 14) of the 28x28 field
# (measured on app.data: mean 13.99, 14.00 with the spread of a rounded shift).
MNIST_CENTRE = 14

# A pixel count above Pillow's own bomb threshold must stop decoding, not just warn. This is a
# process-wide policy on purpose: warnings.catch_warnings() is not thread-safe.
warnings.simplefilter("error", Image.DecompressionBombWarning)

_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
    MemoryError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)

# Leading bytes of allowed formats, used to tell "not an allowed type" (415) from "an allowed
# type, but broken" (422) when Pillow cannot identify the file.
_ALLOWED_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)
# Pillow decoders written in Python: seconds of CPU per megabyte (an RLE8 BMP of 10 MiB takes
# ~20 s), so a cheap upload could hold a worker. Only the C decoders are used.
_SLOW_DECODERS = {"bmp_rle": "RLE-compressed BMP"}
# Container structure is bounded before Pillow parses it: Pillow walks PNG chunks, JPEG
# segments and GIF blocks in Python (1-2 s of CPU per MiB of tiny ones), and libjpeg re-walks
# every block of the image for each progressive scan (1,000 extra scans of 56 bytes each cost
# ~5 s at 4096x4096). Legitimate files stay far below these (phone JPEGs: ~10 scans, ~20
# segments; PNG encoders write IDAT chunks of 8-64 KiB).
MAX_PNG_CHUNKS = 10_000
MAX_JPEG_SCANS = 100
MAX_JPEG_MARKERS = 4_096
MAX_GIF_BLOCKS = 10_000
# In entropy-coded JPEG data 0xFF is followed only by 0x00 or RSTn (0xD0-0xD7); these bytes
# after 0xFF are markers (or, rarely, payload bytes of APPn segments: an over-count).
_JPEG_MARKER = re.compile(rb"\xff[\xc0-\xcf\xd8-\xfe]")
# Recognised only to name them in the 415 message.
_OTHER_MAGIC = (
    (b"%PDF", "PDF"),
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
)


class ImageRejected(Exception):
    """An input that cannot become a model input: `status` (413/415/422), a stable `code`,
    a human `message` naming the problem and the limit, and JSON-able `details`."""

    def __init__(self, status: int, code: str, message: str, **details: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


@dataclass
class Preprocessed:
    """The model input and how it was made.

    input: float32 (1, 28, 28) in [0, 1], white ink on black (MNIST format).
    steps: (name, uint8 (h, w)) in order; names from "grayscale", "inverted", "cropped",
        "scaled", "centred", or "blank" when no ink was found.
    inverted: the background was judged light, so the image was inverted.
    blank: no ink stood out from the background; `input` is all zeros.
    """

    input: np.ndarray
    steps: list[tuple[str, np.ndarray]] = field(default_factory=list)
    inverted: bool = False
    blank: bool = False


# ----------------------------------------------------------------------------- decoding


def _allowed_list() -> str:
    return ", ".join(ALLOWED_FORMATS.values())


def _sniff(data: bytes) -> tuple[str | None, str | None]:
    """(allowed format the bytes claim to be, or None; other recognised type, or None)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP", None
    for magic, name in _ALLOWED_MAGIC:
        if data.startswith(magic):
            return name, None
    for magic, name in _OTHER_MAGIC:
        if data.startswith(magic):
            return None, name
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        return None, "SVG/XML"
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        return None, "HTML"
    return None, None


def _unsupported(other: str | None) -> ImageRejected:
    seen = f" (this looks like {other})" if other else ""
    return ImageRejected(
        415,
        "unsupported_media_type",
        f"unsupported image type{seen}; allowed: {_allowed_list()}",
        allowed=list(ALLOWED_FORMATS.values()),
    )


def _corrupt(fmt: str | None, exc: BaseException | None = None) -> ImageRejected:
    """422 corrupt_image. The decoder's own message is not passed on: some quote bytes of the
    file, and uploaded bytes are never echoed."""
    name = ALLOWED_FORMATS.get(fmt or "", "image")
    if isinstance(exc, EOFError) or "truncated" in str(exc):
        problem = "is truncated"
    elif isinstance(exc, MemoryError):
        problem = "needs more memory than the server allows"
    else:
        problem = "is corrupt"
    return ImageRejected(
        422, "corrupt_image", f"the {name} file {problem}; it cannot be decoded", format=name
    )


def _too_complex(fmt: str, parts: str, limit: int) -> ImageRejected:
    name = ALLOWED_FORMATS[fmt]
    return ImageRejected(
        422,
        "image_too_complex",
        f"the {name} file has more than {limit:,} {parts}; the limit is {limit:,}",
        limit=limit,
    )


def _png_chunk_count_exceeds(data: bytes, limit: int) -> bool:
    position, chunks = 8, 0
    while position + 8 <= len(data) and chunks <= limit:
        length = int.from_bytes(data[position : position + 4], "big")
        chunks += 1
        if data[position + 4 : position + 8] == b"IEND":
            break
        position += 12 + length
    return chunks > limit


def _gif_block_count_exceeds(data: bytes, limit: int) -> bool:
    """Extension sub-blocks before the first image (the part Pillow parses in Python)."""
    if len(data) < 13:
        return False
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    blocks = 0
    while position + 1 < len(data) and data[position] == 0x21:  # an extension
        position += 2
        while position < len(data):
            size = data[position]
            position += 1 + size
            blocks += 1
            if blocks > limit:
                return True
            if size == 0:
                break
    return False


def check_structure(data: bytes, fmt: str) -> None:
    """Raise ImageRejected (422 image_too_complex) for a file of an allowed format whose
    container holds more chunks, segments, scans or blocks than any real image needs."""
    if fmt == "PNG" and _png_chunk_count_exceeds(data, MAX_PNG_CHUNKS):
        raise _too_complex(fmt, "chunks", MAX_PNG_CHUNKS)
    if fmt == "JPEG":
        if data.count(b"\xff\xda") > MAX_JPEG_SCANS:
            raise _too_complex(fmt, "scans", MAX_JPEG_SCANS)
        markers = _JPEG_MARKER.finditer(data)  # lazily: stop at the limit, build no list
        if any(count > MAX_JPEG_MARKERS for count, _ in enumerate(markers, 1)):
            raise _too_complex(fmt, "segments", MAX_JPEG_MARKERS)
    if fmt == "GIF" and _gif_block_count_exceeds(data, MAX_GIF_BLOCKS):
        raise _too_complex(fmt, "extension blocks before its first image", MAX_GIF_BLOCKS)


def check_dimensions(width: int, height: int, settings: Settings) -> None:
    """Raise ImageRejected (422) for an empty, too large or absurdly elongated image."""
    if width < 1 or height < 1:
        raise ImageRejected(
            422,
            "image_too_small",
            f"the image is {width}x{height} pixels; it needs at least 1x1",
            width=width,
            height=height,
        )
    if width * height > settings.max_image_pixels:
        raise ImageRejected(
            422,
            "image_too_large",
            f"the image is {width}x{height} = {width * height:,} pixels; "
            f"the limit is {settings.max_image_pixels:,} pixels",
            width=width,
            height=height,
            max_pixels=settings.max_image_pixels,
        )
    ratio = max(width, height) / min(width, height)
    if ratio > settings.max_aspect_ratio:
        raise ImageRejected(
            422,
            "extreme_aspect_ratio",
            f"the image is {width}x{height} pixels, an aspect ratio of {ratio:.1f}; "
            f"the limit is {settings.max_aspect_ratio:g}",
            width=width,
            height=height,
            max_aspect_ratio=settings.max_aspect_ratio,
        )


def _to_resizable(img: Image.Image) -> Image.Image:
    """Any decoded mode -> one of L, LA, RGB, RGBA, I, F (modes Pillow resizes well), keeping
    transparency so it can be composited on white after shrinking."""
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA", "I", "F") and "transparency" not in img.info:
        return img
    if mode == "1":
        return img.convert("L")
    if mode.startswith("I;16"):
        return img.convert("I")
    if mode in ("P", "PA", "L", "RGB") or "transparency" in img.info:
        # A palette (or a tRNS colour key) may carry transparency: keep it as alpha.
        has_alpha = "transparency" in img.info or mode == "PA"
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode in ("La", "RGBa"):
        return img.convert("RGBA")
    # CMYK, YCbCr, LAB, HSV...: colour spaces Pillow converts to RGB.
    return img.convert("RGB")


def _wide_to_uint8(img: Image.Image) -> np.ndarray:
    """An "I" or "F" image -> uint8 (H, W), scaled, never clipped: samples within 0..65535 are
    16-bit data (/257); anything else is stretched from its finite min..max."""
    arr = np.asarray(img, dtype=np.float64)
    finite = np.isfinite(arr)
    arr = np.where(finite, arr, 0.0)
    lo, hi = (float(arr.min()), float(arr.max())) if finite.any() else (0.0, 0.0)
    if img.mode == "I" and lo >= 0 and hi <= 65535:
        scaled = arr / 257.0
    elif img.mode == "F" and lo >= 0 and hi <= 1:
        scaled = arr * 255.0
    elif hi > lo:
        scaled = (arr - lo) * (255.0 / (hi - lo))
    else:
        scaled = np.zeros_like(arr)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _to_gray(img: Image.Image) -> Image.Image:
    """L, LA, RGB, RGBA, I or F -> "L"; transparent pixels are composited on white paper."""
    if img.mode in ("I", "F"):
        return Image.fromarray(_wide_to_uint8(img))
    if img.mode in ("LA", "RGBA"):
        paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, img.convert("RGBA"))
    return img.convert("L")


def decode_image(data: bytes, settings: Settings) -> Image.Image:
    """Untrusted bytes -> an upright 8-bit grayscale ("L") image, longest side <= WORKING_SIDE.

    Raises ImageRejected: 415 unsupported_media_type (not PNG/JPEG/GIF/WebP/BMP by content,
    or an RLE-compressed BMP), 422 empty_image, image_too_complex, image_too_large,
    extreme_aspect_ratio, corrupt_image.
    """
    if not data:
        raise ImageRejected(422, "empty_image", "the upload is empty (0 bytes)")
    claimed, other = _sniff(data)
    if claimed:
        check_structure(data, claimed)
    try:
        img = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            422,
            "image_too_large",
            f"the image declares too many pixels; the limit is "
            f"{settings.max_image_pixels:,} pixels",
            max_pixels=settings.max_image_pixels,
        ) from exc
    except UnidentifiedImageError as exc:
        raise (_corrupt(claimed) if claimed else _unsupported(other)) from exc
    except _DECODE_ERRORS as exc:
        raise _corrupt(claimed, exc) from exc

    with img:
        width, height = img.size
        check_dimensions(width, height, settings)
        slow = [_SLOW_DECODERS[t[0]] for t in img.tile if t[0] in _SLOW_DECODERS]
        if slow:
            raise ImageRejected(
                415,
                "unsupported_media_type",
                f"{slow[0]} is not supported (its decoder is too slow for a public server); "
                f"send an uncompressed BMP or one of {_allowed_list()}",
                allowed=list(ALLOWED_FORMATS.values()),
            )
        try:
            if img.format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the image is large.
                img.draft("L", (WORKING_SIDE, WORKING_SIDE))
            img.load()
            work = _to_resizable(img)
            work.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
            work = ImageOps.exif_transpose(work)
            gray = _to_gray(work)
        except _DECODE_ERRORS as exc:
            raise _corrupt(img.format, exc) from exc
    return gray


# ----------------------------------------------------------------------------- drawn canvas


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


# ----------------------------------------------------------------------------- the MNIST recipe

# Ink must stand this far (of 255) above the background, or the image is blank.
MIN_INK_CONTRAST = 40
# An ink pixel is brighter than this fraction of the ink's peak above the background (and
# NOISE_SIGMAS above the paper's noise); FLOOR_FRACTION of that threshold is subtracted from
# every pixel, so paper texture and JPEG ringing go to 0 while anti-aliased stroke edges stay.
# Tuned on held-out MNIST digits pasted into noisy, unevenly lit JPEG "photos".
INK_THRESHOLD_FRACTION = 0.2
FLOOR_FRACTION = 0.5
# Ink must also stand this many noise sigmas above the background.
NOISE_SIGMAS = 4.0


def _border(gray: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels, 1-D."""
    if min(gray.shape) <= 2:
        return gray.ravel()
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def _background(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """(background float32 (H, W), noise sigma): a plane a + b*y + c*x fitted to the border
    band (the outer 5%, at least 1 px), robustly (a second fit without the outliers of the
    first), so that uneven lighting across a photo is not mistaken for ink; sigma is the
    band's residual spread (1.4826 * MAD), i.e. paper texture and sensor/JPEG noise."""
    h, w = gray.shape
    band = max(1, round(0.05 * min(h, w)))
    on_band = np.zeros((h, w), bool)
    on_band[:band], on_band[-band:], on_band[:, :band], on_band[:, -band:] = True, True, True, True
    ys, xs = np.nonzero(on_band)
    stride = max(1, ys.size // 4096)  # a few thousand samples pin a plane down
    ys, xs = ys[::stride], xs[::stride]
    values = gray[ys, xs].astype(np.float64)
    design = np.stack([np.ones_like(values), ys / max(h - 1, 1), xs / max(w - 1, 1)], axis=1)
    keep = np.ones(values.size, bool)
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        residual = values - design @ coef
        sigma = 1.4826 * float(np.median(np.abs(residual[keep] - np.median(residual[keep]))))
        keep = np.abs(residual) <= max(3 * sigma, 2.0)
    rows = np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1)
    cols = np.arange(w, dtype=np.float32)[None, :] / max(w - 1, 1)
    plane = coef[0] + coef[1] * rows + coef[2] * cols
    return plane.astype(np.float32), sigma


def _ink_mask(signal: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels above threshold that have at least two such neighbours (isolated specks of dust
    or noise do not stretch the crop)."""
    mask = signal > threshold
    padded = np.pad(mask, 1).astype(np.uint8)
    h, w = mask.shape
    neighbours = sum(
        padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    kept = mask & (neighbours >= 2)
    return kept if kept.any() else mask


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    weights = img.astype(np.float64)
    total = weights.sum()
    rows = np.arange(img.shape[0]) @ weights.sum(axis=1) / total
    cols = np.arange(img.shape[1]) @ weights.sum(axis=0) / total
    return float(rows), float(cols)


def _blank(steps: list[tuple[str, np.ndarray]], inverted: bool) -> Preprocessed:
    empty = np.zeros((MNIST_SIDE, MNIST_SIDE), np.uint8)
    steps.append(("blank", empty))
    return Preprocessed(
        np.zeros((1, MNIST_SIDE, MNIST_SIDE), np.float32), steps, inverted=inverted, blank=True
    )


def preprocess(gray: np.ndarray | Image.Image) -> Preprocessed:
    """The MNIST recipe on a uint8 (H, W) grayscale image (or a PIL "L" image).

    1. invert when the background is light: the median of the border ring decides (> 127 means
       light paper, so the ink is dark; MNIST wants white ink on black);
    2. subtract the background (a plane fitted to the border band, so uneven lighting is not
       ink) and a noise floor, stretch the ink so its 99.5th percentile is 255, crop to the box
       of the ink pixels (blank if nothing stands MIN_INK_CONTRAST above the background);
    3. scale the longer side to 20 px, anti-aliased (Lanczos);
    4. paste into 28x28 so that the centre of mass lands on (14, 14), shifted by whole pixels
       as MNIST did (kept inside the field when a lopsided digit would leave it).
    """
    if isinstance(gray, Image.Image):
        gray = np.asarray(gray.convert("L"))
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.dtype != np.uint8 or gray.size == 0:
        raise ValueError(f"expected uint8 (H, W), got {gray.dtype} {gray.shape}")
    steps: list[tuple[str, np.ndarray]] = [("grayscale", gray)]

    inverted = bool(np.median(_border(gray)) > 127)
    if inverted:
        gray = 255 - gray
        steps.append(("inverted", gray))

    background, noise = _background(gray)
    signal = gray.astype(np.float32) - background
    peak = float(np.percentile(signal, 99.5)) if signal.size >= 200 else float(signal.max())
    peak = max(peak, float(signal.max()) * 0.5)
    if peak < MIN_INK_CONTRAST:
        return _blank(steps, inverted)
    threshold = max(INK_THRESHOLD_FRACTION * peak, NOISE_SIGMAS * noise)
    floor = threshold * FLOOR_FRACTION
    mask = _ink_mask(signal, threshold)
    row_hits = np.flatnonzero(mask.any(axis=1))
    col_hits = np.flatnonzero(mask.any(axis=0))
    top, bottom = int(row_hits[0]), int(row_hits[-1]) + 1
    left, right = int(col_hits[0]), int(col_hits[-1]) + 1
    ink = np.clip((signal[top:bottom, left:right] - floor) / (peak - floor), 0, 1)
    cropped = np.rint(ink * 255).astype(np.uint8)
    steps.append(("cropped", cropped))

    height, width = cropped.shape
    scale = MNIST_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    scaled = np.asarray(Image.fromarray(cropped).resize(size, Image.Resampling.LANCZOS))
    steps.append(("scaled", scaled))
    if not scaled.any():
        return _blank(steps, inverted)

    com_row, com_col = _centre_of_mass(scaled)
    h, w = scaled.shape
    top = min(max(round(MNIST_CENTRE - com_row), 0), MNIST_SIDE - h)
    left = min(max(round(MNIST_CENTRE - com_col), 0), MNIST_SIDE - w)
    centred = np.zeros((MNIST_SIDE, MNIST_SIDE), np.uint8)
    centred[top : top + h, left : left + w] = scaled
    steps.append(("centred", centred))
    model_input = (centred.astype(np.float32) / 255.0)[None]
    return Preprocessed(model_input, steps, inverted=inverted, blank=False)


def png_data_url(image: np.ndarray) -> str:
    """uint8 (H, W) -> "data:image/png;base64,..." (grayscale PNG)."""
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"expected (H, W), got {arr.shape}")
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_to_input(data: bytes, settings: Settings) -> Preprocessed:
    """Upload bytes -> Preprocessed (decode_image, then preprocess)."""
    return preprocess(decode_image(data, settings))


def pixels_to_input(pixels: Any, settings: Settings) -> Preprocessed:
    """A drawn canvas from JSON -> Preprocessed (pixels_to_image, then preprocess)."""
    return preprocess(pixels_to_image(pixels, settings))


__all__ = [
    "ALLOWED_FORMATS",
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
