"""A recurrent layer's pass with a time axis -> the `recurrent` object of its inspect layer.

Always present on an RNN or LSTM layer of the inspect response (a convolutional model never
has one). What it carries follows the include parts the caller chose:

- always: `kind`, `hidden_size`, `steps` (T) and one entry per direction ("forward", then
  "reverse" for a bidirectional layer);
- `output` (alias `activations`): per direction `h` (T, H) = h_t and `h0` (H,); for an
  LSTM also `c` (T, H), `c0` (H,) and `gates` {"i", "f", "g", "o"} (T, H) each (i, f, o
  after the sigmoid, g after tanh); and the layer's final states `h_n` (D, H), `c_n` (D, H)
  (LSTM);
- `grad_output` (alias `gradients`): per direction `grad_h` (T, H) = dL/dh_t (total: from
  the output at t and from step t+1), `grad_h_norm` (T,) = its Euclidean norm per step,
  `grad_h0` (H,); for an LSTM also `grad_c` (T, H) = dL/dc_t (total: through h_t and
  through c_{t+1}), `grad_c_norm` (T,), `grad_c0` (H,).

Every per-step array is indexed by input position t, the reverse direction's too (its h[t]
is the state after reading rows T-1 down to t, as in torch's output[:, t, H:]). The batch
axis is dropped, as everywhere in the response. Norms are computed in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.nn.recurrent import GATES, RecurrentTrace


def step_norms(grad: np.ndarray) -> np.ndarray:
    """(T, H) per-step gradients -> (T,) float64 Euclidean norms (no BLAS: exact sums)."""
    g = np.asarray(grad, dtype=np.float64)
    return np.sqrt(np.square(g).sum(axis=-1))


def encode_recurrent(
    trace: RecurrentTrace, name: str, fields: set[str],
    encode: Callable[[np.ndarray, str], dict],
) -> dict[str, Any]:
    """A RecurrentTrace of ONE item (batch of 1) -> the layer's `recurrent` object.

    fields are the layer fields `include` selects: "output" brings the forward tensors,
    "grad_output" the backward ones. encode(array, tensor_name) is the response's Tensor
    encoder (app.services.encoding)."""
    forward, backward = "output" in fields, "grad_output" in fields
    directions = []
    for dt in trace.directions:
        label = "reverse" if dt.reverse else "forward"
        prefix = f"{name}.recurrent.{label}"
        entry: dict[str, Any] = {"direction": label}
        if forward:
            entry["h"] = encode(dt.h[0], f"{prefix}.h")
            entry["h0"] = encode(dt.h0[0], f"{prefix}.h0")
            if dt.c is not None:
                entry["c"] = encode(dt.c[0], f"{prefix}.c")
                entry["c0"] = encode(dt.c0[0], f"{prefix}.c0")
            if dt.gates:
                entry["gates"] = {
                    g: encode(dt.gates[g][0], f"{prefix}.gates.{g}") for g in GATES
                }
        if backward and dt.grad_h is not None:
            entry["grad_h"] = encode(dt.grad_h[0], f"{prefix}.grad_h")
            entry["grad_h_norm"] = encode(step_norms(dt.grad_h[0]), f"{prefix}.grad_h_norm")
            entry["grad_h0"] = encode(dt.grad_h0[0], f"{prefix}.grad_h0")
            if dt.grad_c is not None:
                entry["grad_c"] = encode(dt.grad_c[0], f"{prefix}.grad_c")
                entry["grad_c_norm"] = encode(step_norms(dt.grad_c[0]),
                                              f"{prefix}.grad_c_norm")
                entry["grad_c0"] = encode(dt.grad_c0[0], f"{prefix}.grad_c0")
        directions.append(entry)
    body: dict[str, Any] = {
        "kind": trace.kind,
        "hidden_size": trace.hidden_size,
        "steps": int(trace.directions[0].h.shape[1]),
        "directions": directions,
    }
    if forward:
        body["h_n"] = encode(trace.h_n[:, 0], f"{name}.recurrent.h_n")
        if trace.c_n is not None:
            body["c_n"] = encode(trace.c_n[:, 0], f"{name}.recurrent.c_n")
    return body
