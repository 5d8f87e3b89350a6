"""A fully connected layer is a convolution whose kernel covers its whole input.

`fully_convolutional(network, input_shape)` rewrites a CNN that ends in Flatten -> Linear ...
into one made only of convolutions, with the same numbers: the first Linear after the
Flatten, reading a C x H x W map, becomes Conv2d(C, out, (H, W)) whose kernel o is row o of
the weight matrix reshaped to (C, H, W) (Flatten's C, H, W order); every later Linear(in, out)
becomes a 1x1 Conv2d(in, out). On the input size the network was built for, the converted
network's output is (N, classes, 1, 1), equal to the original logits; on a larger input it
slides and returns a map of logits: a fully convolutional network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.nn.layers import Conv2d, Flatten, Linear
from app.nn.losses import softmax
from app.nn.network import Sequential
from app.nn.receptive import network_receptive_fields


def linear_as_conv(linear: Linear, in_shape: tuple[int, int, int]) -> Conv2d:
    """Linear(C*H*W, out) reading a flattened (C, H, W) map -> Conv2d(C, out, (H, W)) with
    weight[o] = linear.weight[o].reshape(C, H, W) and the same bias. in_shape (1, 1, 1)-like
    shapes give 1x1 convolutions."""
    c, h, w = (int(v) for v in in_shape)
    if c * h * w != linear.in_features:
        raise ValueError(
            f"a {c}x{h}x{w} map has {c * h * w} values; the linear layer reads "
            f"{linear.in_features}"
        )
    weight = linear.params["weight"]
    conv = Conv2d(c, linear.out_features, (h, w), bias="bias" in linear.params,
                  dtype=weight.dtype)
    conv.params["weight"] = weight.reshape(linear.out_features, c, h, w).copy()
    if "bias" in linear.params:
        conv.params["bias"] = linear.params["bias"].copy()
    return conv


def fully_convolutional(network: Sequential, input_shape: tuple[int, int, int]) -> Sequential:
    """The network with Flatten removed and every Linear turned into a convolution.

    input_shape (C, H, W) is the input the network was built for; it fixes the map the first
    Linear reads. Raises ValueError for a Linear before any Flatten.
    """
    shape: tuple[int, ...] = (1, *input_shape)
    layers: list[tuple[str, Any]] = []
    flattened: tuple[int, int, int] | None = None
    for name, layer in network:
        out_shape = layer.output_shape(shape)
        if isinstance(layer, Flatten):
            flattened = tuple(shape[1:])  # type: ignore[assignment]
        elif isinstance(layer, Linear):
            if flattened is None:
                raise ValueError(f"{name}: a linear layer before any flatten cannot be converted")
            layers.append((name, linear_as_conv(layer, flattened)))
            flattened = (layer.out_features, 1, 1)
        else:
            layers.append((name, layer))
        shape = out_shape
    return Sequential(layers)


def conversion_table(network: Sequential, input_shape: tuple[int, int, int]) -> list[dict]:
    """One row per converted layer: the linear layer's weight and the conv kernels it became."""
    converted = fully_convolutional(network, input_shape)
    shapes = dict(zip(converted.names, converted.shapes((1, *input_shape)), strict=True))
    rows = []
    for name, layer in network:
        if not isinstance(layer, Linear):
            continue
        conv = converted.layers[converted.names.index(name)]
        c_out, c_in, kh, kw = conv.params["weight"].shape
        in_shape, out_shape = shapes[name]
        rows.append({
            "name": name,
            "linear_weight": list(layer.params["weight"].shape),
            "conv_weight": [c_out, c_in, kh, kw],
            "kernels": f"{c_out} kernels of {kh}x{kw}x{c_in}",
            "input": list(in_shape[1:]),
            "output": list(out_shape[1:]),
        })
    return rows


@dataclass
class FcComparison:
    """fc1 as a matrix-vector product and as a convolution, on one input."""

    feature_map: np.ndarray      # (C, H, W): what fc1 reads (pool2's output)
    linear_output: np.ndarray    # (out,): W x + b with x the flattened map
    conv_output: np.ndarray      # (out,): the converted conv's (out, 1, 1) output, squeezed
    logits_linear: np.ndarray    # (classes,)
    logits_conv: np.ndarray      # (classes,)


def compare_on_input(network: Sequential, image: np.ndarray, fc_name: str = "fc1") -> FcComparison:
    """Run `image` (1, C, H, W) through the network and through its converted form; return
    the map the layer `fc_name` reads and both versions' outputs."""
    input_shape = tuple(image.shape[1:])
    converted = fully_convolutional(network, input_shape)
    h = image
    feature_map = None
    linear_output = None
    for name, layer in network:
        if name == fc_name:
            linear_output = layer.forward(h)[0][0]
        if isinstance(layer, Flatten):
            feature_map = h[0]
        h = layer.forward(h)[0]
    logits_linear = h[0]
    g = image
    conv_output = None
    for name, layer in converted:
        g = layer.forward(g)[0]
        if name == fc_name:
            conv_output = g[0, :, 0, 0]
    if feature_map is None or linear_output is None or conv_output is None:
        raise ValueError(f"the network has no flatten followed by a linear layer {fc_name!r}")
    return FcComparison(feature_map, linear_output, conv_output, logits_linear, g[0, :, 0, 0])


def upload_to_canvas(gray: np.ndarray, max_side: int) -> np.ndarray:
    """A decoded upload, uint8 (H, W) grayscale -> the canvas the network reads: white ink on
    black (inverted when the border is mostly light, as paper is), shrunk by an integer factor
    (block means) until its longer side is at most max_side. Digits keep their size otherwise:
    the map expects them about 20 px tall."""
    img = np.asarray(gray, dtype=np.float64)
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if np.median(border) > 127:
        img = 255.0 - img
    factor = -(-max(img.shape) // max_side)
    if factor > 1:
        h, w = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
        img = img[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    return np.rint(img).astype(np.uint8)


def window_means(plane: np.ndarray, window: tuple[int, int], jump, grid: tuple[int, int]
                 ) -> np.ndarray:
    """Mean of plane (H, W) over the window (h, w) at (i * jump_h, j * jump_w) for every output
    (i, j) of a (rows, cols) grid: the crop the original network would read there."""
    (wh, ww), (jh, jw), (rows, cols) = window, jump, grid
    total = np.zeros((plane.shape[0] + 1, plane.shape[1] + 1))
    total[1:, 1:] = plane.astype(np.float64).cumsum(0).cumsum(1)
    top, left = np.arange(rows)[:, None] * jh, np.arange(cols)[None, :] * jw
    bottom = np.minimum(top + wh, plane.shape[0])
    right = np.minimum(left + ww, plane.shape[1])
    sums = total[bottom, right] - total[top, right] - total[bottom, left] + total[top, left]
    return sums / (wh * ww)


def prediction_map(network: Sequential, input_shape: tuple[int, int, int],
                   canvas: np.ndarray) -> dict[str, Any]:
    """Slide the converted network over a canvas (1, C, H, W) float32 in [0, 1] (H, W at least
    the network's input size): per output position the class probabilities, the winning
    class and its probability, plus the output grid's geometry in canvas pixels."""
    converted = fully_convolutional(network, input_shape)
    logits = converted.predict(canvas)[0]                       # (classes, rows, cols)
    classes, rows, cols = logits.shape
    probs = softmax(np.moveaxis(logits, 0, -1).reshape(-1, classes).astype(np.float64))
    probs = probs.reshape(rows, cols, classes)
    field = network_receptive_fields(converted, canvas.shape[2:])[-1]
    return {
        "rows": rows, "cols": cols,
        "ink": window_means(canvas[0].mean(axis=0), input_shape[1:], field["jump"], (rows, cols)),
        "prediction": probs.argmax(axis=-1),
        "probability": probs.max(axis=-1),
        "probabilities": probs,
        "receptive_field": field,
    }
