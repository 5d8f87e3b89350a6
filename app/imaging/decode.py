"""Untrusted image bytes -> an upright 8-bit grayscale PIL image, safely.

The type is decided by content (an allow-list), the container's structure is bounded, EXIF
blocks too big to parse are ignored, the pixel count, aspect ratio and (for WebP) decoding
memory are checked from the header before a single pixel is decoded, every
decoder failure becomes a 422, EXIF orientation is applied, every mode is normalised explicitly,
and the image is shrunk to a working size before any float array exists.
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.imaging.containers import (
    ALLOWED_FORMATS,
    allowed_list,
    check_structure,
    oversized_exif_keys,
    sniff,
    unsupported,
    webp_sizes,
    without_oversized_exif,
)
from app.imaging.errors import ImageRejected
from app.settings import Settings

# Images are shrunk to this longest side before any float work: the network sees 28x28.
WORKING_SIDE = 512


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

# ~20 s), so a cheap upload could hold a worker. Only the C decoders are used.
_SLOW_DECODERS = {"bmp_rle": "RLE-compressed BMP"}


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


# Memory a decode may take: as much as one RGBA image at the pixel cap (4 bytes per pixel).
# Pillow holds most images at 1-4 bytes per pixel, and JPEGs are decoded reduced; but libwebp
# decodes a WebP whole into an RGBA canvas, keeps a second one (the previous frame), and Pillow
# copies it out and converts it: about 16 bytes per pixel measured (a 702-byte 4096x4096
# lossless WebP added 258 MB of RSS), so a WebP may have a quarter of the pixel cap.
DECODE_BYTES_PER_CAP_PIXEL = 4
WEBP_BYTES_PER_PIXEL = 16


def check_webp(data: bytes, settings: Settings) -> None:
    """Raise ImageRejected (422) when a WebP's VP8X canvas breaks check_dimensions, or when
    its canvas, any ANMF frame or any VP8/VP8L bitstream (a header may lie about the others)
    would need more decoding memory than DECODE_BYTES_PER_CAP_PIXEL per pixel of the cap.
    Frames may be thin strips of an animation: their aspect ratio is not checked."""
    limit = settings.max_image_pixels * DECODE_BYTES_PER_CAP_PIXEL // WEBP_BYTES_PER_PIXEL
    for what, width, height in webp_sizes(data):
        if what == "canvas":
            check_dimensions(width, height, settings)
        if width * height > limit:
            raise ImageRejected(
                422,
                "image_too_large",
                f"the WebP image is {width}x{height} = {width * height:,} pixels; a WebP is "
                f"decoded whole and in colour, so its limit is {limit:,} pixels",
                width=width,
                height=height,
                max_pixels=limit,
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


def _to_rgb(img: Image.Image) -> Image.Image:
    """L, LA, RGB, RGBA, I or F -> "RGB"; transparent pixels are composited on white paper."""
    if img.mode in ("I", "F"):
        return Image.fromarray(_wide_to_uint8(img)).convert("RGB")
    if img.mode in ("LA", "RGBA"):
        paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, img.convert("RGBA"))
    return img.convert("RGB")


def decode_image(data: bytes, settings: Settings, colour: bool = False) -> Image.Image:
    """Untrusted bytes -> an upright 8-bit grayscale ("L") image, longest side <= WORKING_SIDE;
    with `colour`, an upright "RGB" image instead (the same checks and the same shrinking).

    Only the first frame of an animation is decoded. An EXIF block over MAX_EXIF_BYTES is
    ignored (never parsed; no orientation is applied).

    Raises ImageRejected: 415 unsupported_media_type (not PNG/JPEG/GIF/WebP/BMP by content,
    or an RLE-compressed BMP), 422 empty_image, image_too_complex, image_too_large (pixels
    over the cap, or a WebP whose decoding memory would be), extreme_aspect_ratio,
    corrupt_image.
    """
    if not data:
        raise ImageRejected(422, "empty_image", "the upload is empty (0 bytes)")
    claimed, other = sniff(data)
    if claimed:
        check_structure(data, claimed)
        data = without_oversized_exif(data, claimed)
    if claimed == "WEBP":
        check_webp(data, settings)
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
        raise (_corrupt(claimed) if claimed else unsupported(other)) from exc
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
                f"send an uncompressed BMP or one of {allowed_list()}",
                allowed=list(ALLOWED_FORMATS.values()),
            )
        try:
            if img.format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the image is large.
                img.draft("RGB" if colour else "L", (WORKING_SIDE, WORKING_SIDE))
            img.load()
            work = _to_resizable(img)
            work.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
            for key in oversized_exif_keys(work.info):  # ignored: never parsed
                del work.info[key]
            work = ImageOps.exif_transpose(work)
            decoded = _to_rgb(work) if colour else _to_gray(work)
        except _DECODE_ERRORS as exc:
            raise _corrupt(img.format, exc) from exc
    return decoded
