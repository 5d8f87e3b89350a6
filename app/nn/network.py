"""Sequential: the chain case of Graph (each layer reads the one before it)."""

from __future__ import annotations

from collections.abc import Iterable

from app.nn.base import Layer
from app.nn.graph import Graph


class Sequential(Graph):
    """Layers applied in order. Holds no per-call state: safe across threads.

    Built from layers, or from (name, layer) pairs; unnamed layers get names such as
    conv1, relu1, pool1, fc1. Forward, backward and trace are Graph's.
    """

    def __init__(self, layers: Iterable[Layer | tuple[str, Layer]]):
        items = list(layers)
        if any(isinstance(item, tuple) and len(item) != 2 for item in items):
            raise ValueError("Sequential takes layers or (name, layer) pairs; use Graph for "
                             "nodes with explicit inputs")
        super().__init__(items)
