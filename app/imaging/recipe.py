"""The MNIST recipe: a grayscale picture of a digit -> the 28x28 network input, with every
step's image kept so the UI can show what the network saw."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

MNIST_SIDE = 28
MNIST_BOX = 20
# MNIST digits have their centre of mass at (row, col) = (14, 14) of the 28x28 field
# (measured on app.data: mean 13.99, 14.00 with the spread of a rounded shift).
MNIST_CENTRE = 14


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
