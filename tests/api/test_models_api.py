"""GET /api/v1/models and GET /api/v1/models/{model_id}."""

from __future__ import annotations

import numpy as np

from app.api.schemas import ModelDetail, ModelList
from app.nn.receptive import network_receptive_fields
from app.services.encoding import decode_tensor


def test_models_lists_lenet5_with_its_card_figures(client, lenet5):
    r = client.get("/api/v1/models")
    assert r.status_code == 200
    body = r.json()
    ModelList.model_validate(body)
    entry = next(m for m in body["models"] if m["id"] == "lenet5")
    assert set(entry) == {
        "id", "name", "description", "input_shape", "classes", "parameters", "accuracy",
        "source",
    }
    assert entry["source"] == "bundled"
    assert entry["input_shape"] == [1, 28, 28]
    assert entry["classes"] == [str(d) for d in range(10)]
    assert entry["parameters"] == lenet5.network.parameter_count == 61706
    assert entry["accuracy"] == lenet5.card["heldout"]["accuracy"]
    assert 0.9 < entry["accuracy"] <= 1


def test_model_detail_has_the_card_and_the_layer_table(client, lenet5):
    r = client.get("/api/v1/models/lenet5")
    assert r.status_code == 200
    body = r.json()
    ModelDetail.model_validate(body)
    assert body["card"] == lenet5.card
    shapes = lenet5.network.shapes((1, 1, 28, 28))
    fields = network_receptive_fields(lenet5.network, (28, 28))
    assert [layer["name"] for layer in body["layers"]] == lenet5.network.names
    for layer, (name, net_layer), (shape_in, shape_out), rf in zip(
        body["layers"], lenet5.network, shapes, fields, strict=True
    ):
        assert layer["name"] == name and layer["kind"] == net_layer.kind
        assert layer["config"] == net_layer.config()
        assert layer["input_shape"] == list(shape_in[1:])
        assert layer["output_shape"] == list(shape_out[1:])
        assert layer["parameters"] == net_layer.parameter_count
        assert layer["receptive_field"] == rf
        assert "params" not in layer
    assert sum(layer["parameters"] for layer in body["layers"]) == body["parameters"]
    # conv1 5x5, pool 2x2, conv2 5x5: 5 -> 6 -> 14 pixels, jump 1 -> 2.
    by_name = {layer["name"]: layer for layer in body["layers"]}
    assert by_name["conv2"]["receptive_field"]["size"] == [14, 14]
    assert by_name["conv2"]["receptive_field"]["jump"] == [2, 2]


def test_include_weights_adds_every_layers_parameters(client, lenet5):
    body = client.get("/api/v1/models/lenet5", params={"include": "weights"}).json()
    with_params = {layer["name"]: layer["params"] for layer in body["layers"] if "params" in layer}
    assert set(with_params) == {"conv1", "conv2", "fc1", "fc2", "fc3"}
    for name, layer in lenet5.network:
        for key, value in layer.params.items():
            np.testing.assert_array_equal(decode_tensor(with_params[name][key]), value)


def test_unknown_model_is_404_envelope(client):
    r = client.get("/api/v1/models/alexnet")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"
    assert "alexnet" in r.json()["error"]["message"]


def test_unknown_include_value_is_422_envelope(client):
    r = client.get("/api/v1/models/lenet5", params={"include": "gradients"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert "include" in r.json()["error"]["message"]
