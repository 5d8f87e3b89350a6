"""GET /api/v1/lessons/colour/conv and /colour/gallery; bad parameters are 4xx envelopes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = "/api/v1/lessons/colour"


def test_classic_preset_is_4x4_and_exact(client):
    body = client.get(f"{BASE}/conv").json()
    assert body["preset"] == "classic" and len(body["output"]) == 4
    assert len(body["per_channel"]) == 3 and body["max_abs_difference"] < 1e-9


def test_model_preset_names_the_classes_and_bounds_sample_and_unit(client):
    body = client.get(f"{BASE}/conv", params={"preset": "model", "sample": 9, "unit": 7}).json()
    assert body["unit"] == 7 and len(body["image"]) == 3 and len(body["output"]) == 20
    assert body["label"].split()[0] in ("red", "green", "blue")
    assert body["max_abs_difference"] < 1e-9
    r = client.get(f"{BASE}/conv", params={"preset": "model", "unit": 8})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_unit"
    r = client.get(f"{BASE}/conv", params={"preset": "model", "sample": 450})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_sample"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["preset", "seed", "sample", "unit", "per_class"]),
       value=st.sampled_from(["-1", "x", "", "1.5", "2e40", "rgb"]))
def test_malformed_parameters_are_422(client, key, value):
    url = f"{BASE}/gallery" if key == "per_class" else f"{BASE}/conv"
    r = client.get(url, params={key: value})
    assert r.status_code == 422, (key, value, r.text)
    assert r.json()["error"]["code"] == "invalid_input"


def test_gallery_reports_the_heldout_accuracy_and_every_class(client):
    body = client.get(f"{BASE}/gallery", params={"per_class": 1}).json()
    assert body["heldout_total"] == 450 and body["heldout_accuracy"] > 0.9
    assert sorted(item["label"] for item in body["items"]) == list(range(9))
    assert len(body["items"][0]["image"]) == 3
