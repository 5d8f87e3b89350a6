"""Every supported operator and attribute combination, one small model each: every node's
output equals onnx.reference's to 1e-5 of its scale, and backward matches finite differences
through the imported graph in float64."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, numpy_helper

from tests.importers.check import check_against_reference, check_backward
from tests.importers.onnx_build import Net


def conv_case(shape=(1, 4, 7, 6), c_out=4, k=3, group=1, bias=True, **attrs):
    def build():
        net = Net(shape)
        return net, net.conv("x", shape[1], c_out, k, group=group, bias=bias, **attrs)
    return build


def single(op_type, shape=(1, 3, 6, 5), **attrs):
    def build():
        net = Net(shape)
        return net, net.op(op_type, ["x"], **attrs)
    return build


def conv_transpose_case(group=1, **attrs):
    def build():
        net = Net((1, 4, 4, 5))
        w = net.weight(4, 6 // group, 3, 3)
        return net, net.op("ConvTranspose", ["x", w, net.weight(6, scale=0.1)], group=group,
                           **attrs)
    return build


def clip_case(low, high, cast=False, opset=13):
    def build():
        net = Net((1, 3, 5, 5), opset=opset)
        bounds = []
        for value in (low, high):
            if value is None:
                bounds.append("")
            elif cast:
                const = net.op("Constant", [], value=numpy_helper.from_array(
                    np.array(value, np.float64)))
                bounds.append(net.op("Cast", [const], to=TensorProto.FLOAT))
            else:
                bounds.append(net.const(np.array(value, np.float32)))
        while bounds and bounds[-1] == "":
            bounds.pop()
        return net, net.op("Clip", ["x", *bounds])
    return build


def gemm_case(trans_b, alpha=1.0, beta=1.0, c_shape=(5,)):
    def build():
        net = Net((2, 6))
        w = net.weight(*((5, 6) if trans_b else (6, 5)))
        inputs = ["x", w] + ([net.weight(*c_shape)] if c_shape is not None else [])
        return net, net.op("Gemm", inputs, transB=trans_b, alpha=alpha, beta=beta)
    return build


def matmul_add():
    net = Net((2, 6))
    return net, net.op("Add", [net.op("MatMul", ["x", net.weight(6, 4)]), net.weight(4)])


def flatten_then(kind):
    def build():
        net = Net((1, 3, 4, 4), opset=11 if kind == "torch11" else 13)
        if kind in ("torch", "torch11"):
            return net, net.torch_flatten("x")
        if kind == "flatten":
            return net, net.op("Flatten", ["x"], axis=1)
        return net, net.op("Reshape", ["x", net.const(np.array([1, -1], np.int64))])
    return build


def squeeze_gap():
    net = Net((1, 3, 4, 4))
    gap = net.op("GlobalAveragePool", ["x"])
    return net, net.op("Squeeze", [gap, net.const(np.array([2, 3], np.int64))])


def batch_norm():
    # Opset 15: onnx.reference's BatchNormalization for opsets 9-13 blends in the batch's
    # statistics even for a one-output (inference) node (onnx/onnx pull request 8442);
    # test_batchnorm_before_opset_14_is_inference_as_the_spec_says covers those opsets.
    net = Net((2, 3, 4, 4), opset=15)
    return net, net.bn("x", 3)


def residual_add():
    net = Net((1, 3, 5, 5))
    conv = net.conv("x", 3, 3, 3, pads=[1, 1, 1, 1])
    return net, net.op("Add", [conv, "x"])


def concat(axis):
    def build():
        net = Net((1, 3, 5, 5))
        a = net.conv("x", 3, 2, 1)
        b = net.conv("x", 3, 4, 3, pads=[1, 1, 1, 1])
        return net, net.op("Concat", [a, b], axis=axis)
    return build


def pad_case(opset, pads, axes=None):
    def build():
        net = Net((1, 2, 4, 5), opset=opset)
        inputs = ["x", net.const(np.array(pads, np.int64)), net.const(np.array(0.0, np.float32))]
        if axes is not None:
            inputs.append(net.const(np.array(axes, np.int64)))
        return net, net.op("Conv", [net.op("Pad", inputs, mode="constant"),
                                    net.weight(2, 2, 3, 3)])
    return build


def normalisation(kind):
    def build():
        net = Net((1, 3, 4, 4))
        if kind == "mean-std":
            mean = net.const(np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1))
            std = net.const(np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1))
            y = net.op("Div", [net.op("Sub", ["x", mean]), std])
        elif kind == "scale":
            y = net.op("Mul", ["x", net.const(np.array(1 / 255, np.float32))])
        else:  # 1 - x, then x * 2 + 0.5 per channel: Sub with the constant first, Mul, Add
            y = net.op("Sub", [net.const(np.array(1.0, np.float32)), "x"])
            y = net.op("Mul", [y, net.const(np.array([2.0, -1.0, 0.5], np.float32)
                                            .reshape(3, 1, 1))])
            y = net.op("Add", [y, net.const(np.array(0.5, np.float32))])
        return net, net.conv(y, 3, 2, 3)
    return build


def removed(op_type):
    def build():
        net = Net((1, 3, 5, 5))
        kwargs = {"outputs": 2} if op_type == "Dropout" else {}
        y = net.op(op_type, [net.conv("x", 3, 2, 3)], **kwargs)
        y = y[0] if isinstance(y, list) else y
        return net, net.op("Relu", [y])
    return build


def head(op_type, opset):
    def build():
        net = Net((2, 6), opset=opset)
        return net, net.op(op_type, [net.gemm("x", 6, 4)], axis=1 if opset < 13 else -1)
    return build


def sum_three():
    net = Net((1, 3, 5, 5))
    a = net.conv("x", 3, 3, 3, pads=[1, 1, 1, 1])
    b = net.conv("x", 3, 3, 1)
    return net, net.op("Sum", [a, b, "x"])


def head_4d(op_type, opset):
    def build():
        net = Net((1, 3, 5, 5), opset=opset)
        gap = net.op("GlobalAveragePool", [net.conv("x", 3, 6, 3)])
        return net, net.op("Flatten", [net.op(op_type, [gap], axis=1)], axis=1)
    return build


CASES = {
    "conv": conv_case(),
    "conv-no-bias": conv_case(bias=False),
    "conv-stride-pads": conv_case(strides=[2, 2], pads=[1, 1, 1, 1]),
    "conv-strides-hw-dilations": conv_case(strides=[1, 2], dilations=[2, 1], pads=[2, 1, 2, 1]),
    "conv-group-2": conv_case(c_out=6, group=2, pads=[1, 1, 1, 1]),
    "conv-depthwise": conv_case(c_out=4, group=4, pads=[1, 1, 1, 1]),
    "conv-asymmetric-pads": conv_case(strides=[2, 2], pads=[0, 0, 1, 1]),
    "conv-asymmetric-pads-2": conv_case(pads=[1, 0, 2, 1]),
    "conv-same-upper": conv_case(strides=[2, 2], auto_pad="SAME_UPPER"),
    "conv-same-lower": conv_case(strides=[2, 2], auto_pad="SAME_LOWER"),
    "conv-same-upper-dilated": conv_case(dilations=[2, 2], auto_pad="SAME_UPPER"),
    "conv-valid": conv_case(strides=[2, 1], auto_pad="VALID"),
    "conv-1x1": conv_case(k=1, c_out=5),
    "convtranspose-stride": conv_transpose_case(strides=[2, 2]),
    "convtranspose-output-padding": conv_transpose_case(strides=[2, 2], pads=[1, 1, 1, 1],
                                                        output_padding=[1, 1]),
    "convtranspose-dilation-pads": conv_transpose_case(dilations=[2, 2], pads=[1, 2, 1, 2]),
    "maxpool": single("MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
    "maxpool-default-stride-1": single("MaxPool", kernel_shape=[3, 3]),
    "maxpool-pads": single("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "maxpool-ceil": single("MaxPool", shape=(1, 2, 7, 8), kernel_shape=[2, 2], strides=[2, 2],
                           ceil_mode=1),
    "maxpool-ceil-pads": single("MaxPool", shape=(1, 2, 7, 6), kernel_shape=[3, 3],
                                strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    "maxpool-dilations": single("MaxPool", shape=(1, 2, 7, 8), kernel_shape=[2, 2],
                                dilations=[2, 2]),
    "maxpool-same-upper": single("MaxPool", kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
    "maxpool-tf-same-pads": single("MaxPool", shape=(1, 2, 8, 7), kernel_shape=[3, 3],
                                   strides=[2, 2], pads=[0, 1, 1, 1]),
    "maxpool-same-upper-stride-2": single("MaxPool", shape=(1, 2, 8, 6), kernel_shape=[3, 3],
                                          strides=[2, 2], auto_pad="SAME_UPPER"),
    "maxpool-larger-end-pads-ceil": single("MaxPool", shape=(1, 2, 9, 8), kernel_shape=[3, 3],
                                           strides=[2, 2], pads=[1, 0, 2, 1], ceil_mode=1),
    "avgpool-tf-same-pads-exclude": single("AveragePool", shape=(1, 2, 8, 7),
                                           kernel_shape=[3, 3], strides=[2, 2],
                                           pads=[0, 1, 1, 1]),
    "avgpool": single("AveragePool", kernel_shape=[2, 2], strides=[2, 2]),
    "avgpool-pads-exclude": single("AveragePool", kernel_shape=[3, 3], strides=[2, 2],
                                   pads=[1, 1, 1, 1]),
    "avgpool-pads-include": single("AveragePool", kernel_shape=[3, 3], strides=[2, 2],
                                   pads=[1, 1, 1, 1], count_include_pad=1),
    "avgpool-ceil-exclude": single("AveragePool", shape=(1, 2, 7, 8), kernel_shape=[2, 2],
                                   strides=[2, 2], ceil_mode=1),
    "avgpool-ceil-pads-include": single("AveragePool", shape=(1, 2, 7, 6), kernel_shape=[3, 3],
                                        strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                                        count_include_pad=1),
    "avgpool-asymmetric-include": single("AveragePool", kernel_shape=[2, 2], strides=[2, 2],
                                         pads=[0, 0, 1, 1], count_include_pad=1),
    "global-average-pool": single("GlobalAveragePool"),
    "global-max-pool": single("GlobalMaxPool"),
    "relu": single("Relu"),
    "leaky-relu": single("LeakyRelu", alpha=0.2),
    "leaky-relu-default": single("LeakyRelu"),
    "sigmoid": single("Sigmoid"),
    "tanh": single("Tanh"),
    "clip-relu6-cast-bounds": clip_case(0.0, 6.0, cast=True),
    "clip-general": clip_case(-0.5, 0.7),
    "clip-relu6-opset-11": clip_case(0.0, 6.0, cast=True, opset=11),
    "clip-general-opset-21": clip_case(-0.5, 0.7, opset=21),
    "clip-min-only-zero": clip_case(0.0, None),
    "clip-min-only": clip_case(-0.3, None),
    "clip-max-only": clip_case(None, 0.4),
    "clip-infinite-bound": clip_case(-np.inf, 0.4),
    "gemm-transB": gemm_case(1),
    "gemm-alpha-beta": gemm_case(0, alpha=0.5, beta=2.0, c_shape=(1, 5)),
    "gemm-no-bias": gemm_case(1, c_shape=None),
    "gemm-scalar-bias": gemm_case(1, c_shape=(1,)),
    "matmul-add": matmul_add,
    "flatten": flatten_then("flatten"),
    "reshape-static": flatten_then("reshape"),
    "torch-flatten-idiom": flatten_then("torch"),
    "torch-flatten-idiom-opset-11": flatten_then("torch11"),
    "squeeze-after-gap": squeeze_gap,
    "batchnorm": batch_norm,
    "add-residual": residual_add,
    "concat-axis-1": concat(1),
    "concat-axis-minus-3": concat(-3),
    "pad-opset-11": pad_case(11, [0, 0, 2, 1, 0, 0, 0, 1]),
    "pad-opset-13": pad_case(13, [0, 0, 1, 2, 0, 0, 2, 0]),
    "pad-opset-21-axes": pad_case(21, [2, 1, 0, 1], axes=[-2, -1]),
    "pad-opset-18-axes": pad_case(18, [1, 0, 0, 2], axes=[2, 3]),
    "normalisation-mean-std": normalisation("mean-std"),
    "normalisation-scale": normalisation("scale"),
    "normalisation-mixed": normalisation("mixed"),
    "dropout-removed": removed("Dropout"),
    "identity-removed": removed("Identity"),
    "sum-three-inputs": sum_three,
    "softmax-head-nc11-then-flatten": head_4d("Softmax", 13),
    "logsoftmax-head-nc11-then-flatten-opset-11": head_4d("LogSoftmax", 11),
    "softmax-head": head("Softmax", 13),
    "logsoftmax-head": head("LogSoftmax", 13),
    "softmax-head-opset-11": head("Softmax", 11),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_node_matches_the_reference_and_backward_matches_finite_differences(case):
    net, output = CASES[case]()
    graph, card = check_against_reference(net.model(output), net.input())
    check_backward(graph, net.input(seed=2))


def test_asymmetric_conv_pads_become_a_visible_zero_pad_node_before_the_conv():
    net, output = conv_case(strides=[2, 2], pads=[0, 0, 1, 1])()
    graph, card = check_against_reference(net.model(output), net.input())
    kinds = [layer["kind"] for layer in card["layers"]]
    assert kinds == ["zeropad2d", "conv2d"]
    assert graph.layers[0].padding == (0, 1, 0, 1)  # (left, right, top, bottom)
    assert graph.layers[1].padding == (0, 0)


def test_input_normalisation_becomes_one_channel_affine_node():
    net, output = normalisation("mean-std")()
    graph, card = check_against_reference(net.model(output), net.input())
    assert [layer["kind"] for layer in card["layers"]] == ["channelaffine", "conv2d"]
    assert card["layers"][0]["onnx"]["ops"] == ["Sub", "Div"]
    affine = graph.layers[0]
    np.testing.assert_allclose(affine.buffers["scale"], 1 / np.array([0.229, 0.224, 0.225]),
                               rtol=1e-6)


def test_matmul_and_add_become_one_linear_with_a_bias():
    net, output = matmul_add()
    graph, card = check_against_reference(net.model(output), net.input())
    assert [layer["kind"] for layer in card["layers"]] == ["linear"]
    assert card["layers"][0]["onnx"]["ops"] == ["MatMul", "Add"]
    assert "bias" in graph.layers[0].params


def test_clip_maps_to_relu6_relu_or_clamp_by_its_bounds():
    kinds = {}
    for low, high in ((0.0, 6.0), (0.0, None), (-0.5, 0.7)):
        net, output = clip_case(low, high, cast=True)()
        graph, _ = check_against_reference(net.model(output), net.input())
        kinds[(low, high)] = graph.layers[0].kind
    assert kinds == {(0.0, 6.0): "relu6", (0.0, None): "relu", (-0.5, 0.7): "clamp"}


def test_the_torch_flatten_idiom_folds_into_one_flatten_node():
    net, output = flatten_then("torch")()
    graph, card = check_against_reference(net.model(output), net.input())
    assert [layer["kind"] for layer in card["layers"]] == ["flatten"]
    assert card["op_counts"] == {"Concat": 1, "Gather": 1, "Reshape": 1, "Shape": 1,
                                 "Unsqueeze": 1}
    batch = np.random.default_rng(0).standard_normal((5, 3, 4, 4)).astype(np.float32)
    assert graph.predict(batch).shape == (5, 48)  # any batch size, not the exported one


@pytest.mark.parametrize("op_type", ["Softmax", "LogSoftmax"])
def test_a_final_softmax_is_the_head_and_is_removed(op_type):
    net, output = head(op_type, 13)()
    graph, card = check_against_reference(net.model(output), net.input())
    assert card["head"] == {"op": op_type, "node": net.nodes[-1].name, "axis": -1}
    assert graph.layers[-1].kind == "linear"
    trace = graph.trace(net.input())
    assert trace.logits.shape == (2, 4)


def test_dropout_and_identity_leave_no_node():
    for op_type in ("Dropout", "Identity"):
        net, output = removed(op_type)()
        _, card = check_against_reference(net.model(output), net.input())
        assert [layer["kind"] for layer in card["layers"]] == ["conv2d", "relu"]


def test_batchnorm_before_opset_14_is_inference_as_the_spec_says():
    # One output: Y = (X - input_mean) / sqrt(input_var + epsilon) * scale + B.
    from onnx import numpy_helper

    from app.importers import import_onnx
    from tests.floats import assert_equal_up_to_rounding

    net = Net((2, 3, 4, 4), opset=13)
    model = net.model(net.bn("x", 3))
    graph, card = import_onnx(model.SerializeToString())
    scale, bias, mean, var = (numpy_helper.to_array(t)[:, None, None]
                              for t in model.graph.initializer)
    x = net.input()
    want = (x - mean) / np.sqrt(var + np.float32(1e-5)) * scale + bias
    assert_equal_up_to_rounding(graph.predict(x), want, rel=1e-6)
    assert card["layers"][0]["kind"] == "batchnorm2d"


def test_grouped_convtranspose_equals_its_block_diagonal_ungrouped_form():
    # onnx.reference cannot run a grouped ConvTranspose; the same map written with a
    # block-diagonal ungrouped weight (zeros across groups) is what it checks instead.
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    from app.importers import import_onnx
    from tests.floats import assert_equal_up_to_rounding

    net, output = conv_transpose_case(group=2, strides=[2, 2], dilations=[2, 1])()
    grouped = net.model(output)
    graph, _ = import_onnx(grouped.SerializeToString())
    weight = numpy_helper.to_array(grouped.graph.initializer[0])  # (4, 3, 3, 3)
    full = np.zeros((4, 6, 3, 3), np.float32)
    for i in range(4):
        g = i // 2
        full[i, 3 * g: 3 * g + 3] = weight[i]
    grouped.graph.initializer[0].CopyFrom(numpy_helper.from_array(full, weight_name(grouped)))
    grouped.graph.node[0].attribute.pop(
        [a.name for a in grouped.graph.node[0].attribute].index("group"))
    x = net.input()
    want = ReferenceEvaluator(grouped).run(None, {"x": x})[0]
    assert_equal_up_to_rounding(graph.predict(x), want, rel=1e-5)
    check_backward(graph, net.input(seed=2))


def weight_name(model):
    return model.graph.initializer[0].name


@pytest.mark.parametrize("op_type", ["Mul", "Add"])
def test_a_node_is_merged_only_into_a_node_it_alone_reads_even_through_removed_nodes(op_type):
    # a = x - m feeds both Identity -> Mul/Add and the final Add: merging the Mul into a's
    # affine node would change a for its other reader.
    net = Net((1, 3, 4, 4))
    a = net.op("Sub", ["x", net.const(np.array(0.5, np.float32))])
    b = net.op(op_type, [net.op("Identity", [a]), net.const(np.array(2.0, np.float32))])
    graph, card = check_against_reference(net.model(net.op("Add", [b, a])), net.input())
    assert [layer["kind"] for layer in card["layers"]] == ["channelaffine", "channelaffine",
                                                           "add"]
    check_backward(graph, net.input(seed=2))


def test_matmul_whose_output_has_two_readers_keeps_its_add_apart():
    net = Net((2, 6))
    m = net.op("MatMul", ["x", net.weight(6, 4)])
    b = net.op("Add", [net.op("Dropout", [m]), net.weight(4)])
    graph, card = check_against_reference(net.model(net.op("Add", [b, m])), net.input())
    assert [layer["kind"] for layer in card["layers"]] == ["linear", "channelaffine", "add"]


def test_dropout_with_ratio_and_training_mode_inputs_and_identity_after_the_head_are_removed():
    net = Net((2, 6), opset=13)
    y = net.op("Dropout", [net.gemm("x", 6, 4), net.const(np.array(0.3, np.float32)),
                           net.const(np.array(False))])
    y = net.op("Identity", [net.op("Softmax", [y], axis=-1)])
    graph, card = check_against_reference(net.model(y), net.input())
    assert [layer["kind"] for layer in card["layers"]] == ["linear"]
    assert card["head"]["op"] == "Softmax"
