"""Bring-your-own-model at scale: a ResNet-18-shaped ONNX file (written here with onnx.helper
as torch.onnx.export writes torchvision's resnet18: Conv without bias + BatchNormalization,
Relu, MaxPool, Add, GlobalAveragePool, Flatten, Gemm; random weights) at 224x224:

- the file's size, and the import (`import_onnx`: parse + build the Graph);
- the upload through the API (POST /api/v1/models: import + card + store, into a temporary
  model store), and the same bytes again (idempotent: hash + lookup);
- one forward+backward of the imported graph;
- the first inspect response through the API with an exact tensor: its time and bytes
  (default layer budget, and summaries only);
- fetching one layer of that trace (GET /api/v1/traces/{id}/layers/{name}).

    python -m bench.onnx_models            # 224x224
    python -m bench.onnx_models --quick    # 64x64: a smoke run

The API runs in process (Starlette's TestClient: no sockets), one BLAS thread per pass.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

WIDTHS = (64, 128, 256, 512)
FETCHED_LAYER_OUTPUT = "layer3.0.conv1"


class _Writer:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []

    def weight(self, name: str, *shape: int, scale: float | None = None) -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        std = scale if scale is not None else np.sqrt(2.0 / fan_in)
        value = (self.rng.standard_normal(shape) * std).astype(np.float32)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def conv_bn(self, x: str, name: str, c_in: int, c_out: int, k: int, stride: int,
                relu: bool, bn: str) -> str:
        w = self.weight(f"{name}.weight", c_out, c_in, k, k)
        y = self.node("Conv", [x, w], name, kernel_shape=[k, k], strides=[stride, stride],
                      pads=[k // 2] * 4)
        params = [
            self.const(f"{bn}.weight", 1 + 0.1 * self.rng.standard_normal(c_out)),
            self.const(f"{bn}.bias", 0.1 * self.rng.standard_normal(c_out)),
            self.const(f"{bn}.running_mean", 0.1 * self.rng.standard_normal(c_out)),
            self.const(f"{bn}.running_var", 1 + 0.1 * self.rng.random(c_out)),
        ]
        y = self.node("BatchNormalization", [y, *params], bn, epsilon=1e-5)
        return self.node("Relu", [y], f"{bn}.relu") if relu else y


def resnet18_onnx(size: int = 224, classes: int = 1000, seed: int = 0) -> bytes:
    """torchvision's resnet18 as ONNX bytes (opset 17, weights inside), input 1x3xSxS."""
    w = _Writer(seed)
    y = w.conv_bn("input", "conv1", 3, 64, 7, 2, True, "bn1")
    y = w.node("MaxPool", [y], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    channels = 64
    for stage, width in enumerate(WIDTHS, start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            p = f"layer{stage}.{block}"
            z = w.conv_bn(y, f"{p}.conv1", channels, width, 3, stride, True, f"{p}.bn1")
            z = w.conv_bn(z, f"{p}.conv2", width, width, 3, 1, False, f"{p}.bn2")
            skip = y
            if stride != 1 or channels != width:
                skip = w.conv_bn(y, f"{p}.downsample.0", channels, width, 1, stride, False,
                                 f"{p}.downsample.1")
            y = w.node("Relu", [w.node("Add", [z, skip], f"{p}.add")], f"{p}.relu")
            channels = width
    y = w.node("Flatten", [w.node("GlobalAveragePool", [y], "avgpool")], "flatten", axis=1)
    fc_w = w.weight("fc.weight", classes, 512, scale=0.01)
    fc_b = w.const("fc.bias", np.zeros(classes))
    y = w.node("Gemm", [y, fc_w, fc_b], "fc", transB=1)
    graph = helper.make_graph(
        w.nodes, "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("fc", TensorProto.FLOAT, [1, classes])],
        initializer=w.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pytorch", producer_version="bench")
    model.ir_version = 8
    return model.SerializeToString()


@dataclass
class OnnxReport:
    size: int
    nodes: int = 0
    onnx_nodes: int = 0
    parameters: int = 0
    figures: dict[str, str] = field(default_factory=dict)


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def run_onnx(size: int = 224, repeats: int = 2) -> OnnxReport:
    from fastapi.testclient import TestClient

    from app.importers import import_onnx
    from app.main import create_app
    from app.services.model_store import ModelStore, set_model_store
    from app.settings import Settings

    report = OnnxReport(size)
    f = report.figures
    data, seconds = _timed(lambda: resnet18_onnx(size))
    f["ONNX file (written with onnx.helper)"] = f"{len(data) / 2**20:.1f} MiB, {seconds:.1f} s"
    times = []
    for _ in range(repeats):
        (graph, card), seconds = _timed(lambda: import_onnx(data))
        times.append(seconds)
    report.nodes, report.onnx_nodes = len(graph), card["onnx_nodes"]
    report.parameters = graph.parameter_count
    f["import_onnx (parse + build the Graph), median"] = f"{np.median(times) * 1e3:.0f} ms"

    x = np.random.default_rng(1).random((1, 3, size, size), dtype=np.float32)
    network = graph
    network.trace(x, [7])  # warm-up
    times = [_timed(lambda: network.trace(x, [7]))[1] for _ in range(repeats)]
    f["forward+backward of the imported graph, median"] = f"{np.median(times) * 1e3:.0f} ms"

    with tempfile.TemporaryDirectory(prefix="convscope-bench-models-") as folder:
        settings = Settings(model_dir=Path(folder), processing_timeout=600.0,
                            body_timeout=600.0)
        set_model_store(ModelStore.from_settings(settings))
        try:
            with TestClient(create_app(settings)) as client:
                files = {"file": ("resnet18.onnx", data, "application/octet-stream")}
                response, seconds = _timed(lambda: client.post("/api/v1/models", files=files))
                assert response.status_code == 201, response.text
                model_id = response.json()["id"]
                f["POST /api/v1/models (upload, import, card, store): status, time"] = (
                    f"201, {seconds * 1e3:.0f} ms")
                again, seconds = _timed(lambda: client.post("/api/v1/models", files=files))
                f["the same bytes again (idempotent)"] = (
                    f"{again.status_code}, {seconds * 1e3:.0f} ms")
                tensor = {"shape": [1, 3, size, size], "dtype": "float32",
                          "encoding": "base64",
                          "data": base64.b64encode(x.astype("<f4").tobytes()).decode()}
                url = f"/api/v1/models/{model_id}/inspect"
                inspect = {"json": {"tensor": tensor, "target": 7},
                           "headers": {"accept-encoding": "identity"}}
                response, seconds = _timed(lambda: client.post(url, **inspect))
                assert response.status_code == 200, response.text[:500]
                f["first inspect response (default 2 MB layer budget): bytes, time"] = (
                    f"{_kib(len(response.content))}, {seconds * 1e3:.0f} ms")
                body = response.json()
                summaries = Settings(model_dir=Path(folder), processing_timeout=600.0,
                                     trace_layer_budget=0)
                with TestClient(create_app(summaries)) as other:
                    response, seconds = _timed(lambda: other.post(url, **inspect))
                assert response.status_code == 200, response.text[:500]
                f["first inspect response (layer budget 0: summaries): bytes, time"] = (
                    f"{_kib(len(response.content))}, {seconds * 1e3:.0f} ms")
                layer = next(lt["name"] for lt in body["layers"]
                             if lt["name"].startswith(FETCHED_LAYER_OUTPUT))
                fetches = [
                    _timed(lambda: client.get(
                        f"/api/v1/traces/{body['trace_id']}/layers/{layer}",
                        headers={"accept-encoding": "identity"}))
                    for _ in range(3)
                ]
                assert fetches[0][0].status_code == 200, fetches[0][0].text[:500]
                f[f"GET one layer ({layer}, output + delta), held"] = (
                    f"{_kib(len(fetches[0][0].content))}, "
                    f"{np.median([t for _, t in fetches]) * 1e3:.1f} ms")
        finally:
            set_model_store(None)
    return report


def onnx_section(report: OnnxReport | None) -> str:
    if report is None:
        return "ONNX models: not run."
    rows = "\n".join(f"| {k} | {v} |" for k, v in report.figures.items())
    return (
        f"A ResNet-18-shaped ONNX file ({report.onnx_nodes} ONNX nodes, {report.nodes} graph "
        f"nodes, {report.parameters:,} parameters, random weights) on one "
        f"3x{report.size}x{report.size} input; the API in process (TestClient), one BLAS "
        f"thread per pass.\n\n| | |\n|---|---|\n{rows}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.onnx_models")
    parser.add_argument("--quick", action="store_true", help="64x64 input, one repeat")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        report = run_onnx(64 if args.quick else 224, 1 if args.quick else 2)
    print(onnx_section(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
