"""Traces over HTTP: trace ids and summaries in /inspect, one layer at a time from
GET /api/v1/traces/{trace_id}/layers/{layer_name}, recomputed on a miss."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.services.encoding import decode_tensor
from app.services.models import register_model, unregister_model
from app.settings import Settings
from tests.services.graphs import TINY_RESNET, tiny_resnet

LAYERS = "/api/v1/traces/{}/layers/{}"


def _layer(body: dict, name: str) -> dict:
    return next(layer for layer in body["layers"] if layer["name"] == name)


@pytest.fixture(scope="module")
def lenet_trace(client):
    body = client.post("/api/v1/models/lenet5/inspect",
                       json={"sample": 7, "include": "output,grad_output,pool_indices,params"})
    assert body.status_code == 200
    return body.json()


@pytest.fixture(scope="module")
def resnet_client():
    """A tight layer budget (4 KB) and a ResNet-style graph registered for the test."""
    register_model(tiny_resnet())
    try:
        with TestClient(create_app(Settings(trace_layer_budget=4096))) as c:
            yield c
    finally:
        unregister_model(TINY_RESNET)


def test_the_same_inspection_gives_the_same_trace_id(client, lenet_trace):
    again = client.post("/api/v1/models/lenet5/inspect", json={"sample": 7}).json()
    assert again["trace_id"] == lenet_trace["trace_id"]
    other = client.post("/api/v1/models/lenet5/inspect", json={"sample": 7, "target": 1}).json()
    assert other["trace_id"] != lenet_trace["trace_id"]


def test_the_lenets_still_get_every_tensor_and_a_summary_per_layer(lenet_trace):
    assert lenet_trace["include"] == ["output", "grad_output", "pool_indices", "params"]
    for layer in lenet_trace["layers"]:
        assert layer["omitted"] == [] and "output" in layer and "grad_output" in layer
        out = decode_tensor(layer["output"])
        s = layer["summary"]["output"]
        assert s["shape"] == list(out.shape) and s["max"] == float(out.max())
        assert len(s["channel_energy"]) == out.shape[0]


def test_old_include_names_are_aliases_echoed_as_sent(client):
    body = client.post("/api/v1/models/lenet5/inspect",
                       json={"sample": 7, "include": ["activations", "gradients"]}).json()
    assert body["include"] == ["activations", "gradients"]
    assert "output" in body["layers"][0] and "input_grad" in body


def test_a_fetched_layer_equals_the_full_inspect_tensor(client, lenet_trace):
    for name in ("conv1", "pool1", "fc3"):
        got = client.get(LAYERS.format(lenet_trace["trace_id"], name),
                         params={"part": "output,grad_output,params"})
        assert got.status_code == 200, got.text
        body, full = got.json(), _layer(lenet_trace, name)
        assert body["name"] == name and body["recomputed"] is False
        for part in ("output", "grad_output"):
            assert np.array_equal(decode_tensor(body[part]), decode_tensor(full[part]))
        for key, tensor in full.get("params", {}).items():
            assert np.array_equal(decode_tensor(body["params"][key]), decode_tensor(tensor))


def test_a_channel_slice_is_those_channels_of_the_full_tensor(client, lenet_trace):
    got = client.get(LAYERS.format(lenet_trace["trace_id"], "conv2"),
                     params={"channels": "3-9", "encoding": "list", "part": "grad_output"})
    assert got.status_code == 200, got.text
    full = decode_tensor(_layer(lenet_trace, "conv2")["grad_output"])
    assert np.array_equal(decode_tensor(got.json()["grad_output"]), full[3:10])
    assert got.json()["channels"] == [3, 9] and got.json()["channel_count"] == 16
    assert "output" not in got.json()


def test_another_replica_recomputes_the_trace_from_the_token(lenet_trace):
    with TestClient(create_app(Settings())) as replica:
        url = LAYERS.format(lenet_trace["trace_id"], "conv1")
        miss = replica.get(url)
        assert miss.status_code == 404 and miss.json()["error"]["code"] == "trace_not_found"
        got = replica.get(url, params={"input": lenet_trace["trace_input"]})
        assert got.status_code == 200 and got.json()["recomputed"] is True
        assert np.array_equal(decode_tensor(got.json()["output"]),
                              decode_tensor(_layer(lenet_trace, "conv1")["output"]))
        assert replica.get(url).json()["recomputed"] is False  # now held


def test_the_token_can_travel_in_a_post_body(lenet_trace):
    with TestClient(create_app(Settings())) as replica:
        url = LAYERS.format(lenet_trace["trace_id"], "fc1") + "/fetch"
        for body, code in ((b"{", "invalid_json"), (b'{"input": 3}', "invalid_input"),
                           (b'{"input": "x", "y": 1}', "invalid_input"),
                           (b'{"input": "AAAA"}', "invalid_trace_input")):
            bad = replica.post(url, content=body, headers={"content-type": "application/json"})
            assert 400 <= bad.status_code < 500 and bad.json()["error"]["code"] == code, bad.text
        got = replica.post(url, params={"part": "output"},
                           json={"input": lenet_trace["trace_input"]})
        assert got.status_code == 200, got.text
        assert got.json()["recomputed"] is True and got.json()["part"] == ["output"]
        assert np.array_equal(decode_tensor(got.json()["output"]),
                              decode_tensor(_layer(lenet_trace, "fc1")["output"]))


def test_a_resnet_graph_inspects_with_summaries_and_its_layers_come_lazily(resnet_client):
    response = resnet_client.post(f"/api/v1/models/{TINY_RESNET}/inspect",
                                  json={"sample": 7, "include_layers": ["add1"]})
    assert response.status_code == 200, response.text
    body = response.json()
    omitted = {layer["name"] for layer in body["layers"] if layer["omitted"]}
    # 8x28x28 floats (25 KB) and 8x14x14 (6 KB) are over the 4 KB budget; 16x7x7 is not.
    assert omitted == {"conv1", "bn1", "relu1", "conv2", "bn2", "relu2", "pool1"}
    assert "output" in _layer(body, "add1") and "output" in _layer(body, "fc")
    for name in sorted(omitted):
        layer = _layer(body, name)
        assert "output" not in layer and "grad_output" not in layer
        assert layer["summary"]["output"]["shape"] == layer["output_shape"]
        got = resnet_client.get(LAYERS.format(body["trace_id"], name))
        assert got.status_code == 200, got.text
        output = decode_tensor(got.json()["output"])
        assert list(output.shape) == layer["output_shape"]
        assert float(output.max()) == layer["summary"]["output"]["max"]
        energy = np.abs(output.astype(np.float64)).mean(axis=(1, 2))
        assert np.allclose(energy, layer["summary"]["output"]["channel_energy"], rtol=5e-7)


def test_include_layers_as_a_multipart_comma_list(resnet_client, digit_png):
    png, _, _ = digit_png
    response = resnet_client.post(
        f"/api/v1/models/{TINY_RESNET}/inspect",
        files={"image": ("d.png", png, "image/png")}, data={"include_layers": "conv1, bn1"},
    )
    assert response.status_code == 200, response.text
    assert _layer(response.json(), "conv1")["omitted"] == []
    assert _layer(response.json(), "relu1")["omitted"] == ["output", "grad_output"]


def test_unknown_include_layers_are_a_422_naming_them(client):
    response = client.post("/api/v1/models/lenet5/inspect",
                           json={"sample": 7, "include_layers": "conv1,nope"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_include_layers"
    assert "'nope'" in response.json()["error"]["message"]


@pytest.mark.parametrize(("params", "layer", "status", "code"), [
    ({"part": "weights"}, "conv1", 422, "invalid_part"),
    ({"channels": "5-2"}, "conv1", 422, "invalid_channels"),
    ({"channels": "0-6"}, "conv1", 422, "invalid_channels"),
    ({"channels": "x"}, "conv1", 422, "invalid_channels"),
    ({}, "conv9", 404, "layer_not_found"),
    ({"encoding": "hex"}, "conv1", 422, "invalid_input"),
])
def test_bad_layer_requests_get_4xx_envelopes(client, lenet_trace, params, layer, status, code):
    got = client.get(LAYERS.format(lenet_trace["trace_id"], layer), params=params)
    assert got.status_code == status and got.json()["error"]["code"] == code


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    trace_id=st.one_of(st.text(max_size=80), st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
    layer=st.text(min_size=1, max_size=30),
    part=st.one_of(st.none(), st.text(max_size=30)),
    channels=st.one_of(st.none(), st.text(max_size=20)),
    token=st.one_of(st.none(), st.text(max_size=60)),
)
def test_any_trace_layer_request_is_answered_with_json_never_a_500(
    client, lenet_trace, trace_id, layer, part, channels, token
):
    for tid in (trace_id, lenet_trace["trace_id"]):
        params = {k: v for k, v in {"part": part, "channels": channels, "input": token}.items()
                  if v is not None}
        got = client.get(LAYERS.format(quote(tid, safe=""), quote(layer, safe="")),
                         params=params)
        if got.status_code == 200:
            assert got.json()["trace_id"] == tid
        else:
            assert 400 <= got.status_code < 500, (got.status_code, got.text)
            assert set(got.json()["error"]) >= {"code", "message"}


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=8),
    st.lists(st.sampled_from(["conv1", "pool1", "fc3", "relu2"]), max_size=6),
))
def test_any_include_layers_value_is_answered_or_refused_with_a_4xx(client, value):
    got = client.post("/api/v1/models/lenet5/inspect",
                      json={"sample": 3, "include_layers": value, "include": "output"})
    if got.status_code == 200:
        names = {layer["name"] for layer in got.json()["layers"]}
        given_names = value.split(",") if isinstance(value, str) else value
        assert {str(n).strip() for n in given_names if str(n).strip()} <= names
    else:
        assert got.status_code == 422, got.text
        assert got.json()["error"]["code"] in {"invalid_include_layers", "invalid_input"}
