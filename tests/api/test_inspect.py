"""POST /api/v1/models/{model_id}/inspect: the returned numbers are the core's."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.api.samples import sample_digit
from app.api.schemas import InspectResponse
from app.services.encoding import INCLUDE_PARTS, decode_tensor
from tests.api.imagery import photo_like, png_bytes
from tests.floats import assert_equal_up_to_rounding

URL = "/api/v1/models/lenet5/inspect"
ALL_PARTS = ",".join(INCLUDE_PARTS)


def _data_url_image(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def inspect_json(client, **body):
    r = client.post(URL, json=body)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def test_sample_trace_is_the_core_trace_of_the_same_digit(client, lenet5):
    digit, _ = sample_digit(3)
    body = inspect_json(client, sample=3)
    InspectResponse.model_validate(body)
    core = lenet5.trace(digit)

    np.testing.assert_array_equal(decode_tensor(body["input"]), core.input[0])
    assert body["input"]["shape"] == [1, 28, 28]
    assert len(body["layers"]) == len(core.layers)
    for got, want in zip(body["layers"], core.layers, strict=True):
        assert (got["index"], got["name"], got["kind"]) == (want.index, want.name, want.kind)
        assert got["config"] == want.config
        assert got["input_shape"] == list(want.input_shape[1:])
        assert got["output_shape"] == list(want.output_shape[1:])
        assert_equal_up_to_rounding(decode_tensor(got["output"]), want.output[0])
        assert_equal_up_to_rounding(decode_tensor(got["grad_output"]), want.grad_output[0])
        assert got["output"]["min"] == pytest.approx(float(want.output.min()))
        assert got["output"]["max"] == pytest.approx(float(want.output.max()))
        if want.kind == "maxpool2d":
            np.testing.assert_array_equal(decode_tensor(got["pool_indices"]), want.pool_indices[0])
        else:
            assert "pool_indices" not in got
    assert_equal_up_to_rounding(decode_tensor(body["input_grad"]), core.input_grad[0])
    assert_equal_up_to_rounding(np.float32(body["logits"]), core.logits[0])
    assert_equal_up_to_rounding(np.float32(body["probabilities"]), core.probabilities[0])
    assert body["prediction"] == body["target"] == int(core.prediction[0])
    assert body["loss"] == pytest.approx(core.loss, rel=1e-6)
    assert body["model"] == "lenet5" and body["classes"] == [str(d) for d in range(10)]


def test_layers_carry_the_models_receptive_fields(client, lenet5):
    from app.nn.receptive import network_receptive_fields

    body = inspect_json(client, sample=0)
    expected = network_receptive_fields(lenet5.network, (28, 28))
    assert [layer["receptive_field"] for layer in body["layers"]] == expected
    assert body["layers"][0]["receptive_field"]["size"] == [5, 5]


def test_pool_indices_follow_pytorchs_flat_index_convention(client, lenet5):
    body = inspect_json(client, sample=5)
    pool = next(layer for layer in body["layers"] if layer["kind"] == "maxpool2d")
    relu = body["layers"][pool["index"] - 1]
    pool_in = decode_tensor(relu["output"])
    indices = decode_tensor(pool["pool_indices"])
    c, h, w = pool_in.shape
    assert indices.shape == tuple(pool["output_shape"]) and indices.dtype == np.int32
    assert indices.min() >= 0 and indices.max() < h * w
    winners = np.take_along_axis(pool_in.reshape(c, h * w), indices.reshape(c, -1), axis=1)
    np.testing.assert_array_equal(winners.reshape(indices.shape), decode_tensor(pool["output"]))


def test_list_encoding_decodes_equal_to_base64(client):
    packed = inspect_json(client, sample=11, include=ALL_PARTS)
    listed = inspect_json(client, sample=11, include=ALL_PARTS, encoding="list")
    assert packed["encoding"] == "base64" and listed["encoding"] == "list"
    InspectResponse.model_validate(listed)

    def tensors(node, path=""):
        if isinstance(node, dict) and "encoding" in node and "data" in node:
            yield path, node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from tensors(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from tensors(value, f"{path}[{i}]")

    a, b = dict(tensors(packed)), dict(tensors(listed))
    assert a.keys() == b.keys() and len(a) > 40
    for path in a:
        assert a[path]["encoding"] == "base64" and b[path]["encoding"] == "list"
        assert isinstance(b[path]["data"], list)
        assert_equal_up_to_rounding(decode_tensor(a[path]), decode_tensor(b[path]), err_msg=path)


def test_default_include_omits_masks_and_parameters(client):
    body = inspect_json(client, sample=2)
    assert body["include"] == ["activations", "gradients", "pool_indices"]
    for layer in body["layers"]:
        assert "pool_mask" not in layer and "params" not in layer and "param_grads" not in layer


def test_include_selects_only_the_named_parts(client):
    body = inspect_json(client, sample=2, include=["pool_mask"])
    assert body["include"] == ["pool_mask"]
    assert "input_grad" not in body
    for layer in body["layers"]:
        assert {"output", "grad_output", "pool_indices", "params"}.isdisjoint(layer)
        assert ("pool_mask" in layer) == (layer["kind"] == "maxpool2d")


def test_pool_mask_counts_the_winners_the_indices_name(client):
    body = inspect_json(client, sample=4, include="pool_indices,pool_mask,gradients")
    pools = [layer for layer in body["layers"] if layer["kind"] == "maxpool2d"]
    assert len(pools) == 2
    for pool in pools:
        mask = decode_tensor(pool["pool_mask"])
        indices = decode_tensor(pool["pool_indices"])
        assert mask.dtype == np.uint8 and list(mask.shape) == pool["input_shape"]
        c, h, w = mask.shape
        expected = np.zeros((c, h * w), dtype=int)
        for channel in range(c):
            np.add.at(expected[channel], indices[channel].ravel(), 1)
        np.testing.assert_array_equal(mask, expected.reshape(c, h, w))
        # 2x2 windows with stride 2 never overlap: every window has exactly one winner.
        assert mask.max() == 1 and mask.sum() == indices.size
        # Only winners receive the delta: the pool's input delta is zero off the mask.
        before = body["layers"][pool["index"] - 1]
        delta_in = decode_tensor(before["grad_output"])
        assert not delta_in[mask == 0].any()


def test_params_and_param_grads_are_the_cores(client, lenet5):
    digit, _ = sample_digit(9)
    body = inspect_json(client, sample=9, target=2, include="params,param_grads")
    core = lenet5.trace(digit, target=2)
    with_params = [layer for layer in body["layers"] if "params" in layer]
    assert [layer["name"] for layer in with_params] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    for got in body["layers"]:
        want = core.layers[got["index"]]
        assert set(got.get("params", {})) == set(want.params)
        assert set(got.get("param_grads", {})) == set(want.grads)
        for key in want.params:
            np.testing.assert_array_equal(decode_tensor(got["params"][key]), want.params[key])
            assert_equal_up_to_rounding(decode_tensor(got["param_grads"][key]), want.grads[key])
    conv1 = with_params[0]
    assert conv1["params"]["weight"]["shape"] == [6, 1, 5, 5]
    assert conv1["param_grads"]["weight"]["shape"] == [6, 1, 5, 5]
    assert conv1["param_grads"]["bias"]["shape"] == [6]


def test_target_chooses_the_class_whose_loss_is_back_propagated(client, lenet5):
    digit, _ = sample_digit(6)
    for target in (0, 3, 9):
        body = inspect_json(client, sample=6, target=target)
        p = np.asarray(body["probabilities"], dtype=np.float64)
        assert body["target"] == target
        assert body["loss"] == pytest.approx(-np.log(p[target]), rel=1e-5)
        core = lenet5.trace(digit, target=target)
        assert_equal_up_to_rounding(decode_tensor(body["input_grad"]), core.input_grad[0])
        dlogits = decode_tensor(body["layers"][-1]["grad_output"])
        onehot = np.eye(10)[target]
        np.testing.assert_allclose(dlogits, p - onehot, atol=1e-6)


def test_information_measures_satisfy_the_cross_entropy_identity(client):
    for target in (None, 1, 8):
        body = inspect_json(client, sample=8, **({} if target is None else {"target": target}))
        info = body["information"]
        p = np.asarray(body["probabilities"], dtype=np.float64)
        assert info["target_entropy"] == 0.0
        assert info["cross_entropy"] == pytest.approx(body["loss"], rel=1e-5, abs=1e-6)
        assert info["cross_entropy"] == pytest.approx(
            info["target_entropy"] + info["kl_divergence"], rel=1e-12, abs=1e-12
        )
        entropy = -(p * np.log(np.where(p > 0, p, 1))).sum()
        assert info["entropy"] == pytest.approx(entropy, abs=1e-5)
        assert 0 <= info["entropy"] <= np.log(10) + 1e-9


def test_timings_are_reported_for_every_stage(client):
    body = inspect_json(client, sample=1)
    timings = body["timings_ms"]
    for stage in ("decode", "preprocess", "forward_backward", "encode", "total"):
        assert timings[stage] >= 0
    assert timings["total"] >= timings["forward_backward"]


def test_uploaded_png_of_a_digit_is_classified_like_the_digit(client, lenet5, digit_png):
    data, digit, label = digit_png
    r = client.post(URL, files={"image": ("seven.png", data, "image/png")})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    InspectResponse.model_validate(body)
    clean = int(lenet5.predict(digit[None])[0].argmax())
    assert body["prediction"] == clean == label
    steps = body["preprocessing"]
    assert steps and all(s["image"].startswith("data:image/png;base64,") for s in steps)
    last = _data_url_image(steps[-1]["image"])
    assert last.size == (28, 28)
    np.testing.assert_allclose(
        decode_tensor(body["input"])[0], np.asarray(last, dtype=np.float32) / 255, atol=1e-6
    )


def test_multipart_form_fields_set_target_encoding_and_include(client, digit_png):
    data, _, _ = digit_png
    r = client.post(
        URL,
        files={"image": ("d.png", data, "image/png")},
        data={"target": "4", "encoding": "list", "include": ["pool_mask", "activations"]},
    )
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["target"] == 4 and body["encoding"] == "list"
    assert body["include"] == ["activations", "pool_mask"]
    assert isinstance(body["layers"][0]["output"]["data"], list)


@pytest.mark.parametrize("sample_id", range(10))
def test_photo_like_upload_is_classified_like_the_clean_digit(client, lenet5, sample_id):
    """Dark ink on light, uneven paper, 5x larger, off-centre, noisy: the MNIST recipe
    (invert, crop, scale, centre by mass) must give the clean digit's answer."""
    digit, label = sample_digit(sample_id)
    clean = int(lenet5.predict(digit[None])[0].argmax())
    photo = photo_like(digit, seed=sample_id)
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        r = client.post(URL, files={"image": (f"photo.{fmt}", png_bytes(photo, fmt), mime)})
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        assert body["prediction"] == clean, (fmt, body["probabilities"])
        assert [s["step"] for s in body["preprocessing"]][0] == "grayscale"
        assert "inverted" in [s["step"] for s in body["preprocessing"]]
        for step in body["preprocessing"]:
            assert max(_data_url_image(step["image"]).size) <= 160


def test_drawn_canvas_pixels_are_classified_like_the_digit(client, lenet5):
    digit, _ = sample_digit(13)
    clean = int(lenet5.predict(digit[None])[0].argmax())
    canvas = np.zeros((280, 280), dtype=np.uint8)
    big = np.asarray(Image.fromarray(digit).resize((200, 200), Image.Resampling.BILINEAR))
    canvas[60:260, 20:220] = big
    body = inspect_json(client, pixels=canvas.tolist())
    assert body["prediction"] == clean
    assert body["input"]["shape"] == [1, 28, 28]


def test_default_response_for_a_photo_stays_under_250_kb(client):
    """Default parts as base64 float32 are ~33k numbers (~177 KB); step previews are capped
    so that a noisy photo does not add hundreds of KB."""
    photo = photo_like(sample_digit(0)[0])
    r = client.post(URL, files={"image": ("p.png", png_bytes(photo), "image/png")})
    assert r.status_code == 200
    assert len(r.content) < 250_000
