"""The trace store and recipes (app.services.traces) and one layer's payload
(app.services.trace_layers), apart from HTTP."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import load_model
from app.nn.trace import summary
from app.services.encoding import encode_trace
from app.services.errors import ApiError
from app.services.inspect import InspectInput, inspect_input
from app.services.models import receptive_fields, register_model, unregister_model
from app.services.samples import sample_digit
from app.services.trace_layers import fetch_layer, parse_channels, parse_parts
from app.services.traces import (
    Recipe,
    TraceStore,
    decode_token,
    encode_token,
    pack_recipe,
    recipe_of,
    resolve,
    trace_id_of,
    trace_nbytes,
    weights_digest,
)
from app.settings import Settings
from tests.services.graphs import TINY_RESNET, tiny_resnet


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def lenet5():
    return load_model("lenet5")


@pytest.fixture
def resnet():
    model = tiny_resnet()
    register_model(model)
    yield model
    unregister_model(model.id)


def _traced(model, sample: int, target: int | None = None):
    digit, _ = sample_digit(sample)
    trace = model.trace(digit, target)
    recipe = recipe_of(model, trace)
    return trace_id_of(recipe), trace, recipe


def test_same_model_input_and_target_give_the_same_trace_id(lenet5):
    a, _, _ = _traced(lenet5, 7)
    b, _, _ = _traced(lenet5, 7)
    assert a == b and len(a) == 64
    assert _traced(lenet5, 7, target=3)[0] != a
    assert _traced(lenet5, 8)[0] != a
    assert _traced(load_model("lenet5-classic"), 7)[0] != a


def test_the_default_target_is_the_prediction_so_naming_it_gives_the_same_id(lenet5):
    trace_id, trace, _ = _traced(lenet5, 7)
    assert _traced(lenet5, 7, target=int(trace.prediction[0]))[0] == trace_id


def test_other_weights_give_another_trace_id():
    a, b = tiny_resnet(seed=0), tiny_resnet(seed=1)
    assert weights_digest(a) != weights_digest(b)
    digit, _ = sample_digit(7)
    ids = [trace_id_of(recipe_of(m, m.trace(digit, 3))) for m in (a, b)]
    assert ids[0] != ids[1]


def test_the_token_carries_the_recipe_exactly_and_hashes_to_the_id(lenet5):
    trace_id, trace, recipe = _traced(lenet5, 7)
    token = encode_token(pack_recipe(recipe))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = decode_token(token)
    assert raw == recipe and trace_id_of(raw) == trace_id
    parsed = Recipe.from_bytes(raw)
    assert parsed.model_id == "lenet5" and parsed.target == int(trace.target[0])
    assert np.array_equal(parsed.input, trace.input) and parsed.input.dtype == np.float32


@pytest.mark.parametrize("token", ["", "!!!", "AAAA", encode_token(b"no header"),
                                   encode_token(pack_recipe(b"{}\0"))])
def test_a_token_that_is_not_a_recipe_is_refused(token):
    with pytest.raises(ValueError):
        Recipe.from_bytes(decode_token(token))


def test_a_token_never_inflates_past_its_bound():
    bomb = encode_token(pack_recipe(b"\0" * (65 * 1024 * 1024)))
    with pytest.raises(ValueError, match="too large"):
        decode_token(bomb)


def _entry(model, sample):
    trace_id, trace, recipe = _traced(model, sample)
    return trace_id, trace, pack_recipe(recipe)


def test_the_store_evicts_the_least_recently_used_trace_by_bytes(lenet5):
    entries = [_entry(lenet5, s) for s in (1, 2, 3)]
    size = trace_nbytes(entries[0][1])
    store = TraceStore(2 * size + size // 2, ttl=600, clock=Clock())
    store.put(entries[0][0], "lenet5", entries[0][1], entries[0][2])
    store.put(entries[1][0], "lenet5", entries[1][1], entries[1][2])
    assert store.get(entries[0][0]) is not None  # 0 is now the most recently used
    store.put(entries[2][0], "lenet5", entries[2][1], entries[2][2])
    assert entries[1][0] not in store and entries[0][0] in store and entries[2][0] in store
    assert store.nbytes == 2 * size <= store.max_bytes
    assert store.packed_recipe(entries[1][0]) == entries[1][2]  # the recipe outlives it


def test_the_store_forgets_a_trace_after_its_ttl(lenet5):
    clock = Clock()
    trace_id, trace, packed = _entry(lenet5, 4)
    store = TraceStore(1 << 30, ttl=10, clock=clock)
    store.put(trace_id, "lenet5", trace, packed)
    clock.now = 9.9
    assert store.get(trace_id) is not None
    clock.now = 10.0
    assert store.get(trace_id) is None and store.nbytes == 0 and len(store) == 0
    assert store.packed_recipe(trace_id) == packed


def test_a_trace_bigger_than_the_store_keeps_only_its_recipe(lenet5):
    trace_id, trace, packed = _entry(lenet5, 5)
    store = TraceStore(trace_nbytes(trace) - 1, ttl=600)
    store.put(trace_id, "lenet5", trace, packed)
    assert trace_id not in store and store.packed_recipe(trace_id) == packed


def test_the_recipes_are_bounded_too(lenet5):
    entries = [_entry(lenet5, s) for s in (1, 2, 3)]
    store = TraceStore(0, ttl=600, recipe_bytes=len(entries[0][2]) + len(entries[1][2]) + 1)
    for trace_id, trace, packed in entries:
        store.put(trace_id, "lenet5", trace, packed)
    assert store.packed_recipe(entries[0][0]) is None
    assert store.packed_recipe(entries[2][0]) == entries[2][2]


def test_the_store_is_consistent_under_concurrent_use(lenet5):
    entries = [_entry(lenet5, s) for s in range(6)]
    size = trace_nbytes(entries[0][1])
    store = TraceStore(3 * size, ttl=600)

    def work(offset: int) -> None:
        for i in range(200):
            trace_id, trace, packed = entries[(i + offset) % len(entries)]
            store.put(trace_id, "lenet5", trace, packed)
            store.get(entries[(i * 7 + offset) % len(entries)][0])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.nbytes == len(store) * size <= 3 * size


def test_recompute_on_a_miss_gives_the_same_tensors(resnet):
    digit, _ = sample_digit(9)
    body = inspect_input(resnet, digit, InspectInput(target=2), Settings())
    trace = resnet.trace(digit, 2)
    model_id, again, recomputed = resolve(None, body["trace_id"], body["trace_input"])
    assert recomputed and model_id == TINY_RESNET
    for a, b in zip(trace.layers, again.layers, strict=True):
        # Same process, same BLAS: the same arithmetic, so the same bits.
        assert np.array_equal(a.output, b.output) and np.array_equal(a.grad_output, b.grad_output)
        assert all(np.array_equal(a.grads[k], b.grads[k]) for k in a.grads)
    assert np.array_equal(trace.input_grad, again.input_grad)


def test_a_miss_fills_the_store_from_its_own_recipe(resnet):
    digit, _ = sample_digit(2)
    clock = Clock()
    store = TraceStore(1 << 30, ttl=600, clock=clock)
    body = inspect_input(resnet, digit, InspectInput(), Settings(), store)
    clock.now = 600  # expired: the arrays are gone, the recipe is not
    _, _, recomputed = resolve(store, body["trace_id"], None)
    assert recomputed and body["trace_id"] in store
    assert resolve(store, body["trace_id"], None)[2] is False


def test_concurrent_misses_of_one_trace_compute_it_once(resnet, monkeypatch):
    from app.services import traces as traces_module

    digit, _ = sample_digit(4)
    body = inspect_input(resnet, digit, InspectInput(), Settings())  # held nowhere
    store = TraceStore(1 << 30, ttl=600)
    calls, real = [], traces_module.recompute
    gate = threading.Event()

    def counted(trace_id, recipe):
        calls.append(trace_id)
        gate.wait(5)  # keep the first computation running while the others arrive
        return real(trace_id, recipe)

    monkeypatch.setattr(traces_module, "recompute", counted)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        resolve(store, body["trace_id"], body["trace_input"]))) for _ in range(4)]
    for t in threads:
        t.start()
    threading.Timer(0.3, gate.set).start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and len(results) == 4
    assert sorted(r[2] for r in results) == [False, False, False, True]
    assert all(r[1] is results[0][1] for r in results)


@pytest.mark.parametrize(("trace_id", "token", "status", "code"), [
    ("abc", None, 422, "invalid_trace_id"),
    ("A" * 64, None, 422, "invalid_trace_id"),
    ("0" * 64, None, 404, "trace_not_found"),
    ("0" * 64, "!!", 422, "invalid_trace_input"),
])
def test_unknown_or_malformed_trace_ids_are_4xx(trace_id, token, status, code):
    with pytest.raises(ApiError) as caught:
        resolve(TraceStore(1 << 20, ttl=1), trace_id, token)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_a_token_of_another_trace_is_refused(lenet5):
    a, _, _ = _traced(lenet5, 1)
    _, _, recipe = _traced(lenet5, 2)
    with pytest.raises(ApiError) as caught:
        resolve(None, a, encode_token(pack_recipe(recipe)))
    assert caught.value.code == "trace_input_mismatch"


def test_a_trace_of_a_model_whose_weights_changed_cannot_be_recomputed():
    old, new = tiny_resnet(seed=0), tiny_resnet(seed=3)
    digit, _ = sample_digit(7)
    recipe = recipe_of(old, old.trace(digit))
    register_model(new)
    try:
        with pytest.raises(ApiError) as caught:
            resolve(None, trace_id_of(recipe), encode_token(pack_recipe(recipe)))
    finally:
        unregister_model(new.id)
    assert (caught.value.status, caught.value.code) == (404, "trace_not_found")


def test_layers_over_the_budget_send_summaries_and_say_what_they_left_out(resnet):
    digit, _ = sample_digit(7)
    trace = resnet.trace(digit)
    body = encode_trace(
        trace, model_id=resnet.id, classes=resnet.classes,
        receptive_fields=receptive_fields(resnet), include=("output", "grad_output", "params"),
        layer_budget=1024, include_layers=("conv2",),
    )
    layers = {layer["name"]: layer for layer in body["layers"]}
    # conv1's output is 8x28x28 floats, its params 80: only the output and delta go.
    assert layers["conv1"]["omitted"] == ["output", "grad_output"]
    assert "output" not in layers["conv1"] and "params" in layers["conv1"]
    assert "output" in layers["conv2"] and layers["conv2"]["omitted"] == []  # named
    assert "output" in layers["fc"] and layers["fc"]["omitted"] == []  # 40 bytes
    for lt in trace.layers:
        expected = summary(lt.output)
        got = layers[lt.name]["summary"]["output"]
        assert got["shape"] == expected["shape"][1:]
        np.testing.assert_allclose(got["channel_energy"], expected["channel_energy"],
                                   rtol=5e-7, atol=0)
        assert (got["min"], got["max"], got["mean"]) == (
            expected["min"], expected["max"], expected["mean"])


def test_a_fetched_layer_slices_channels_and_keeps_params_whole(resnet):
    digit, _ = sample_digit(7)
    store = TraceStore(1 << 30, ttl=600)
    body = inspect_input(resnet, digit, InspectInput(), Settings(), store)
    trace = store.get(body["trace_id"])[1]
    got = fetch_layer(store, body["trace_id"], "conv3", part="output,params,param_grads",
                      channels="4-6", encoding="list")
    conv3 = trace.layers[resnet.network.names.index("conv3")]
    assert np.array_equal(np.array(got["output"]["data"], np.float32), conv3.output[0, 4:7])
    assert got["params"]["weight"]["shape"] == [16, 8, 3, 3] and got["channels"] == [4, 6]
    assert got["part"] == ["output", "params", "param_grads"] and "grad_output" not in got
    pool = fetch_layer(store, body["trace_id"], "pool1", part="pool_indices,pool_mask",
                       channels="2")
    assert pool["pool_indices"]["shape"] == [1, 14, 14] and pool["pool_mask"]["shape"] == [
        1, 28, 28]


def test_parts_take_the_field_names_and_the_old_aliases():
    assert parse_parts(None) == ("output", "grad_output")
    assert parse_parts("activations,gradients") == ("output", "grad_output")
    assert parse_parts(["param_grads", "output, pool_mask"]) == (
        "output", "pool_mask", "param_grads")
    assert parse_channels("3-5") == (3, 5) and parse_channels(" 7 ") == (7, 7)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_unknown_part_or_bad_channel_range_is_a_422(text):
    names = {p.strip() for p in text.split(",") if p.strip()}
    known = {"output", "grad_output", "pool_indices", "pool_mask", "params", "param_grads",
             "activations", "gradients"}
    if names - known:
        with pytest.raises(ApiError) as caught:
            parse_parts(text)
        assert caught.value.status == 422 and caught.value.code == "invalid_part"
    try:
        parse_channels(text)
    except ApiError as exc:
        assert exc.status == 422 and exc.code == "invalid_channels"
