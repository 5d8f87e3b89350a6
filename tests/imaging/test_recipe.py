"""The MNIST recipe (app.imaging.recipe): photo-like inputs come out like clean MNIST."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.data import load_digits, split_indices
from app.imaging import (
    MNIST_BOX,
    decode_image,
    pixels_to_input,
    png_data_url,
    preprocess,
)
from app.imaging.recipe import light_background, otsu_threshold
from app.settings import Settings
from tests.api.imagery import png_bytes

SETTINGS = Settings()
STEP_NAMES = ["grayscale", "inverted", "cropped", "scaled", "centred"]


def heldout_digits(count: int, seed: int = 0) -> list[np.ndarray]:
    images, _ = load_digits()
    _, heldout = split_indices()
    chosen = np.random.default_rng(seed).choice(heldout, count, replace=False)
    return [images[i] for i in chosen]


def photo_of(digit: np.ndarray, rng: np.random.Generator, dark_on_light: bool = True) -> bytes:
    """A phone-photo-like JPEG: the digit enlarged 4-7x, as dark ink on gray paper with
    texture noise and a lighting gradient, off-centre on a larger landscape canvas."""
    side = int(rng.integers(110, 200))
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC))
    height, width = 360, 480
    paper = 205.0 + rng.normal(0, 6, (height, width)) + np.linspace(-25, 25, width)[None, :]
    top = int(rng.integers(5, height - side - 5))
    left = int(rng.integers(5, width - side - 5))
    paper[top : top + side, left : left + side] -= 0.75 * ink.astype(np.float64)
    picture = np.clip(paper, 0, 255).astype(np.uint8)
    if not dark_on_light:
        picture = 255 - picture
    return png_bytes(picture, "JPEG")  # Pillow's default quality, 75


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(np.float64), b.ravel().astype(np.float64))[0, 1])


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(img.shape)
    total = img.sum()
    return float((rows * img).sum() / total), float((cols * img).sum() / total)


@pytest.fixture(scope="module")
def photo_results():
    rng = np.random.default_rng(7)
    digits = heldout_digits(40)
    return [(d, preprocess(decode_image(photo_of(d, rng), SETTINGS))) for d in digits]


def test_photo_of_a_digit_comes_out_like_the_clean_mnist_digit(photo_results):
    scores = [correlation(p.input[0], digit) for digit, p in photo_results]
    assert np.median(scores) > 0.95
    assert np.mean(scores) > 0.93
    assert min(scores) > 0.7


def test_photo_and_clean_digit_give_nearly_the_same_network_input(photo_results):
    scores = [correlation(p.input[0], preprocess(digit).input[0]) for digit, p in photo_results]
    assert np.median(scores) > 0.93


def test_photo_steps_are_named_in_order_and_have_the_right_shapes(photo_results):
    _, result = photo_results[0]
    assert [name for name, _ in result.steps] == STEP_NAMES
    assert all(img.dtype == np.uint8 and img.ndim == 2 for _, img in result.steps)
    assert result.steps[0][1].shape == (360, 480)
    assert max(result.steps[3][1].shape) == MNIST_BOX
    assert result.steps[-1][1].shape == (28, 28)
    assert result.input.shape == (1, 28, 28) and result.input.dtype == np.float32
    assert np.array_equal(result.input[0], result.steps[-1][1] / np.float32(255))


def test_centre_of_mass_lands_on_14_14(photo_results):
    for _, result in photo_results:
        row, col = centre_of_mass(result.input[0])
        assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_output_is_white_ink_on_black_in_0_1(photo_results):
    for _, result in photo_results:
        img = result.input[0]
        assert img.min() == 0 and img.max() == 1
        assert (img == 0).mean() > 0.6  # black background, like MNIST's


def test_light_background_is_inverted_and_dark_background_is_not():
    rng = np.random.default_rng(3)
    digit = heldout_digits(1, seed=3)[0]
    dark_ink = preprocess(decode_image(photo_of(digit, rng, dark_on_light=True), SETTINGS))
    light_ink = preprocess(decode_image(photo_of(digit, rng, dark_on_light=False), SETTINGS))
    assert dark_ink.inverted and not light_ink.inverted
    assert "inverted" not in [name for name, _ in light_ink.steps]
    assert correlation(dark_ink.input[0], digit) > 0.85
    assert correlation(light_ink.input[0], digit) > 0.85


def test_clean_mnist_digits_pass_through_almost_unchanged():
    digits = heldout_digits(60, seed=1)
    results = [preprocess(d) for d in digits]
    assert not any(r.inverted for r in results)
    scores = [correlation(r.input[0], d) for r, d in zip(results, digits, strict=True)]
    assert np.median(scores) > 0.97


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.full((100, 80), 255, np.uint8), id="white-paper"),
        pytest.param(np.zeros((28, 28), np.uint8), id="black"),
        pytest.param(
            np.clip(np.random.default_rng(0).normal(200, 6, (120, 160)), 0, 255).astype(np.uint8),
            id="textured-paper",
        ),
        pytest.param(
            np.tile(np.linspace(120, 240, 160), (120, 1)).astype(np.uint8), id="lighting-gradient"
        ),
        pytest.param(np.full((1, 1), 255, np.uint8), id="one-pixel"),
    ],
)
def test_blank_image_gives_a_blank_input_and_says_so(image):
    result = preprocess(image)
    assert result.blank
    assert result.steps[-1][0] == "blank"
    assert result.input.shape == (1, 28, 28) and not result.input.any()


def test_faint_ink_is_stretched_to_full_intensity():
    page = np.full((100, 100), 200, np.uint8)
    page[30:70, 45:55] = 140  # a faint pencil stroke, 60 levels below the paper
    result = preprocess(page)
    assert not result.blank and result.input.max() == 1


def test_a_speck_of_dust_does_not_stretch_the_crop():
    page = np.full((200, 200), 230, np.uint8)
    page[60:140, 95:105] = 20  # a "1"
    clean = preprocess(page)
    page[5, 190] = 0  # one dark pixel far away
    dusty = preprocess(page)
    assert dusty.steps[2][1].shape == clean.steps[2][1].shape == (80, 10)
    assert np.array_equal(dusty.input, clean.input)


def test_tiny_drawing_is_scaled_up_to_the_20_pixel_box():
    canvas = [[0] * 40 for _ in range(40)]
    for row in range(10, 16):
        canvas[row][20] = 255  # a 6 px vertical stroke, light on dark
    result = pixels_to_input(canvas, SETTINGS)
    scaled = dict(result.steps)["scaled"]
    assert scaled.shape[0] == MNIST_BOX
    assert not result.inverted


def test_drawn_canvas_dark_on_light_matches_light_on_dark():
    digit = heldout_digits(1, seed=5)[0]
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
    light_on_dark = pixels_to_input(big.tolist(), SETTINGS)
    dark_on_light = pixels_to_input((255 - big).tolist(), SETTINGS)
    assert dark_on_light.inverted and not light_on_dark.inverted
    assert np.array_equal(light_on_dark.input, dark_on_light.input)


def test_preprocess_accepts_a_pil_image():
    digit = heldout_digits(1)[0]
    assert np.array_equal(preprocess(Image.fromarray(digit)).input, preprocess(digit).input)


def test_preprocess_refuses_a_non_uint8_array():
    with pytest.raises(ValueError, match="uint8"):
        preprocess(np.zeros((28, 28), np.float32))


def test_png_data_url_round_trips_the_pixels():
    img = np.random.default_rng(0).integers(0, 256, (17, 23), dtype=np.uint8)
    url = png_data_url(img)
    assert url.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.format == "PNG" and decoded.mode == "L"
    assert np.array_equal(np.asarray(decoded), img)


def test_photos_of_digits_are_classified_like_the_clean_digits(lenet5):
    images, labels = load_digits()
    _, heldout = split_indices()
    rng = np.random.default_rng(11)
    chosen = rng.choice(heldout, 100, replace=False)
    clean = lenet5.predict(images[chosen].astype(np.float32) / 255).argmax(axis=1)
    photos = np.stack(
        [preprocess(decode_image(photo_of(images[i], rng), SETTINGS)).input[0] for i in chosen]
    )
    answers = lenet5.predict(photos).argmax(axis=1)
    assert (answers == clean).mean() >= 0.97
    clean_accuracy = (clean == labels[chosen]).mean()
    assert (answers == labels[chosen]).mean() >= clean_accuracy - 0.03


def test_otsu_threshold_falls_between_two_gray_levels():
    image = np.full((10, 10), 200, np.uint8)
    image[:3] = 20
    assert 20 <= otsu_threshold(image) < 200
    assert otsu_threshold(np.full((4, 4), 77, np.uint8)) == 77


@pytest.mark.parametrize("dark_ink", [True, False], ids=["dark-on-light", "light-on-dark"])
def test_polarity_is_read_when_a_thick_cross_touches_every_edge(dark_ink):
    # A cross 12 px thick on 40x40: ink on all four edges, 30% of the border ring, 51% of
    # the image: the ring's majority still says which is paper.
    page = np.full((40, 40), 230, np.uint8)
    page[14:26], page[:, 14:26] = 25, 25
    image = page if dark_ink else 255 - page
    result = preprocess(image)
    assert light_background(image, otsu_threshold(image)) == dark_ink
    assert result.inverted == dark_ink and not result.blank
    assert dict(result.steps)["cropped"].shape == (40, 40)
