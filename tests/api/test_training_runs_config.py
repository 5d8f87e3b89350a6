"""Junk training-run configs and layer specs get a 422 naming the problem, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.nn import LAYER_TYPES
from app.settings import Settings

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8,
)
FIELDS = ["architecture", "dataset", "optimizer", "schedule", "batch_size", "epochs",
          "augment", "seed", "train_examples", "extra"]
SIZES = st.integers(-3, 5000) | st.lists(st.integers(-1, 40), max_size=3) | st.text(max_size=3)
LAYER = st.fixed_dictionaries(
    {"kind": st.sampled_from(sorted(LAYER_TYPES)) | st.text(max_size=5)},
    optional={key: SIZES for key in ("in_channels", "out_channels", "kernel_size", "stride",
                                     "padding", "in_features", "out_features", "dilation",
                                     "num_features", "hidden_size", "groups")},
)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings_ = Settings(training_dir=tmp_path_factory.mktemp("runs"), training_max_runs=1)
    with TestClient(create_app(settings_)) as c:
        yield c


def stop_if_started(client, response):
    if response.status_code == 201:
        client.post(f"/api/v1/training-runs/{response.json()['id']}/stop")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4))
def test_junk_run_configs_get_a_4xx_envelope_never_a_500(client, body):
    response = client.post("/api/v1/training-runs", json=body)
    stop_if_started(client, response)
    assert response.status_code in (201, 422, 429), response.text
    if response.status_code == 422:
        assert response.json()["error"]["message"]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=st.lists(LAYER, min_size=1, max_size=5),
       dataset=st.sampled_from(["digits", "colour-shapes", "faces"]))
def test_junk_layer_specs_are_checked_with_a_clear_422(client, layers, dataset):
    response = client.post("/api/v1/training-runs/check",
                           json={"architecture": layers, "dataset": dataset})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        error = response.json()["error"]
        assert error["code"] in ("invalid_architecture", "invalid_input") and error["message"]
    else:
        assert response.json()["layers"][-1]["output_shape"][0] in (9, 10)


def test_contract_defaults_fill_left_out_fields(client):
    response = client.post("/api/v1/training-runs", json={"epochs": 1, "train_examples": 64})
    stop_if_started(client, response)
    config = response.json()["config"]
    assert config["architecture"] == "lenet5" and config["dataset"] == "digits"
    assert config["optimizer"] == {"name": "sgd", "lr": 0.05, "momentum": 0.9,
                                   "weight_decay": 0.0005}
    assert (config["batch_size"], config["augment"], config["seed"]) == (64, False, 0)
    assert config["schedule"]["name"] == "constant"


@pytest.mark.parametrize("raw", [
    '{"optimizer": {"lr": NaN}}', '{"optimizer": {"lr": Infinity}}',
    '{"optimizer": {"momentum": -Infinity}}', '{"epochs": 1e400}', '{"seed": -1}',
    '{"architecture": [{"kind": "linear", "in_features": NaN, "out_features": 10}]}',
])
def test_non_finite_and_out_of_range_numbers_get_a_422(client, raw):
    response = client.post("/api/v1/training-runs", content=raw,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
