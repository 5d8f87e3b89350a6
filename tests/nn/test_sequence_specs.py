"""The 1-D kinds (conv1d, maxpool1d, adaptivemaxpool1d, embedding, transpose) are registered
in LAYER_TYPES: a spec naming them builds, round-trips, and its weights round-trip an npz."""

from __future__ import annotations

import io

import numpy as np
import pytest

from app.nn import LAYER_TYPES, dump_params, from_spec, load_params, to_spec
from app.nn.sequence import SEQUENCE_LAYER_TYPES

SPEC = [
    {"kind": "embedding", "name": "emb", "num_embeddings": 6, "embedding_dim": 3,
     "padding_idx": 0},
    {"kind": "transpose", "name": "t", "dim0": 1, "dim1": 2},
    {"kind": "conv1d", "name": "c2", "in_channels": 3, "out_channels": 2, "kernel_size": 2,
     "stride": 1, "padding": 1, "dilation": 1, "bias": True},
    {"kind": "maxpool1d", "name": "mp", "kernel_size": 2, "stride": 2, "padding": 0,
     "dilation": 1, "ceil_mode": True},
    {"kind": "conv1d", "name": "c3", "in_channels": 3, "out_channels": 2, "kernel_size": 3,
     "stride": 1, "padding": 0, "dilation": 1, "bias": False, "inputs": ["t"]},
    {"kind": "adaptivemaxpool1d", "name": "gp2", "output_size": 1, "inputs": ["mp"]},
    {"kind": "adaptivemaxpool1d", "name": "gp3", "output_size": 1, "inputs": ["c3"]},
    {"kind": "concat", "name": "cat", "dim": 1, "inputs": ["gp2", "gp3"]},
    {"kind": "flatten", "name": "flat"},
    {"kind": "linear", "name": "fc", "in_features": 4, "out_features": 2, "bias": True},
]


def test_every_sequence_kind_is_in_layer_types():
    for kind, cls in SEQUENCE_LAYER_TYPES.items():
        assert LAYER_TYPES[kind] is cls


def test_a_spec_with_the_1d_kinds_round_trips():
    network = from_spec(SPEC, rng=0)
    spec = to_spec(network)
    assert spec == SPEC
    assert to_spec(from_spec(spec, rng=1)) == SPEC


def test_1d_weights_round_trip_an_npz_and_give_the_same_logits():
    network = from_spec(SPEC, rng=0)
    x = np.array([[1, 2, 3, 4, 5, 0, 0], [5, 4, 3, 0, 0, 0, 0]])
    buffer = io.BytesIO()
    np.savez(buffer, **dump_params(network))
    buffer.seek(0)
    assert sorted(np.load(buffer).files) == sorted(
        ["emb.weight", "c2.weight", "c2.bias", "c3.weight", "fc.weight", "fc.bias"])
    buffer.seek(0)
    other = from_spec(SPEC, rng=7)
    with np.load(buffer) as arrays:
        load_params(other, dict(arrays))
    # Same weights, same arithmetic in the same process: the same bits.
    np.testing.assert_array_equal(other.predict(x), network.predict(x))


def test_a_1d_spec_entry_with_a_bad_argument_is_a_value_error():
    with pytest.raises(ValueError, match="conv1d"):
        from_spec([{"kind": "conv1d", "in_channels": 2, "out_channels": 2, "kernel_size": 3,
                    "nonsense": 1}])
