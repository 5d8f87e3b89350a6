"""Models the importer refuses, each with its own error naming the problem: unsupported
operators (op type, node, opset, the supported list), external data (never read), too many
nodes or parameters, and bytes that are no model. Hypothesis: no input makes it fail
any other way."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from app.importers import (
    ExternalDataRefused,
    InvalidModel,
    ModelImportError,
    ModelTooLarge,
    UnsupportedOperator,
    import_onnx,
)
from app.importers.onnx import SUPPORTED_OPERATORS
from tests.importers.onnx_build import Net


def small_net(opset: int = 13) -> tuple[Net, str]:
    net = Net((1, 2, 6, 6), opset=opset)
    y = net.op("Relu", [net.conv("x", 2, 3, 3)], name="relu_a")
    return net, y


def test_an_unsupported_operator_is_refused_with_its_type_node_opset_and_the_supported_list():
    net, y = small_net()
    y = net.op("Resize", [y, "", net.const(np.array([1, 1, 2, 2], np.float32))], name="up1")
    with pytest.raises(UnsupportedOperator) as caught:
        import_onnx(net.model(y).SerializeToString())
    error = caught.value
    assert (error.code, error.op_type, error.node, error.opset) == (
        "unsupported_operator", "Resize", "up1", 13)
    assert error.supported == SUPPORTED_OPERATORS and "Conv" in error.supported
    assert "Resize" in str(error) and "'up1'" in str(error) and "opset 13" in str(error)
    assert error.details()["op_type"] == "Resize"


def test_an_operator_of_another_domain_is_refused_naming_the_domain():
    net, y = small_net()
    net.nodes.append(helper.make_node("FusedConv", [y], ["z"], name="f", domain="com.microsoft"))
    with pytest.raises(UnsupportedOperator, match="com.microsoft::FusedConv"):
        import_onnx(net.model("z").SerializeToString())


@pytest.mark.parametrize(
    "build, reason",
    [
        (lambda net, y: net.op("Mul", [y, y]), "product of two activations"),
        (lambda net, y: net.op("MaxPool", [y], kernel_shape=[2, 2], pads=[0, 0, 1, 1]),
         "symmetric pads"),
        (lambda net, y: net.op("MaxPool", [y], kernel_shape=[3, 3], pads=[1, 1, 0, 0]),
         "symmetric pads"),
        (lambda net, y: net.op("Concat", [y, y], axis=2), "axis 2"),
        (lambda net, y: net.op("Pad", [y, net.const(np.array([0, 0, 1, 1, 0, 0, 1, 1]))],
                               mode="reflect"), "mode"),
        (lambda net, y: net.op("Reshape", [y, net.const(np.array([1, 3, 16]))]), "flatten"),
        (lambda net, y: net.op("Relu", [net.op("Softmax", [net.op("Flatten", [y])], axis=1,
                                               name="sm")]), "last node"),
        (lambda net, y: net.op("Dropout", [y, net.const(np.array(0.5, np.float32)),
                                           net.const(np.array(True))]), "training_mode"),
    ],
    ids=["mul-activations", "maxpool-asymmetric", "maxpool-larger-start-pads", "concat-axis-2",
         "pad-reflect", "reshape-not-flatten", "softmax-not-last", "dropout-training"],
)
def test_unsupported_uses_of_supported_operators_are_refused_with_the_reason(build, reason):
    net, y = small_net()
    y = build(net, y)
    with pytest.raises(UnsupportedOperator, match=reason):
        import_onnx(net.model(y).SerializeToString())


def external_model(location: str = "../../etc/passwd"):
    net, y = small_net()
    model = net.model(y)
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "216")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    return model


def test_external_data_is_refused_without_reading_any_file(monkeypatch):
    import builtins

    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    with pytest.raises(ExternalDataRefused) as caught:
        import_onnx(external_model().SerializeToString())
    assert caught.value.code == "external_data"
    assert "external" in str(caught.value)
    assert opened == []


def test_external_data_in_a_constant_node_is_refused_too():
    net, y = small_net()
    tensor = helper.make_tensor("k", TensorProto.FLOAT, [1], [1.0])
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "/etc/shadow"
    net.nodes.insert(0, helper.make_node("Constant", [], ["k"], value=tensor))
    with pytest.raises(ExternalDataRefused):
        import_onnx(net.model(y).SerializeToString())


def test_too_many_nodes_are_refused_before_any_conversion():
    net, y = small_net()
    data = net.model(y).SerializeToString()
    with pytest.raises(ModelTooLarge) as caught:
        import_onnx(data, max_nodes=1)
    assert (caught.value.code, caught.value.what, caught.value.count, caught.value.limit) == (
        "model_too_large", "nodes", 2, 1)
    import_onnx(data, max_nodes=2)


def test_too_many_parameters_are_refused():
    net, y = small_net()
    data = net.model(y).SerializeToString()  # conv 3x2x3x3 + 3 bias = 57
    with pytest.raises(ModelTooLarge, match="57 parameters"):
        import_onnx(data, max_parameters=56)
    assert import_onnx(data, max_parameters=57)[0].parameter_count == 57


def test_the_default_caps_are_500_nodes_and_30_million_parameters():
    import inspect

    defaults = inspect.signature(import_onnx).parameters
    assert defaults["max_nodes"].default == 500
    assert defaults["max_parameters"].default == 30_000_000
    assert defaults["max_activation"].default == 1 << 25


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n not a model", "not an ONNX model"),
        (helper.make_model(helper.make_graph([], "g", [], [])).SerializeToString(),
         "not an ONNX model"),
    ],
    ids=["empty", "png", "no-nodes"],
)
def test_bytes_that_are_no_model_are_refused(data, message):
    with pytest.raises(InvalidModel, match=message):
        import_onnx(data)


@pytest.mark.parametrize("opset", [10, 22])
def test_opsets_outside_11_to_21_are_refused(opset):
    net, y = small_net(opset=opset)
    with pytest.raises(InvalidModel, match=f"opset {opset}"):
        import_onnx(net.model(y).SerializeToString())


def test_a_model_with_two_inputs_or_a_symbolic_height_is_refused():
    net, y = small_net()
    model = net.model(y)
    model.graph.input.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, [1, 2]))
    with pytest.raises(InvalidModel, match="exactly one input"):
        import_onnx(model.SerializeToString())
    net, y = small_net()
    net.input_shape = ["batch", 2, "height", 6]
    with pytest.raises(InvalidModel, match="static shape"):
        import_onnx(net.model(y).SerializeToString())


def test_a_symbolic_batch_axis_is_accepted():
    net, y = small_net()
    net.input_shape = ["batch", 2, 6, 6]
    graph, card = import_onnx(net.model(y).SerializeToString())
    assert card["input"]["shape"] == [1, 2, 6, 6]


def test_a_huge_constant_of_shape_is_refused_without_allocating_it():
    net, y = small_net()
    big = net.op("ConstantOfShape", [net.const(np.array([1 << 20, 1 << 20], np.int64))])
    net.op("Add", [y, big])
    with pytest.raises(ModelTooLarge, match="elements in one constant"):
        import_onnx(net.model(net.nodes[-1].output[0]).SerializeToString())


VALID = small_net()[0].model(small_net()[1]).SerializeToString()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_with_an_import_error_or_imported(data):
    try:
        import_onnx(data)
    except ModelImportError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1,
                max_size=6))
def test_corrupted_models_are_refused_with_an_import_error_or_imported(edits):
    data = bytearray(VALID)
    for position, value in edits:
        data[position] = value
    try:
        graph, card = import_onnx(bytes(data))
    except ModelImportError:
        return
    assert card["nodes"] == len(graph)


def test_the_importer_only_parses_nothing_of_onnx_runs_the_model():
    from pathlib import Path

    import app

    sources = (Path(app.__file__).parent).rglob("*.py")
    for path in sources:
        text = path.read_text()
        for forbidden in ("onnx.reference", "ReferenceEvaluator", "onnxruntime", "import torch"):
            assert forbidden not in text, f"{path}: {forbidden}"


def test_a_nameless_unsupported_node_is_named_by_its_position():
    net, y = small_net()
    net.nodes.append(helper.make_node("Erf", [y], ["z"]))
    with pytest.raises(UnsupportedOperator) as caught:
        import_onnx(net.model("z").SerializeToString())
    assert caught.value.node == "#2 (unnamed)"


def test_an_input_or_activation_too_large_to_run_is_refused_at_import():
    net, y = small_net()  # input 2x6x6 = 72 values, conv output 3x4x4 = 48
    data = net.model(y).SerializeToString()
    with pytest.raises(ModelTooLarge, match="input values"):
        import_onnx(data, max_activation=71)
    net, y = small_net()
    y = net.op("ConvTranspose", [y, net.weight(3, 8, 3, 3)], strides=[2, 2])  # 8x9x9 = 648
    with pytest.raises(ModelTooLarge, match="values in one activation"):
        import_onnx(net.model(y).SerializeToString(), max_activation=647)
    assert import_onnx(net.model(y).SerializeToString(), max_activation=648)
