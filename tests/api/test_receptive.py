"""POST /api/v1/receptive-field and GET /api/v1/receptive-field/presets."""

from __future__ import annotations

import pytest

from app.api.receptive import ReceptiveFieldPreset, ReceptiveFieldResponse
from app.nn.receptive import MAX_INPUT_SIDE, MAX_LAYERS

URL = "/api/v1/receptive-field"


def post(client, body):
    return client.post(URL, json=body)


def test_alexnet_preset_reports_pool5_at_195_pixels_and_stride_32(client):
    r = post(client, {"preset": "alexnet", "input_size": 224})
    assert r.status_code == 200
    body = ReceptiveFieldResponse.model_validate(r.json())
    assert body.preset == "alexnet"
    assert body.input_size == [224, 224]
    pool5 = body.layers[-1]
    assert (pool5.name, pool5.kind) == ("pool5", "maxpool2d")
    assert pool5.size == [195, 195]
    assert pool5.jump == [32, 32]
    assert pool5.output_size == [5, 5]
    assert pool5.config.kernel_size == [3, 3]
    assert body.unit is None and body.unit_box is None


def test_preset_input_size_defaults_to_the_presets_own(client):
    r = post(client, {"preset": "lenet5"})
    assert r.status_code == 200
    assert r.json()["input_size"] == [28, 28]
    assert [layer["name"] for layer in r.json()["layers"]] == ["conv1", "pool1", "conv2", "pool2"]


def test_layer_list_with_a_non_square_kernel_and_input(client):
    body = {
        "layers": [
            {"kind": "conv2d", "kernel_size": [3, 5], "stride": 2},
            {"name": "second", "kind": "conv2d", "kernel_size": [3, 1], "stride": 2},
        ],
        "input_size": [32, 48],
        "unit": {"layer": "second", "y": 1, "x": 2},
    }
    r = post(client, body)
    assert r.status_code == 200
    data = r.json()
    last = data["layers"][-1]
    assert last["size"] == [7, 5] and last["jump"] == [4, 4]
    assert data["layers"][0]["name"] == "conv2d1"
    assert data["layers"][0]["output_size"] == [15, 22]
    assert data["unit"] == {"layer": 1, "name": "second", "y": 1, "x": 2}
    assert data["unit_box"] == {"y0": 4, "x0": 8, "y1": 10, "x1": 12}


def test_unit_by_index_gets_unclipped_clipped_and_footprint_boxes(client):
    body = {
        "layers": [{"kind": "conv2d", "kernel_size": 3, "padding": 1},
                   {"kind": "maxpool2d", "kernel_size": 2, "ceil_mode": True}],
        "input_size": 7,
        "unit": {"layer": 1, "y": 3, "x": 0},
    }
    data = post(client, body).json()
    assert data["layers"][1]["output_size"] == [4, 4]
    assert data["layers"][1]["start"] == [0.5, 0.5]
    assert data["unit_box"] == {"y0": 5, "x0": -1, "y1": 8, "x1": 2}
    assert data["unit_box_clipped"] == {"y0": 5, "x0": 0, "y1": 6, "x1": 2}
    assert data["unit_footprint"] == {"y0": 5, "x0": 0, "y1": 6, "x1": 2}


def test_dilation_and_pool_stride_default(client):
    body = {"layers": [{"kind": "conv2d", "kernel_size": 3, "dilation": 2},
                       {"kind": "avgpool2d", "kernel_size": 3}], "input_size": 20}
    layers = post(client, body).json()["layers"]
    assert layers[0]["size"] == [5, 5] and layers[0]["output_size"] == [16, 16]
    assert layers[1]["config"]["stride"] == [3, 3]
    assert layers[1]["size"] == [7, 7] and layers[1]["output_size"] == [5, 5]


def _layers(**changes):
    return [{"kind": "conv2d", "kernel_size": 3}, {"name": "bad", "kind": "conv2d",
                                                   "kernel_size": 3, **changes}]


@pytest.mark.parametrize(
    ("body", "layer", "field", "words"),
    [
        ({"layers": _layers(kernel_size=0), "input_size": 16}, 1, "kernel_size", ">= 1"),
        ({"layers": _layers(stride=0), "input_size": 16}, 1, "stride", ">= 1"),
        ({"layers": _layers(padding=-2), "input_size": 16}, 1, "padding", ">= 0"),
        ({"layers": _layers(kind="conv1d"), "input_size": 16}, 1, "kind", "unknown kind"),
        ({"layers": _layers(kernel_size=9), "input_size": 8}, 1, "kernel_size", "output size"),
        ({"layers": _layers(kernel_size=[3, 3, 3]), "input_size": 8}, 1, "kernel_size",
         "pair of ints"),
        ({"layers": _layers(ceil_mode=True), "input_size": 16}, 1, "ceil_mode", "no ceil_mode"),
        ({"layers": _layers(name="conv2d1"), "input_size": 16}, 1, "name", "used twice"),
        ({"preset": "resnet50"}, None, "preset", "unknown preset"),
        ({"preset": "alexnet", "input_size": MAX_INPUT_SIDE + 1}, None, "input_size",
         "between 1 and"),
        ({"preset": "alexnet", "input_size": 60}, 7, "kernel_size", "output size 0x0"),
        ({"layers": [{"kernel_size": 1}] * (MAX_LAYERS + 1), "input_size": 8}, None, "layers",
         "more than the limit"),
        ({"layers": [], "input_size": 8}, None, "layers", "empty"),
        ({"layers": _layers()}, None, "input_size", "required"),
        ({"input_size": 8}, None, "preset", "either"),
        ({"preset": "alexnet", "layers": _layers(), "input_size": 8}, None, "preset", "either"),
        ({"preset": "alexnet", "unit": {"layer": "pool9", "y": 0, "x": 0}}, None, "unit.layer",
         "no layer named 'pool9'"),
        ({"preset": "alexnet", "unit": {"layer": 8, "y": 0, "x": 0}}, None, "unit.layer",
         "out of range"),
        ({"preset": "alexnet", "unit": {"layer": "pool5", "y": 5, "x": 0}}, 7, "unit",
         "outside the 5x5 output"),
        ({"preset": "alexnet", "unit": {"layer": 0, "y": 0, "x": -1}}, 0, "unit", "outside"),
    ],
)
def test_invalid_specs_get_422_invalid_layer_naming_layer_and_problem(
    client, body, layer, field, words
):
    r = post(client, body)
    assert r.status_code == 422, r.json()
    error = r.json()["error"]
    assert error["code"] == "invalid_layer"
    assert error["layer"] == layer
    assert error["field"] == field
    assert words in error["message"]
    if layer is not None:
        assert f"layer {layer} (" in error["message"]
        assert error["name"] in error["message"]


def test_a_body_that_breaks_the_schema_gets_invalid_input(client):
    r = post(client, {"layers": [{"kind": "conv2d", "kernel_size": "three"}], "input_size": 8})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert "kernel_size" in r.json()["error"]["message"]
    r = client.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert "error" in r.json()


def test_presets_endpoint_lists_seed_networks_and_bundled_models(client):
    r = client.get(URL + "/presets")
    assert r.status_code == 200
    items = [ReceptiveFieldPreset.model_validate(p) for p in r.json()]
    by_id = {p.id: p for p in items}
    assert {"alexnet", "vgg16", "zf5", "lenet5"} <= set(by_id)
    assert len(by_id["vgg16"].layers) == 18
    # a preset's layer list posted back gives the preset's own table
    preset = by_id["zf5"]
    from_layers = post(client, {"layers": [layer.model_dump() for layer in preset.layers],
                                "input_size": preset.input_size}).json()
    from_preset = post(client, {"preset": "zf5"}).json()
    assert from_layers["layers"] == from_preset["layers"]


def test_openapi_documents_the_route_and_its_error_envelope(client):
    schema = client.get("/openapi.json").json()
    route = schema["paths"][URL]["post"]
    assert "422" in route["responses"]
    ref = route["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ErrorResponse")
    assert "invalid_layer" in route["responses"]["422"]["description"]
    assert "ReceptiveFieldRequest" in schema["components"]["schemas"]


def test_a_pixel_lists_the_units_that_see_it_in_every_layer(client):
    body = {"layers": [{"kind": "maxpool2d", "kernel_size": 2, "stride": 3},
                       {"kind": "conv2d", "kernel_size": 3, "padding": 1}],
            "input_size": 9, "pixel": {"y": 2, "x": 4}}
    layers = post(client, body).json()["layers"]
    assert layers[0]["units_seeing"] is None          # rows 2, 5, 8 fall between the windows
    body["pixel"] = {"y": 4, "x": 7}
    layers = post(client, body).json()["layers"]
    assert layers[0]["units_seeing"] == {"y0": 1, "x0": 2, "y1": 1, "x1": 2}
    assert layers[1]["units_seeing"] == {"y0": 0, "x0": 1, "y1": 2, "x1": 2}


def test_a_pixel_outside_the_input_is_refused(client):
    r = post(client, {"preset": "lenet5", "pixel": {"y": 0, "x": 28}})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "pixel"
    assert "outside the 28x28 input" in r.json()["error"]["message"]
