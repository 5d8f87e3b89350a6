"""A real architecture exported by another framework: Caffe2's ResNet-50 (the `onnx` wheel's
backend test data ships it with constant weights, opset 9; onnx's version converter brings
it to opset 13). Its idioms -- Sum for the residual additions, BatchNormalization, a 7x7
AveragePool in place of global pooling, Reshape before Gemm, a Softmax head -- import into
one graph with ResNet-50's well-known 25,557,032 parameters."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
import pytest
from onnx import version_converter

from app.importers import import_onnx

MODEL = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_resnet50.onnx"


@pytest.mark.skipif(not MODEL.is_file(), reason="this onnx wheel ships no backend test data")
def test_caffe2_resnet50_imports_with_resnet50s_parameters_and_skip_connections():
    model = version_converter.convert_version(onnx.load(str(MODEL)), 13)
    graph, card = import_onnx(model.SerializeToString())
    assert card["parameters"] == graph.parameter_count == 25_557_032
    kinds = Counter(layer["kind"] for layer in card["layers"])
    assert kinds["conv2d"] == 53 and kinds["batchnorm2d"] == 53 and kinds["add"] == 16
    assert card["head"]["op"] == "Softmax"
    assert graph.shapes((1, 3, 224, 224))[-1][1] == (1, 1000)
