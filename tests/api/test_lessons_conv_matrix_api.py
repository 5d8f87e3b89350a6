"""GET /api/v1/lessons/conv-matrix: the matrix and its kernel index, W x + b and W^T dy next to
the core's numbers; out-of-range sizes and impossible geometries are 4xx envelopes."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

URL = "/api/v1/lessons/conv-matrix"


def test_default_is_the_3x3_kernel_on_a_5x5_input_with_exact_integer_numbers(client):
    r = client.get(URL)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["geometry"]["input"] == [1, 5, 5]
    assert body["geometry"]["output"] == [1, 3, 3]
    assert (body["rows"], body["columns"]) == (9, 25)
    assert body["nonzeros"] == 81
    matrix = np.array(body["matrix"])
    index = np.array(body["kernel_index"])
    weight = np.array(body["weight"])
    hit = index >= 0
    np.testing.assert_array_equal(matrix[hit], weight.ravel()[index[hit]])
    assert (matrix[~hit] == 0).all()
    x = np.array(body["input"]).ravel()
    y = matrix @ x + np.array(body["bias"])[0]
    np.testing.assert_allclose(y.reshape(1, 3, 3), body["y_conv"], atol=1e-9)
    np.testing.assert_allclose(body["y_matrix"], body["y_conv"], atol=1e-9)
    assert body["forward_max_abs_difference"] < 1e-9
    assert body["backward_max_abs_difference"] < 1e-9
    assert body == client.get(URL, params={"seed": 0}).json()  # seeded
    assert body["input"] != client.get(URL, params={"seed": 1}).json()["input"]


def test_strided_geometry_reports_the_transposes_output_padding(client):
    r = client.get(URL, params={"height": 6, "width": 6, "kernel_size": 3, "stride": 2,
                                "padding": 1, "in_channels": 2, "out_channels": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["geometry"]["output"] == [2, 3, 3]
    assert body["geometry"]["output_padding"] == [1, 1]  # (3-1)*2 - 2 + 2 + 1 = 5, not 6
    assert (body["rows"], body["columns"]) == (18, 72)
    np.testing.assert_allclose(body["dx_matrix"], body["dx_backward"], atol=1e-9)
    np.testing.assert_allclose(body["dx_matrix"], body["dx_transpose"], atol=1e-9)
    assert np.array(body["dx_transpose"]).shape == (2, 6, 6)


def test_a_kernel_that_does_not_fit_is_a_422_invalid_geometry(client):
    r = client.get(URL, params={"height": 2, "width": 2, "kernel_size": 5})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_geometry"
    assert "no output" in error["message"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(["height", "width", "kernel_size", "stride", "padding", "dilation",
                         "in_channels", "out_channels", "seed"]),
    value=st.one_of(st.integers(-10**6, -1), st.integers(9, 10**12),
                    st.sampled_from(["x", "1.5", "", "nan", "1e9"])),
)
def test_out_of_range_or_malformed_parameters_are_422_envelopes(client, key, value):
    if key in ("padding",) and isinstance(value, int) and value >= 0:
        value = 4 + value  # padding's bound is 3
    if key == "seed" and isinstance(value, int) and value >= 0:
        value = 2**32 + value
    r = client.get(URL, params={key: value})
    assert r.status_code == 422, (key, value, r.text)
    assert r.json()["error"]["code"] in ("invalid_input", "invalid_geometry")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    height=st.integers(1, 8), width=st.integers(1, 8), kernel_size=st.integers(1, 5),
    stride=st.integers(1, 3), padding=st.integers(0, 3), dilation=st.integers(1, 3),
    in_channels=st.integers(1, 3), out_channels=st.integers(1, 2),
)
def test_every_geometry_in_bounds_is_200_with_matching_numbers_or_a_422(client, **params):
    r = client.get(URL, params=params)
    if r.status_code == 422:
        assert r.json()["error"]["code"] == "invalid_geometry"
        return
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] <= 2 * 14 * 14 and body["columns"] <= 3 * 8 * 8  # padding 3 grows it
    assert body["forward_max_abs_difference"] < 1e-9
    assert body["backward_max_abs_difference"] < 1e-9
