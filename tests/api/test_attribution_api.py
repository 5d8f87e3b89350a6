"""POST /api/v1/models/{model_id}/attribution: every method on the bundled CNNs and a
registered graph, every inspect input, the documented shapes, and 4xx (never 500) for bad
requests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.schemas.attribution import AttributionResponse
from app.models import load_model
from app.nn import attribution as attr
from app.services import attribution as service
from app.services.encoding import decode_tensor
from app.services.models import register_model, unregister_model
from tests.floats import assert_equal_up_to_rounding
from tests.services.graphs import TINY_RESNET, tiny_resnet

URL = "/api/v1/models/{}/attribution"
METHODS = list(service.METHODS)


def _post(client, model_id, **body):
    return client.post(URL.format(model_id), json=body)


@pytest.fixture(scope="module")
def registered():
    register_model(tiny_resnet())
    yield TINY_RESNET
    unregister_model(TINY_RESNET)


@pytest.mark.parametrize("model_id", ["lenet5", "resnet-mini", "lenet5-classic", "mlp"])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_every_bundled_feedforward_model(client, model_id, method):
    """mlp has no feature map (no Grad-CAM); lenet5-classic and mlp have no ReLU (no guided
    backpropagation): both are 422s naming why."""
    response = _post(client, model_id, sample=7, method=method)
    if (model_id == "mlp" and method == "grad_cam") or (
        model_id in ("lenet5-classic", "mlp") and method == "guided_backprop"
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] in ("no_conv_layer", "no_relu")
        return
    assert response.status_code == 200, response.text
    body = AttributionResponse.model_validate(response.json()).model_dump()
    heatmap = decode_tensor(response.json()["heatmap"])
    assert list(heatmap.shape) == body["heatmap"]["shape"] and np.isfinite(heatmap).all()
    assert body["resolution"] == list(heatmap.shape[-2:])
    assert body["target"] == body["prediction"] == 7 and body["method"] == method
    if body["heatmap_of"] == "input":
        assert list(heatmap.shape) == [1, 28, 28]


def test_grad_cam_answer_is_the_raw_map_at_the_layer_with_its_weights(client):
    body = _post(client, "lenet5", sample=3, method="grad_cam", layer="conv2",
                 target=5).json()
    model = load_model("lenet5")
    x = model.prepare(decode_tensor(body["input"])[None]).astype(np.float64)
    cam = attr.grad_cam(model.network.astype(np.float64), x, 5, "conv2")
    assert body["layer"] == "conv2" and body["resolution"] == [10, 10]
    assert body["layers"] == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    assert body["activation_shape"] == [16, 10, 10] and body["target"] == 5
    assert_equal_up_to_rounding(decode_tensor(body["heatmap"]), cam.cam[0].astype(np.float32))
    assert_equal_up_to_rounding(np.array(body["weights"]), cam.weights[0])


def test_grad_cam_default_layer_is_the_last_feature_map(client):
    assert _post(client, "lenet5", sample=1, method="grad_cam").json()["layer"] == "pool2"
    body = _post(client, "resnet-mini", sample=1, method="grad_cam").json()
    assert body["layer"] == "block3_relu2" and body["resolution"] == [7, 7]


def test_integrated_gradients_reports_completeness(client):
    body = _post(client, "lenet5", sample=7, method="integrated_gradients", steps=64).json()
    c = body["completeness"]
    assert c["difference"] == pytest.approx(c["f_x"] - c["f_baseline"])
    assert c["sum"] == pytest.approx(decode_tensor(body["heatmap"]).sum(), rel=1e-5)
    assert c["f_x"] == pytest.approx(body["logit"]) and c["gap"] < 0.01
    assert (body["rule"], body["steps"]) == ("adaptive", 64) and body["evaluations"] <= 65


def test_integrated_gradients_uniform_rule_spends_steps_plus_one_evaluations(client):
    body = _post(client, "lenet5", sample=7, method="integrated_gradients", steps=16,
                 rule="uniform").json()
    assert (body["rule"], body["evaluations"]) == ("uniform", 17)


def test_occlusion_answer_is_at_the_grid_resolution(client):
    body = _post(client, "lenet5", sample=7, method="occlusion", patch=[7, 4], stride=3,
                 baseline=0.5, encoding="list").json()
    assert body["tops"] == list(range(0, 22, 3)) and body["lefts"] == list(range(0, 25, 3))
    assert body["resolution"] == [8, 9] and body["heatmap"]["encoding"] == "list"
    assert body["patch"] == [7, 4] and body["stride"] == [3, 3]


def test_smoothgrad_is_reproducible_through_the_api(client):
    a = _post(client, "lenet5", sample=2, method="smoothgrad", n_samples=8, seed=4).json()
    b = _post(client, "lenet5", sample=2, method="smoothgrad", n_samples=8, seed=4).json()
    c = _post(client, "lenet5", sample=2, method="smoothgrad", n_samples=8, seed=5).json()
    assert a["heatmap"] == b["heatmap"] and a["heatmap"] != c["heatmap"]


def test_an_uploaded_image_with_the_method_as_form_fields(client, digit_png):
    png, _, _ = digit_png
    response = client.post(
        URL.format("lenet5"), files={"image": ("7.png", png, "image/png")},
        data={"method": "occlusion", "patch": "6", "stride": "2", "target": "2"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["target"] == 2 and body["resolution"] == [12, 12]


def test_a_drawn_canvas_is_explained(client):
    pixels = [[255 if 8 <= c <= 11 else 0 for c in range(20)] for _ in range(20)]
    body = _post(client, "lenet5", pixels=pixels, method="gradient_x_input").json()
    assert body["heatmap"]["shape"] == [1, 28, 28]


def test_a_registered_graph_model(client, registered):
    for method in METHODS:
        response = _post(client, registered, sample=4, method=method, n_samples=4, steps=8)
        assert response.status_code == 200, (method, response.text)
    assert _post(client, registered, sample=4, method="grad_cam").json()["layer"] == "relu3"


@pytest.mark.parametrize("method", METHODS)
def test_recurrent_models_take_every_method_but_grad_cam_and_guided(client, method):
    response = _post(client, "lstm-rows", sample=7, method=method, n_samples=4, steps=8,
                     patch=7, stride=7)
    if method in ("grad_cam", "guided_backprop"):
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] in ("no_conv_layer", "no_relu") and error["field"] == "method"
    else:
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"method": "nope"}, "invalid_input", "method"),
    ({"method": "smoothgrad", "n_samples": 101}, "invalid_input", "n_samples"),
    ({"method": "integrated_gradients", "steps": 257}, "invalid_input", "steps"),
    ({"method": "integrated_gradients", "steps": 0}, "invalid_input", "steps"),
    ({"method": "integrated_gradients", "rule": "simpson"}, "invalid_input", "rule"),
    ({"method": "occlusion", "patch": 29}, "invalid_patch", None),
    ({"method": "occlusion", "patch": [1, 2, 3]}, "invalid_input", "patch"),
    ({"method": "grad_cam", "layer": "fc3"}, "invalid_layer", None),
    ({"method": "saliency", "target": 10}, "invalid_target", None),
    ({"method": "saliency", "colour": 1}, "invalid_input", None),
])
def test_bad_options_are_422s_naming_the_problem(client, body, code, field):
    response = _post(client, "lenet5", sample=7, **body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if field:
        assert field in error["message"]


def test_occlusion_positions_are_capped():
    """A 64x64 input with patch 1, stride 1 would take 4,096 passes: refused."""
    options = service.AttributionOptions(method="occlusion", patch=(1, 1), stride=(1, 1))
    service.check_options(options)
    with pytest.raises(service.ApiError) as caught:
        service._occlusion_geometry(np.zeros((1, 1, 64, 64)), options)
    assert caught.value.code == "invalid_stride" and "4,096" in str(caught.value)


@pytest.mark.parametrize("raw", [b'{"sample": 7, "method": "smoothgrad", "sigma": Infinity}',
                                 b'{"sample": 7, "method": "occlusion", "baseline": NaN}'])
def test_non_finite_parameters_are_422s(client, raw):
    response = client.post(URL.format("lenet5"), content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text


def test_unknown_model_and_media_type(client):
    assert _post(client, "nope", sample=1).status_code == 404
    response = client.post(URL.format("lenet5"), content=b"x", headers={"content-type":
                                                                        "text/plain"})
    assert response.status_code == 415


OPTION_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.lists(st.integers(-5, 40), max_size=4),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.one_of(st.sampled_from(METHODS), st.text(max_size=8)),
    options=st.dictionaries(
        st.sampled_from(["layer", "n_samples", "sigma", "seed", "steps", "baseline", "patch",
                         "stride", "target", "encoding"]),
        OPTION_VALUES, max_size=4,
    ),
    model_id=st.sampled_from(["lenet5", "lstm-rows"]),
)
def test_any_options_give_200_or_a_4xx_envelope_never_500(client, method, options, model_id):
    response = _post(client, model_id, sample=7, method=method, **options)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert set(response.json()["error"]) >= {"code", "message"}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(
    st.sampled_from(["method", "layer", "n_samples", "sigma", "steps", "patch", "stride",
                     "baseline", "target", "colour"]),
    st.one_of(st.sampled_from(METHODS), st.text(max_size=10),
              st.integers(-10**6, 10**6).map(str)),
    max_size=6,
))
def test_any_multipart_fields_give_200_or_a_4xx_envelope_never_500(client, digit_png, fields):
    png, _, _ = digit_png
    response = client.post(URL.format("lenet5"), files={"image": ("7.png", png, "image/png")},
                           data=fields)
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code != 200:
        assert {"code", "message"} <= set(response.json()["error"])


def _registered(model_id, graph, input_shape=(1, 28, 28), classes=10):
    from app.models.registry import Architecture, Model

    arch = Architecture(model_id, model_id, "a test graph", spec=[], input_shape=input_shape,
                        classes=tuple(str(k) for k in range(classes)))
    register_model(Model(arch, graph))


def test_a_graph_that_is_no_classifier_and_an_image_for_a_non_image_input_are_422s(client):
    """A 3-channel model's image is prepared for its spec (RGB kept), so the input that has
    no image form here is a 2-channel one: it needs an exact tensor."""
    from app.nn import Conv2d, Graph

    _registered("attr-test-maps", Graph([Conv2d(1, 2, 3, padding=1)]))
    _registered("attr-test-colour", Graph([Conv2d(2, 2, 3)]), input_shape=(2, 28, 28))
    try:
        for url, body in ((URL, {"sample": 1}),
                          ("/api/v1/models/{}/sgd-step", {"sample": 1, "lr": 0.1})):
            maps = client.post(url.format("attr-test-maps"), json=body)
            assert maps.status_code == 422 and maps.json()["error"]["code"] == "not_a_classifier"
            colour = client.post(url.format("attr-test-colour"), json=body)
            assert colour.status_code == 422, colour.text
            assert colour.json()["error"]["code"] == "image_input_unsupported"
    finally:
        unregister_model("attr-test-maps")
        unregister_model("attr-test-colour")


def test_an_exact_tensor_input_is_explained_exactly(client):
    """The inspect parser's exact tensor: the heatmap is the saliency of exactly that array."""
    from app.services.encoding import encode_tensor

    x = np.random.default_rng(0).uniform(0, 1, (1, 1, 28, 28)).astype(np.float32)
    tensor = {k: v for k, v in encode_tensor(x).items() if k not in ("min", "max")}
    body = _post(client, "lenet5", tensor=tensor, method="saliency", target=2).json()
    assert body["input"]["shape"] == [1, 28, 28], body
    np.testing.assert_array_equal(decode_tensor(body["input"]), x[0])
    graph = load_model("lenet5").network.astype(np.float64)
    want = attr.logit_gradient(graph, x.astype(np.float64), 2)[1][0]
    assert_equal_up_to_rounding(decode_tensor(body["heatmap"]), want.astype(np.float32))
    step = client.post("/api/v1/models/lenet5/sgd-step",
                       json={"tensor": tensor, "lr": 0.01, "target": 2})
    assert step.status_code == 200, step.text
    assert step.json()["loss_before"] == pytest.approx(
        float(graph.trace(x.astype(np.float64), [2]).loss), rel=1e-12)


def test_an_uploaded_onnx_model_is_explained_and_stepped(client):
    """A LeNet written as torch's exporter writes it, through the model store."""
    from tests.importers.test_onnx_models import lenet

    net, out = lenet()
    uploaded = client.post("/api/v1/models",
                           files={"file": ("lenet.onnx", net.model(out).SerializeToString())})
    assert uploaded.status_code == 201, uploaded.text
    model_id = uploaded.json()["id"]
    try:
        for method in METHODS:
            response = _post(client, model_id, sample=3, method=method, n_samples=4, steps=8)
            assert response.status_code == 200, (method, response.text)
        step = client.post(f"/api/v1/models/{model_id}/sgd-step",
                           json={"sample": 3, "lr": 0.01})
        assert step.status_code == 200, step.text
    finally:  # later tests list the models and expect only the bundled ones
        assert client.delete(f"/api/v1/models/{model_id}").status_code == 204
