"""resnet-mini through the API: listed, its layer table honest for a graph (inputs, fields
along each node's own inputs, buffers with the weights), and inspected with every layer's
inputs and BatchNorm's buffers; the LeNets' layers read the layer before them."""

from __future__ import annotations

import numpy as np

from app.api.samples import sample_digit
from app.api.schemas import InspectResponse, ModelDetail
from app.models import load_model
from app.services.encoding import decode_tensor
from tests.floats import assert_equal_up_to_rounding

URL = "/api/v1/models/resnet-mini/inspect"


def test_models_list_resnet_mini_with_its_card_accuracy(client):
    body = client.get("/api/v1/models").json()
    entry = next(m for m in body["models"] if m["id"] == "resnet-mini")
    assert entry["accuracy"] == load_model("resnet-mini").card["heldout"]["accuracy"] >= 0.985
    assert entry["parameters"] == load_model("resnet-mini").network.parameter_count


def test_resnet_mini_layer_table_names_inputs_and_graph_receptive_fields(client):
    body = client.get("/api/v1/models/resnet-mini", params={"include": "weights"}).json()
    ModelDetail.model_validate(body)
    layers = {layer["name"]: layer for layer in body["layers"]}
    assert layers["conv1"]["inputs"] == ["input"]
    assert layers["block1_add"]["inputs"] == ["block1_bn2", "relu1"]
    assert layers["block2_proj"]["inputs"] == ["block1_relu2"]
    # The skip sees less than the two 3x3 convs; the Add sees their union: 3 + 2 + 2 = 7.
    assert layers["relu1"]["receptive_field"]["size"] == [3, 3]
    assert layers["block1_add"]["receptive_field"]["size"] == [7, 7]
    assert layers["block1_add"]["receptive_field"]["padding"] == [3, 3]
    # The 1x1 strided projection keeps the block input's field and doubles the jump.
    assert layers["block2_proj"]["receptive_field"] == {
        "size": [7, 7], "jump": [2, 2], "start": [0, 0], "padding": [3, 3],
    }
    assert layers["gap"]["receptive_field"]["jump"] == [0, 0]
    bn = load_model("resnet-mini").network.layers[1]
    np.testing.assert_array_equal(
        decode_tensor(layers["bn1"]["buffers"]["running_var"]), bn.buffers["running_var"]
    )
    assert "buffers" not in layers["conv1"]


def test_resnet_mini_inspects_with_inputs_and_buffers_per_layer(client):
    r = client.post(URL, json={"sample": 7, "include": ["activations", "gradients", "params"]})
    assert r.status_code == 200, r.text
    body = r.json()
    InspectResponse.model_validate(body)
    model = load_model("resnet-mini")
    assert [layer["inputs"] for layer in body["layers"]] == [
        list(inputs) for inputs in model.network.inputs
    ]
    by_name = {layer["name"]: layer for layer in body["layers"]}
    assert set(by_name["block1_bn1"]["buffers"]) == {"running_mean", "running_var"}
    assert "buffers" not in by_name["block1_conv1"]
    digit, _ = sample_digit(7)
    trace = model.trace(digit)
    for lt in trace.layers:
        assert_equal_up_to_rounding(decode_tensor(by_name[lt.name]["output"]), lt.output[0])
        assert_equal_up_to_rounding(decode_tensor(by_name[lt.name]["grad_output"]),
                                    lt.grad_output[0])


def test_buffers_come_only_with_params(client):
    body = client.post(URL, json={"sample": 7}).json()
    assert all("buffers" not in layer for layer in body["layers"])


def test_lenet_layers_each_read_the_layer_before(client):
    body = client.post("/api/v1/models/lenet5/inspect", json={"sample": 3}).json()
    names = ["input"] + [layer["name"] for layer in body["layers"]]
    assert [layer["inputs"] for layer in body["layers"]] == [[n] for n in names[:-1]]
    detail = client.get("/api/v1/models/lenet5").json()
    assert [layer["inputs"] for layer in detail["layers"]] == [[n] for n in names[:-1]]
