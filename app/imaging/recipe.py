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
# The border ring decides the polarity unless its share of light pixels is within this of 1/2.
AMBIGUOUS_BORDER = 0.1


def _border(gray: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels, 1-D."""
    if min(gray.shape) <= 2:
        return gray.ravel()
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def otsu_threshold(gray: np.ndarray) -> int:
    """Otsu's threshold of a uint8 image: t maximising the between-class variance of
    {<= t} and {> t}. A constant image gives its own value (everything in the dark class)."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    dark = np.cumsum(hist)
    light = dark[-1] - dark
    mass = np.cumsum(hist * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mass[-1] * dark / dark[-1] - mass) ** 2 / (dark * light)
    between[~np.isfinite(between)] = -1.0
    if between.max() < 0:  # one gray level only
        return int(gray.flat[0])
    return int(np.argmax(between))


def light_background(gray: np.ndarray, threshold: int) -> bool:
    """Is the paper lighter than the ink? The pixels are split in two classes by `threshold`
    (Otsu's); the class holding most of the border ring is the background. A tight crop's ink
    touches the frame, yet it rarely fills most of the ring; when the ring is split nearly
    evenly (40-60%), the class holding most of the image decides, and when that is even too,
    the median against mid-gray. A constant image is light paper when it is lighter than
    mid-gray."""
    light = gray > threshold
    if not light.any() or light.all():  # one gray level: light paper if it is light
        return bool(gray.flat[0] > 127)
    on_border = float(_border(light).mean())
    if abs(on_border - 0.5) > AMBIGUOUS_BORDER:
        return on_border > 0.5
    overall = float(light.mean())
    if overall != 0.5:
        return overall > 0.5
    return bool(np.median(gray) > 127)


def _background(gray: np.ndarray, paper: np.ndarray) -> tuple[np.ndarray, float]:
    """(background float32 (H, W), noise sigma) of a dark-paper image, given `paper`, a bool
    (H, W) first guess of the background pixels (the dark Otsu class).

    A plane a + b*y + c*x is fitted to the paper pixels of the border band (the outer 5%, at
    least 1 px), robustly (refitted without the outliers of the first fit), so that uneven
    lighting across a photo is not mistaken for ink; the plane goes through the median of
    the kept residuals. Ink touching the frame is left out from
    the start; when less than a tenth of the band is paper (the ink fills the frame), the
    paper pixels of the whole image are used, and when there are fewer than 3 of those, the
    plane is flat at their median (at the image's, when there are none). sigma is the
    residual spread (1.4826 * MAD): paper texture and sensor/JPEG noise."""
    h, w = gray.shape
    band = max(1, round(0.05 * min(h, w)))
    on_band = np.zeros((h, w), bool)
    on_band[:band], on_band[-band:], on_band[:, :band], on_band[:, -band:] = True, True, True, True
    candidates = on_band & paper
    if candidates.sum() < max(3, 0.1 * on_band.sum()):
        candidates = paper
    ys, xs = np.nonzero(candidates)
    if ys.size < 3:  # too few to fit a plane: a flat one at their level
        level = float(np.median(gray[candidates])) if ys.size else float(np.median(gray))
        return np.full((h, w), level, np.float32), 0.0
    stride = max(1, ys.size // 4096)  # a few thousand samples pin a plane down
    ys, xs = ys[::stride], xs[::stride]
    values = gray[ys, xs].astype(np.float64)
    design = np.stack([np.ones_like(values), ys / max(h - 1, 1), xs / max(w - 1, 1)], axis=1)
    keep = np.ones(values.size, bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        residual = values - design @ coef
        centre = float(np.median(residual[keep]))
        sigma = 1.4826 * float(np.median(np.abs(residual[keep] - centre)))
        inliers = np.abs(residual - centre) <= max(3 * sigma, 2.0)
        if inliers.sum() < 3 or np.array_equal(inliers, keep):
            break
        keep = inliers
    rows = np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1)
    cols = np.arange(w, dtype=np.float32)[None, :] / max(w - 1, 1)
    plane = (coef[0] + centre) + coef[1] * rows + coef[2] * cols
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

    1. invert when the background is light (MNIST wants white ink on black): Otsu's threshold
       splits paper from ink, and the class holding most of the border ring is the paper
       (see light_background: a tight crop's ink touches the frame);
    2. subtract the background (a plane fitted to the paper pixels of the border band, so
       uneven lighting is not ink) and a noise floor, stretch the ink so its 99.5th percentile
       is 255, crop to the box of the ink pixels;
    3. scale the longer side to 20 px, anti-aliased (Lanczos);
    4. paste into 28x28 so that the centre of mass lands on (14, 14), shifted by whole pixels
       as MNIST did (kept inside the field when a lopsided digit would leave it).

    No ink, one result: when nothing stands MIN_INK_CONTRAST above the background or above
    NOISE_SIGMAS of the paper's noise (a blank page, a constant or smooth image), the input is
    all zeros, the last step is named "blank" and `blank` is True. Never raises for a uint8
    (H, W) image of any size from 1x1 up.
    """
    if isinstance(gray, Image.Image):
        gray = np.asarray(gray.convert("L"))
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.dtype != np.uint8 or gray.size == 0:
        raise ValueError(f"expected uint8 (H, W), got {gray.dtype} {gray.shape}")
    steps: list[tuple[str, np.ndarray]] = [("grayscale", gray)]

    split = otsu_threshold(gray)
    inverted = light_background(gray, split)
    paper = gray > split if inverted else gray <= split
    if not paper.any():  # one gray level, judged light: it is all paper
        paper = np.ones_like(paper)
    if inverted:
        gray = 255 - gray
        steps.append(("inverted", gray))

    background, noise = _background(gray, paper)
    signal = gray.astype(np.float32) - background
    peak = float(np.percentile(signal, 99.5)) if signal.size >= 200 else float(signal.max())
    peak = max(peak, float(signal.max()) * 0.5)
    if peak < MIN_INK_CONTRAST:
        return _blank(steps, inverted)
    threshold = max(INK_THRESHOLD_FRACTION * peak, NOISE_SIGMAS * noise)
    floor = threshold * FLOOR_FRACTION
    mask = _ink_mask(signal, threshold)
    if not mask.any():  # nothing stands out from the paper's own noise
        return _blank(steps, inverted)
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
