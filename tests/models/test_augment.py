"""Augmentation: vectorised affine warps keep shapes and dtypes, and move ink where they say."""

from __future__ import annotations

import numpy as np
import pytest

from app.data import load_digits
from app.nn.augment import (
    IDENTITY,
    AugmentSettings,
    affine_warp,
    augment_batch,
    random_affine_matrices,
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    images, _ = load_digits()
    return (images[:16].astype(np.float32) / 255.0)[:, None]


def shift_matrix(n: int, dx: float, dy: float) -> np.ndarray:
    matrices = np.repeat(IDENTITY[None], n, axis=0)
    matrices[:, 0, 2], matrices[:, 1, 2] = -dx, -dy
    return matrices


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_augment_batch_keeps_shape_and_dtype(digits, dtype):
    batch = digits.astype(dtype)
    out = augment_batch(batch, AugmentSettings(), np.random.default_rng(0))
    assert out.shape == batch.shape
    assert out.dtype == dtype
    assert np.isfinite(out).all()
    assert not np.array_equal(out, batch)


def test_identity_matrix_returns_images_bit_for_bit(digits):
    out = affine_warp(digits, np.repeat(IDENTITY[None], len(digits), axis=0))
    assert np.array_equal(out, digits)


def test_zero_ranges_draw_the_identity(digits):
    settings = AugmentSettings(max_shift=0.0, max_rotation=0.0, max_scale=0.0)
    assert np.array_equal(augment_batch(digits, settings, np.random.default_rng(3)), digits)


def test_integer_shift_moves_a_single_pixel_exactly():
    image = np.zeros((1, 1, 28, 28), dtype=np.float32)
    image[0, 0, 10, 12] = 1.0
    out = affine_warp(image, shift_matrix(1, dx=3, dy=-2))
    assert out.sum() == 1.0
    assert out[0, 0, 8, 15] == 1.0


def test_integer_shift_of_digits_equals_roll_and_drops_ink_pushed_off_the_edge(digits):
    out = affine_warp(digits, shift_matrix(len(digits), dx=2, dy=1))
    expected = np.zeros_like(digits)
    expected[:, :, 1:, 2:] = digits[:, :, :-1, :-2]
    assert np.array_equal(out, expected)
    far = affine_warp(digits, shift_matrix(len(digits), dx=40, dy=0))
    assert not far.any()


def test_half_pixel_shift_averages_neighbours():
    image = np.zeros((1, 1, 4, 4), dtype=np.float64)
    image[0, 0, 1, 1] = 1.0
    out = affine_warp(image, shift_matrix(1, dx=0.5, dy=0))
    assert out[0, 0, 1, 1] == pytest.approx(0.5)
    assert out[0, 0, 1, 2] == pytest.approx(0.5)
    assert out.sum() == pytest.approx(1.0)


def test_quarter_turn_about_the_centre_is_a_clockwise_rot90(digits):
    # theta = +90 degrees in (x right, y down) image coordinates turns the picture clockwise.
    settings = AugmentSettings(max_shift=0.0, max_rotation=90.0, max_scale=0.0)

    class FixedAngle:
        def uniform(self, low, high, size):
            return np.full(size, high, dtype=float)

    matrices = random_affine_matrices(len(digits), (28, 28), settings, FixedAngle())
    out = affine_warp(digits, matrices)
    np.testing.assert_allclose(out, np.rot90(digits, k=-1, axes=(2, 3)), atol=1e-5)


def test_augmentation_is_deterministic_for_a_seed(digits):
    first = augment_batch(digits, AugmentSettings(), np.random.default_rng(7))
    again = augment_batch(digits, AugmentSettings(), np.random.default_rng(7))
    other = augment_batch(digits, AugmentSettings(), np.random.default_rng(8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_random_transforms_stay_within_their_ranges():
    settings = AugmentSettings(max_shift=2.0, max_rotation=12.0, max_scale=0.1)
    matrices = random_affine_matrices(2000, (28, 28), settings, np.random.default_rng(0))
    linear = matrices[:, :, :2]
    # linear = R(-theta) / s: its determinant is 1/s^2, its angle -theta.
    scale = 1 / np.sqrt(np.linalg.det(linear))
    theta = np.degrees(np.arctan2(-linear[:, 0, 1], linear[:, 0, 0]))
    assert scale.min() >= 0.9 - 1e-9 and scale.max() <= 1.1 + 1e-9
    assert np.abs(theta).max() <= 12 + 1e-9
    assert np.abs(theta).max() > 11  # the whole range is used, not a sliver of it
    centre = np.array([13.5, 13.5])
    source_of_centre = linear @ centre + matrices[:, :, 2]
    # The centre's source is the centre moved back by the shift, turned and scaled: its
    # distance from the centre is |shift| / s, at most 2*sqrt(2)/0.9.
    assert np.linalg.norm(source_of_centre - centre, axis=1).max() <= 2 * np.sqrt(2) / 0.9 + 1e-9


def test_affine_warp_rejects_mismatched_matrices(digits):
    with pytest.raises(ValueError, match=r"matrices must be \(16, 2, 3\)"):
        affine_warp(digits, np.repeat(IDENTITY[None], 3, axis=0))
    with pytest.raises(ValueError, match=r"images must be \(N, C, H, W\)"):
        affine_warp(digits[:, 0], np.repeat(IDENTITY[None], 16, axis=0))


def bilinear_by_the_formula(images, matrices):
    """affine_warp as first written: each tap's float coordinate clipped onto the zero
    border, gathered with take_along_axis, weighted by the bilinear formula in its order."""
    n, c, h, w = images.shape
    ys, xs = np.mgrid[0:h, 0:w]
    grid = np.stack([xs.ravel(), ys.ravel(), np.ones(h * w)]).astype(np.float64)
    src = matrices.astype(np.float64) @ grid
    x0, y0 = np.floor(src[:, 0]), np.floor(src[:, 1])
    fx = (src[:, 0] - x0).astype(images.dtype)[:, None, :]
    fy = (src[:, 1] - y0).astype(images.dtype)[:, None, :]
    padded = np.zeros((n, c, h + 2, w + 2), dtype=images.dtype)
    padded[:, :, 1:-1, 1:-1] = images
    flat = padded.reshape(n, c, -1)

    def tap(yy, xx):
        rows = np.clip(yy, -1, h).astype(np.intp) + 1
        cols = np.clip(xx, -1, w).astype(np.intp) + 1
        return np.take_along_axis(flat, (rows * (w + 2) + cols)[:, None, :], axis=2)

    out = (tap(y0, x0) * ((1 - fx) * (1 - fy)) + tap(y0, x0 + 1) * (fx * (1 - fy))
           + tap(y0 + 1, x0) * ((1 - fx) * fy) + tap(y0 + 1, x0 + 1) * (fx * fy))
    return out.reshape(n, c, h, w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 1, 28, 28), (5, 3, 9, 13), (1, 2, 1, 7), (3, 1, 6, 1)])
def test_affine_warp_gives_the_bilinear_formula_bit_for_bit_even_far_off_the_image(dtype, shape):
    # Bit for bit: the bundled weights are reproduced from a seed through these warps.
    rng = np.random.default_rng(0)
    images = rng.random(shape).astype(dtype)
    for scale in (1, 5, 1e3, 1e12):  # 1e12: samples far outside, clipped onto the border
        matrices = rng.standard_normal((shape[0], 2, 3)) * scale
        np.testing.assert_array_equal(affine_warp(images, matrices),
                                      bilinear_by_the_formula(images, matrices))
    matrices = random_affine_matrices(shape[0], shape[2:], AugmentSettings(), rng)
    np.testing.assert_array_equal(affine_warp(images, matrices),
                                  bilinear_by_the_formula(images, matrices))
