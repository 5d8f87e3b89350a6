"""The whole-response budget of /inspect (app.services.trace_budget): over families of
budgets, the tensors sent never exceed it (the input counted first), every layer keeps its
summary, layers left out say so and why, `include_layers` still forces a layer in, and every
left-out layer fetched from the trace store equals the full trace's tensors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.encoding import decode_tensor, encode_trace, include_fields
from app.services.inspect import InspectInput, inspect_input, to_json_bytes
from app.services.models import receptive_fields
from app.services.samples import sample_digit
from app.services.trace_budget import has_part, input_bytes, part_bytes, response_plan
from app.services.trace_layers import fetch_layer
from app.services.traces import TraceStore
from app.settings import Settings
from tests.services.graphs import tiny_resnet

INCLUDE = ("activations", "gradients", "pool_indices", "pool_mask", "param_grads")
FIELDS = include_fields(INCLUDE)
FIXTURES = [HealthCheck.function_scoped_fixture]
LAYER_PARTS = ("output", "grad_output", "pool_indices", "pool_mask", "params", "param_grads")


@pytest.fixture(scope="module")
def model():
    return tiny_resnet()


@pytest.fixture(scope="module")
def trace(model):
    digit, _ = sample_digit(7)
    return model.trace(digit.astype(np.float32) / 255, 3)


def encode(model, trace, response_budget, layer_budget=None, include_layers=()):
    return encode_trace(
        trace, model_id=model.id, classes=model.classes,
        receptive_fields=receptive_fields(model), include=INCLUDE,
        layer_budget=layer_budget, response_budget=response_budget,
        include_layers=include_layers,
    )


def sent_parts(layer: dict) -> list[str]:
    return [p for p in LAYER_PARTS if p in layer]


def counted_bytes(trace, body) -> int:
    """The sent tensors as the budget counts them (float32 bytes), the input included."""
    by_name = {lt.name: lt for lt in trace.layers}
    return input_bytes(trace, FIELDS) + sum(
        part_bytes(by_name[layer["name"]], p) for layer in body["layers"] for p in
        sent_parts(layer)
    )


def full_bytes(trace) -> int:
    return input_bytes(trace, FIELDS) + sum(
        part_bytes(lt, p) for lt in trace.layers for p in FIELDS if has_part(lt, p)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(fraction=st.floats(0, 1.2))
def test_the_tensors_sent_never_exceed_the_response_budget(model, trace, fraction):
    budget = int(fraction * full_bytes(trace))
    body = encode(model, trace, budget)
    assert counted_bytes(trace, body) <= max(budget, input_bytes(trace, FIELDS))
    for layer in body["layers"]:
        assert layer["summary"]["output"]["shape"] == layer["output_shape"]
        if layer["omitted"]:
            assert layer["omitted_reason"] == "response_budget"
            assert sent_parts(layer) == []  # a layer is sent whole or left out whole
        else:
            assert "omitted_reason" not in layer
    # In bytes on the wire: no more than the summaries-only response plus the budget in
    # base64 (4 characters per 3 bytes) and a tensor header each.
    bare = len(to_json_bytes(encode(model, trace, 0)))
    tensors = sum(len(sent_parts(layer)) for layer in body["layers"])
    assert len(to_json_bytes(body)) <= bare + -(-4 * budget // 3) + 200 * (tensors + 8)


@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURES)
@given(a=st.integers(0, 400_000), b=st.integers(0, 400_000))
def test_a_bigger_budget_sends_every_layer_a_smaller_one_sent(model, trace, a, b):
    low, high = sorted((a, b))
    sent = [{layer["name"] for layer in encode(model, trace, budget)["layers"]
             if not layer["omitted"]} for budget in (low, high)]
    assert sent[0] <= sent[1]


def test_layers_are_filled_smallest_first_and_the_input_is_counted_first(model, trace):
    plan = response_plan(trace, FIELDS, None, input_bytes(trace, FIELDS) + 1)
    assert all(kept == () for kept, _ in plan.values())  # nothing but the input fits
    costs = {lt.name: sum(part_bytes(lt, p) for p in FIELDS if has_part(lt, p))
             for lt in trace.layers}
    budget = input_bytes(trace, FIELDS) + sorted(costs.values())[4]
    body = encode(model, trace, budget)
    sent = [layer["name"] for layer in body["layers"] if not layer["omitted"]]
    assert max(costs[n] for n in sent) <= min(
        costs[layer["name"]] for layer in body["layers"] if layer["omitted"])
    assert {"fc", "flatten", "gap"} <= set(sent)  # the head is the smallest


def test_no_budget_and_a_generous_budget_send_the_same_response(model, trace):
    assert to_json_bytes(encode(model, trace, None)) == to_json_bytes(
        encode(model, trace, full_bytes(trace)))


def test_include_layers_forces_a_layer_in_whatever_the_budget(model, trace):
    body = encode(model, trace, 0, include_layers=("conv1",))
    conv1 = next(layer for layer in body["layers"] if layer["name"] == "conv1")
    assert conv1["omitted"] == [] and "output" in conv1 and "grad_output" in conv1
    assert all(layer["omitted"] for layer in body["layers"] if layer["name"] != "conv1")


def test_a_part_over_the_layer_budget_says_so(model, trace):
    body = encode(model, trace, None, layer_budget=4096)
    conv1 = next(layer for layer in body["layers"] if layer["name"] == "conv1")
    assert conv1["omitted_reason"] == "layer_budget" and "output" in conv1["omitted"]


@settings(max_examples=8, deadline=None, suppress_health_check=FIXTURES)
@given(fraction=st.floats(0, 0.6))
def test_left_out_layers_fetched_equal_the_full_traces_tensors(model, trace, fraction):
    store = TraceStore(64 << 20, 60)
    budget = int(fraction * full_bytes(trace))
    digit, _ = sample_digit(7)
    source = InspectInput(target=3, include=INCLUDE)
    full = inspect_input(model, digit.astype(np.float32) / 255, source, Settings(
        trace_layer_budget=1 << 30, trace_response_budget=1 << 30))
    body = inspect_input(model, digit.astype(np.float32) / 255, source, Settings(
        trace_response_budget=budget), store)
    assert json.loads(to_json_bytes(body))["trace_id"] == full["trace_id"]
    whole = {layer["name"]: layer for layer in full["layers"]}
    for layer in body["layers"]:
        if not layer["omitted"]:
            continue
        got = fetch_layer(store, body["trace_id"], layer["name"], part=layer["omitted"])
        for part in layer["omitted"]:
            if part in ("output", "grad_output", "pool_indices", "pool_mask"):
                expected = decode_tensor(whole[layer["name"]][part])
                assert np.array_equal(decode_tensor(got[part]), expected)
            else:
                for key, tensor in whole[layer["name"]][part].items():
                    assert np.array_equal(decode_tensor(got[part][key]), decode_tensor(tensor))
