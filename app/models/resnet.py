"""resnet-mini: a small residual network for 1x28x28 digits, as a Graph spec.

Stem conv-BN-ReLU (8 channels, 28x28), then three residual blocks (He et al. 2016's basic
block: conv-BN-ReLU-conv-BN, plus the skip, then ReLU): 8 channels at 28x28 with the
identity skip; 16 at 14x14 and 32 at 7x7, each strided by 2 with a 1x1 strided projection
(conv + BN) on the skip; then global average pooling and one linear layer.
"""

from __future__ import annotations

from app.nn.spec import LayerSpec


def _conv(name: str, c_in: int, c_out: int, k: int, stride: int, inputs: str) -> LayerSpec:
    return {"kind": "conv2d", "name": name, "in_channels": c_in, "out_channels": c_out,
            "kernel_size": k, "stride": stride, "padding": k // 2, "bias": False,
            "inputs": [inputs]}


def _bn(name: str, channels: int, inputs: str) -> LayerSpec:
    return {"kind": "batchnorm2d", "name": name, "num_features": channels, "inputs": [inputs]}


def _block(name: str, c_in: int, c_out: int, stride: int, x: str) -> list[LayerSpec]:
    """A basic residual block reading node x; its last node is f"{name}_relu2"."""
    nodes = [
        _conv(f"{name}_conv1", c_in, c_out, 3, stride, x),
        _bn(f"{name}_bn1", c_out, f"{name}_conv1"),
        {"kind": "relu", "name": f"{name}_relu1", "inputs": [f"{name}_bn1"]},
        _conv(f"{name}_conv2", c_out, c_out, 3, 1, f"{name}_relu1"),
        _bn(f"{name}_bn2", c_out, f"{name}_conv2"),
    ]
    skip = x
    if stride != 1 or c_in != c_out:
        nodes += [_conv(f"{name}_proj", c_in, c_out, 1, stride, x),
                  _bn(f"{name}_proj_bn", c_out, f"{name}_proj")]
        skip = f"{name}_proj_bn"
    nodes += [
        {"kind": "add", "name": f"{name}_add", "inputs": [f"{name}_bn2", skip]},
        {"kind": "relu", "name": f"{name}_relu2", "inputs": [f"{name}_add"]},
    ]
    return nodes


def resnet_mini_spec() -> list[LayerSpec]:
    """The resnet-mini graph spec (every node names its inputs)."""
    return [
        _conv("conv1", 1, 8, 3, 1, "input"),
        _bn("bn1", 8, "conv1"),
        {"kind": "relu", "name": "relu1", "inputs": ["bn1"]},
        *_block("block1", 8, 8, 1, "relu1"),
        *_block("block2", 8, 16, 2, "block1_relu2"),
        *_block("block3", 16, 32, 2, "block2_relu2"),
        {"kind": "adaptiveavgpool2d", "name": "gap", "output_size": 1,
         "inputs": ["block3_relu2"]},
        {"kind": "flatten", "name": "flatten", "inputs": ["gap"]},
        {"kind": "linear", "name": "fc", "in_features": 32, "out_features": 10,
         "inputs": ["flatten"]},
    ]
