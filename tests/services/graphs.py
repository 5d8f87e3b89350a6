"""A small ResNet-style Graph model (1x28x28, random weights) for the trace tests: conv, BN,
ReLU, a residual Add, max pooling, a strided conv, global average pooling, a linear head."""

from __future__ import annotations

import numpy as np

from app.models.registry import Architecture, Model
from app.nn import (
    INPUT,
    AdaptiveAvgPool2d,
    Add,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Graph,
    Linear,
    MaxPool2d,
    ReLU,
)

TINY_RESNET = "tiny-resnet-test"


def tiny_resnet(model_id: str = TINY_RESNET, seed: int = 0) -> Model:
    rng = np.random.default_rng(seed)
    graph = Graph([
        ("conv1", Conv2d(1, 8, 3, padding=1, rng=rng), [INPUT]),
        ("bn1", BatchNorm2d(8), ["conv1"]),
        ("relu1", ReLU(), ["bn1"]),
        ("conv2", Conv2d(8, 8, 3, padding=1, rng=rng), ["relu1"]),
        ("bn2", BatchNorm2d(8), ["conv2"]),
        ("add1", Add(), ["bn2", "relu1"]),
        ("relu2", ReLU(), ["add1"]),
        ("pool1", MaxPool2d(2), ["relu2"]),
        ("conv3", Conv2d(8, 16, 3, stride=2, padding=1, rng=rng), ["pool1"]),
        ("relu3", ReLU(), ["conv3"]),
        ("gap", AdaptiveAvgPool2d(1), ["relu3"]),
        ("flatten", Flatten(), ["gap"]),
        ("fc", Linear(16, 10, rng=rng), ["flatten"]),
    ])
    for name in ("bn1", "bn2"):
        bn = graph.layers[graph.names.index(name)]
        bn.buffers["running_mean"][...] = rng.normal(0, 0.1, 8)
        bn.buffers["running_var"][...] = rng.uniform(0.5, 1.5, 8)
        bn.params["weight"][...] = rng.uniform(0.5, 1.5, 8)
    arch = Architecture(model_id, "tiny ResNet (tests)", "a residual graph for the trace tests",
                        spec=[], input_shape=(1, 28, 28))
    return Model(arch, graph)
