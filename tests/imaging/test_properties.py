"""Property tests: every picture, in every allowed format and mode, decodes and preprocesses
to a 28x28 float32 input in [0, 1], or is refused with ImageRejected; through the API it gets
200 or a 4xx with the error envelope, never a 5xx. No ink always ends in the one blank result."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.imaging import (
    WORKING_SIDE,
    ImageRejected,
    Preprocessed,
    decode_image,
    pixels_to_input,
    preprocess,
)
from app.settings import Settings
from tests.imaging.families import FAMILIES, FORMAT_AND_MODE, encode_as, picture, pictures, shapes

SETTINGS = Settings()
URL = "/api/v1/models/lenet5/inspect"


def examples(count: int) -> settings:
    """Hypothesis settings: `count` examples, reproducible, no deadline, no saved database."""
    return settings(max_examples=count, deadline=None, derandomize=True, database=None)


def assert_model_input(result: Preprocessed) -> None:
    """A 28x28 float32 in [0, 1]; blank exactly when the last step is "blank", and then the
    input is all zeros; otherwise the last step is "centred" and holds ink."""
    assert isinstance(result, Preprocessed)
    x = result.input
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
    names = [name for name, _ in result.steps]
    assert names[0] == "grayscale"
    assert names[-1] == ("blank" if result.blank else "centred")
    assert result.blank == (not x.any())
    assert all(img.dtype == np.uint8 and img.ndim == 2 for _, img in result.steps)


@given(pictures())
@examples(400)
def test_any_picture_preprocesses_to_a_28x28_input_in_0_1(gray):
    assert_model_input(preprocess(gray))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_at_tiny_and_elongated_sizes_preprocesses(family):
    for height, width in [(1, 1), (1, 2), (2, 2), (3, 3), (1, 50), (50, 1), (2, 100), (7, 350)]:
        for seed in range(3):
            assert_model_input(preprocess(picture(family, height, width, seed)))


@given(shapes(), st.integers(0, 255))
@examples(100)
def test_constant_picture_is_the_blank_result(shape, value):
    result = preprocess(np.full(shape, value, np.uint8))
    assert result.blank and result.steps[-1][0] == "blank" and not result.input.any()


@given(pictures(max_side=120), st.sampled_from(FORMAT_AND_MODE), st.integers(0, 2**16))
@examples(300)
def test_any_picture_in_any_format_and_mode_decodes_and_preprocesses_or_is_refused(
    gray, fmt_mode, seed
):
    data = encode_as(gray, *fmt_mode, seed=seed)
    try:
        decoded = decode_image(data, SETTINGS)
    except ImageRejected as error:  # never for these well-formed files but a too-long shape
        assert (error.status, error.code) == (422, "extreme_aspect_ratio")
        return
    assert decoded.mode == "L" and max(decoded.size) <= WORKING_SIDE
    assert_model_input(preprocess(decoded))


@given(pictures(max_side=80, max_ratio=60.0), st.sampled_from(FORMAT_AND_MODE))
@examples(100)
def test_beyond_the_aspect_limit_is_refused_with_its_own_error(gray, fmt_mode):
    height, width = gray.shape
    try:
        decode_image(encode_as(gray, *fmt_mode), SETTINGS)
    except ImageRejected as error:
        assert error.code == "extreme_aspect_ratio"
        assert max(height, width) / min(height, width) > SETTINGS.max_aspect_ratio
    else:
        assert max(height, width) / min(height, width) <= SETTINGS.max_aspect_ratio


@given(pictures(max_side=64))
@examples(100)
@example(np.array([[0, 255], [255, 0]], np.uint8))  # a 2x2 checkerboard canvas
@example(np.array([[255] * 25 + [0] * 25], np.uint8))  # a 1x50 half-black canvas
def test_any_drawn_canvas_preprocesses(gray):
    assert_model_input(pixels_to_input(gray.tolist(), SETTINGS))


@pytest.mark.parametrize(
    "gray",
    [
        pytest.param(np.array([[0, 255], [255, 0]], np.uint8), id="2x2-checkerboard"),
        pytest.param(np.array([[255] * 25 + [0] * 25], np.uint8), id="1x50-half-black"),
        pytest.param(picture("noise", 200, 200, 3), id="noise"),
        pytest.param(picture("stripes", 90, 120, 2), id="stripes"),
        pytest.param(picture("checkerboard", 90, 120, 2), id="checkerboard"),
        pytest.param(picture("texture", 150, 100, 5), id="texture"),
    ],
)
def test_pictures_that_made_preprocess_raise_index_error_now_give_an_input(gray):
    assert_model_input(preprocess(gray))


# ----------------------------------------------------------------------------- through the API


def assert_200_or_4xx_envelope(response) -> dict:
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text[:300]
    body = response.json()
    if response.status_code != 200:
        assert set(body) == {"error"}
        assert body["error"]["code"] and body["error"]["message"]
    return body


@given(pictures(max_side=100), st.sampled_from(FORMAT_AND_MODE))
@examples(60)
def test_any_upload_gets_200_or_a_4xx_envelope_never_5xx(client, gray, fmt_mode):
    data = encode_as(gray, *fmt_mode)
    response = client.post(URL, files={"image": ("picture", data, "application/octet-stream")})
    body = assert_200_or_4xx_envelope(response)
    if response.status_code == 200:
        steps = [step["step"] for step in body["preprocessing"]]
        assert steps[-1] in ("blank", "centred")


@given(pictures(max_side=48))
@examples(40)
def test_any_drawn_canvas_gets_200_or_a_4xx_envelope_never_5xx(client, gray):
    assert_200_or_4xx_envelope(client.post(URL, json={"pixels": gray.tolist()}))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"pixels": [[0, 255], [255, 0]]}, id="2x2-checkerboard-canvas"),
        pytest.param({"pixels": [[255] * 25 + [0] * 25]}, id="1x50-half-black-canvas"),
    ],
)
def test_canvases_that_got_a_500_now_get_200(client, body):
    assert client.post(URL, json=body).status_code == 200


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_1x50_half_black_upload_gets_200_in_every_format(client, fmt):
    data = encode_as(np.array([[0] * 25 + [255] * 25], np.uint8), fmt, "L")
    response = client.post(URL, files={"image": ("line", data, "application/octet-stream")})
    assert response.status_code == 200, response.text[:300]
