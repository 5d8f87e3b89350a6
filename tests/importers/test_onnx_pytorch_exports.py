"""Models that PyTorch itself exported, with PyTorch's own outputs: the `onnx` wheel ships
them as backend test data (onnx/backend/test/data/pytorch-converted and pytorch-operator,
exported at opset 6; onnx's version converter brings them to opset 13 here). Every one that
uses only supported layers imports and gives PyTorch's output to 1e-5 of its scale; every
other one is refused with a ModelImportError naming the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper, version_converter

from app.importers import ModelImportError, import_onnx
from tests.floats import assert_equal_up_to_rounding

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
MATCHING = [
    "pytorch-converted/test_AvgPool2d", "pytorch-converted/test_AvgPool2d_stride",
    "pytorch-converted/test_BatchNorm2d_eval", "pytorch-converted/test_BatchNorm2d_momentum_eval",
    "pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv2d_depthwise",
    "pytorch-converted/test_Conv2d_depthwise_padded",
    "pytorch-converted/test_Conv2d_depthwise_strided",
    "pytorch-converted/test_Conv2d_depthwise_with_multiplier",
    "pytorch-converted/test_Conv2d_dilated", "pytorch-converted/test_Conv2d_groups",
    "pytorch-converted/test_Conv2d_groups_thnn", "pytorch-converted/test_Conv2d_no_bias",
    "pytorch-converted/test_Conv2d_padding", "pytorch-converted/test_Conv2d_strided",
    "pytorch-converted/test_ConvTranspose2d", "pytorch-converted/test_ConvTranspose2d_no_bias",
    "pytorch-converted/test_Linear", "pytorch-converted/test_Linear_no_bias",
    "pytorch-converted/test_MaxPool2d", "pytorch-converted/test_MaxPool2d_stride_padding_dilation",
    "pytorch-converted/test_ReLU", "pytorch-converted/test_Sigmoid",
    "pytorch-converted/test_Tanh", "pytorch-converted/test_ZeroPad2d",
    "pytorch-operator/test_operator_clip", "pytorch-operator/test_operator_conv",
    "pytorch-operator/test_operator_convtranspose", "pytorch-operator/test_operator_flatten",
]
REFUSED = [
    "pytorch-converted/test_Conv1d", "pytorch-converted/test_ConstantPad2d",
    "pytorch-converted/test_ReflectionPad2d", "pytorch-converted/test_PReLU_2d",
    "pytorch-converted/test_PixelShuffle", "pytorch-converted/test_Softmax",
    "pytorch-converted/test_softmax_functional_dim3", "pytorch-converted/test_Embedding",
    "pytorch-operator/test_operator_add_broadcast", "pytorch-operator/test_operator_index",
    "pytorch-operator/test_operator_reduced_mean",
]

pytestmark = pytest.mark.skipif(not (DATA / "pytorch-converted").is_dir(),
                                reason="this onnx wheel ships no backend test data")


def load(case: str):
    model = version_converter.convert_version(onnx.load(str(DATA / case / "model.onnx")), 13)
    folder = DATA / case / "test_data_set_0"
    x = numpy_helper.to_array(onnx.load_tensor(str(folder / "input_0.pb")))
    y = numpy_helper.to_array(onnx.load_tensor(str(folder / "output_0.pb")))
    return model, x, y


@pytest.mark.parametrize("case", MATCHING)
def test_a_pytorch_export_gives_pytorchs_output(case):
    model, x, want = load(case)
    graph, card = import_onnx(model.SerializeToString())
    assert card["head"] is None
    assert_equal_up_to_rounding(graph.predict(x.astype(np.float32)), want, rel=1e-5,
                                err_msg=case)


@pytest.mark.parametrize("case", REFUSED)
def test_a_pytorch_export_with_other_layers_is_refused_naming_the_problem(case):
    model, _, _ = load(case)
    with pytest.raises(ModelImportError) as caught:
        import_onnx(model.SerializeToString())
    assert caught.value.code in ("unsupported_operator", "invalid_model")
