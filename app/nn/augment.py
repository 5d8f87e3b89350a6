"""Data augmentation for small image sets: random affine warps, vectorised over the batch.

Every image gets its own 2x3 matrix; one bilinear gather resamples the whole batch at once.
Matrices map OUTPUT pixel coordinates (x = column, y = row, 1) to the SOURCE coordinates
read from, so a pure shift that moves the ink right by d pixels is [[1, 0, -d], [0, 1, 0]].
Samples that fall outside the image read the background, 0 (MNIST is white ink on black).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of the random transform, each drawn uniformly and independently per image.

    max_shift: pixels in x and in y; max_rotation: degrees either way; max_scale: a zoom
    factor in [1 - max_scale, 1 + max_scale], about the image centre.
    """

    max_shift: float = 2.0
    max_rotation: float = 12.0
    max_scale: float = 0.1

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def affine_warp(images: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Bilinear resampling of each image through its own affine matrix.

    images (N, C, H, W) float, matrices (N, 2, 3) output->source -> (N, C, H, W), same dtype.
    The identity matrix returns the images bit for bit (integer sample points carry
    interpolation weights of exactly 1 and 0).
    """
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {images.shape}")
    n, c, h, w = images.shape
    if matrices.shape != (n, 2, 3):
        raise ValueError(f"matrices must be ({n}, 2, 3), got shape {matrices.shape}")
    ys, xs = np.mgrid[0:h, 0:w]
    grid = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w)]).astype(np.float64)  # (3, HW)
    src = matrices.astype(np.float64) @ grid  # (N, 2, HW)
    sx, sy = src[:, 0], src[:, 1]
    x0, y0 = np.floor(sx), np.floor(sy)
    fx, fy = (sx - x0).astype(images.dtype), (sy - y0).astype(images.dtype)

    # A one-pixel zero border makes every out-of-range tap (clipped onto it) read background.
    padded = np.zeros((n, c, h + 2, w + 2), dtype=images.dtype)
    padded[:, :, 1:-1, 1:-1] = images
    plane = (h + 2) * (w + 2)
    # Each image's (and channel's) first cell in the flat padded batch.
    base = (np.arange(n)[:, None, None] * c + np.arange(c)[None, :, None]) * plane

    # Clipped to [-2, h] before the cast (so a far-off sample cannot overflow it), then
    # clipped per tap to [-1, h] in integers: the same border cell as clipping each tap's
    # float coordinate to [-1, h].
    y0i = np.clip(y0, -2, h).astype(np.intp)
    x0i = np.clip(x0, -2, w).astype(np.intp)
    rows = [(np.clip(y0i + d, -1, h) + 1) * (w + 2) for d in (0, 1)]
    cols = [np.clip(x0i + d, -1, w) + 1 for d in (0, 1)]
    values = padded.ravel()

    def tap(a: int, b: int) -> np.ndarray:
        return values[base + (rows[a] + cols[b])[:, None, :]]

    fx, fy = fx[:, None, :], fy[:, None, :]
    gx, gy = 1 - fx, 1 - fy
    # The four products and their sum in the order of the bilinear formula
    # t00 (1-fx)(1-fy) + t01 fx (1-fy) + t10 (1-fx) fy + t11 fx fy, so the bits never change.
    out = tap(0, 0) * (gx * gy)
    out += tap(0, 1) * (fx * gy)
    out += tap(1, 0) * (gx * fy)
    out += tap(1, 1) * (fx * fy)
    return out.reshape(n, c, h, w)


def random_affine_matrices(
    n: int, size: tuple[int, int], settings: AugmentSettings, rng: np.random.Generator
) -> np.ndarray:
    """n random output->source matrices (n, 2, 3) for (H, W) images.

    The forward transform is out = s R(theta) (src - centre) + centre + t, so the matrix is
    its inverse: src = R(-theta) / s (out - centre - t) + centre.
    """
    h, w = size
    theta = np.deg2rad(rng.uniform(-settings.max_rotation, settings.max_rotation, n))
    scale = rng.uniform(1 - settings.max_scale, 1 + settings.max_scale, n)
    shift = rng.uniform(-settings.max_shift, settings.max_shift, (n, 2))
    cos, sin = np.cos(theta) / scale, np.sin(theta) / scale
    linear = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)  # (n, 2, 2)
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    offset = centre - np.einsum("nij,nj->ni", linear, centre + shift)
    return np.concatenate([linear, offset[:, :, None]], axis=2)


def augment_batch(
    images: np.ndarray, settings: AugmentSettings, rng: np.random.Generator
) -> np.ndarray:
    """A randomly shifted, rotated and scaled copy of a batch (N, C, H, W), same dtype."""
    matrices = random_affine_matrices(images.shape[0], images.shape[2:], settings, rng)
    return affine_warp(images, matrices)
