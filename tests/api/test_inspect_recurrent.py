"""POST /api/v1/models/{lstm-rows, rnn-rows, bilstm-rows}/inspect: the usual layers plus, on the
recurrent layer, the pass with a time axis (`recurrent`), consistent with the LSTM's equations
and with the core's trace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.schemas import InspectResponse
from app.models import RECURRENT_ARCHITECTURES, load_model
from app.nn.recurrent import GATES
from app.services.encoding import decode_tensor
from app.services.samples import sample_digit
from tests.floats import assert_equal_up_to_rounding

SEQUENCE_MODELS = list(RECURRENT_ARCHITECTURES)
T, H = 28, 128


def _inspect(client, model_id, **body):
    response = client.post(f"/api/v1/models/{model_id}/inspect", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _recurrent(body):
    (layer,) = [entry for entry in body["layers"] if "recurrent" in entry]
    return layer, layer["recurrent"]


def test_the_models_list_names_the_three_sequence_models(client):
    listed = {m["id"]: m for m in client.get("/api/v1/models").json()["models"]}
    for model_id in SEQUENCE_MODELS:
        assert listed[model_id]["input_shape"] == [1, 28, 28]
        assert listed[model_id]["accuracy"] >= 0.95
    detail = client.get("/api/v1/models/lstm-rows").json()
    assert [layer["kind"] for layer in detail["layers"]] == ["imagerows", "lstm", "laststep",
                                                              "linear"]
    assert all(layer.get("receptive_field") is None for layer in detail["layers"])


@pytest.mark.parametrize("model_id", SEQUENCE_MODELS)
def test_sequence_model_inspects_a_gallery_digit_with_a_time_axis(client, model_id):
    body = _inspect(client, model_id, sample=7)
    InspectResponse.model_validate(body)
    _, label = sample_digit(7)
    assert body["prediction"] == label and body["blank"] is False
    layer, recurrent = _recurrent(body)
    lstm = recurrent["kind"] == "lstm"
    bidirectional = model_id == "bilstm-rows"
    assert recurrent["steps"] == T and recurrent["hidden_size"] == H
    assert [d["direction"] for d in recurrent["directions"]] == (
        ["forward", "reverse"] if bidirectional else ["forward"])
    assert decode_tensor(layer["output"]).shape == (T, H * len(recurrent["directions"]))
    for direction in recurrent["directions"]:
        assert decode_tensor(direction["h"]).shape == (T, H)
        assert decode_tensor(direction["grad_h"]).shape == (T, H)
        assert decode_tensor(direction["grad_h_norm"]).shape == (T,)
        assert direction["grad_h_norm"]["dtype"] == "float64"
        assert decode_tensor(direction["h0"]).shape == (H,)
        if lstm:
            assert set(direction["gates"]) == set(GATES)
            for gate in GATES:
                assert decode_tensor(direction["gates"][gate]).shape == (T, H)
            assert decode_tensor(direction["c"]).shape == (T, H)
            assert decode_tensor(direction["grad_c"]).shape == (T, H)
            assert decode_tensor(direction["grad_c_norm"]).shape == (T,)
        else:
            assert "gates" not in direction and "c" not in direction
    assert decode_tensor(recurrent["h_n"]).shape == (len(recurrent["directions"]), H)


@pytest.mark.parametrize("model_id", ["lstm-rows", "bilstm-rows"])
def test_returned_h_is_o_times_tanh_c_and_c_follows_the_cell_update(client, model_id):
    # No finite differences: the LSTM's own equations, recomputed in NumPy (float64) from the
    # returned gates and cell states, must give the returned h_t and c_t to float32 rounding.
    _, recurrent = _recurrent(_inspect(client, model_id, sample=3))
    for direction in recurrent["directions"]:
        i, f, g, o = (decode_tensor(direction["gates"][k]).astype(np.float64) for k in GATES)
        c = decode_tensor(direction["c"]).astype(np.float64)
        h = decode_tensor(direction["h"]).astype(np.float64)
        np.testing.assert_allclose(o * np.tanh(c), h, rtol=1e-5, atol=1e-6)
        # c_{t-1} is the previous step in reading order: t-1 forward, t+1 in reverse.
        c_prev = (np.vstack([c[1:], np.zeros((1, H))]) if direction["direction"] == "reverse"
                  else np.vstack([np.zeros((1, H)), c[:-1]]))
        np.testing.assert_allclose(f * c_prev + i * g, c, rtol=1e-5, atol=1e-6)
        assert (i > 0).all() and (i < 1).all() and (np.abs(g) < 1).all()


def test_grad_c_is_the_forget_gate_product_plus_the_path_through_h(client):
    _, recurrent = _recurrent(_inspect(client, "lstm-rows", sample=3))
    (direction,) = recurrent["directions"]
    f, o = (decode_tensor(direction["gates"][k]).astype(np.float64) for k in ("f", "o"))
    c = decode_tensor(direction["c"]).astype(np.float64)
    grad_h = decode_tensor(direction["grad_h"]).astype(np.float64)
    grad_c = decode_tensor(direction["grad_c"]).astype(np.float64)
    through_h = grad_h * o * (1 - np.tanh(c) ** 2)
    expected = through_h.copy()
    expected[:-1] += f[1:] * grad_c[1:]
    np.testing.assert_allclose(expected, grad_c, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("model_id", SEQUENCE_MODELS)
def test_time_axis_tensors_are_the_cores_record_of_the_same_digit(client, model_id):
    body = _inspect(client, model_id, sample=5)
    digit, _ = sample_digit(5)
    trace = load_model(model_id).trace(digit)
    (core,) = [lt.recurrent for lt in trace.layers if lt.recurrent is not None]
    _, recurrent = _recurrent(body)
    for ours, theirs in zip(recurrent["directions"], core.directions, strict=True):
        assert_equal_up_to_rounding(decode_tensor(ours["h"]), theirs.h[0])
        assert_equal_up_to_rounding(decode_tensor(ours["grad_h"]), theirs.grad_h[0])
        norms = np.sqrt((theirs.grad_h[0].astype(np.float64) ** 2).sum(axis=1))
        np.testing.assert_allclose(decode_tensor(ours["grad_h_norm"]), norms, rtol=1e-5)


def test_include_selects_the_forward_or_the_backward_time_axis(client):
    _, forward_only = _recurrent(_inspect(client, "lstm-rows", sample=1, include="activations"))
    assert "h" in forward_only["directions"][0] and "grad_h" not in forward_only["directions"][0]
    _, backward_only = _recurrent(_inspect(client, "lstm-rows", sample=1, include="gradients"))
    direction = backward_only["directions"][0]
    assert "grad_c_norm" in direction and "gates" not in direction and "h_n" not in backward_only


def test_sequence_models_take_drawn_pixels_like_the_lenets(client):
    canvas = np.zeros((140, 140))
    canvas[20:120, 65:78] = 255  # a vertical stroke: a "1"
    body = _inspect(client, "lstm-rows", pixels=canvas.tolist(), encoding="list")
    InspectResponse.model_validate(body)
    assert body["prediction"] == 1
    _, recurrent = _recurrent(body)
    assert len(recurrent["directions"][0]["h"]["data"]) == T


def test_lenet_layers_carry_no_recurrent_object(client):
    body = _inspect(client, "lenet5", sample=7)
    assert all("recurrent" not in layer for layer in body["layers"])


@pytest.mark.parametrize("model_id", SEQUENCE_MODELS)
def test_the_fc_as_conv_lesson_refuses_a_sequence_model_with_422(client, model_id):
    response = client.get("/api/v1/lessons/fc-as-conv", params={"model": model_id})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_model"


def test_openapi_documents_the_time_axis_as_the_recurrent_trace_component(client):
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {"RecurrentTrace", "RecurrentDirection", "RecurrentGates"} <= set(schemas)
    direction = schemas["RecurrentDirection"]["properties"]
    for key in ("h", "c", "gates", "grad_h", "grad_c", "grad_h_norm", "grad_c_norm"):
        assert key in direction
    recurrent = schemas["LayerTraceOut"]["properties"]["recurrent"]
    assert "#/components/schemas/RecurrentTrace" in str(recurrent)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    model_id=st.sampled_from(SEQUENCE_MODELS),
    side=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    ink=st.sampled_from([0.0, 0.02, 0.3, 1.0]),
    target=st.one_of(st.none(), st.integers(0, 12)),
)
def test_any_drawn_canvas_gets_a_finite_time_axis_or_a_clear_4xx(client, model_id, side, seed,
                                                                 ink, target):
    rng = np.random.default_rng(seed)
    canvas = np.where(rng.random((side, side + 3)) < ink, 255.0, 0.0)
    body = {"pixels": canvas.tolist(), **({} if target is None else {"target": target})}
    response = client.post(f"/api/v1/models/{model_id}/inspect", json=body)
    if response.status_code != 200:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"]
        return
    _, recurrent = _recurrent(response.json())
    for direction in recurrent["directions"]:
        norms = decode_tensor(direction["grad_h_norm"])
        assert norms.shape == (T,) and np.isfinite(norms).all() and (norms >= 0).all()
        assert np.isfinite(decode_tensor(direction["h"])).all()
