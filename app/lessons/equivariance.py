"""Translation equivariance and invariance of a CNN, measured layer by layer.

A layer f is equivariant to a shift by s when f(shift(x, s)) = shift(f(x), s / J), with J the
layer's jump (input pixels between neighbouring outputs): a convolution with stride 1 moves
its map along with the input. Once strides or pooling have made J = 2, a 1-pixel input shift
is half an output position, which no map shift represents: those shifts are non-integer
there. Near the borders the equality fails too (zero padding, and content shifted in or out),
so the error is measured on the interior: the outputs whose whole receptive field reads
pixels that are real, shifted content in both images. Invariance, f(shift(x)) = f(x), is what
a classifier wants at the end; pooling buys part of it by keeping a maximum or a mean over a
window, which a small shift changes little.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.models.registry import Model
from app.nn.losses import softmax
from app.nn.receptive import network_receptive_fields


def shift_maps(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(..., H, W) moved down by dy and right by dx (negative: up, left); what leaves is lost,
    what comes in is 0."""
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = \
        x[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


def interior(n_out: int, n_in: int, size: int, jump: int, padding: int, shift: int
             ) -> np.ndarray:
    """Bool (n_out,): outputs whose field [i*jump - padding, + size - 1] lies inside
    [max(0, shift), min(n_in, n_in + shift)): real, shifted pixels in both images."""
    first = np.arange(n_out) * jump - padding
    return (first >= max(0, shift)) & (first + size - 1 <= min(n_in, n_in + shift) - 1)


def _relative(diff: np.ndarray, ref: np.ndarray) -> float:
    norm = float(np.linalg.norm(ref))
    return float(np.linalg.norm(diff)) / norm if norm > 0 else 0.0


def layer_outputs(model: Model, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's output (float64) for x (1, C, H, W)."""
    outputs, h = [], x
    for _, layer in model.network:
        h = layer.forward(h)[0]
        outputs.append(h.astype(np.float64))
    return outputs


def equivariance(model: Model, image: np.ndarray, dy: int, dx: int) -> dict[str, Any]:
    """Per layer of `model` for a digit (28, 28) shifted by (dy, dx): the jump, the shift in
    that layer's positions, whether it is a whole number of positions, the equivariance error
    ‖f(shift x) − shift(f x)‖ / ‖f x‖ on the interior (None where the shift is not whole, or
    the layer has no map), the same over the whole map, the interior's size, and the
    invariance error ‖f(shift x) − f(x)‖ / ‖f x‖. Plus both inputs' outputs (for the maps)."""
    x = model.prepare(np.asarray(image)[None])
    shifted = shift_maps(x, dy, dx)
    plain, moved = layer_outputs(model, x), layer_outputs(model, shifted)
    fields = network_receptive_fields(model.network, x.shape[2:])
    rows = []
    for (name, layer), f, g, field in zip(model.network, plain, moved, fields, strict=True):
        row: dict[str, Any] = {"name": name, "kind": layer.kind,
                               "invariance_error": _relative(g - f, f)}
        spatial = f.ndim == 4 and field is not None and min(field["jump"]) > 0
        row.update(jump=list(field["jump"]) if spatial else None, shift=None, whole=False,
                   equivariance_error=None, equivariance_error_full=None, interior=None)
        if spatial:
            jh, jw = field["jump"]
            row["shift"] = [dy / jh, dx / jw]
            row["whole"] = dy % jh == 0 and dx % jw == 0
        if spatial and row["whole"]:
            sy, sx = dy // jh, dx // jw
            expected = shift_maps(f, sy, sx)
            rows_in = interior(f.shape[2], x.shape[2], field["size"][0], jh,
                               field["padding"][0], dy)
            cols_in = interior(f.shape[3], x.shape[3], field["size"][1], jw,
                               field["padding"][1], dx)
            mask = rows_in[:, None] & cols_in[None, :]
            row["interior"] = [int(rows_in.sum()), int(cols_in.sum())]
            row["equivariance_error_full"] = _relative(g - expected, f)
            if mask.any():
                row["equivariance_error"] = _relative((g - expected)[..., mask],
                                                      expected[..., mask])
        rows.append(row)
    return {"layers": rows, "plain": plain, "moved": moved, "input": x, "shifted": shifted}


def prediction_curve(model: Model, image: np.ndarray, label: int, shifts: range,
                     axis: str) -> list[dict[str, Any]]:
    """For each shift along `axis` ("x": right, "y": down), the prediction, its probability and
    the true label's probability: one batched forward pass."""
    x = model.prepare(np.asarray(image)[None])
    batch = np.concatenate([shift_maps(x, s if axis == "y" else 0, s if axis == "x" else 0)
                            for s in shifts])
    probs = softmax(model.network.predict(batch).astype(np.float64))
    return [{"shift": s, "prediction": int(p.argmax()), "probability": float(p.max()),
             "label_probability": float(p[label])} for s, p in zip(shifts, probs, strict=True)]
