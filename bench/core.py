"""The numeric core's speed: per layer and per network forward, backward and
forward+backward, achieved GFLOP/s, and the machine's own float32 matmul peak."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.models.registry import ARCHITECTURES
from app.models.training_recurrent import RECURRENT_ARCHITECTURES, build_network
from app.nn import Conv2d, Linear, Sequential, from_spec, softmax_cross_entropy
from app.nn import functional as nn_functional
from app.nn.recurrent import LSTM, RNN
from app.nn.spec import LayerSpec
from app.nn.threads import available_cpus
from bench.baseline import baseline_network
from bench.timing import Timing, measure

# CNN Explainer's TinyVGG on 3x64x64: four unpadded 3x3 convs of 10 channels, two 2x2
# max pools, one linear layer to 10 classes.
TINYVGG_SPEC: list[LayerSpec] = [
    {"kind": "conv2d", "name": "conv1", "in_channels": 3, "out_channels": 10, "kernel_size": 3},
    {"kind": "relu", "name": "relu1"},
    {"kind": "conv2d", "name": "conv2", "in_channels": 10, "out_channels": 10, "kernel_size": 3},
    {"kind": "relu", "name": "relu2"},
    {"kind": "maxpool2d", "name": "pool1", "kernel_size": 2},
    {"kind": "conv2d", "name": "conv3", "in_channels": 10, "out_channels": 10, "kernel_size": 3},
    {"kind": "relu", "name": "relu3"},
    {"kind": "conv2d", "name": "conv4", "in_channels": 10, "out_channels": 10, "kernel_size": 3},
    {"kind": "relu", "name": "relu4"},
    {"kind": "maxpool2d", "name": "pool2", "kernel_size": 2},
    {"kind": "flatten", "name": "flatten"},
    {"kind": "linear", "name": "fc", "in_features": 10 * 13 * 13, "out_features": 10},
]

# name -> (spec, input shape without the batch axis)
NETWORKS: dict[str, tuple[list[LayerSpec], tuple[int, int, int]]] = {
    "lenet5": (ARCHITECTURES["lenet5"].spec, ARCHITECTURES["lenet5"].input_shape),
    "tinyvgg": (TINYVGG_SPEC, (3, 64, 64)),
    "lstm-rows": (RECURRENT_ARCHITECTURES["lstm-rows"].spec, (1, 28, 28)),
}
# Networks with recurrent layers: no first implementation to compare with, no conv threads.
RECURRENT_NETWORKS = ("lstm-rows",)
BATCHES = (1, 64)
DTYPES = ("float32", "float64")
PASSES = ("forward", "backward", "forward+backward")


@dataclass(frozen=True)
class CoreRow:
    """One timed pass: a whole network (layer "network") or one of its layers."""

    network: str
    layer: str
    batch: int
    dtype: str
    phase: str  # one of PASSES
    # "current" (the core on 1 thread); "baseline" (the first implementation,
    # bench/baseline.py, 1 thread); or "threads": the core with one thread per CPU
    # (CONVSCOPE_NN_THREADS=auto: conv calls of >= 1 M MACs share their chunks,
    # see app.nn.threads)
    impl: str
    timing: Timing
    flops: int

    @property
    def gflops(self) -> float:
        return self.flops / self.timing.median / 1e9 if self.flops else 0.0


def forward_macs(layer, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of a conv or linear layer (0 for others)."""
    if isinstance(layer, Conv2d):
        kh, kw = layer.kernel_size
        return int(np.prod(output_shape)) * layer.in_channels * kh * kw
    if isinstance(layer, Linear):
        return input_shape[0] * layer.in_features * layer.out_features
    if isinstance(layer, (LSTM, RNN)):
        n, t = input_shape[:2]
        gates = layer.gate_count * layer.hidden_size
        return n * t * layer.num_directions * gates * (layer.input_size + layer.hidden_size)
    return 0


def phase_flops(macs: int, phase: str) -> int:
    """FLOPs counted as 2 per MAC; a backward pass of a conv/linear layer is two products
    of the forward's size (input gradient and weight gradient)."""
    return 2 * macs * {"forward": 1, "backward": 2, "forward+backward": 3}[phase]


def build(name: str, dtype: str, impl: str = "current") -> tuple[Sequential, tuple[int, ...]]:
    spec, shape = NETWORKS[name]
    if name in RECURRENT_NETWORKS:
        return build_network(spec, rng=0, dtype=np.dtype(dtype)), shape
    network = from_spec(spec, rng=0, dtype=np.dtype(dtype))
    return (baseline_network(network) if impl == "baseline" else network), shape


def network_passes(
    network: Sequential, x: np.ndarray, targets: np.ndarray
) -> dict[str, Callable[[], object]]:
    """Callables for the forward pass, the backward pass from the loss, and both."""
    logits, caches = network.forward(x)

    def forward():
        return network.forward(x)

    def backward():
        _, dlogits, _ = softmax_cross_entropy(logits, targets)
        return network.backward(dlogits, caches)

    def forward_backward():
        out, step_caches = network.forward(x)
        _, dlogits, _ = softmax_cross_entropy(out, targets)
        return network.backward(dlogits, step_caches)

    return {"forward": forward, "backward": backward, "forward+backward": forward_backward}


def bench_network(
    name: str, batch: int, dtype: str, budget_s: float, impl: str = "current",
    per_layer: bool = True, min_repeats: int = 3,
) -> list[CoreRow]:
    """Rows for the whole network (each of PASSES), then per layer forward and backward."""
    network, shape = build(name, dtype, impl)
    rng = np.random.default_rng(0)
    x = rng.random((batch, *shape)).astype(dtype)
    targets = rng.integers(0, 10, batch)
    shapes = network.shapes(x.shape)
    macs = [forward_macs(layer, i, o) for layer, (i, o) in zip(network.layers, shapes, strict=True)]
    rows = []
    threads = nn_functional.get_num_threads()
    nn_functional.set_num_threads(available_cpus() if impl == "threads" else 1)
    try:
        for phase, fn in network_passes(network, x, targets).items():
            timing = measure(fn, budget_s, min_repeats=min_repeats)
            rows.append(
                CoreRow(name, "network", batch, dtype, phase, impl, timing,
                        phase_flops(sum(macs), phase))
            )
    finally:
        nn_functional.set_num_threads(threads)
    if not per_layer:
        return rows
    h = x
    layer_budget = budget_s / 4
    previous = nn_functional.get_num_threads()
    nn_functional.set_num_threads(1)  # per-layer figures: the core on one thread
    try:
        rows += _layer_rows(name, network, macs, h, batch, dtype, impl, layer_budget,
                            min_repeats, rng)
    finally:
        nn_functional.set_num_threads(previous)
    return rows


def _layer_rows(name, network, macs, h, batch, dtype, impl, layer_budget, min_repeats, rng):
    rows = []
    for (layer_name, layer), layer_macs in zip(network, macs, strict=True):
        y, cache = layer.forward(h)
        dy = rng.standard_normal(y.shape).astype(dtype)
        inp = h
        fwd = measure(lambda layer=layer, inp=inp: layer.forward(inp), layer_budget,
                      min_repeats=min_repeats)
        bwd = measure(lambda layer=layer, dy=dy, cache=cache: layer.backward(dy, cache),
                      layer_budget, min_repeats=min_repeats)
        rows.append(CoreRow(name, layer_name, batch, dtype, "forward", impl, fwd,
                            phase_flops(layer_macs, "forward")))
        rows.append(CoreRow(name, layer_name, batch, dtype, "backward", impl, bwd,
                            phase_flops(layer_macs, "backward")))
        h = y
    return rows


def matmul_peak(dtype: str = "float32", size: int = 1024, budget_s: float = 1.0) -> float:
    """GFLOP/s of a square (size x size) @ (size x size) matmul, from the fastest call: the
    machine's attainable BLAS peak under its current load."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size)).astype(dtype)
    b = rng.random((size, size)).astype(dtype)
    out = np.empty_like(a)
    timing = measure(lambda: np.matmul(a, b, out=out), budget_s)
    return 2 * size**3 / timing.minimum / 1e9
