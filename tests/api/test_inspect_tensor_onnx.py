"""ONNX files written as torch.onnx.export writes them (LeNet with the flatten idiom, a
residual net with BatchNorm and input normalisation, a depthwise-separable block, a Fire
module with Concat), and models PyTorch itself exported (the onnx wheel's test data):
uploaded through the API, inspected with an exact tensor, and checked: the output against
onnx's ReferenceEvaluator (or PyTorch's stored output), the loss against the reference's
probabilities, the input gradient against central finite differences in float64."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx.reference import ReferenceEvaluator

from app.services.encoding import decode_tensor
from app.services.model_store import ModelStore, set_model_store
from tests.api.test_inspect_tensor import tensor_of
from tests.floats import assert_equal_up_to_rounding
from tests.importers.test_onnx_models import depthwise_separable, fire, lenet, resnet
from tests.importers.test_onnx_pytorch_exports import DATA, load

BUILDERS = {"lenet": lenet, "resnet": resnet, "depthwise": depthwise_separable, "fire": fire}
FD_EPS = 1e-6
FD_POINTS = 24


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = ModelStore(tmp_path_factory.mktemp("onnx-models"))
    set_model_store(store)
    yield store
    set_model_store(None)


def _upload(client, model: onnx.ModelProto) -> dict:
    response = client.post("/api/v1/models", files={
        "file": ("model.onnx", model.SerializeToString(), "application/octet-stream")})
    assert response.status_code in (200, 201), response.text
    return response.json()


def _inspect(client, model_id: str, x: np.ndarray, target: int) -> dict:
    response = client.post(f"/api/v1/models/{model_id}/inspect",
                           json={"tensor": tensor_of(x), "target": target})
    assert response.status_code == 200, response.text
    return response.json()


def reference_logits(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """The reference's logits for item 0: the input of a final Softmax/LogSoftmax, else the
    graph's output."""
    values = ReferenceEvaluator(model).run(None, {"x": x}, intermediate=True)
    last = model.graph.node[-1]
    name = last.input[0] if last.op_type in ("Softmax", "LogSoftmax") else last.output[0]
    return np.asarray(values[name])[0]


def _softmax64(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max()
    return np.exp(shifted) / np.exp(shifted).sum()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_uploaded_model_inspected_with_a_tensor_matches_the_reference_and_differences(
        client, store, name):
    net, out = BUILDERS[name]()
    model = net.model(out)
    card = _upload(client, model)
    x = net.input(seed=2)
    target = 1
    body = _inspect(client, card["id"], x, target)
    logits = np.asarray(body["logits"])
    assert_equal_up_to_rounding(logits, reference_logits(model, x), rel=1e-5)
    ref = reference_logits(model, x).astype(np.float64)
    top = ref.max()
    want_loss = top + np.log(np.exp(ref - top).sum()) - ref[target]
    np.testing.assert_allclose(body["loss"], want_loss, rtol=1e-5)

    # The input gradient of the loss, against central differences through the stored graph
    # in float64, at FD_POINTS random input elements.
    grad = decode_tensor(body["input_grad"])
    assert grad.shape == x.shape[1:]
    graph = store.get(card["id"]).network.astype(np.float64)

    def loss(z):
        out = graph.predict(z)[0]
        return out.max() + np.log(np.exp(out - out.max()).sum()) - out[target]

    x64 = x.astype(np.float64)
    flat = x64.reshape(-1)
    for i in np.random.default_rng(0).choice(flat.size, FD_POINTS, replace=False):
        keep = flat[i]
        flat[i] = keep + FD_EPS
        plus = loss(x64)
        flat[i] = keep - FD_EPS
        minus = loss(x64)
        flat[i] = keep
        numeric = (plus - minus) / (2 * FD_EPS)
        assert abs(grad.reshape(-1)[i] - numeric) <= 1e-4 * max(1.0, abs(numeric)), (i, numeric)


@pytest.mark.skipif(not (DATA / "pytorch-converted").is_dir(),
                    reason="this onnx wheel ships no backend test data")
@pytest.mark.parametrize("case", ["pytorch-converted/test_Linear",
                                  "pytorch-operator/test_operator_flatten"])
def test_pytorch_export_uploaded_gives_pytorchs_stored_output(client, store, case):
    model, x, y = load(case)
    card = _upload(client, model)
    body = _inspect(client, card["id"], x[:1], 0)
    assert_equal_up_to_rounding(np.asarray(body["logits"]), y[0].astype(np.float64),
                                rel=1e-5)


def test_an_image_for_a_3_channel_model_is_prepared_for_its_input_spec(client, store):
    net, out = resnet()
    card = _upload(client, net.model(out))
    response = client.post(f"/api/v1/models/{card['id']}/inspect", json={"sample": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    # a colour-shapes sample (20x20 RGB), resized to the model's 16x16, in colour
    assert body["input"]["shape"] == [3, 16, 16]
    assert [s["step"] for s in body["preprocessing"]] == ["sample", "resized"]
    assert body["input_spec"]["channels"] == 3 and body["input_spec"]["kind"] == "image"


def test_a_stored_digit_model_takes_images_normalised_by_its_input_spec(client, store):
    import json

    net, out = lenet()
    model = net.model(out)
    model.producer_version = "with an input spec"  # other bytes than the other tests' LeNet
    data = model.SerializeToString()
    response = client.post("/api/v1/models", files={
        "file": ("m.onnx", data, "application/octet-stream"),
        "input": (None, json.dumps({"mean": 0.1307, "std": 0.3081}))})
    card = response.json()
    by_sample = client.post(f"/api/v1/models/{card['id']}/inspect",
                            json={"sample": 5, "target": 2}).json()
    from app.services.samples import sample_digit

    digit, _ = sample_digit(5)
    x = ((digit.astype(np.float32) / 255.0 - np.float32(0.1307)) / np.float32(0.3081))
    by_tensor = _inspect(client, card["id"], x[None, None].astype(np.float32), 2)
    assert by_sample["trace_id"] == by_tensor["trace_id"]  # the same input bytes
    assert_equal_up_to_rounding(decode_tensor(by_sample["input_grad"]),
                                decode_tensor(by_tensor["input_grad"]))
