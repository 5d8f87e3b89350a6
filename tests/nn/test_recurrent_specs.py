"""The recurrent layers are ordinary spec kinds: from_spec builds them, to_spec writes them
back, and a graph's trace carries each recurrent layer's time axis."""

from __future__ import annotations

import numpy as np

from app.models.registry import RECURRENT_ARCHITECTURES
from app.nn import LAYER_TYPES, LSTM, RNN, RecurrentTrace, from_spec, to_spec


def test_layer_types_name_every_recurrent_kind():
    for kind, cls in {"rnn": RNN, "lstm": LSTM}.items():
        assert LAYER_TYPES[kind] is cls
    assert {"imagerows", "laststep", "finalstates"} <= set(LAYER_TYPES)


def test_from_spec_builds_each_sequence_model_and_to_spec_writes_it_back():
    for arch in RECURRENT_ARCHITECTURES.values():
        network = from_spec(arch.spec, rng=0)
        assert to_spec(from_spec(to_spec(network), rng=0)) == to_spec(network)
        assert [e["kind"] for e in to_spec(network)] == [e["kind"] for e in arch.spec]
        assert network.predict(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)


def test_trace_records_the_time_axis_of_recurrent_layers_only():
    spec = [
        {"kind": "imagerows", "name": "rows"},
        {"kind": "lstm", "name": "lstm", "input_size": 5, "hidden_size": 3,
         "bidirectional": True, "output_only": True},
        {"kind": "finalstates", "name": "final", "hidden_size": 3},
        {"kind": "linear", "name": "fc", "in_features": 6, "out_features": 4},
    ]
    network = from_spec(spec, rng=1, dtype=np.float64)
    x = np.random.default_rng(2).random((1, 1, 4, 5))
    trace = network.trace(x, [2])
    records = {lt.name: lt.recurrent for lt in trace.layers}
    assert records["rows"] is None and records["fc"] is None
    record = records["lstm"]
    assert isinstance(record, RecurrentTrace) and len(record.directions) == 2
    forward, reverse = record.directions
    # The time axis is the layer's own output, split by direction.
    np.testing.assert_array_equal(forward.h[0], trace.layers[1].output[0, :, :3])
    np.testing.assert_array_equal(reverse.h[0], trace.layers[1].output[0, :, 3:])
    # dL/dh_t includes the delta into the output: FinalStates reads h at t = T-1 (forward)
    # and t = 0 (reverse), and nothing after them adds to it.
    delta = trace.layers[1].grad_output[0]
    np.testing.assert_array_equal(forward.grad_h[0, -1], delta[-1, :3])
    np.testing.assert_array_equal(reverse.grad_h[0, 0], delta[0, 3:])
