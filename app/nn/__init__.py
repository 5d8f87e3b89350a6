"""The numeric core: a CNN in pure NumPy, forward and backward. Knows nothing of HTTP."""

from app.nn.functional import conv_output_size, conv_transpose_output_size
from app.nn.graph import INPUT, Graph
from app.nn.layers import (
    LAYER_TYPES,
    LSTM,
    RNN,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    Add,
    AvgPool2d,
    BatchNorm2d,
    ChannelAffine,
    Clamp,
    Concat,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    FinalStates,
    Flatten,
    Identity,
    ImageRows,
    LastStep,
    Layer,
    LeakyReLU,
    Linear,
    MaxPool2d,
    MultiInputLayer,
    ReLU,
    ReLU6,
    Sigmoid,
    Sign,
    Tanh,
    ZeroPad2d,
)
from app.nn.losses import (
    cross_entropy,
    entropy,
    information,
    kl_divergence,
    log_softmax,
    softmax,
    softmax_cross_entropy,
)
from app.nn.network import Sequential
from app.nn.recurrent import DirectionTrace, RecurrentTrace
from app.nn.spec import dump_params, from_spec, load_params, to_spec
from app.nn.threads import get_num_threads, set_num_threads
from app.nn.trace import LayerTrace, Trace

__all__ = [
    "INPUT", "LAYER_TYPES", "LSTM", "RNN", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Add",
    "AvgPool2d", "BatchNorm2d", "ChannelAffine", "Clamp", "Concat", "Conv2d", "ConvTranspose2d",
    "DirectionTrace", "Dropout", "FinalStates", "Flatten", "Graph", "Identity", "ImageRows",
    "LastStep", "Layer", "LayerTrace", "LeakyReLU", "Linear", "MaxPool2d", "MultiInputLayer",
    "RecurrentTrace",
    "ReLU", "ReLU6", "Sequential", "Sigmoid", "Sign", "Tanh", "Trace", "ZeroPad2d",
    "conv_output_size", "conv_transpose_output_size", "cross_entropy", "dump_params",
    "entropy", "from_spec", "get_num_threads", "information",
    "kl_divergence", "load_params", "log_softmax",
    "set_num_threads", "softmax", "softmax_cross_entropy", "to_spec",
]
