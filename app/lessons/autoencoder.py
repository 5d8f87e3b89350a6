"""The autoencoder lesson: a digit through the bundled convolutional autoencoder (a trace with
the reconstruction head), and the transposed convolution taken apart.

A ConvTranspose2d with kernel k, stride s and padding p maps an input x (H x W) to
y (H_out x W_out), H_out = (H - 1)s - 2p + k: input value x[i, j] scatters the copy
x[i, j] * w into y with its top-left tap at (i*s - p, j*s - p), and where copies overlap
they add. How many (input, tap) pairs land on an output pixel is the overlap count; when k
is not divisible by s the counts alternate (for k=3, s=2: 1, 2, 1, 2, ... per axis, so
1, 2 and 4 in 2-D): the checkerboard that such a layer paints before it has learned to
hide it. With k divisible by s every interior pixel receives (k/s)^2 taps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.models.autoencoder import DECODER, ENCODER, load_autoencoder
from app.nn.conv import ConvTranspose2d


def transposed_output_side(n: int, k: int, s: int, p: int = 0, op: int = 0) -> int:
    """H_out = (n - 1)s - 2p + k + output_padding."""
    return (n - 1) * s - 2 * p + k + op


def overlap_counts(n: int, k: int, s: int, p: int = 0, op: int = 0) -> np.ndarray:
    """How many (input pixel, kernel tap) pairs land on each output pixel of a k x k,
    stride-s, padding-p (output_padding op) transposed convolution of an n x n input:
    (H_out, H_out) ints. Per axis it is the count of (i, a) with i*s - p + a = o; the 2-D
    count is the product."""
    side = transposed_output_side(n, k, s, p, op)
    axis = np.zeros(side + 2 * p, dtype=np.int64)
    for i in range(n):  # n stamps per axis, not a loop over pixels
        axis[i * s : i * s + k] += 1
    axis = axis[p : p + side]
    return np.outer(axis, axis)


def scatter_example(n: int, k: int, s: int, p: int, seed: int) -> dict[str, Any]:
    """A seeded n x n input of small integers and a k x k kernel of small integers: each
    input's copy x[i, j] * w and where it lands, their sum, the overlap counts, and the
    core's ConvTranspose2d on the same numbers (equal to the sum)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 4, (n, n)).astype(np.float64)
    w = rng.integers(-2, 3, (k, k)).astype(np.float64)
    side = transposed_output_side(n, k, s, p)
    full = np.zeros((side + 2 * p, side + 2 * p))
    copies = []
    for i in range(n):
        for j in range(n):
            full[i * s : i * s + k, j * s : j * s + k] += x[i, j] * w
            copies.append({"row": i, "col": j, "value": float(x[i, j]),
                           "top": i * s - p, "left": j * s - p})
    total = full[p : p + side, p : p + side]
    layer = ConvTranspose2d(1, 1, k, stride=s, padding=p, bias=False, dtype=np.float64)
    layer.params["weight"] = w[None, None].copy()
    core = layer.forward(x[None, None])[0][0, 0]
    return {"n": n, "kernel_size": k, "stride": s, "padding": p, "seed": seed,
            "input": x, "kernel": w, "copies": copies, "output": total, "core_output": core,
            "overlap_counts": overlap_counts(n, k, s, p),
            "divisible": k % s == 0}


def _planes(array: np.ndarray) -> list:
    return np.asarray(array[0], dtype=np.float64).tolist()


def inspect_digit(image: np.ndarray) -> dict[str, Any]:
    """One trace of the autoencoder on a digit (28, 28) in [0, 1] or uint8: every layer's
    maps and deltas, its parameter gradients, the reconstruction, the per-pixel error map,
    the MSE and the input gradient."""
    network, card = load_autoencoder()
    arr = np.asarray(image)
    x = (arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32))
    trace = network.trace(x[None, None], head="reconstruction")
    layers = []
    for node in trace.layers:
        layers.append({
            "name": node.name, "kind": node.kind, "config": node.config,
            "part": "encoder" if node.name in ENCODER else "decoder",
            "output_shape": list(node.output_shape[1:]),
            "output": _planes(node.output), "grad_output": _planes(node.grad_output),
            "params": {k: np.asarray(v, dtype=np.float64).tolist()
                       for k, v in node.params.items()},
            "grads": {k: np.asarray(v, dtype=np.float64).tolist()
                      for k, v in node.grads.items()},
        })
    return {
        "model": card["id"], "head": trace.head, "loss": trace.loss,
        "heldout_mse": card["heldout"]["mse"],
        "encoder": list(ENCODER), "decoder": list(DECODER),
        "input": _planes(trace.input)[0], "reconstruction": _planes(trace.reconstruction)[0],
        "error_map": _planes(trace.error_map)[0], "input_grad": _planes(trace.input_grad)[0],
        "layers": layers,
    }


def model_scatter(result: dict[str, Any], layer: str, channel: int, row: int, col: int,
                  out_channel: int) -> dict[str, Any]:
    """The model's own transposed convolution `layer` at one input value: the value
    x[channel, row, col] of the layer's input, the kernel slice w[channel, out_channel], the
    copy it scatters, where the copy's top-left tap lands, and the layer's overlap counts."""
    network, _ = load_autoencoder()
    index = network.names.index(layer)
    conv = network.layers[index]
    source = network.inputs[index][0]
    x = np.asarray(next(r["output"] for r in result["layers"] if r["name"] == source))
    (k, _), (s, _), (p, _) = conv.kernel_size, conv.stride, conv.padding
    value = float(x[channel, row, col])
    kernel = np.asarray(conv.params["weight"][channel, out_channel], dtype=np.float64)
    counts = overlap_counts(x.shape[1], k, s, p, conv.output_padding[0])
    out_side = counts.shape[0]
    return {"layer": layer, "channel": channel, "out_channel": out_channel, "row": row,
            "col": col, "value": value, "kernel": kernel.tolist(),
            "copy": (value * kernel).tolist(), "top": row * s - p, "left": col * s - p,
            "kernel_size": k, "stride": s, "padding": p, "input_side": int(x.shape[1]),
            "output_side": int(out_side), "overlap_counts": counts.tolist()}
