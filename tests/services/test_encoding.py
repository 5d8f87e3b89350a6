"""app.services.encoding: Tensors round-trip exactly, include parts parse, masks count winners."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from app.nn import MaxPool2d
from app.services.encoding import (
    DEFAULT_INCLUDE,
    INCLUDE_PARTS,
    NonFiniteError,
    decode_tensor,
    encode_tensor,
    information,
    parse_include,
    pool_mask,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int32, np.int64])
def test_both_encodings_decode_to_the_same_array(dtype):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    packed, listed = encode_tensor(arr, "base64"), encode_tensor(arr, "list")
    json.dumps(packed), json.dumps(listed)
    assert packed["encoding"] == "base64" and listed["encoding"] == "list"
    assert packed["shape"] == listed["shape"] == [3, 4, 5]
    np.testing.assert_array_equal(decode_tensor(packed), arr)
    np.testing.assert_array_equal(decode_tensor(listed), arr)
    assert packed["min"] == listed["min"] == arr.min()
    assert packed["max"] == listed["max"] == arr.max()


def test_base64_is_little_endian_row_major_bytes():
    arr = np.array([[1.0, -2.5], [3.25, 0.0]], dtype=np.float32)
    t = encode_tensor(arr)
    assert t["dtype"] == "float32"
    assert base64.b64decode(t["data"]) == arr.astype("<f4").tobytes(order="C")


def test_big_endian_input_is_sent_little_endian():
    arr = np.arange(6, dtype=">f4").reshape(2, 3)
    t = encode_tensor(arr)
    assert t["dtype"] == "float32"
    assert np.frombuffer(base64.b64decode(t["data"]), "<f4").tolist() == [0, 1, 2, 3, 4, 5]


def test_int64_indices_travel_as_int32():
    t = encode_tensor(np.array([0, 5, 783], dtype=np.int64))
    assert t["dtype"] == "int32"
    assert decode_tensor(t).tolist() == [0, 5, 783]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused_naming_the_tensor(bad):
    arr = np.zeros((2, 2), dtype=np.float32)
    arr[1, 0] = bad
    with pytest.raises(NonFiniteError, match=r"conv1\.output holds 1 non-finite"):
        encode_tensor(arr, "base64", "conv1.output")


def test_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="unknown encoding"):
        encode_tensor(np.zeros(2, np.float32), "hex")


def test_include_defaults_and_accepts_comma_lists_and_repeats():
    assert parse_include(None) == DEFAULT_INCLUDE == ("activations", "gradients", "pool_indices")
    assert parse_include("") == DEFAULT_INCLUDE
    assert parse_include("pool_mask, params") == ("pool_mask", "params")
    assert parse_include(["param_grads", "activations,pool_mask"]) == (
        "activations", "pool_mask", "param_grads",
    )
    assert parse_include(",".join(reversed(INCLUDE_PARTS))) == INCLUDE_PARTS


def test_include_names_an_unknown_part():
    with pytest.raises(ValueError, match="'weights'.*known: activations"):
        parse_include("activations,weights")


def test_pool_mask_counts_the_windows_each_input_cell_won():
    x = np.random.default_rng(1).standard_normal((1, 2, 6, 6)).astype(np.float32)
    pool = MaxPool2d(3, stride=1)  # overlapping windows: a cell can win several
    _, (indices, _) = pool.forward(x)
    mask = pool_mask(indices[0], (2, 6, 6))
    assert mask.dtype == np.uint8 and mask.shape == (2, 6, 6)
    assert mask.sum() == indices[0].size
    assert mask.max() > 1
    for c in range(2):
        expected = np.zeros(36, dtype=int)
        for flat in indices[0, c].ravel():
            expected[flat] += 1
        np.testing.assert_array_equal(mask[c].ravel(), expected)


def test_pool_mask_marks_the_cells_that_receive_gradient():
    x = np.random.default_rng(2).standard_normal((1, 3, 8, 8))
    pool = MaxPool2d(2)
    y, cache = pool.forward(x)
    dx, _ = pool.backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(pool_mask(cache[0][0], (3, 8, 8)), dx[0])


def test_information_measures_obey_the_cross_entropy_identity():
    logits = np.array([2.0, -1.0, 0.5, 3.0])
    info = information(logits, target=2)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    assert info["target_entropy"] == 0.0
    assert info["cross_entropy"] == pytest.approx(-np.log(p[2]), rel=1e-12)
    assert info["entropy"] == pytest.approx(-(p * np.log(p)).sum(), rel=1e-12)
    assert info["cross_entropy"] == pytest.approx(
        info["target_entropy"] + info["kl_divergence"], rel=1e-12
    )
