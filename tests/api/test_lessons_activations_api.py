"""GET /api/v1/lessons/activations: f and f' by the core over bounded ranges; bad ranges,
kinds and sizes are 422 envelopes, never a 500."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

URL = "/api/v1/lessons/activations"
KINDS = ["sign", "sigmoid", "tanh", "relu", "leakyrelu", "relu6", "identity", "clamp"]
SMOOTH = ["sigmoid", "tanh", "identity"]


def test_tanh_on_five_points_matches_the_formula(client):
    body = client.get(URL, params={"kind": "tanh", "x_min": -2, "x_max": 2, "points": 5}).json()
    assert body["x"] == [-2.0, -1.0, 0.0, 1.0, 2.0]
    np.testing.assert_allclose(body["f"], np.tanh(body["x"]), rtol=1e-12)
    np.testing.assert_allclose(body["df"], 1 - np.tanh(body["x"]) ** 2, rtol=1e-12)
    assert body["input_range"] == [-1.0, 1.0] and body["threshold"] == 0.01


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(SMOOTH),
       lo=st.floats(-50, 49, allow_nan=False), width=st.floats(0.5, 50, allow_nan=False),
       points=st.integers(3, 200))
def test_derivative_equals_finite_differences_of_f_over_any_range(client, kind, lo, width, points):
    r = client.get(URL, params={"kind": kind, "x_min": lo, "x_max": lo + width, "points": points})
    assert r.status_code == 200, r.text
    body = r.json()
    x, f, df = (np.array(body[k]) for k in ("x", "f", "df"))
    assert x.shape == f.shape == df.shape == (points,)
    eps = 1e-6
    fd = [(client.get(URL, params={"kind": kind, "x_min": v - eps, "x_max": v + eps,
                                   "points": 2}).json()["f"]) for v in x[[0, points // 2, -1]]]
    numeric = np.array([(b - a) / (2 * eps) for a, b in fd])
    np.testing.assert_allclose(df[[0, points // 2, -1]], numeric, rtol=1e-5, atol=1e-8)
    # saturated runs are exactly the grid points with |f'| < threshold
    flat = np.abs(df) < body["threshold"]
    inside = np.zeros(points, bool)
    for a, b in body["saturated"]:
        inside |= (x >= a) & (x <= b)
    assert (inside == flat).all()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS),
       lo=st.floats(-1000, 1000, allow_nan=False), hi=st.floats(-1000, 1000, allow_nan=False),
       points=st.integers(2, 2001))
def test_any_range_in_bounds_answers_200_or_a_named_422(client, kind, lo, hi, points):
    r = client.get(URL, params={"kind": kind, "x_min": lo, "x_max": hi, "points": points})
    if lo < hi:
        assert r.status_code == 200, r.text
        assert len(r.json()["x"]) == points and np.isfinite(r.json()["df"]).all()
    else:
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range"


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["kind", "x_min", "x_max", "points", "negative_slope", "min_val"]),
       value=st.sampled_from(["nan", "inf", "-inf", "1e400", "x", "", "5000", "-3000"]))
def test_malformed_parameters_are_422_envelopes(client, key, value):
    r = client.get(URL, params={key: value})
    assert r.status_code == 422, (key, value, r.text)
    assert r.json()["error"]["code"] == "invalid_input" and key in r.json()["error"]["message"]


def test_too_many_points_and_inverted_clamp_are_refused_by_name(client):
    r = client.get(URL, params={"points": 2002})
    assert r.status_code == 422 and "points" in r.json()["error"]["message"]
    r = client.get(URL, params={"kind": "clamp", "min_val": 2, "max_val": 1})
    assert r.status_code == 422 and r.json()["error"]["field"] == "min_val"


def test_sign_learns_nothing_and_relu6_saturates_on_both_sides(client):
    sign = client.get(URL, params={"kind": "sign"}).json()
    assert set(sign["df"]) == {0.0}
    relu6 = client.get(URL, params={"kind": "relu6", "x_min": -2, "x_max": 8, "points": 101})
    assert relu6.json()["saturated"] == [[-2.0, 0.0], [6.0, 8.0]]
