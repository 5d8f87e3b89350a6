"""The colour model through the API: uploads keep their colour, its gallery has every class,
images of any size and mode give its 3x20x20 input (never a 500), the digits stay the
default gallery and the LeNets' input is unchanged."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.data.colour_shapes import CLASSES
from app.services.samples import sample_image
from tests.api.imagery import png_bytes
from tests.imaging.families import encode_as, pictures

COLOUR = "/api/v1/models/colour-cnn/inspect"


def input_of(body) -> np.ndarray:
    tensor = body["input"]
    return np.asarray(tensor["data"], np.float32).reshape(tensor["shape"])


def upload(client, data: bytes, url: str = COLOUR, **form):
    return client.post(url, files={"image": ("x.png", data)},
                       data={"encoding": "list", **form})


def test_the_colour_model_is_listed_with_its_rgb_input_and_nine_classes(client):
    models = {m["id"]: m for m in client.get("/api/v1/models").json()["models"]}
    assert models["colour-cnn"]["input_shape"] == [3, 20, 20]
    assert models["colour-cnn"]["classes"] == list(CLASSES)
    assert list(models)[0] == "lenet5"  # the page's default model is unchanged


def test_a_pure_red_upload_gives_input_channel_0_high_and_1_2_low(client):
    red = np.zeros((50, 70, 3), np.uint8)
    red[..., 0] = 255
    response = upload(client, png_bytes(red))
    assert response.status_code == 200, response.text
    body = response.json()
    x = input_of(body)
    assert x.shape == (3, 20, 20)  # the batch axis is dropped
    assert x[0].min() > 0.99 and x[1:].max() < 0.01
    assert [s["step"] for s in body["preprocessing"]] == ["colour", "cropped", "resized"]
    assert body["input_spec"]["channels"] == 3 and body["input_spec"]["kind"] == "image"
    step = Image.open(io.BytesIO(base64.b64decode(
        body["preprocessing"][-1]["image"].split(",", 1)[1])))
    assert step.mode == "RGB" and step.size == (20, 20)


def test_an_upload_of_a_held_out_shape_is_classified_like_the_sample_itself(client):
    image, label = sample_image(4, "colour-shapes")
    picture = np.moveaxis(image, 0, -1)
    big = Image.fromarray(picture).resize((80, 80), Image.Resampling.NEAREST)
    by_upload = upload(client, png_bytes(big)).json()
    by_sample = client.post(COLOUR, json={"sample": 4, "encoding": "list"}).json()
    assert by_sample["preprocessing"][0]["step"] == "sample"
    np.testing.assert_array_equal(input_of(by_sample), image.astype(np.float32) / 255)
    assert by_sample["prediction"] == label
    assert by_upload["prediction"] == label


def test_the_colour_gallery_has_every_class_on_its_first_page_and_rgb_pngs(client):
    page = client.get("/api/v1/samples", params={"dataset": "colour-shapes", "limit": 9}).json()
    assert page["total"] == 450
    assert sorted(s["label"] for s in page["samples"]) == list(range(len(CLASSES)))
    png = client.get("/api/v1/samples/3.png", params={"dataset": "colour-shapes"})
    assert png.status_code == 200
    assert Image.open(io.BytesIO(png.content)).mode == "RGB"
    digits = client.get("/api/v1/samples", params={"limit": 10}).json()
    assert digits["total"] == 500  # the default gallery is still the digits


def test_an_unknown_dataset_is_a_422_naming_the_choices(client):
    response = client.get("/api/v1/samples", params={"dataset": "cifar"})
    assert response.status_code == 422
    assert "colour-shapes" in response.json()["error"]["message"]


def test_a_digit_sample_on_lenet5_is_the_digit_itself_as_before(client):
    body = client.post("/api/v1/models/lenet5/inspect",
                       json={"sample": 7, "encoding": "list"}).json()
    image, _ = sample_image(7)
    np.testing.assert_array_equal(input_of(body)[0], image.astype(np.float32) / 255)
    assert body["input_spec"]["kind"] == "digit"


def test_a_drawn_canvas_on_the_colour_model_is_grey_in_all_three_channels(client):
    pixels = np.zeros((40, 40), np.uint8)
    pixels[10:30, 10:30] = 255
    body = client.post(COLOUR, json={"pixels": pixels.tolist(), "encoding": "list"}).json()
    x = input_of(body)
    np.testing.assert_array_equal(x[0], x[1])
    np.testing.assert_array_equal(x[1], x[2])
    assert x.max() > 0.9


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(picture=pictures(max_side=300, max_ratio=50.0),
       fmt_mode=st.sampled_from([("PNG", "RGBA"), ("JPEG", "RGB"), ("PNG", "L"),
                                 ("GIF", "P"), ("WEBP", "RGB"), ("PNG", "I;16")]))
def test_any_image_gives_the_colour_models_shape_and_never_a_500(client, picture, fmt_mode):
    fmt, mode = fmt_mode
    response = upload(client, encode_as(picture, fmt, mode))
    if response.status_code == 422:  # the family's sizes reach just past the aspect limit
        assert response.json()["error"]["code"] == "extreme_aspect_ratio", response.text
        return
    assert response.status_code == 200, response.text
    x = input_of(response.json())
    assert x.shape == (3, 20, 20) and np.isfinite(x).all()


@pytest.mark.parametrize("model_id", ["lenet5", "colour-cnn"])
def test_the_other_models_gallery_sample_is_refused_only_when_out_of_range(client, model_id):
    response = client.post(f"/api/v1/models/{model_id}/inspect", json={"sample": 100_000})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "sample_not_found"


def test_a_model_too_large_for_image_preparation_asks_for_a_tensor_not_a_500(client):
    from app.models.registry import Architecture, Model
    from app.nn import from_spec
    from app.services.models import register_model, unregister_model

    spec = [{"kind": "flatten", "name": "flatten"},
            {"kind": "linear", "name": "fc", "in_features": 3 * 1100 * 2, "out_features": 2}]
    arch = Architecture("wide-test", "wide", "", spec, input_shape=(3, 1100, 2),
                        classes=("a", "b"))
    register_model(Model(arch, from_spec(spec, rng=0), {}))
    try:
        red = np.zeros((8, 8, 3), np.uint8)
        response = upload(client, png_bytes(red), url="/api/v1/models/wide-test/inspect")
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "image_input_unsupported" and "1024" in error["message"]
    finally:
        unregister_model("wide-test")
