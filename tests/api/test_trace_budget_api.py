"""The response budget over HTTP: the bundled models' responses stay whole under the default
budget, and a ResNet-style graph under a small one leaves layers out whole, says why, and
serves them from GET /api/v1/traces/{trace_id}/layers/{layer_name}."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.encoding import decode_tensor
from app.services.models import register_model, unregister_model
from app.settings import Settings
from tests.services.graphs import TINY_RESNET, tiny_resnet

EVERY_PART = "output,grad_output,pool_indices,pool_mask,params,param_grads"


@pytest.mark.parametrize("model", ["lenet5", "lenet5-classic", "mlp", "resnet-mini"])
def test_the_bundled_models_send_every_tensor_under_the_default_budget(client, model):
    body = client.post(f"/api/v1/models/{model}/inspect",
                       json={"sample": 3, "include": EVERY_PART}).json()
    assert [layer["name"] for layer in body["layers"] if layer["omitted"]] == []
    assert all("omitted_reason" not in layer for layer in body["layers"])


@pytest.fixture(scope="module")
def small_budget_client():
    register_model(tiny_resnet())
    try:
        with TestClient(create_app(Settings(trace_response_budget=12_000))) as c:
            yield c
    finally:
        unregister_model(TINY_RESNET)


def test_a_small_response_budget_leaves_layers_out_whole_and_they_come_lazily(
    small_budget_client,
):
    client = small_budget_client
    body = client.post(f"/api/v1/models/{TINY_RESNET}/inspect", json={"sample": 7}).json()
    left_out = [layer for layer in body["layers"] if layer["omitted"]]
    assert left_out and len(left_out) < len(body["layers"])
    assert "output" in body["layers"][-1]  # the head is small: sent
    for layer in left_out:
        assert layer["omitted_reason"] == "response_budget"
        assert "output" not in layer and "grad_output" not in layer
        got = client.get(f"/api/v1/traces/{body['trace_id']}/layers/{layer['name']}",
                         params={"part": "output", "channels": "0-1"})
        assert got.status_code == 200, got.text
        output = decode_tensor(got.json()["output"]).astype(np.float64)
        energy = np.abs(output).mean(axis=tuple(range(1, output.ndim)))
        assert np.allclose(energy, layer["summary"]["output"]["channel_energy"][:2], rtol=5e-7)


def test_a_batchnorm_layers_params_come_with_its_running_statistics(small_budget_client):
    client = small_budget_client
    body = client.post(f"/api/v1/models/{TINY_RESNET}/inspect", json={"sample": 7}).json()
    got = client.get(f"/api/v1/traces/{body['trace_id']}/layers/bn1",
                     params={"part": "params"}).json()
    assert set(got["params"]) == {"weight", "bias"}
    assert set(got["buffers"]) == {"running_mean", "running_var"}
    assert decode_tensor(got["buffers"]["running_var"]).shape == (8,)
