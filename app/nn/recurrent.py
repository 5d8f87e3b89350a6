"""Recurrent layers (RNN, LSTM, bidirectional), forward and backward through time, in NumPy.

Torch's names, layouts, initialisation and outputs (one layer each; stack them as nodes):

    params["weight_ih_l0"] (G*H, I), ["weight_hh_l0"] (G*H, H), ["bias_ih_l0"] (G*H,),
    ["bias_hh_l0"] (G*H,), and the same with the suffix "_reverse" for the backward direction;
    G = 4 for an LSTM (gate order i, f, g, o), 1 for an RNN. Init U(-1/sqrt(H), 1/sqrt(H)).

The layer contract, torch-like (default, `output_only=False`):

    (output, (h_n, c_n)), cache = lstm.forward(x, h0=None, c0=None)
    (output, h_n), cache = rnn.forward(x, h0=None)
    dx, grads = layer.backward(dy, cache)

x is (N, T, I) with batch_first (else (T, N, I)); output (N, T, D*H) (else (T, N, D*H)),
the forward direction's h_t in [..., :H] and the backward direction's in [..., H:]; h_n and
c_n are (D, N, H), h0 and c0 too (zeros when omitted). dy is d_output alone (the common case:
nothing reads h_n), or (d_output, d_h_n) for an RNN, (d_output, (d_h_n, d_c_n)) or
(d_output, d_h_n, d_c_n) for an LSTM (None for a zero gradient). When the caller gave an
initial state, dx is a tuple: (dx, dh0) for an RNN, (dx, dh0, dc0) for an LSTM (both, when
either h0 or c0 was given); otherwise dx is the array alone.

`layer.record(cache, dy=None) -> RecurrentTrace`: the pass with a time axis, per direction
the gates i, f, g, o (LSTM), h_t, c_t and, given dy, dL/dh_t and dL/dc_t, each (N, T, H).

As a graph node (`output_only=True`) forward(x) returns `output` alone; h_n and c_n stay in
the cache (`cache.h_n`, `cache.c_n`) and in `record`'s trace. `LastStep` then picks
output[:, -1] for a classifier head, and `ImageRows` feeds an image to it row by row:
Sequential([ImageRows(), LSTM(28, 64, output_only=True), LastStep(), Linear(64, 10)]).
Those nodes live in app.nn.recurrent_nodes and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.nn.base import Layer, _positive_sizes, _rng, _uniform_init
from app.nn.recurrent_nodes import FinalStates, ImageRows, LastStep

__all__ = [
    "GATES", "LSTM", "RECURRENT_LAYER_TYPES", "RNN", "DirectionTrace", "FinalStates",
    "ImageRows", "LastStep", "RecurrentCache", "RecurrentTrace",
]

GATES = ("i", "f", "g", "o")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow for large |a|."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


@dataclass
class DirectionCache:
    """One direction's forward pass, in processing order (reversed time for "_reverse")."""

    x: np.ndarray          # (N, T, I) the input in processing order
    h0: np.ndarray         # (N, H)
    c0: np.ndarray | None  # (N, H), LSTM only
    h: np.ndarray          # (N, T, H) h_t
    gates: np.ndarray      # (N, T, G*H) activated gates (LSTM) or empty (RNN)
    c: np.ndarray | None   # (N, T, H) c_t, LSTM only
    tanh_c: np.ndarray | None


@dataclass
class RecurrentCache:
    """What backward needs, and the final states: h_n, c_n (D, N, H) (c_n None for an RNN)."""

    directions: list[DirectionCache]
    h_n: np.ndarray
    c_n: np.ndarray | None
    state_given: bool


@dataclass
class DirectionTrace:
    """One direction of a recurrent layer over time. Every per-step array is (N, T, H) and
    indexed by the input position t (for the reverse direction too: its h[:, t] is the
    state after reading x_{T-1}..x_t, as in torch's output[:, t, H:]).

    gates: LSTM "i", "f", "g", "o" activations (empty for an RNN); h: h_t; c: c_t (LSTM);
    grad_h: dL/dh_t, total (from output[:, t] and from step t+1); grad_c: dL/dc_t, total
    (through h_t and through c_{t+1}); grad_h0, grad_c0 (N, H): the initial state's.
    Gradients are None until a backward pass was recorded.
    """

    reverse: bool
    h0: np.ndarray
    c0: np.ndarray | None
    h: np.ndarray
    c: np.ndarray | None = None
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    grad_h: np.ndarray | None = None
    grad_c: np.ndarray | None = None
    grad_h0: np.ndarray | None = None
    grad_c0: np.ndarray | None = None


@dataclass
class RecurrentTrace:
    """A recurrent layer's pass with a time axis: one DirectionTrace per direction
    (forward first), and the final states h_n, c_n (D, N, H)."""

    kind: str
    hidden_size: int
    directions: list[DirectionTrace]
    h_n: np.ndarray
    c_n: np.ndarray | None


class _Recurrent(Layer):
    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = True,
                 bidirectional: bool = False, output_only: bool = False, rng=None,
                 dtype=np.float32):
        super().__init__()
        self.input_size, self.hidden_size = _positive_sizes(
            input_size=input_size, hidden_size=hidden_size
        )
        self.batch_first, self.bidirectional = bool(batch_first), bool(bidirectional)
        self.output_only = bool(output_only)
        rng = _rng(rng)
        g, h, i = self.gate_count, self.hidden_size, self.input_size
        for suffix in self._suffixes:
            for name, shape in (("weight_ih", (g * h, i)), ("weight_hh", (g * h, h)),
                                ("bias_ih", (g * h,)), ("bias_hh", (g * h,))):
                self.params[name + suffix] = _uniform_init(rng, shape, h, dtype)

    @property
    def _suffixes(self) -> tuple[str, ...]:
        return ("_l0", "_l0_reverse") if self.bidirectional else ("_l0",)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def config(self) -> dict[str, Any]:
        return {
            "input_size": self.input_size, "hidden_size": self.hidden_size,
            "batch_first": self.batch_first, "bidirectional": self.bidirectional,
            "output_only": self.output_only,
        }

    def output_shape(self, input_shape):
        return (*input_shape[:2], self.num_directions * self.hidden_size)


    def _batch_first(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size or 0 in x.shape:
            layout = "(N, T, I)" if self.batch_first else "(T, N, I)"
            raise ValueError(
                f"{self.kind} expects a non-empty {layout} input with I = {self.input_size}, "
                f"got shape {x.shape}"
            )
        return x if self.batch_first else x.transpose(1, 0, 2)

    def _state(self, state, n: int, dtype, name: str) -> np.ndarray:
        shape = (self.num_directions, n, self.hidden_size)
        if state is None:
            return np.zeros(shape, dtype=dtype)
        state = np.asarray(state)
        if state.shape != shape:
            raise ValueError(f"{name} must be shaped {shape} (D, N, H), got {state.shape}")
        return state


    def _forward(self, x, h0, c0):
        xb = self._batch_first(x)
        n = xb.shape[0]
        dtype = np.result_type(xb, self.params["weight_ih_l0"])
        h0s = self._state(h0, n, dtype, "h0")
        c0s = self._state(c0, n, dtype, "c0") if self.gate_count == 4 else None
        outputs, caches = [], []
        for d, suffix in enumerate(self._suffixes):
            xd = xb[:, ::-1] if d else xb
            w_ih, b = self.params["weight_ih" + suffix], self.params["bias_ih" + suffix]
            # Every step's input projection in one matmul: (N, T, I) @ (I, G*H).
            xw = xd @ w_ih.T + (b + self.params["bias_hh" + suffix])
            cache = self._run(xd, xw, self.params["weight_hh" + suffix], h0s[d],
                              None if c0s is None else c0s[d])
            caches.append(cache)
            outputs.append(cache.h[:, ::-1] if d else cache.h)
        output = np.concatenate(outputs, axis=2) if len(outputs) > 1 else outputs[0]
        h_n = np.stack([c.h[:, -1] for c in caches])
        c_n = np.stack([c.c[:, -1] for c in caches]) if self.gate_count == 4 else None
        if not self.batch_first:
            output = output.transpose(1, 0, 2)
        state_given = h0 is not None or c0 is not None
        return output, RecurrentCache(caches, h_n, c_n, state_given)

    def _run(self, x, xw, w_hh, h0, c0) -> DirectionCache:
        raise NotImplementedError

    def forward(self, x, h0=None, c0=None):
        output, cache = self._forward(x, h0, c0)
        if self.output_only:
            return output, cache
        state = cache.h_n if self.gate_count == 1 else (cache.h_n, cache.c_n)
        return (output, state), cache


    def _split_dy(self, dy):
        """(d_output batch-first, d_h_n or None, d_c_n or None) from any accepted form."""
        dh_n = dc_n = None
        if isinstance(dy, tuple):
            d_out, *rest = dy
            if len(rest) == 1 and isinstance(rest[0], tuple):
                rest = list(rest[0])
            if len(rest) > (2 if self.gate_count == 4 else 1):
                raise ValueError(f"{self.kind}: too many gradients in dy")
            dh_n = rest[0] if rest else None
            dc_n = rest[1] if len(rest) > 1 else None
        else:
            d_out = dy
        d_out = np.asarray(d_out)
        if not self.batch_first:
            d_out = d_out.transpose(1, 0, 2)
        return d_out, dh_n, dc_n

    def _backward(self, dy, cache: RecurrentCache):
        d_out, dh_n, dc_n = self._split_dy(dy)
        h = self.hidden_size
        grads, steps = {}, []
        dx = None
        for d, (suffix, dc) in enumerate(zip(self._suffixes, cache.directions, strict=True)):
            dout = d_out[:, :, d * h : (d + 1) * h]
            if d:
                dout = dout[:, ::-1]
            w_hh = self.params["weight_hh" + suffix]
            da, grad_h, grad_c, dh0, dc0 = self._run_backward(
                dc, dout, w_hh,
                None if dh_n is None else dh_n[d], None if dc_n is None else dc_n[d],
            )
            flat = da.reshape(-1, da.shape[2])
            h_prev = np.concatenate([dc.h0[:, None], dc.h[:, :-1]], axis=1)
            w_ih = self.params["weight_ih" + suffix]
            grads["weight_ih" + suffix] = (flat.T @ dc.x.reshape(-1, dc.x.shape[2])).astype(
                w_ih.dtype, copy=False)
            grads["weight_hh" + suffix] = (flat.T @ h_prev.reshape(-1, h)).astype(
                w_hh.dtype, copy=False)
            grads["bias_ih" + suffix] = flat.sum(axis=0).astype(w_ih.dtype, copy=False)
            grads["bias_hh" + suffix] = grads["bias_ih" + suffix].copy()
            dxd = da @ w_ih
            dx = (dxd[:, ::-1] if d else dxd) if dx is None else dx + dxd[:, ::-1]
            steps.append((grad_h, grad_c, dh0, dc0))
        if not self.batch_first:
            dx = dx.transpose(1, 0, 2)
        dx = np.ascontiguousarray(dx)
        return dx, grads, steps

    def _run_backward(self, dc: DirectionCache, dout, w_hh, dh_n, dc_n):
        raise NotImplementedError

    def backward(self, dy, cache: RecurrentCache):
        dx, grads, steps = self._backward(dy, cache)
        if not cache.state_given:
            return dx, grads
        dh0 = np.stack([s[2] for s in steps])
        if self.gate_count == 1:
            return (dx, dh0), grads
        return (dx, dh0, np.stack([s[3] for s in steps])), grads


    def record(self, cache: RecurrentCache, dy=None) -> RecurrentTrace:
        """The pass of `cache` with a time axis; with dy (any form backward accepts), also
        every step's dL/dh_t and dL/dc_t."""
        steps = self._backward(dy, cache)[2] if dy is not None else None
        directions = []
        for d, dc in enumerate(cache.directions):

            def flip(a, d=d):
                return None if a is None else (a[:, ::-1] if d else a)

            h = self.hidden_size
            gates = {}
            if self.gate_count == 4:
                gates = {name: flip(dc.gates[:, :, k * h : (k + 1) * h])
                         for k, name in enumerate(GATES)}
            trace = DirectionTrace(reverse=bool(d), h0=dc.h0, c0=dc.c0, h=flip(dc.h),
                                   c=flip(dc.c), gates=gates)
            if steps is not None:
                grad_h, grad_c, dh0, dc0 = steps[d]
                trace.grad_h, trace.grad_c = flip(grad_h), flip(grad_c)
                trace.grad_h0, trace.grad_c0 = dh0, dc0
            directions.append(trace)
        return RecurrentTrace(self.kind, self.hidden_size, directions, cache.h_n, cache.c_n)


class RNN(_Recurrent):
    """Elman RNN, like torch.nn.RNN with num_layers=1:
    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.
    x (N, T, I) -> output (N, T, D*H), h_n (D, N, H). See the module docstring."""

    kind = "rnn"
    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 batch_first: bool = True, bidirectional: bool = False,
                 output_only: bool = False, rng=None, dtype=np.float32):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, batch_first, bidirectional, output_only,
                         rng, dtype)

    def config(self):
        return {**super().config(), "nonlinearity": self.nonlinearity}

    def forward(self, x, h0=None):
        return super().forward(x, h0)

    def _run(self, x, xw, w_hh, h0, c0):
        n, t, _ = xw.shape
        h = np.empty((n, t, self.hidden_size), dtype=xw.dtype)
        prev = h0
        for step in range(t):
            a = xw[:, step] + prev @ w_hh.T
            prev = np.tanh(a) if self.nonlinearity == "tanh" else np.maximum(a, 0)
            h[:, step] = prev
        return DirectionCache(x, h0, None, h, np.empty((n, t, 0), xw.dtype), None, None)

    def _run_backward(self, dc, dout, w_hh, dh_n, dc_n):
        n, t, hs = dc.h.shape
        da = np.empty_like(dc.h, dtype=np.result_type(dc.h, dout))
        grad_h = np.empty_like(da)
        dh_next = np.zeros((n, hs), da.dtype) if dh_n is None else np.asarray(dh_n)
        for step in range(t - 1, -1, -1):
            dh = dout[:, step] + dh_next
            grad_h[:, step] = dh
            h = dc.h[:, step]
            da[:, step] = dh * (1 - h * h) if self.nonlinearity == "tanh" else dh * (h > 0)
            dh_next = da[:, step] @ w_hh
        return da, grad_h, None, dh_next, None


class LSTM(_Recurrent):
    """Long short-term memory, like torch.nn.LSTM with num_layers=1. Per step, gates from
    a = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh split as (i, f, g, o):
    i, f, o = sigmoid, g = tanh; c_t = f*c_{t-1} + i*g; h_t = o*tanh(c_t).
    x (N, T, I) -> output (N, T, D*H), (h_n, c_n) (D, N, H) each. See the module docstring."""

    kind = "lstm"
    gate_count = 4

    def _run(self, x, xw, w_hh, h0, c0):
        n, t, _ = xw.shape
        hs = self.hidden_size
        gates = np.empty_like(xw)
        h = np.empty((n, t, hs), dtype=xw.dtype)
        c = np.empty_like(h)
        tanh_c = np.empty_like(h)
        h_prev, c_prev = h0, c0
        for step in range(t):
            a = xw[:, step] + h_prev @ w_hh.T
            gate = gates[:, step]
            gate[:, : 2 * hs] = _sigmoid(a[:, : 2 * hs])
            gate[:, 2 * hs : 3 * hs] = np.tanh(a[:, 2 * hs : 3 * hs])
            gate[:, 3 * hs :] = _sigmoid(a[:, 3 * hs :])
            i, f, g, o = (gate[:, k * hs : (k + 1) * hs] for k in range(4))
            c_prev = f * c_prev + i * g
            c[:, step] = c_prev
            tanh_c[:, step] = np.tanh(c_prev)
            h_prev = o * tanh_c[:, step]
            h[:, step] = h_prev
        return DirectionCache(x, h0, c0, h, gates, c, tanh_c)

    def _run_backward(self, dc, dout, w_hh, dh_n, dc_n):
        n, t, hs = dc.h.shape
        dtype = np.result_type(dc.h, dout)
        da = np.empty((n, t, 4 * hs), dtype=dtype)
        grad_h, grad_c = np.empty((n, t, hs), dtype), np.empty((n, t, hs), dtype)
        dh_next = np.zeros((n, hs), dtype) if dh_n is None else np.asarray(dh_n)
        dc_next = np.zeros((n, hs), dtype) if dc_n is None else np.asarray(dc_n)
        for step in range(t - 1, -1, -1):
            i, f, g, o = (dc.gates[:, step, k * hs : (k + 1) * hs] for k in range(4))
            tc = dc.tanh_c[:, step]
            c_prev = dc.c[:, step - 1] if step else dc.c0
            dh = dout[:, step] + dh_next
            dcell = dc_next + dh * o * (1 - tc * tc)
            grad_h[:, step], grad_c[:, step] = dh, dcell
            a = da[:, step]
            a[:, :hs] = dcell * g * i * (1 - i)
            a[:, hs : 2 * hs] = dcell * c_prev * f * (1 - f)
            a[:, 2 * hs : 3 * hs] = dcell * i * (1 - g * g)
            a[:, 3 * hs :] = dh * tc * o * (1 - o)
            dc_next = dcell * f
            dh_next = a @ w_hh
        return da, grad_h, grad_c, dh_next, dc_next



RECURRENT_LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (RNN, LSTM, ImageRows, LastStep, FinalStates)
}
