"""POST /api/v1/models (upload an ONNX file), GET /api/v1/models (bundled and stored),
GET /api/v1/models/{id} for a stored model, DELETE /api/v1/models/{id}; the upload route's
own body cap."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper

from app.main import create_app
from app.services.model_store import ModelStore, set_model_store
from app.settings import Settings
from tests.floats import assert_json_equal_up_to_rounding
from tests.importers.test_onnx_models import lenet, resnet


@pytest.fixture
def store(tmp_path):
    store = ModelStore(tmp_path / "models")
    set_model_store(store)
    yield store
    set_model_store(None)


def lenet_bytes() -> bytes:
    net, out = lenet()
    return net.model(out).SerializeToString()


def upload(client, data: bytes, **fields):
    files = {"file": ("model.onnx", data, "application/octet-stream")}
    for key, value in fields.items():
        files[key] = (None, value) if isinstance(value, str) else value
    return client.post("/api/v1/models", files=files)


def test_upload_answers_201_with_the_card_and_200_for_the_same_bytes_again(client, store):
    data = lenet_bytes()
    first = upload(client, data, name="My LeNet")
    assert first.status_code == 201, first.text
    card = first.json()
    assert card["id"] == hashlib.sha256(data).hexdigest()[:16]
    assert card["name"] == "My LeNet" and card["source"] == "onnx"
    assert card["layers"][0]["macs"] > 0 and card["parameters"] == 61_706
    again = upload(client, data, name="other")
    assert again.status_code == 200 and again.json() == card


def test_uploaded_model_is_listed_after_the_bundled_ones_and_has_a_detail(client, store):
    card = upload(client, lenet_bytes()).json()
    models = client.get("/api/v1/models").json()["models"]
    assert models[0]["id"] == "lenet5" and models[0]["source"] == "bundled"
    assert models[-1] == {
        "id": card["id"], "name": card["name"], "description": "", "input_shape": [1, 28, 28],
        "classes": [str(i) for i in range(10)], "parameters": 61_706, "accuracy": None,
        "source": "onnx",
    }
    detail = client.get(f"/api/v1/models/{card['id']}").json()
    assert detail["source"] == "onnx" and detail["card"]["sha256"] == card["sha256"]
    assert detail["layers"][0]["kind"] == "conv2d"
    assert detail["layers"][0]["receptive_field"]["size"] == [5, 5]


@pytest.mark.parametrize("classes", [
    json.dumps([f"class {i}" for i in range(10)]),
    "\n".join(f"class {i}" for i in range(10)) + "\n",
    ("labels.txt", "\n".join(f"class {i}" for i in range(10)).encode(), "text/plain"),
])
def test_classes_as_json_list_text_or_a_labels_file(client, store, classes):
    response = upload(client, lenet_bytes(), classes=classes)
    assert response.status_code == 201, response.text
    assert response.json()["classes"][9] == "class 9"


def test_input_spec_is_validated_and_kept(client, store):
    net, out = resnet()
    data = net.model(out).SerializeToString()
    bad = upload(client, data, input=json.dumps({"channels": 1}))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input_spec"
    spec = {"channels": 3, "height": 16, "width": 16, "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225], "colour_order": "rgb"}
    card = upload(client, data, input=json.dumps(spec)).json()
    assert card["input"]["mean"] == spec["mean"] and card["input"]["channels"] == 3


def test_unsupported_operator_is_a_422_naming_the_op_node_and_opset(client, store):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Erf", ["r"], ["y"], name="weird_erf")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    response = upload(client, model.SerializeToString())
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unsupported_operator"
    assert (error["op_type"], error["node"], error["opset"]) == ("Erf", "weird_erf", 13)
    assert "Erf" in error["message"] and store.cards() == []


def test_junk_is_a_422_invalid_model(client, store):
    response = upload(client, b"\x08\x01garbage")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_model"


def test_missing_file_unknown_field_and_wrong_media_type_are_4xx(client, store):
    no_file = client.post("/api/v1/models", files={"name": (None, "x")})
    assert no_file.status_code == 422 and no_file.json()["error"]["code"] == "missing_file"
    unknown = upload(client, lenet_bytes(), colour="red")
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]["message"]
    as_json = client.post("/api/v1/models", json={"file": "x"})
    assert as_json.status_code == 415


def test_delete_removes_an_upload_and_refuses_bundled_and_unknown_ids(client, store):
    card = upload(client, lenet_bytes()).json()
    assert client.delete(f"/api/v1/models/{card['id']}").status_code == 204
    assert client.get(f"/api/v1/models/{card['id']}").status_code == 404
    assert client.delete(f"/api/v1/models/{card['id']}").status_code == 404
    bundled = client.delete("/api/v1/models/lenet5")
    assert bundled.status_code == 403
    assert bundled.json()["error"]["code"] == "model_not_deletable"
    assert client.delete("/api/v1/models/..%2F..%2Fetc").status_code == 404


def test_upload_route_takes_bodies_up_to_the_model_cap_and_other_routes_keep_theirs(
        tmp_path):
    settings = Settings(max_body_bytes=64 * 1024, max_model_bytes=200 * 1024,
                        model_dir=tmp_path)
    set_model_store(ModelStore.from_settings(settings))
    try:
        with TestClient(create_app(settings)) as small:
            data = lenet_bytes()  # about 250 KB: over the model cap, under the upload's body cap
            assert 64 * 1024 < len(data)
            over = upload(small, data)
            assert over.status_code == 413
            assert over.json()["error"]["code"] == "model_too_large"
            huge = upload(small, b"\0" * (settings.max_model_bytes + 3 * 1024 * 1024))
            assert huge.status_code == 413
            assert huge.json()["error"]["code"] == "payload_too_large"
            inspect = small.post("/api/v1/models/lenet5/inspect",
                                 content=b"{" + b" " * (100 * 1024) + b"}",
                                 headers={"content-type": "application/json"})
            assert inspect.status_code == 413
    finally:
        set_model_store(None)


def test_a_layer_of_an_uploaded_models_trace_is_fetched_and_recomputed(client, store):
    import base64

    import numpy as np

    card = upload(client, lenet_bytes()).json()
    x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    tensor = {"shape": [1, 1, 28, 28], "dtype": "float32", "encoding": "base64",
              "data": base64.b64encode(x.astype("<f4").tobytes()).decode()}
    body = client.post(f"/api/v1/models/{card['id']}/inspect", json={"tensor": tensor}).json()
    layer = body["layers"][0]["name"]
    url = f"/api/v1/traces/{body['trace_id']}/layers/{layer}"
    held = client.get(url, params={"part": "output"})
    assert held.status_code == 200, held.text
    cold = TestClient(create_app())  # another replica: recomputes from the token
    recomputed = cold.post(url + "/fetch", params={"part": "output"},
                           json={"input": body["trace_input"]})
    assert recomputed.status_code == 200, recomputed.text
    assert_json_equal_up_to_rounding(recomputed.json()["output"], held.json()["output"])


def test_external_data_and_too_many_parameters_are_422_with_the_importers_codes(tmp_path):
    from tests.importers.test_onnx_refusals import external_model

    settings = Settings(model_dir=tmp_path, max_model_parameters=1000)
    set_model_store(ModelStore.from_settings(settings))
    try:
        with TestClient(create_app(settings)) as small:
            external = upload(small, external_model().SerializeToString())
            assert external.status_code == 422
            assert external.json()["error"]["code"] == "external_data"
            big = upload(small, lenet_bytes())
            assert big.status_code == 422
            error = big.json()["error"]
            assert error["code"] == "model_too_large" and error["limit"] == 1000
    finally:
        set_model_store(None)
