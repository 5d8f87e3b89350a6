"""Families of pictures for the property tests: uint8 (H, W) arrays built from a few drawn
numbers, and their encodings in every allowed format and the modes it can store."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from tests.imaging.tightcrops import Family, heldout, tight_crop

DIGITS, _ = heldout(50, seed=5)
FAMILIES = ["noise", "texture", "stripes", "checkerboard", "constant", "gradient", "tight-crop"]

# Modes each allowed format can store (Pillow converts on save where it must: GIF to P).
FORMAT_MODES = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],  # decoded 16-bit PNG is mode I
    "JPEG": ["L", "RGB", "CMYK"],
    "GIF": ["1", "L", "P", "RGB"],
    "WEBP": ["L", "LA", "RGB", "RGBA"],
    "BMP": ["1", "L", "P", "RGB", "RGBA"],
}
FORMAT_AND_MODE = [(fmt, mode) for fmt, modes in FORMAT_MODES.items() for mode in modes]


def picture(family: str, height: int, width: int, seed: int) -> np.ndarray:
    """A uint8 (height, width) picture of the family, deterministic in seed."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices((height, width))
    low, high = sorted(int(v) for v in rng.integers(0, 256, 2))
    if family == "noise":
        return rng.integers(0, 256, (height, width), dtype=np.uint8)
    if family == "texture":  # smooth blobs plus grain
        coarse = rng.integers(0, 256, (max(1, height // 8), max(1, width // 8)), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BILINEAR))
        return np.clip(smooth + rng.normal(0, 10, (height, width)), 0, 255).astype(np.uint8)
    if family == "stripes":
        period = int(rng.integers(1, 9))
        along = [rows, cols, rows + cols][int(rng.integers(3))]
        return np.where((along // period) % 2 == 0, low, high).astype(np.uint8)
    if family == "checkerboard":
        cell = int(rng.integers(1, 6))
        return np.where((rows // cell + cols // cell) % 2 == 0, low, high).astype(np.uint8)
    if family == "constant":
        return np.full((height, width), low, np.uint8)
    if family == "gradient":
        along, length = (cols, width) if rng.integers(2) else (rows, height)
        return (low + (high - low) * (along / max(length - 1, 1))).astype(np.uint8)
    if family == "tight-crop":
        digit = DIGITS[int(rng.integers(len(DIGITS)))]
        crop = tight_crop(digit, Family(max(height, width), dark_on_light=bool(rng.integers(2))))
        return np.asarray(Image.fromarray(crop).resize((width, height), Image.BILINEAR))
    raise ValueError(family)


@st.composite
def shapes(draw, max_side: int = 300, max_ratio: float = 50.0) -> tuple[int, int]:
    """(height, width): tiny (1x1, 2x2, 1xN) to a few hundred px, elongated up to max_ratio."""
    kind = draw(st.sampled_from(["tiny", "line", "any"]))
    if kind == "tiny":
        return draw(st.integers(1, 4)), draw(st.integers(1, 4))
    long_side = draw(st.integers(2, max_side))
    ratio = draw(st.floats(1.0, max_ratio))
    short = max(1, min(long_side, int(long_side / ratio) or 1))
    short = max(short, -(-long_side // int(max_ratio)))  # never past max_ratio (51x1 was)
    if kind == "line":
        short = 1
        long_side = min(long_side, int(max_ratio))
    return (short, long_side) if draw(st.booleans()) else (long_side, short)


@st.composite
def pictures(draw, max_side: int = 300, max_ratio: float = 50.0) -> np.ndarray:
    family = draw(st.sampled_from(FAMILIES))
    height, width = draw(shapes(max_side, max_ratio))
    return picture(family, height, width, draw(st.integers(0, 2**32 - 1)))


def encode_as(gray: np.ndarray, fmt: str, mode: str, seed: int = 0) -> bytes:
    """uint8 (H, W) -> bytes of fmt, the pixels held in `mode` (colour modes get a tint,
    alpha modes a random transparency, 16-bit the samples scaled up)."""
    rng = np.random.default_rng(seed)
    img = Image.fromarray(gray)
    if mode in ("1", "P", "CMYK"):
        img = img.convert(mode)
    elif mode in ("RGB", "RGBA", "LA"):
        tint = np.stack([gray, gray // 2 + 64, 255 - gray], axis=-1).astype(np.uint8)
        img = Image.fromarray(tint).convert(mode) if mode != "LA" else img.convert("LA")
        if mode in ("RGBA", "LA"):
            alpha = rng.integers(0, 256, gray.shape, dtype=np.uint8)
            img.putalpha(Image.fromarray(alpha))
    elif mode == "I;16":
        img = Image.fromarray(gray.astype(np.uint16) * 257)
    buffer = io.BytesIO()
    img.save(buffer, fmt)
    return buffer.getvalue()
