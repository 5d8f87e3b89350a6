"""Whole networks written as torch.onnx.export writes them (a LeNet with the flatten idiom,
a residual net with BatchNorm and input normalisation, a depthwise-separable block with
ReLU6, a Fire module with Concat and asymmetric pads): every node against onnx.reference,
backward against finite differences, and the card."""

from __future__ import annotations

import numpy as np
import pytest

from tests.importers.check import check_against_reference, check_backward
from tests.importers.onnx_build import Net


def lenet(opset: int = 13):
    net = Net((1, 1, 28, 28), seed=3, opset=opset)
    y = net.op("Relu", [net.conv("x", 1, 6, 5, pads=[2, 2, 2, 2])])
    y = net.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = net.op("Relu", [net.conv(y, 6, 16, 5)])
    y = net.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = net.torch_flatten(y)
    y = net.op("Relu", [net.gemm(y, 400, 120)])
    y = net.op("Relu", [net.gemm(y, 120, 84)])
    return net, net.op("Softmax", [net.gemm(y, 84, 10)], axis=1)


def resnet(opset: int = 17):
    net = Net((1, 3, 16, 16), seed=4, opset=opset)
    mean = net.const(np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1))
    std = net.const(np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1))
    y = net.op("Div", [net.op("Sub", ["x", mean]), std])
    y = net.op("Relu", [net.bn(net.conv(y, 3, 8, 3, bias=False, strides=[2, 2],
                                        pads=[1, 1, 1, 1]), 8)])
    stem = net.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = net.op("Relu", [net.bn(net.conv(stem, 8, 8, 3, bias=False, pads=[1, 1, 1, 1]), 8)])
    y = net.bn(net.conv(y, 8, 8, 3, bias=False, pads=[1, 1, 1, 1]), 8)
    y = net.op("Relu", [net.op("Add", [y, stem])])
    down = net.bn(net.conv(y, 8, 16, 1, bias=False, strides=[2, 2]), 16)  # projection skip
    z = net.op("Relu", [net.bn(net.conv(y, 8, 16, 3, bias=False, strides=[2, 2],
                                        pads=[1, 1, 1, 1]), 16)])
    z = net.bn(net.conv(z, 16, 16, 3, bias=False, pads=[1, 1, 1, 1]), 16)
    y = net.op("Relu", [net.op("Add", [z, down])])
    y = net.op("Flatten", [net.op("GlobalAveragePool", [y])], axis=1)
    return net, net.gemm(y, 16, 5)


def depthwise_separable(opset: int = 13):
    net = Net((1, 3, 12, 12), seed=5, opset=opset)
    y = net.relu6(net.conv("x", 3, 8, 3, strides=[2, 2], pads=[1, 1, 1, 1]))
    y = net.relu6(net.conv(y, 8, 8, 3, group=8, pads=[1, 1, 1, 1]))          # depthwise
    y = net.relu6(net.conv(y, 8, 16, 1))                                      # pointwise
    y = net.op("Dropout", [net.op("GlobalAveragePool", [y])])
    y = net.op("Reshape", [y, net.const(np.array([1, -1], np.int64))])
    return net, net.op("LogSoftmax", [net.gemm(y, 16, 4)], axis=1)


def fire(opset: int = 11):
    net = Net((1, 3, 15, 15), seed=6, opset=opset)
    # TF-style SAME padding written out: asymmetric pads (0 before, 1 after).
    y = net.op("Relu", [net.conv("x", 3, 8, 3, strides=[2, 2], pads=[0, 0, 1, 1])])
    y = net.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    squeeze = net.op("Relu", [net.conv(y, 8, 4, 1)])
    e1 = net.op("Relu", [net.conv(squeeze, 4, 6, 1)])
    e3 = net.op("Relu", [net.conv(squeeze, 4, 6, 3, pads=[1, 1, 1, 1])])
    y = net.op("Concat", [e1, e3], axis=1)
    y = net.op("Relu", [net.conv(y, 12, 5, 1)])
    y = net.op("AveragePool", [y], kernel_shape=[3, 3])  # 3x3 -> 1x1
    return net, net.torch_flatten(y)


MODELS = {"lenet": lenet, "resnet": resnet, "depthwise-separable": depthwise_separable,
          "fire": fire}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_the_reference_node_by_node_and_backward_by_finite_differences(name):
    net, output = MODELS[name]()
    graph, card = check_against_reference(net.model(output), net.input())
    # Every input pixel; every weight of the small nets, 8 of each tensor's in the larger.
    check_backward(graph, net.input(seed=2), sample=8 if name in ("lenet", "resnet") else None)
    assert card["nodes"] == len(graph)
    assert card["parameters"] == graph.parameter_count


@pytest.mark.parametrize("opset", [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21])
def test_lenet_imports_the_same_at_every_supported_opset(opset):
    net, output = lenet(opset)
    graph, card = check_against_reference(net.model(output), net.input())
    assert card["opset"] == opset
    assert [layer["kind"] for layer in card["layers"]] == [
        "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "flatten",
        "linear", "relu", "linear", "relu", "linear",
    ]


def test_lenet_card_names_the_input_layers_ops_head_and_producer():
    net, output = lenet()
    graph, card = check_against_reference(net.model(output), net.input())
    assert card["input"] == {"name": "x", "shape": [1, 1, 28, 28], "dtype": "float32",
                             "channels": 1, "height": 28, "width": 28}
    assert card["head"] == {"op": "Softmax", "node": net.nodes[-1].name, "axis": 1}
    assert card["output"]["shape"] == [1, 10]
    assert card["producer"] == {"name": "pytorch", "version": "test"}
    assert card["op_counts"] == {"Concat": 1, "Conv": 2, "Gather": 1, "Gemm": 3, "MaxPool": 2,
                                 "Relu": 4, "Reshape": 1, "Shape": 1, "Softmax": 1,
                                 "Unsqueeze": 1}
    assert card["parameters"] == 61_706
    first = card["layers"][0]
    assert first["input_shape"] == [1, 1, 28, 28] and first["output_shape"] == [1, 6, 28, 28]
    assert first["parameters"] == 156
    assert [layer["parameters"] for layer in card["layers"]][-1] == 850


def test_resnet_keeps_batchnorm_and_skip_connections_as_visible_nodes():
    net, output = resnet()
    graph, card = check_against_reference(net.model(output), net.input())
    kinds = [layer["kind"] for layer in card["layers"]]
    assert kinds[0] == "channelaffine"
    assert kinds.count("batchnorm2d") == 6 and kinds.count("add") == 2
    add = next(layer for layer in card["layers"] if layer["kind"] == "add")
    assert len(add["inputs"]) == 2
    trace = graph.trace(net.input(), target=[2])  # the core's loss in place of a head
    assert trace.input_grad.shape == (1, 3, 16, 16)


def test_imported_graph_runs_a_batch_and_traces_with_the_core_loss():
    net, output = fire()
    graph, _ = check_against_reference(net.model(output), net.input())
    batch = np.random.default_rng(0).standard_normal((3, 3, 15, 15)).astype(np.float32)
    single = np.stack([graph.predict(batch[i: i + 1])[0] for i in range(3)])
    np.testing.assert_allclose(graph.predict(batch), single, rtol=1e-5, atol=1e-6)
