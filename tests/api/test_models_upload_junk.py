"""Hypothesis over junk uploads: random bytes, valid models with bytes flipped or cut, and
junk form fields never get a 500: always a 2xx or a 4xx envelope naming the problem."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.model_store import ModelStore, set_model_store
from tests.importers.test_onnx_models import depthwise_separable, lenet

_NETS = [lenet(), depthwise_separable()]
VALID = [net.model(out).SerializeToString() for net, out in _NETS]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = ModelStore(tmp_path_factory.mktemp("junk-models"))
    set_model_store(store)
    yield store
    set_model_store(None)


def _check(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


JUNK_FILES = st.one_of(st.binary(max_size=512), mutated())
TEXT = st.text(max_size=64)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=JUNK_FILES)
def test_junk_or_damaged_onnx_bytes_never_get_a_500(client, store, data):
    _check(client.post("/api/v1/models",
                       files={"file": ("m.onnx", data, "application/octet-stream")}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.none(), TEXT), classes=st.one_of(st.none(), TEXT),
       spec=st.one_of(st.none(), TEXT, st.sampled_from([
           '{"channels": 3}', '{"mean": "x"}', '{"std": [0, 0]}', '[]', '{"height": 1e999}',
           '{"colour_order": "cmyk"}', '{"mean": [NaN]}', '{"std": -1}'])))
def test_junk_form_fields_never_get_a_500(client, store, name, classes, spec):
    files = {"file": ("m.onnx", VALID[0], "application/octet-stream")}
    for key, value in (("name", name), ("classes", classes), ("input", spec)):
        if value is not None:
            files[key] = (None, value)
    _check(client.post("/api/v1/models", files=files))
