"""Layers with PyTorch's names, semantics and parameter layouts, in NumPy.

Every layer holds its parameters (`params`, keyed "weight"/"bias"), its buffers
(`buffers`, BatchNorm's running statistics) and its mode (`training`, False: inference),
and keeps no per-call state, so one instance can serve concurrent inference requests:

    y, cache = layer.forward(x)
    dx, grads = layer.backward(dy, cache)     # grads keyed like params

Arrays are NCHW (or (N, features) for Linear). Parameters default to float32; `astype`
gives a float64 copy for gradient checks. The layers live in modules by concern (conv,
pooling, activations, normalization, shape, dense); this module gathers them and maps each
`kind` (the name in a JSON spec) to its class.
"""

from __future__ import annotations

from app.nn.activations import Clamp, Identity, LeakyReLU, ReLU, ReLU6, Sigmoid, Sign, Tanh
from app.nn.base import (  # the helpers too, for modules that imported them from here
    Cache,
    Grads,
    Layer,
    MultiInputLayer,
    _positive_sizes,
    _rng,
    _uniform_init,
    _Windowed,
)
from app.nn.conv import Conv2d, ConvTranspose2d
from app.nn.dense import Linear
from app.nn.normalization import BatchNorm2d, ChannelAffine, Dropout
from app.nn.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from app.nn.recurrent import LSTM, RECURRENT_LAYER_TYPES, RNN, FinalStates, ImageRows, LastStep
from app.nn.sequence import AdaptiveMaxPool1d, Conv1d, Embedding, MaxPool1d, Transpose
from app.nn.shape import Add, Concat, Flatten, ZeroPad2d

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (
        Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d,
        BatchNorm2d, Dropout, ReLU, LeakyReLU, ReLU6, Sigmoid, Tanh, Sign, Identity, Flatten,
        ZeroPad2d, Linear, Add, Concat,
        Conv1d, MaxPool1d, AdaptiveMaxPool1d, Embedding, Transpose,
        Clamp, ChannelAffine,
    )
}
LAYER_TYPES.update(RECURRENT_LAYER_TYPES)  # rnn, lstm, imagerows, laststep, finalstates

__all__ = [
    "LAYER_TYPES", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Add", "AvgPool2d", "BatchNorm2d",
    "Cache", "ChannelAffine", "Clamp", "Concat", "Conv2d", "ConvTranspose2d", "Dropout",
    "FinalStates", "Flatten", "Grads", "Identity", "ImageRows", "LSTM", "LastStep", "Layer",
    "LeakyReLU", "Linear", "MaxPool2d", "MultiInputLayer", "RNN", "ReLU", "ReLU6", "Sigmoid",
    "Sign", "Tanh", "ZeroPad2d", "_Windowed", "_positive_sizes", "_rng", "_uniform_init",
]
