"""Small ONNX models built with onnx.helper, as exporters write them, for the importer's tests.

`Net` collects nodes and random initializers; `model()` wraps them in a ModelProto with one
float input "x" and one output. Weights are small and random (seeded), so every test model
is different from the identity and every mistake in a mapping shows in its outputs.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


class Net:
    def __init__(self, input_shape, seed: int = 0, opset: int = 13):
        self.input_shape = list(input_shape)
        self.rng = np.random.default_rng(seed)
        self.opset = opset
        self.nodes, self.inits = [], []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, value, prefix: str = "c") -> str:
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, *shape, scale: float = 0.5) -> str:
        return self.const((self.rng.standard_normal(shape) * scale).astype(np.float32), "w")

    def op(self, op_type: str, inputs, outputs: int = 1, name: str | None = None, **attrs):
        node_name = name or self.name(op_type.lower())
        outs = [f"{node_name}_out{i}" if i else f"{node_name}_out" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=node_name, **attrs))
        return outs[0] if outputs == 1 else outs

    # Exporter idioms ---------------------------------------------------------------------
    def conv(self, x, c_in, c_out, k, group=1, bias=True, **attrs):
        inputs = [x, self.weight(c_out, c_in // group, k, k)]
        if bias:
            inputs.append(self.weight(c_out, scale=0.1))
        return self.op("Conv", inputs, group=group, kernel_shape=[k, k], **attrs)

    def bn(self, x, c):
        return self.op(
            "BatchNormalization",
            [x, self.const(self.rng.uniform(0.5, 1.5, c).astype(np.float32)),
             self.weight(c, scale=0.1), self.weight(c, scale=0.1),
             self.const(self.rng.uniform(0.5, 2.0, c).astype(np.float32))],
            epsilon=1e-5,
        )

    def torch_flatten(self, x):
        """What torch.onnx.export writes for x.view(x.size(0), -1)."""
        shape = self.op("Shape", [x])
        batch = self.op("Gather", [shape, self.const(np.array(0, np.int64))], axis=0)
        if self.opset < 13:
            unsq = self.op("Unsqueeze", [batch], axes=[0])
        else:
            unsq = self.op("Unsqueeze", [batch, self.const(np.array([0], np.int64))])
        target = self.op("Concat", [unsq, self.const(np.array([-1], np.int64))], axis=0)
        return self.op("Reshape", [x, target])

    def relu6(self, x):
        """torch's ReLU6 in opset 11+: Clip whose bounds are Cast constants."""
        low = self.op("Constant", [], value=numpy_helper.from_array(np.array(0.0, np.float64)))
        high = self.op("Constant", [], value=numpy_helper.from_array(np.array(6.0, np.float64)))
        low = self.op("Cast", [low], to=TensorProto.FLOAT)
        high = self.op("Cast", [high], to=TensorProto.FLOAT)
        return self.op("Clip", [x, low, high])

    def gemm(self, x, n_in, n_out):
        return self.op("Gemm", [x, self.weight(n_out, n_in), self.weight(n_out, scale=0.1)],
                       alpha=1.0, beta=1.0, transB=1)

    def model(self, output: str, producer: str = "pytorch"):
        graph = helper.make_graph(
            self.nodes, "test",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
            initializer=self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name=producer, producer_version="test")
        model.ir_version = 8
        return model

    def input(self, seed: int = 1, dtype=np.float32) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal(self.input_shape).astype(dtype)
