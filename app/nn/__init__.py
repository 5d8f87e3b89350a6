"""The numeric core: a CNN in pure NumPy, forward and backward. Knows nothing of HTTP."""

from app.nn.functional import conv_output_size, conv_transpose_output_size
from app.nn.layers import (
    LAYER_TYPES,
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from app.nn.losses import (
    cross_entropy,
    entropy,
    kl_divergence,
    log_softmax,
    softmax,
    softmax_cross_entropy,
)
from app.nn.network import Sequential
from app.nn.spec import dump_params, from_spec, load_params, to_spec
from app.nn.trace import LayerTrace, Trace

__all__ = [
    "LAYER_TYPES", "AvgPool2d", "Conv2d", "ConvTranspose2d", "Flatten", "Layer", "LayerTrace",
    "Linear", "MaxPool2d", "ReLU", "Sequential", "Sigmoid", "Tanh", "Trace",
    "conv_output_size", "conv_transpose_output_size", "cross_entropy", "dump_params",
    "entropy", "from_spec", "kl_divergence", "load_params", "log_softmax", "softmax",
    "softmax_cross_entropy", "to_spec",
]
