"""Images prepared for a model's input spec (app.imaging.spec): always the model's shape and
finite, RGB kept, the documented crop, per-channel normalisation, BGR order; 1-channel digit
models keep the MNIST recipe exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.imaging import decode_image, preprocess
from app.imaging.spec import (
    InputSpec,
    crop_box,
    input_spec_from,
    normalise,
    prepare_for_spec,
)
from app.settings import Settings
from tests.imaging.families import encode_as, pictures

RGB = input_spec_from({"kind": "image"}, (3, 20, 20))


def spec(channels=3, height=20, width=20, **extra) -> InputSpec:
    return input_spec_from(extra, (channels, height, width))


def colour(height, width, rgb) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.uint8), (height, width, 3)).copy()


def test_bundled_shapes_derive_their_spec_one_channel_is_a_digit_model():
    assert input_spec_from(None, (1, 28, 28)).as_dict() == {
        "channels": 1, "height": 28, "width": 28, "mean": [0.0], "std": [1.0],
        "colour_order": "rgb", "kind": "digit",
    }
    assert input_spec_from(None, (3, 20, 20)).kind == "image"
    assert input_spec_from(None, (3, 20, 20)).identity


@pytest.mark.parametrize("raw, problem", [
    ({"channels": 1}, "does not match"),
    ({"mean": [0.1, 0.2]}, "mean needs 3"),
    ({"std": [1, 0, 1]}, "std must be positive"),
    ({"colour_order": "gbr"}, "colour_order"),
    ({"kind": "digit"}, "1-channel"),
    ({"mean": [float("nan")] * 3}, "finite"),
])
def test_a_bad_spec_is_refused_naming_the_field(raw, problem):
    with pytest.raises(ValueError, match=problem):
        input_spec_from(raw, (3, 8, 8))


def test_a_pure_red_picture_keeps_its_colour_channel_0_high_1_and_2_low():
    prepared = prepare_for_spec(colour(37, 53, (255, 0, 0)), RGB)
    assert prepared.input.shape == (3, 20, 20)
    np.testing.assert_allclose(prepared.pixels[0], 1.0, atol=1e-6)
    np.testing.assert_allclose(prepared.pixels[1:], 0.0, atol=1e-6)
    assert [name for name, _ in prepared.steps] == ["colour", "cropped", "resized"]
    assert prepared.steps[-1][1].shape == (20, 20, 3)


def test_bgr_reverses_the_channels_and_mean_std_normalise_each_channel():
    red = colour(20, 20, (255, 0, 0))
    bgr = prepare_for_spec(red, spec(colour_order="bgr"))
    np.testing.assert_allclose(bgr.pixels[2], 1.0, atol=1e-6)
    np.testing.assert_allclose(bgr.pixels[:2], 0.0, atol=1e-6)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # torchvision's, on [0, 1]
    normed = prepare_for_spec(red, spec(mean=mean, std=std))
    expected = (np.array([1.0, 0.0, 0.0]) - mean) / std
    np.testing.assert_allclose(normed.input[:, 5, 5], expected, rtol=1e-5)
    np.testing.assert_array_equal(normed.input, normalise(normed.pixels, normed_spec := spec(
        mean=mean, std=std)))
    assert not normed_spec.identity


def test_the_crop_keeps_the_centre_and_the_whole_shorter_side():
    # 40 wide, 20 high, into a square: the centred 20x20 (columns 10..30) is kept.
    assert crop_box((40, 20), 10, 10) == (10.0, 0.0, 30.0, 20.0)
    assert crop_box((20, 40), 10, 10) == (0.0, 10.0, 20.0, 30.0)
    assert crop_box((30, 20), 20, 30) == (0.0, 0.0, 30.0, 20.0)
    picture = np.zeros((20, 40, 3), np.uint8)
    picture[:, 10:30] = (0, 255, 0)  # a green centre, black sides
    prepared = prepare_for_spec(picture, spec(height=10, width=10))
    # The black sides were cut off (squeezing the whole picture would give black columns);
    # Lanczos reads a few pixels past the box's edge, so the edge columns dim by a few %.
    assert prepared.pixels[1].min() > 0.9 and prepared.pixels[1].mean() > 0.98


def test_one_channel_image_models_get_grey_and_digit_models_the_mnist_recipe_unchanged():
    grey = prepare_for_spec(colour(30, 30, (200, 100, 0)), spec(1, 12, 12, kind="image"))
    assert grey.input.shape == (1, 12, 12) and grey.steps[0][0] == "grayscale"
    np.testing.assert_allclose(grey.pixels, np.float32(grey.steps[0][1][0, 0]) / 255, atol=2e-3)

    rng = np.random.default_rng(3)
    photo = np.full((60, 80), 230, np.uint8)
    photo[15:45, 30:40] = rng.integers(0, 40, (30, 10), dtype=np.uint8)  # a dark stroke
    digit = prepare_for_spec(photo, input_spec_from(None, (1, 28, 28)))
    recipe = preprocess(photo)
    np.testing.assert_array_equal(digit.input, recipe.input)
    assert [n for n, _ in digit.steps] == [n for n, _ in recipe.steps]

    bigger = prepare_for_spec(photo, input_spec_from(None, (1, 32, 32)))
    assert bigger.input.shape == (1, 32, 32) and bigger.steps[-1][0] == "resized"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picture=pictures(max_side=400, max_ratio=50.0),
    tint=st.sampled_from(["grey", "rgb", "rgba"]),
    shape=st.sampled_from([(3, 20, 20), (3, 7, 31), (3, 64, 48), (1, 9, 9), (1, 28, 28)]),
    kind=st.sampled_from(["digit", "image"]),
    bgr=st.booleans(),
)
def test_any_picture_becomes_exactly_the_models_shape_and_finite(picture, tint, shape, kind, bgr):
    if kind == "digit" and shape[0] != 1:
        kind = "image"
    c = shape[0]
    the_spec = input_spec_from(
        {"kind": kind, "colour_order": "bgr" if bgr else "rgb",
         "mean": [0.5] * c, "std": [0.25] * c}, shape
    )
    if tint == "grey":
        image = picture
    else:
        image = np.stack([picture, 255 - picture, picture // 2], axis=-1)
        if tint == "rgba":
            alpha = np.full(picture.shape, 128, np.uint8)
            image = Image.fromarray(np.dstack([image, alpha]), "RGBA")
    prepared = prepare_for_spec(image, the_spec)
    assert prepared.input.shape == shape and prepared.input.dtype == np.float32
    assert prepared.pixels.shape == shape
    assert np.isfinite(prepared.input).all()
    assert 0.0 <= prepared.pixels.min() and prepared.pixels.max() <= 1.0
    np.testing.assert_allclose(prepared.input, (prepared.pixels - 0.5) / 0.25, atol=1e-5)
    for _, step in prepared.steps:
        assert step.dtype == np.uint8 and step.ndim in (2, 3) and step.size > 0


@pytest.mark.parametrize("fmt, mode", [("PNG", "RGBA"), ("JPEG", "RGB"), ("WEBP", "RGBA"),
                                       ("GIF", "P"), ("PNG", "I;16"), ("BMP", "RGB")])
def test_colour_decoding_gives_rgb_for_every_format_and_mode(fmt, mode):
    gray = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (12, 1))
    data = encode_as(gray, fmt, mode, seed=1)
    picture = decode_image(data, Settings(), colour=True)
    assert picture.mode == "RGB" and picture.size == (25, 12)
    prepared = prepare_for_spec(picture, RGB)
    assert prepared.input.shape == (3, 20, 20) and np.isfinite(prepared.input).all()
