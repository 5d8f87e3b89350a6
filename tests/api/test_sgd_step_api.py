"""POST /api/v1/models/{model_id}/sgd-step: the contract's names, every inspect input, the
served model untouched, and 4xx (never 500) for bad requests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.schemas.sgd_step import SgdStepResponse
from app.models import load_model
from app.services.encoding import decode_tensor

URL = "/api/v1/models/{}/sgd-step"
CONTRACT = ("loss_before", "loss_after", "actual_change", "predicted_change")


def test_the_contracts_fields_and_per_parameter_norms(client):
    response = client.post(URL.format("lenet5"), json={"sample": 7, "target": 3, "lr": 0.01})
    assert response.status_code == 200, response.text
    body = response.json()
    SgdStepResponse.model_validate(body)
    assert all(isinstance(body[name], float) for name in CONTRACT)
    assert body["actual_change"] == pytest.approx(body["loss_after"] - body["loss_before"])
    assert body["target"] == 3 and body["lr"] == 0.01
    row = body["parameters"][0]
    assert row["name"] == "conv1.weight" and row["update_norm"] == pytest.approx(
        0.01 * row["grad_norm"])
    maps = {layer["name"]: layer for layer in body["layers"]}
    assert decode_tensor(maps["conv1"]["output_after"]).shape == (6, 28, 28)


def test_the_served_model_is_unchanged_by_a_step_through_the_api(client):
    model = load_model("lenet5")
    before = [p.copy() for layer in model.network.layers for p in layer.params.values()]
    client.post(URL.format("lenet5"), json={"sample": 7, "target": 3, "lr": 10.0})
    after = [p for layer in model.network.layers for p in layer.params.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    again = client.post("/api/v1/models/lenet5/inspect", json={"sample": 7}).json()
    assert again["prediction"] == 7


def test_an_uploaded_image_with_lr_as_a_form_field(client, digit_png):
    png, _, _ = digit_png
    response = client.post(URL.format("resnet-mini"),
                           files={"image": ("7.png", png, "image/png")},
                           data={"lr": "0.1", "target": "1", "include_gradients": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["target"] == 1 and body["parameters"][0]["gradient"]["shape"] == [8, 1, 3, 3]


def test_recurrent_models_take_a_step(client):
    response = client.post(URL.format("lstm-rows"), json={"sample": 7, "lr": 0.1, "target": 2})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("body", [
    {"sample": 7}, {"sample": 7, "lr": 0}, {"sample": 7, "lr": -1}, {"sample": 7, "lr": 1e3},
    {"sample": 7, "lr": "fast"}, {"sample": 7, "lr": 0.1, "target": 10},
    {"lr": 0.1}, {"sample": 7, "lr": 0.1, "momentum": 0.9},
])
def test_bad_requests_are_422s(client, body):
    response = client.post(URL.format("lenet5"), json=body)
    assert response.status_code == 422, response.text
    assert {"code", "message"} <= set(response.json()["error"])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lr=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 10**6),
                 st.text(max_size=5), st.none()),
    target=st.one_of(st.none(), st.integers(-3, 12)),
    model_id=st.sampled_from(["lenet5", "mlp", "rnn-rows"]),
)
def test_any_lr_and_target_give_200_or_a_422_never_500(client, lr, target, model_id):
    body = {"sample": 3, "lr": lr, **({} if target is None else {"target": target})}
    response = client.post(URL.format(model_id), json=body)
    assert response.status_code in (200, 422), response.text
