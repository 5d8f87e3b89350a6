"""The `recurrent` object of an inspect layer: an RNN's or LSTM's pass with a time axis."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.schemas.tensor import Tensor

_STEPS = "(T, H): one row per time step t (the input's row t), one column per unit."


class RecurrentGates(BaseModel):
    """An LSTM's gate activations, each (T, H): `i` input, `f` forget and `o` output gates
    (after the sigmoid, in (0, 1)); `g` the cell candidate (after tanh, in (-1, 1))."""

    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor


class RecurrentDirection(BaseModel):
    """One direction of a recurrent layer over time. Per-step tensors are indexed by input
    position t for the reverse direction too (its h[t] is the state after reading steps
    T-1 down to t). c_t = f*c_{t-1} + i*g and h_t = o*tanh(c_t) (LSTM);
    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (tanh RNN)."""

    direction: Literal["forward", "reverse"]
    h: Tensor | None = Field(None, description=f"h_t, {_STEPS} (include `activations`).")
    h0: Tensor | None = Field(None, description="The initial state h_0 (H,): zeros.")
    c: Tensor | None = Field(None, description=f"LSTM: the cell state c_t, {_STEPS}")
    c0: Tensor | None = Field(None, description="LSTM: the initial cell state c_0 (H,).")
    gates: RecurrentGates | None = Field(None, description="LSTM: i, f, g, o, each (T, H).")
    grad_h: Tensor | None = Field(
        None, description=f"dL/dh_t, {_STEPS} The total: from the layer's output at t and "
        "from step t+1 (include `gradients`).",
    )
    grad_h_norm: Tensor | None = Field(
        None, description="float64 (T,): the Euclidean norm of dL/dh_t per step; how the "
        "gradient fades (vanishes) or grows going back in time.",
    )
    grad_h0: Tensor | None = Field(None, description="dL/dh_0 (H,).")
    grad_c: Tensor | None = Field(
        None, description=f"LSTM: dL/dc_t, {_STEPS} The total: through h_t and through "
        "c_{t+1} (that part is f_{t+1} * dL/dc_{t+1}, the forget gate's product).",
    )
    grad_c_norm: Tensor | None = Field(None, description="LSTM: float64 (T,), ||dL/dc_t||.")
    grad_c0: Tensor | None = Field(None, description="LSTM: dL/dc_0 (H,).")


class RecurrentTrace(BaseModel):
    """An RNN's or LSTM's pass with a time axis. Present on every recurrent layer of the
    response (never on other layers); its forward tensors come with the include part
    `activations`, its gradients with `gradients`. The batch axis is dropped."""

    kind: Literal["rnn", "lstm"]
    hidden_size: int = Field(description="H, units per direction.")
    steps: int = Field(description="T, time steps (28 rows for a digit read row by row).")
    directions: list[RecurrentDirection] = Field(
        description="`forward`, then `reverse` for a bidirectional layer (whose output is "
        "the two directions' h_t side by side: [forward | reverse], 2H features)."
    )
    h_n: Tensor | None = Field(None, description="(D, H): each direction's final state.")
    c_n: Tensor | None = Field(None, description="LSTM: (D, H), the final cell states.")
