"""Traces that scale: a ResNet-18-shaped Graph (random weights, built here, registered for the
bench only) at 224x224: one forward+backward, its peak memory, the whole trace's size, the
first inspect response (summaries, full tensors only within the layer budget) and fetching
one layer from the trace store (held, and recomputed from the recipe token).

    python -m bench.traces            # 224x224
    python -m bench.traces --quick    # 64x64: a smoke run
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from app.api.compression import gzip_bytes
from app.models.registry import Architecture, Model
from app.nn import (
    INPUT,
    AdaptiveAvgPool2d,
    Add,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    Graph,
    Linear,
    MaxPool2d,
    ReLU,
)
from app.services.inspect import InspectInput, inspect_input, to_json_bytes
from app.services.models import register_model, unregister_model
from app.services.trace_layers import fetch_layer
from app.services.traces import TraceStore, trace_nbytes
from app.settings import Settings

MODEL_ID = "resnet18-bench"
FETCHED_LAYER = "layer3.0.conv1"
WIDTHS = (64, 128, 256, 512)


def resnet18(classes: int = 1000, seed: int = 0, upsample: bool = False) -> Graph:
    """torchvision's resnet18 layout: 7x7/2 stem, 3x3/2 max pool, four stages of two basic
    blocks (64-128-256-512 channels, 1x1/2 projection shortcuts), global average pool, fc.
    upsample: a 1x28x28 digit enters through a transposed convolution (8x8, stride 8) that
    makes it 3x224x224, so the page's digits drive a full-size ResNet-18."""
    rng = np.random.default_rng(seed)
    stem = INPUT
    nodes: list[tuple[str, object, list[str]]] = []
    if upsample:
        nodes.append(("upsample", ConvTranspose2d(1, 3, 8, stride=8, rng=rng), [INPUT]))
        stem = "upsample"
    nodes += [
        ("conv1", Conv2d(3, 64, 7, stride=2, padding=3, bias=False, rng=rng), [stem]),
        ("bn1", BatchNorm2d(64), ["conv1"]),
        ("relu", ReLU(), ["bn1"]),
        ("maxpool", MaxPool2d(3, stride=2, padding=1), ["relu"]),
    ]
    last, channels = "maxpool", 64
    for stage, width in enumerate(WIDTHS, start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            p = f"layer{stage}.{block}"
            nodes += [
                (f"{p}.conv1", Conv2d(channels, width, 3, stride=stride, padding=1, bias=False,
                                      rng=rng), [last]),
                (f"{p}.bn1", BatchNorm2d(width), [f"{p}.conv1"]),
                (f"{p}.relu1", ReLU(), [f"{p}.bn1"]),
                (f"{p}.conv2", Conv2d(width, width, 3, padding=1, bias=False, rng=rng),
                 [f"{p}.relu1"]),
                (f"{p}.bn2", BatchNorm2d(width), [f"{p}.conv2"]),
            ]
            shortcut = last
            if stride != 1 or channels != width:
                nodes += [
                    (f"{p}.downsample.0", Conv2d(channels, width, 1, stride=stride, bias=False,
                                                 rng=rng), [last]),
                    (f"{p}.downsample.1", BatchNorm2d(width), [f"{p}.downsample.0"]),
                ]
                shortcut = f"{p}.downsample.1"
            nodes += [(f"{p}.add", Add(), [f"{p}.bn2", shortcut]),
                      (f"{p}.relu2", ReLU(), [f"{p}.add"])]
            last, channels = f"{p}.relu2", width
    nodes += [("avgpool", AdaptiveAvgPool2d(1), [last]), ("flatten", Flatten(), ["avgpool"]),
              ("fc", Linear(512, classes, rng=rng), ["flatten"])]
    return Graph(nodes)


def bench_model(size: int) -> Model:
    arch = Architecture(MODEL_ID, "ResNet-18 shape (bench, random weights)",
                        "random weights, for the trace bench only", spec=[],
                        input_shape=(3, size, size),
                        classes=tuple(str(i) for i in range(1000)))
    return Model(arch, resnet18())


DIGITS_MODEL_ID = "resnet18-digits"


def digit_resnet18() -> Model:
    """ResNet-18 (random weights) behind a transposed-conv stem: 1x28x28 digits -> 3x224x224,
    70 nodes, 10 classes. For the page's large-graph tests and its first-paint bench."""
    arch = Architecture(DIGITS_MODEL_ID, "ResNet-18 on upsampled digits (random weights)",
                        "ResNet-18's layout behind an 8x8/8 transposed convolution, random "
                        "weights: a large graph for the page", spec=[], input_shape=(1, 28, 28))
    return Model(arch, resnet18(classes=10, upsample=True))


@dataclass
class TracesReport:
    size: int
    nodes: int
    parameters: int
    figures: dict[str, str] = field(default_factory=dict)


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def first_response(model: Model, x: np.ndarray, settings: Settings, store: TraceStore,
                   target: int = 7) -> tuple[dict, bytes, float]:
    """One inspect request's work apart from HTTP, as the API does it: forward+backward,
    the body within the settings' budgets, the trace into the store, the JSON bytes.
    -> (body, JSON bytes, seconds)."""
    start = time.perf_counter()
    body = inspect_input(model, x, InspectInput(target=target), settings, store)
    payload = to_json_bytes(body)
    return body, payload, time.perf_counter() - start


def _base64_json_bytes(trace) -> int:
    """Bytes of output + grad_output for every layer, base64 as the inspect response sends
    them (4 characters per 3 bytes): the whole trace as one response would need."""
    total = 0
    for lt in trace.layers:
        for array in (lt.output, lt.grad_output):
            if array is not None:
                total += 4 * -(-array.nbytes // 3)
    return total


def run_traces(size: int = 224, repeats: int = 2) -> TracesReport:
    model = bench_model(size)
    register_model(model)
    try:
        x = np.random.default_rng(1).random((3, size, size), dtype=np.float32)
        report = TracesReport(size, len(model.network.names), model.network.parameter_count)
        f = report.figures
        model.trace(x, 7)  # warm-up
        times = [_timed(lambda: model.trace(x, 7))[1] for _ in range(repeats)]
        f["forward+backward (recorded trace), median"] = f"{np.median(times) * 1e3:.0f} ms"
        tracemalloc.start()
        trace = model.trace(x, 7)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        f["peak memory of one trace (tracemalloc)"] = f"{peak / 2**20:.0f} MiB"
        f["full trace in memory (outputs, deltas, grads)"] = (
            f"{trace_nbytes(trace) / 2**20:.1f} MiB"
        )
        f["full trace as one response (output + grad_output, base64)"] = (
            f"{_base64_json_bytes(trace) / 2**20:.1f} MiB (computed, not encoded)"
        )
        del trace
        store = TraceStore.from_settings(Settings())
        budgets = (
            ("default budgets: 2 MB a part, 3 MiB a response", Settings()),
            ("2 MB a part, no response budget (before)",
             Settings(trace_response_budget=1 << 40)),
            ("summaries only", Settings(trace_layer_budget=0, trace_response_budget=0)),
        )
        for label, settings in budgets:
            body, payload, seconds = first_response(model, x, settings, store)
            left_out = sum(1 for layer in body["layers"] if layer["omitted"])
            f[f"first response ({label}): bytes (gzip level 1), time, layers left out"] = (
                f"{len(payload) / 1024:,.0f} KiB ({len(gzip_bytes(payload)) / 1024:,.0f} KiB), "
                f"{seconds * 1e3:.0f} ms, {left_out} of {len(body['layers'])}"
            )
        body = inspect_input(model, x, InspectInput(target=7), Settings(), store)
        trace_id, token = body["trace_id"], body["trace_input"]
        f["trace_input token (the recipe)"] = f"{len(token) / 1024:.0f} KiB"
        hits = [_timed(lambda: to_json_bytes(fetch_layer(store, trace_id, FETCHED_LAYER)))
                for _ in range(3)]
        f[f"fetch {FETCHED_LAYER} (output + grad_output), held"] = (
            f"{len(hits[0][0]) / 1024:.0f} KiB, {np.median([t for _, t in hits]) * 1e3:.1f} ms"
        )
        cold = TraceStore.from_settings(Settings())
        miss, seconds = _timed(lambda: to_json_bytes(
            fetch_layer(cold, trace_id, FETCHED_LAYER, token=token)))
        f[f"fetch {FETCHED_LAYER}, missed (recomputed from the token)"] = (
            f"{len(miss) / 1024:.0f} KiB, {seconds * 1e3:.0f} ms"
        )
        return report
    finally:
        unregister_model(MODEL_ID)


def traces_section(report: TracesReport | None) -> str:
    if report is None:
        return "Traces: not run."
    rows = "\n".join(f"| {k} | {v} |" for k, v in report.figures.items())
    return (
        f"ResNet-18 shape ({report.nodes} nodes, {report.parameters:,} parameters, random "
        f"weights) on one 3x{report.size}x{report.size} input, in process (no HTTP), one "
        f"BLAS thread per pass as the server runs.\n\n| | |\n|---|---|\n{rows}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.traces")
    parser.add_argument("--quick", action="store_true", help="64x64 input, one repeat")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        report = run_traces(64 if args.quick else 224, 1 if args.quick else 2)
    print(traces_section(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
