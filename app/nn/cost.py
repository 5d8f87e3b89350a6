"""What a network costs to run: multiply-accumulates per layer and per pass.

Counted for the products that dominate the time (convolutions, transposed convolutions,
fully connected layers); element-wise layers, pooling and normalisation count 0.
"""

from __future__ import annotations

import weakref

import numpy as np


def layer_macs(layer, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of a node for one batch item: a conv's
    weight size times its output plane (groups included, as the weight holds C_in/groups
    per output), a transposed conv's weight size times its input plane, a linear layer's
    weight size."""
    weight = layer.params.get("weight")
    if weight is None:
        return 0
    kind = layer.kind
    if kind in ("conv2d", "conv1d"):
        return int(weight.size * int(np.prod(out_shape[2:], dtype=np.int64)))
    if kind == "convtranspose2d":
        return int(weight.size * int(np.prod(in_shape[2:], dtype=np.int64)))
    if kind == "linear":
        return int(weight.size)
    return 0


_per_item: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def forward_macs_per_item(network, item_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of `network` (a Graph or Sequential) on one
    batch item of shape item_shape (no batch axis). Remembered per network and shape."""
    known = _per_item.setdefault(network, {})
    if item_shape not in known:
        shapes = network.shapes((1, *item_shape))
        known[item_shape] = sum(
            layer_macs(layer, in_shape, out_shape)
            for layer, (in_shape, out_shape) in zip(network.layers, shapes, strict=True)
        )
    return known[item_shape]
