"""ONNX operators -> app.nn layers. Each converter takes (builder, node, attributes, input
values) and returns the node's first output value; attribute semantics follow onnx's
Operators.md for opsets 11-21."""

from __future__ import annotations

import numpy as np

from app.importers.onnx_conv import average_pool, conv, conv_transpose, max_pool
from app.importers.onnx_graph import Act, Builder, Head
from app.nn import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    Add,
    BatchNorm2d,
    ChannelAffine,
    Clamp,
    Concat,
    Flatten,
    LeakyReLU,
    Linear,
    ReLU,
    ReLU6,
    Sigmoid,
    Tanh,
    ZeroPad2d,
)

F32 = np.float32


def _optional(xs, i):
    return xs[i] if len(xs) > i else None


def _global(cls):
    def convert(b: Builder, node, a, xs):
        x = b.activation(xs[0], node)
        if len(x.shape) != 4:
            raise b.unsupported(node, f"only (N, C, H, W) inputs, got {list(x.shape)}")
        return b.add(cls(1), [x], node, node.output[0])
    return convert


def _elementwise(make):
    def convert(b: Builder, node, a, xs):
        return b.add(make(a), [b.activation(xs[0], node)], node, node.output[0])
    return convert


def clip(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    low, high = (None if v is None else float(b.constant(v, node, "bound").reshape(()))
                 for v in (_optional(xs, 1), _optional(xs, 2)))
    low = None if low == -np.inf else low  # an infinite bound is no bound
    high = None if high == np.inf else high
    if low is not None and high is not None and not low <= high:
        raise b.unsupported(node, f"bounds {low} > {high}")
    if low == 0 and high == 6:
        layer = ReLU6()
    elif low == 0 and high is None:
        layer = ReLU()
    else:
        layer = Clamp(low, high)
    return b.add(layer, [x], node, node.output[0])


def _linear(b: Builder, node, x: Act, weight: np.ndarray, bias: np.ndarray | None) -> Act:
    if len(x.shape) != 2 or x.shape[1] != weight.shape[1]:
        raise b.unsupported(node, f"input {list(x.shape)} is not (N, {weight.shape[1]})")
    layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    layer.params["weight"] = np.ascontiguousarray(weight, dtype=F32)
    if bias is not None:
        layer.params["bias"] = bias.astype(F32)
    return b.add(layer, [x], node, node.output[0])


def gemm(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    w = b.constant(xs[1], node, "B")
    if a.get("transA", 0):
        raise b.unsupported(node, "transA=1 (a transposed activation)")
    if w.ndim != 2:
        raise b.unsupported(node, f"B must be 2-D, got {list(w.shape)}")
    weight = float(a.get("alpha", 1.0)) * (w if a.get("transB", 0) else w.T).astype(np.float64)
    c = _optional(xs, 2)
    bias = None
    if c is not None:
        c = b.constant(c, node, "C")
        if c.size not in (1, weight.shape[0]):
            raise b.unsupported(node, f"C of shape {list(c.shape)} is not a bias")
        bias = float(a.get("beta", 1.0)) * np.broadcast_to(c.reshape(-1), (weight.shape[0],))
    return _linear(b, node, x, weight, bias)


def matmul(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    w = b.constant(xs[1], node, "second input")
    if w.ndim != 2:
        raise b.unsupported(node, f"the weight must be 2-D, got {list(w.shape)}")
    return _linear(b, node, x, w.T, None)


def _per_channel(b: Builder, node, x: Act, c: np.ndarray) -> np.ndarray:
    """A constant that broadcasts along axis 1 only, as a (C,) vector."""
    channels = x.shape[1] if len(x.shape) > 1 else 0
    aligned = c.reshape((1,) * (len(x.shape) - c.ndim) + c.shape) if c.ndim <= len(x.shape) else c
    ok = (channels and aligned.ndim == len(x.shape) and aligned.shape[1] in (1, channels)
          and all(d == 1 for i, d in enumerate(aligned.shape) if i != 1))
    if not ok:
        raise b.unsupported(node, f"a constant of shape {list(c.shape)} on an activation of "
                            f"shape {list(x.shape)} (only scalars or per-channel constants)")
    return np.broadcast_to(aligned.reshape(-1).astype(np.float64), (channels,))


def _affine(b: Builder, node, x: Act, tensor: str, scale, shift) -> Act:
    """y = x * scale + shift per channel, merged into the affine node computing x if only
    this node reads it."""
    record = b.sole_reader(x)
    if record is not None and isinstance(record.layer, ChannelAffine):
        buffers = record.layer.buffers
        buffers["shift"] = (buffers["shift"] * scale + shift).astype(F32)
        buffers["scale"] = (buffers["scale"] * scale).astype(F32)
        return b.absorb(x, node, node.output[0])
    layer = ChannelAffine(x.shape[1])
    layer.buffers["scale"] = np.array(np.broadcast_to(scale, (x.shape[1],)), F32)
    layer.buffers["shift"] = np.array(np.broadcast_to(shift, (x.shape[1],)), F32)
    return b.add(layer, [x], node, node.output[0])


def _binary(b: Builder, node, xs):
    """-> (activation, its ONNX name, constant, constant_first) or both activations."""
    left, right = xs[0], xs[1]
    if isinstance(left, np.ndarray):
        return b.activation(right, node), node.input[1], left, True
    if isinstance(right, np.ndarray):
        return b.activation(left, node), node.input[0], right, False
    return b.activation(left, node), b.activation(right, node), None, None


def add(b: Builder, node, a, xs):
    x, tensor, c, _ = _binary(b, node, xs)
    if c is None:
        try:
            return b.add(Add(), [x, tensor], node, node.output[0])
        except Exception:
            raise b.unsupported(node, f"shapes {list(x.shape)} and {list(tensor.shape)}") from None
    record = b.sole_reader(x)
    if (record is not None and isinstance(record.layer, Linear)
            and "bias" not in record.layer.params and c.size == record.layer.out_features
            and c.ndim in (1, 2) and c.shape[-1] == c.size):  # MatMul + Add: one Linear
        record.layer.params["bias"] = c.reshape(-1).astype(F32)
        return b.absorb(x, node, node.output[0])
    return _affine(b, node, x, tensor, 1.0, _per_channel(b, node, x, c))


def sum_(b: Builder, node, a, xs):
    acts = [b.activation(v, node) for v in xs]
    if len(acts) == 1:
        return acts[0]
    try:
        return b.add(Add(), acts, node, node.output[0])
    except Exception:
        raise b.unsupported(node, f"shapes {[list(x.shape) for x in acts]}") from None


def sub(b: Builder, node, a, xs):
    x, tensor, c, constant_first = _binary(b, node, xs)
    if c is None:
        raise b.unsupported(node, "the difference of two activations")
    shift = _per_channel(b, node, x, c)
    return _affine(b, node, x, tensor, -1.0 if constant_first else 1.0,
                   shift if constant_first else -shift)


def mul(b: Builder, node, a, xs):
    x, tensor, c, _ = _binary(b, node, xs)
    if c is None:
        raise b.unsupported(node, "the product of two activations")
    return _affine(b, node, x, tensor, _per_channel(b, node, x, c), 0.0)


def div(b: Builder, node, a, xs):
    x, tensor, c, constant_first = _binary(b, node, xs)
    if c is None or constant_first:
        raise b.unsupported(node, "division by an activation")
    return _affine(b, node, x, tensor, 1.0 / _per_channel(b, node, x, c), 0.0)


def batch_norm(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    if a.get("training_mode", 0):
        raise b.unsupported(node, "training_mode=1")
    if any(b.consumers[name] for name in node.output[1:] if name):
        raise b.unsupported(node, "its running-statistics outputs")
    if len(x.shape) != 4:
        raise b.unsupported(node, f"only (N, C, H, W) inputs, got {list(x.shape)}")
    scale, bias, mean, var = (b.constant(v, node, "statistics") for v in xs[1:5])
    layer = BatchNorm2d(x.shape[1], eps=float(a.get("epsilon", 1e-5)))
    for store, key, value in ((layer.params, "weight", scale), (layer.params, "bias", bias),
                              (layer.buffers, "running_mean", mean),
                              (layer.buffers, "running_var", var)):
        if value.size != x.shape[1]:
            raise b.unsupported(node, f"{key} of shape {list(value.shape)}")
        store[key] = value.reshape(-1).astype(F32)
    return b.add(layer, [x], node, node.output[0])


def concat(b: Builder, node, a, xs):
    acts = [b.activation(v, node) for v in xs]
    rank = len(acts[0].shape)
    if int(a.get("axis", 1)) % rank != 1:
        raise b.unsupported(node, f"axis {a.get('axis')} (only the channel axis, 1)")
    return b.add(Concat(1), acts, node, node.output[0])


def pad(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    mode = a.get("mode", b"constant")
    if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
        raise b.unsupported(node, f"mode {mode!r} (only constant zero padding)")
    value = _optional(xs, 2)
    if value is not None and float(b.constant(value, node, "constant_value").reshape(-1)[0]):
        raise b.unsupported(node, "a non-zero constant_value")
    pads = [int(p) for p in b.constant(xs[1], node, "pads").reshape(-1)]
    rank = len(x.shape)
    axes = _optional(xs, 3)
    axes = (list(range(rank)) if axes is None
            else [int(i) % rank for i in b.constant(axes, node, "axes").reshape(-1)])
    full = [0] * (2 * rank)
    for i, axis in enumerate(axes):
        full[axis], full[rank + axis] = pads[i], pads[len(axes) + i]
    if rank != 4 or any(full[i] or full[rank + i] for i in (0, 1)) or min(full) < 0:
        raise b.unsupported(node, f"pads {pads} (only non-negative padding of H and W)")
    if not any(full):
        return x
    top, left, bottom, right = full[2], full[3], full[6], full[7]
    return b.add(ZeroPad2d((left, right, top, bottom)), [x], node, node.output[0])


def _flatten_to_features(b: Builder, node, x: Act) -> Act:
    if len(x.shape) == 2:
        return x
    return b.add(Flatten(), [x], node, node.output[0])


def _through_head(convert):
    """A flatten of the head's (N, classes, 1, 1) probabilities: flatten the logits instead
    and keep the head."""
    def wrapped(b: Builder, node, a, xs):
        head = xs[0]
        if not isinstance(head, Head):
            return convert(b, node, a, xs)
        flat = convert(b, node, a, [head.value, *xs[1:]])
        record = b.records.get(flat.node)
        if record is not None and record.output == node.output[0]:
            record.output = ""  # it holds the logits; the ONNX tensor, the probabilities
        return Head(flat, head.op_type, head.node, head.axis)
    return wrapped


def flatten(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    if int(a.get("axis", 1)) % len(x.shape) != 1:
        raise b.unsupported(node, f"axis {a.get('axis')} (only axis 1, (N, features))")
    return _flatten_to_features(b, node, x)


def reshape(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    shape = [int(d) for d in b.constant(xs[1], node, "shape").reshape(-1)]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 and i < len(x.shape) else d for i, d in enumerate(shape)]
    total = int(np.prod(x.shape))
    if shape.count(-1) == 1:
        known = int(np.prod([d for d in shape if d != -1]))
        shape = [total // known if d == -1 and known else d for d in shape]
    if shape != [x.shape[0], total // x.shape[0]]:
        raise b.unsupported(node, f"a reshape of {list(x.shape)} to {shape} (only to "
                            "(N, features), a flatten)")
    return _flatten_to_features(b, node, x)


def squeeze(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    axes = a.get("axes") if b.opset < 13 else _optional(xs, 1)
    axes = [] if axes is None else [int(i) % len(x.shape) for i in np.asarray(axes).reshape(-1)]
    kept = [d for i, d in enumerate(x.shape) if not (i in axes or (not axes and d == 1))]
    if len(kept) != 2 or kept[0] != x.shape[0]:
        raise b.unsupported(node, f"a squeeze of {list(x.shape)} (only to (N, features))")
    return _flatten_to_features(b, node, x)


def passthrough(b: Builder, node, a, xs):
    if len(node.output) > 1 and any(b.consumers[n] for n in node.output[1:] if n):
        raise b.unsupported(node, "its mask output")
    if len(xs) > 2 and xs[2] is not None and bool(b.constant(xs[2], node, "training_mode")):
        raise b.unsupported(node, "training_mode=true (dropout at inference)")
    return xs[0] if isinstance(xs[0], Head) else b.activation(xs[0], node)


def cast(b: Builder, node, a, xs):
    if int(a.get("to", 0)) != 1:  # TensorProto.FLOAT
        raise b.unsupported(node, "a cast of an activation to another type than float32")
    return b.activation(xs[0], node)


def softmax(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    axis = int(a.get("axis", 1 if b.opset < 13 else -1))
    # Over the classes of (N, classes), or of (N, classes, 1, 1) before a flatten (Caffe2's
    # head): the same for the coerced 2-D softmax of opsets before 13 and for later ones.
    if axis % len(x.shape) != 1 or any(d != 1 for d in x.shape[2:]):
        raise b.unsupported(node, f"over axis {axis} of {list(x.shape)} (only the classes of "
                            "(N, classes), as the model's head)")
    return Head(x, node.op_type, b.label(node), axis)


CONVERTERS = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": _global(AdaptiveAvgPool2d),
    "GlobalMaxPool": _global(AdaptiveMaxPool2d),
    "Relu": _elementwise(lambda a: ReLU()),
    "LeakyRelu": _elementwise(lambda a: LeakyReLU(float(a.get("alpha", 0.01)))),
    "Sigmoid": _elementwise(lambda a: Sigmoid()),
    "Tanh": _elementwise(lambda a: Tanh()),
    "Clip": clip,
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": add,
    "Sum": sum_,
    "Sub": sub,
    "Mul": mul,
    "Div": div,
    "BatchNormalization": batch_norm,
    "Concat": concat,
    "Pad": pad,
    "Flatten": _through_head(flatten),
    "Reshape": _through_head(reshape),
    "Squeeze": _through_head(squeeze),
    "Dropout": passthrough,
    "Identity": passthrough,
    "Cast": cast,
    "Softmax": softmax,
    "LogSoftmax": softmax,
}
