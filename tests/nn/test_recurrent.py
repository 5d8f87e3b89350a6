"""RNN, LSTM and Bi-LSTM: backward through time against central finite differences in
float64 (sizes, sequence lengths 1/2/5, batch 1/3, both directions, with and without h0/c0,
tanh and relu), hand-worked one-step cases, an unrolled reference LSTM, torch's layouts and
output structure, the per-step trace, and the nodes that put a recurrent layer in a chain."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn import Linear, Sequential
from app.nn.recurrent import LSTM, RNN, FinalStates, ImageRows, LastStep
from tests.nn.gradcheck import assert_gradients_close, check_layer, numerical_gradient

F64 = np.float64
KINDS = {
    "lstm": lambda i, h, **kw: LSTM(i, h, **kw),
    "rnn-tanh": lambda i, h, **kw: RNN(i, h, nonlinearity="tanh", **kw),
    "rnn-relu": lambda i, h, **kw: RNN(i, h, nonlinearity="relu", **kw),
}


def _sweep():
    cases = []
    for n, (kind, t, batch, bi, state) in enumerate(
        itertools.product(KINDS, (1, 2, 5), (1, 3), (False, True), (False, True))
    ):
        input_size, hidden = 1 + n % 3, 1 + (n // 3) % 3   # sizes cycle through 1-3
        cases.append(pytest.param(
            kind, input_size, hidden, t, batch, bi, state,
            id=f"{kind}-I{input_size}-H{hidden}-T{t}-N{batch}-{'bi' if bi else 'uni'}"
               f"-{'state' if state else 'zero'}",
        ))
    return cases


def _full_gradcheck(layer, x, states, rng, with_state_grads: bool):
    """FD of L = <output, g> (+ <h_n, gh> (+ <c_n, gc>)) wrt x, the given states and every
    parameter, against layer.backward."""
    is_lstm = isinstance(layer, LSTM)
    (out, state), cache = layer.forward(x, *states)
    g_out = rng.standard_normal(out.shape)
    h_n = state[0] if is_lstm else state
    g_h = rng.standard_normal(h_n.shape) if with_state_grads else None
    g_c = rng.standard_normal(h_n.shape) if with_state_grads and is_lstm else None

    def loss(_=None) -> float:
        (o, s), _c = layer.forward(x, *states)
        total = float((o * g_out).sum())
        if g_h is not None:
            total += float(((s[0] if is_lstm else s) * g_h).sum())
        if g_c is not None:
            total += float((s[1] * g_c).sum())
        return total

    if not with_state_grads:
        dy = g_out
    elif is_lstm:
        dy = (g_out, (g_h, g_c))
    else:
        dy = (g_out, g_h)
    dx, grads = layer.backward(dy, cache)
    analytic = dict(grads)
    if states:
        assert isinstance(dx, tuple) and len(dx) == 1 + (2 if is_lstm else 1)
        analytic["input"] = dx[0]
        for name, value in zip(("h0", "c0"), dx[1:], strict=False):
            analytic[name] = value
    else:
        assert isinstance(dx, np.ndarray)
        analytic["input"] = dx
    numeric = {"input": numerical_gradient(loss, x)}
    for name, value in zip(("h0", "c0"), states, strict=False):
        numeric[name] = numerical_gradient(loss, value)
    for key, param in layer.params.items():
        numeric[key] = numerical_gradient(loss, param)
    assert_gradients_close(analytic, numeric, context=repr(layer))


@pytest.mark.parametrize(("kind", "input_size", "hidden", "t", "batch", "bi", "state"), _sweep())
def test_backward_through_time_matches_finite_differences(
    kind, input_size, hidden, t, batch, bi, state
):
    rng = np.random.default_rng([input_size, hidden, t, batch, bi, state])
    layer = KINDS[kind](input_size, hidden, bidirectional=bi, rng=rng, dtype=F64)
    x = rng.standard_normal((batch, t, input_size))
    d = 2 if bi else 1
    states = ()
    if state:
        states = tuple(rng.standard_normal((d, batch, hidden))
                       for _ in range(2 if kind == "lstm" else 1))
    _full_gradcheck(layer, x, states, rng, with_state_grads=(t + batch) % 2 == 0)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bi", [False, True])
def test_sequence_first_layout_matches_finite_differences(kind, bi):
    rng = np.random.default_rng(7)
    layer = KINDS[kind](2, 3, batch_first=False, bidirectional=bi, rng=rng, dtype=F64)
    states = tuple(rng.standard_normal((2 if bi else 1, 3, 3))
                   for _ in range(2 if kind == "lstm" else 1))
    _full_gradcheck(layer, rng.standard_normal((4, 3, 2)), states, rng, with_state_grads=True)


@given(
    kind=st.sampled_from(list(KINDS)), input_size=st.integers(1, 4),
    hidden=st.integers(1, 4), t=st.integers(1, 6), batch=st.integers(1, 3),
    bi=st.booleans(), seed=st.integers(0, 2**16),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_shapes_match_finite_differences(kind, input_size, hidden, t, batch, bi, seed):
    rng = np.random.default_rng(seed)
    layer = KINDS[kind](input_size, hidden, bidirectional=bi, rng=rng, dtype=F64)
    _full_gradcheck(layer, rng.standard_normal((batch, t, input_size)), (), rng,
                    with_state_grads=bool(seed % 2))


# -- hand-worked one-step cases -------------------------------------------------------------

def test_lstm_one_step_by_hand():
    # Pre-activations 0 for i, f, o (so 0.5 each) and ln 2 for g (tanh(ln 2) = 3/5);
    # c0 = 0.4: c1 = 0.5*0.4 + 0.5*0.6 = 0.5 and h1 = 0.5*tanh(0.5).
    layer = LSTM(1, 1, rng=0, dtype=F64)
    layer.params.update(
        weight_ih_l0=np.array([[0.0], [0.0], [math.log(2)], [0.0]]),
        weight_hh_l0=np.ones((4, 1)), bias_ih_l0=np.zeros(4), bias_hh_l0=np.zeros(4),
    )
    x, h0, c0 = np.ones((1, 1, 1)), np.zeros((1, 1, 1)), np.full((1, 1, 1), 0.4)
    (out, (h_n, c_n)), cache = layer.forward(x, h0, c0)
    tanh_half = math.tanh(0.5)
    assert c_n.item() == pytest.approx(0.5, abs=1e-15)
    assert h_n.item() == pytest.approx(0.5 * tanh_half, abs=1e-15)
    assert out.item() == h_n.item()
    # dL/dh1 = 1: dc1 = o(1 - tanh^2 c1); gate pre-activation gradients:
    dc = 0.5 * (1 - tanh_half**2)
    da = np.array([dc * 0.6 * 0.25, dc * 0.4 * 0.25, dc * 0.5 * (1 - 0.36), tanh_half * 0.25])
    (dx, dh0, dc0), grads = layer.backward(np.ones((1, 1, 1)), cache)
    np.testing.assert_allclose(grads["weight_ih_l0"][:, 0], da, rtol=1e-14)   # x = 1
    np.testing.assert_allclose(grads["bias_ih_l0"], da, rtol=1e-14)
    np.testing.assert_allclose(grads["bias_hh_l0"], da, rtol=1e-14)
    np.testing.assert_allclose(grads["weight_hh_l0"], 0.0)                    # h0 = 0
    assert dx.item() == pytest.approx(math.log(2) * da[2], rel=1e-14)
    assert dh0.item() == pytest.approx(da.sum(), rel=1e-14)                    # W_hh = 1
    assert dc0.item() == pytest.approx(dc * 0.5, rel=1e-14)                    # dc1 * f


def test_tanh_rnn_one_step_by_hand():
    # a = 2*0.5 + 1*0 + (0.5 ln 3 - 1) = 0.5 ln 3, tanh(a) = 1/2; dL/dh1 = 1 -> da = 3/4.
    layer = RNN(1, 1, rng=0, dtype=F64)
    layer.params.update(
        weight_ih_l0=np.array([[2.0]]), weight_hh_l0=np.array([[1.0]]),
        bias_ih_l0=np.array([0.5 * math.log(3) - 1]), bias_hh_l0=np.array([0.0]),
    )
    (out, h_n), cache = layer.forward(np.full((1, 1, 1), 0.5), np.zeros((1, 1, 1)))
    assert h_n.item() == pytest.approx(0.5, abs=1e-15)
    (dx, dh0), grads = layer.backward(np.ones((1, 1, 1)), cache)
    assert grads["weight_ih_l0"].item() == pytest.approx(0.375, rel=1e-14)
    assert grads["weight_hh_l0"].item() == 0.0
    assert grads["bias_ih_l0"].item() == grads["bias_hh_l0"].item() == pytest.approx(0.75)
    assert dx.item() == pytest.approx(1.5, rel=1e-14)
    assert dh0.item() == pytest.approx(0.75, rel=1e-14)


def test_relu_rnn_passes_no_gradient_through_a_negative_step():
    layer = RNN(1, 1, nonlinearity="relu", rng=0, dtype=F64)
    layer.params.update(weight_ih_l0=np.array([[1.0]]), weight_hh_l0=np.array([[2.0]]),
                        bias_ih_l0=np.array([0.0]), bias_hh_l0=np.array([0.0]))
    x = np.array([[[3.0], [-10.0], [1.0]]])   # h = 3, relu(-10 + 6) = 0, relu(1 + 0) = 1
    (out, h_n), cache = layer.forward(x)
    np.testing.assert_array_equal(out[0, :, 0], [3.0, 0.0, 1.0])
    dx, grads = layer.backward(np.array([[[0.0], [0.0], [1.0]]]), cache)
    np.testing.assert_array_equal(dx[0, :, 0], [0.0, 0.0, 1.0])   # blocked at step 2
    assert grads["weight_hh_l0"].item() == 0.0                    # h_1 = 0 feeds step 3


# -- an unrolled reference LSTM -------------------------------------------------------------

def _unrolled_lstm(params, x, h0, c0, suffix):
    """One direction, one sequence item and one unit at a time, written from the equations."""
    w_ih, w_hh = params["weight_ih" + suffix], params["weight_hh" + suffix]
    b = params["bias_ih" + suffix] + params["bias_hh" + suffix]
    hidden = w_hh.shape[1]
    sig = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    hs, cs, gates = [], [], []
    h, c = list(h0), list(c0)
    for x_t in x:
        a = [sum(w_ih[r, k] * x_t[k] for k in range(len(x_t)))
             + sum(w_hh[r, k] * h[k] for k in range(hidden)) + b[r] for r in range(4 * hidden)]
        i = [sig(a[u]) for u in range(hidden)]
        f = [sig(a[hidden + u]) for u in range(hidden)]
        g = [math.tanh(a[2 * hidden + u]) for u in range(hidden)]
        o = [sig(a[3 * hidden + u]) for u in range(hidden)]
        c = [f[u] * c[u] + i[u] * g[u] for u in range(hidden)]
        h = [o[u] * math.tanh(c[u]) for u in range(hidden)]
        hs.append(h)
        cs.append(c)
        gates.append((i, f, g, o))
    return np.array(hs), np.array(cs), gates


def test_lstm_matches_an_unrolled_reference_in_both_directions():
    rng = np.random.default_rng(3)
    layer = LSTM(3, 4, bidirectional=True, rng=rng, dtype=F64)
    x = rng.standard_normal((2, 5, 3))
    h0, c0 = rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 2, 4))
    (out, (h_n, c_n)), cache = layer.forward(x, h0, c0)
    trace = layer.record(cache)
    for n in range(2):
        hf, cf, gf = _unrolled_lstm(layer.params, x[n], h0[0, n], c0[0, n], "_l0")
        hr, cr, _ = _unrolled_lstm(layer.params, x[n, ::-1], h0[1, n], c0[1, n],
                                   "_l0_reverse")
        np.testing.assert_allclose(out[n, :, :4], hf, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(out[n, :, 4:], hr[::-1], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h_n[:, n], [hf[-1], hr[-1]], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(c_n[:, n], [cf[-1], cr[-1]], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(trace.directions[0].c[n], cf, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(trace.directions[1].c[n], cr[::-1], rtol=1e-12, atol=1e-14)
        for k, name in enumerate("ifgo"):
            np.testing.assert_allclose(trace.directions[0].gates[name][n],
                                       [step[k] for step in gf], rtol=1e-12, atol=1e-14)


# -- torch's names, layouts, init and output structure ---------------------------------------

@pytest.mark.parametrize(("layer", "gates"), [
    (LSTM(5, 3, bidirectional=True, rng=0), 4), (RNN(5, 3, bidirectional=True, rng=0), 1),
])
def test_parameters_have_torchs_names_shapes_and_init_bounds(layer, gates):
    expected = {}
    for suffix in ("_l0", "_l0_reverse"):
        expected.update({"weight_ih" + suffix: (gates * 3, 5), "weight_hh" + suffix: (gates * 3, 3),
                         "bias_ih" + suffix: (gates * 3,), "bias_hh" + suffix: (gates * 3,)})
    assert {k: v.shape for k, v in layer.params.items()} == expected
    bound = 1 / math.sqrt(3)
    assert all(np.abs(p).max() <= bound and p.dtype == np.float32 for p in layer.params.values())


def test_initialisation_is_seeded():
    a, b = LSTM(4, 6, rng=11), LSTM(4, 6, rng=11)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_outputs_are_structured_like_torchs():
    rng = np.random.default_rng(0)
    lstm, rnn = LSTM(3, 4, bidirectional=True, rng=rng), RNN(3, 4, rng=rng)
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    (out, (h_n, c_n)), _ = lstm.forward(x)
    assert out.shape == (2, 6, 8) and h_n.shape == c_n.shape == (2, 2, 4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(h_n[0], out[:, -1, :4])    # forward ends at t = T-1
    np.testing.assert_array_equal(h_n[1], out[:, 0, 4:])     # reverse ends at t = 0
    (out, h_n), _ = rnn.forward(x)
    assert out.shape == (2, 6, 4) and h_n.shape == (1, 2, 4)
    seq_first = RNN(3, 4, batch_first=False, rng=0)
    seq_first.params = rnn.params
    (out_t, h_t), _ = seq_first.forward(x.transpose(1, 0, 2))
    np.testing.assert_allclose(out_t.transpose(1, 0, 2), out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_t, h_n, rtol=1e-5, atol=1e-6)


def test_every_accepted_form_of_dy_gives_the_same_gradients():
    rng = np.random.default_rng(1)
    layer = LSTM(2, 3, rng=rng, dtype=F64)
    (out, (h_n, c_n)), cache = layer.forward(rng.standard_normal((2, 4, 2)))
    g, gh, gc = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape), \
        rng.standard_normal(c_n.shape)
    nested, _ = layer.backward((g, (gh, gc)), cache)
    flat, _ = layer.backward((g, gh, gc), cache)
    np.testing.assert_array_equal(nested, flat)
    plain, _ = layer.backward(g, cache)
    none, _ = layer.backward((g, None, None), cache)
    np.testing.assert_array_equal(plain, none)


def test_output_only_mode_returns_the_sequence_and_keeps_the_states_in_the_cache():
    rng = np.random.default_rng(2)
    layer = LSTM(3, 4, output_only=True, rng=rng)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    out, cache = layer.forward(x)
    assert isinstance(out, np.ndarray) and out.shape == (2, 5, 4)
    np.testing.assert_array_equal(cache.h_n[0], out[:, -1])
    assert cache.c_n.shape == (1, 2, 4)
    assert layer.output_shape(x.shape) == out.shape


# -- the per-step trace ---------------------------------------------------------------------

def test_trace_records_every_steps_gates_states_and_their_gradients():
    rng = np.random.default_rng(4)
    layer = LSTM(2, 3, bidirectional=True, rng=rng, dtype=F64)
    x = rng.standard_normal((2, 5, 2))
    h0, c0 = rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 2, 3))
    (out, _), cache = layer.forward(x, h0, c0)
    g, gh, gc = (rng.standard_normal(s) for s in (out.shape, (2, 2, 3), (2, 2, 3)))
    trace = layer.record(cache, (g, (gh, gc)))
    (dx, dh0, dc0), _ = layer.backward((g, (gh, gc)), cache)
    fwd, rev = trace.directions
    assert not fwd.reverse and rev.reverse
    for d in trace.directions:
        assert set(d.gates) == {"i", "f", "g", "o"}
        assert all(a.shape == (2, 5, 3) for a in (d.h, d.c, d.grad_h, d.grad_c, *d.gates.values()))
        np.testing.assert_allclose(d.h, d.gates["o"] * np.tanh(d.c), rtol=1e-14)
    # The last step of each direction gets its output's gradient plus h_n's.
    np.testing.assert_allclose(fwd.grad_h[:, -1], g[:, -1, :3] + gh[0], rtol=1e-14)
    np.testing.assert_allclose(rev.grad_h[:, 0], g[:, 0, 3:] + gh[1], rtol=1e-14)
    # dL/dc_t flows to c_{t-1} through the forget gate; the first step's reaches c0.
    np.testing.assert_allclose(fwd.grad_c0, fwd.grad_c[:, 0] * fwd.gates["f"][:, 0], rtol=1e-13)
    np.testing.assert_allclose(np.stack([fwd.grad_h0, rev.grad_h0]), dh0, rtol=1e-14)
    np.testing.assert_allclose(np.stack([fwd.grad_c0, rev.grad_c0]), dc0, rtol=1e-14)
    assert layer.record(cache).directions[0].grad_h is None


@pytest.mark.parametrize("t", [0, 2, 4])
def test_traced_step_gradients_equal_finite_differences_of_the_rest_of_the_sequence(t):
    # Split the sequence after step t: the tail, started from (h_t, c_t), has
    # dL/dh_t = d<tail output>/d h0 + the gradient output[:, t] receives, and
    # dL/dc_t = d<tail output>/d c0 + dL/dh_t * o_t * (1 - tanh^2 c_t) (through h_t).
    rng = np.random.default_rng(9)
    layer = LSTM(2, 3, rng=rng, dtype=F64)
    x, g = rng.standard_normal((2, 6, 2)), rng.standard_normal((2, 6, 3))
    (out, _), cache = layer.forward(x)
    (d,) = layer.record(cache, g).directions
    (_, (h_t, c_t)), _ = layer.forward(x[:, : t + 1])
    h_t, c_t = h_t.copy(), c_t.copy()

    def tail_loss(_=None):
        (tail, _), _c = layer.forward(x[:, t + 1 :], h_t, c_t)
        return float((tail * g[:, t + 1 :]).sum())

    np.testing.assert_allclose(d.grad_h[:, t], numerical_gradient(tail_loss, h_t)[0] + g[:, t],
                               rtol=1e-6, atol=1e-8)
    through_h = d.grad_h[:, t] * d.gates["o"][:, t] * (1 - np.tanh(d.c[:, t]) ** 2)
    np.testing.assert_allclose(d.grad_c[:, t], numerical_gradient(tail_loss, c_t)[0] + through_h,
                               rtol=1e-6, atol=1e-8)


def test_rnn_trace_has_states_and_their_gradients_but_no_gates():
    rng = np.random.default_rng(5)
    layer = RNN(2, 3, rng=rng, dtype=F64)
    (out, _), cache = layer.forward(rng.standard_normal((1, 4, 2)))
    g = rng.standard_normal(out.shape)
    (d,) = layer.record(cache, g).directions
    assert d.gates == {} and d.c is None and d.grad_c is None
    np.testing.assert_array_equal(d.h, out)
    np.testing.assert_allclose(d.grad_h[:, -1], g[:, -1], rtol=1e-14)


# -- nodes and chains -----------------------------------------------------------------------

@pytest.mark.parametrize(("node", "shape"), [
    (ImageRows(), (2, 3, 4, 5)), (LastStep(), (3, 4, 5)), (FinalStates(3), (2, 4, 6)),
    (FinalStates(3), (2, 4, 3)),
])
def test_sequence_nodes_match_finite_differences(node, shape):
    rng = np.random.default_rng(6)
    check_layer(node, rng.standard_normal(shape), rng)


def test_image_rows_makes_one_step_per_row():
    x = np.arange(2 * 1 * 3 * 4, dtype=F64).reshape(2, 1, 3, 4)
    rows, _ = ImageRows().forward(x)
    np.testing.assert_array_equal(rows, x[:, 0])


def test_a_chain_of_image_rows_lstm_last_step_linear_matches_finite_differences():
    rng = np.random.default_rng(8)
    net = Sequential([ImageRows(), LSTM(4, 3, output_only=True, rng=rng, dtype=F64),
                      LastStep(), Linear(3, 2, rng=rng, dtype=F64)])
    x = rng.standard_normal((2, 1, 5, 4))
    g = rng.standard_normal((2, 2))
    logits, caches = net.forward(x)
    dx, grads = net.backward(g, caches)

    def loss(_=None):
        return float((net.forward(x)[0] * g).sum())

    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-8)
    lstm = net.layers[1]
    np.testing.assert_allclose(grads[1]["weight_hh_l0"],
                               numerical_gradient(loss, lstm.params["weight_hh_l0"]),
                               rtol=1e-6, atol=1e-8)


def test_last_step_reads_the_output_of_a_torch_style_tuple():
    layer = LSTM(2, 3, rng=0)
    y, _ = layer.forward(np.ones((1, 4, 2), np.float32))
    last, _ = LastStep().forward(y)
    np.testing.assert_array_equal(last, y[0][:, -1])


# -- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "message"), [
    (lambda: RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: LSTM(0, 4), "input_size"),
    (lambda: LSTM(3, -1), "hidden_size"),
    (lambda: LSTM(3, 2).forward(np.zeros((2, 5, 4))), "I = 3"),
    (lambda: LSTM(3, 2).forward(np.zeros((2, 0, 3))), "non-empty"),
    (lambda: LSTM(3, 2).forward(np.zeros((5, 3))), "(N, T, I)"),
    (lambda: LSTM(3, 2).forward(np.zeros((2, 5, 3)), np.zeros((1, 2, 3))), "h0"),
    (lambda: LSTM(3, 2, bidirectional=True).forward(np.zeros((2, 5, 3)), None,
                                                    np.zeros((1, 2, 2))), "c0"),
])
def test_bad_sizes_and_shapes_raise_a_clear_value_error(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


@given(
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    bi=st.booleans(), batch_first=st.booleans(), lstm=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_any_input_shape_gives_the_documented_output_or_a_value_error(
    shape, bi, batch_first, lstm
):
    layer = (LSTM if lstm else RNN)(3, 2, bidirectional=bi, batch_first=batch_first, rng=0)
    x = np.zeros(shape, dtype=np.float32)
    try:
        (out, _), _ = layer.forward(x)
    except ValueError as exc:
        assert "expects" in str(exc)
        assert len(shape) != 3 or shape[2] != 3 or 0 in shape
    else:
        assert out.shape == (*shape[:2], 2 * (2 if bi else 1))
