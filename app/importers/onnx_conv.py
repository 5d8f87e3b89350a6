"""ONNX convolution and pooling -> Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d (with a
ZeroPad2d node for the asymmetric pads exporters write). Attribute semantics follow onnx's
Operators.md: `pads` is (top, left, bottom, right); SAME_UPPER puts the odd padding pixel at
the end, SAME_LOWER at the beginning; pooling's strides default to 1."""

from __future__ import annotations

import numpy as np

from app.importers.onnx_graph import Act, Builder
from app.nn import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, ZeroPad2d, conv_output_size

F32 = np.float32


def _ints(values, default) -> tuple[int, ...]:
    return tuple(int(v) for v in (default if values is None else values))


def _spatial_pads(b: Builder, node, a, x: Act, kernel, strides, dilations):
    """(top, left, bottom, right) from `pads` or `auto_pad` (SAME_UPPER puts the odd pixel at
    the end, SAME_LOWER at the beginning; VALID pads nothing)."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for n, k, s, d in zip(x.shape[2:], kernel, strides, dilations, strict=True):
            total = max(0, (-(-n // s) - 1) * s + d * (k - 1) + 1 - n)
            head = total // 2 if auto == "SAME_UPPER" else total - total // 2
            begin.append(head)
            end.append(total - head)
        return (*begin, *end)
    if auto == "VALID":
        return (0, 0, 0, 0)
    if auto != "NOTSET":
        raise b.unsupported(node, f"auto_pad {auto!r}")
    pads = _ints(a.get("pads"), (0, 0, 0, 0))
    if len(pads) != 4:
        raise b.unsupported(node, f"pads {list(pads)}: only 2-D (4 values) are supported")
    if min(pads) < 0:
        raise b.unsupported(node, f"negative pads {list(pads)}")
    return pads


def _geometry(b: Builder, node, a, x: Act, kernel):
    if x.shape and len(x.shape) != 4:
        raise b.unsupported(node, f"only 2-D (N, C, H, W) inputs, got shape {list(x.shape)}")
    strides = _ints(a.get("strides"), (1, 1))
    dilations = _ints(a.get("dilations"), (1, 1))
    if len(kernel) != 2 or len(strides) != 2 or len(dilations) != 2:
        raise b.unsupported(node, "only 2-D kernels are supported")
    return strides, dilations, _spatial_pads(b, node, a, x, kernel, strides, dilations)


def _optional(xs, i):
    return xs[i] if len(xs) > i else None


def conv(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    weight = b.constant(xs[1], node, "weight")
    bias = _optional(xs, 2)
    bias = None if bias is None else b.constant(bias, node, "bias")
    if weight.ndim != 4:
        raise b.unsupported(node, f"only 2-D convolutions (a 4-D weight), got {weight.ndim}-D")
    kernel = weight.shape[2:]
    strides, dilations, (top, left, bottom, right) = _geometry(b, node, a, x, kernel)
    group = int(a.get("group", 1))
    c_in, c_out = x.shape[1], weight.shape[0]
    if weight.shape[1] * group != c_in:
        raise b.unsupported(node, f"weight {list(weight.shape)} with group {group} does not "
                            f"fit {c_in} input channels")
    symmetric = top == bottom and left == right
    if not symmetric:  # the exporters' asymmetric padding: its own visible node
        x = b.add(ZeroPad2d((left, right, top, bottom)), [x], node, "", suffix="_pad")
    layer = Conv2d(c_in, c_out, kernel, strides, (top, left) if symmetric else 0, dilations,
                   group, bias=bias is not None)
    layer.params["weight"] = weight.astype(F32)
    if bias is not None:
        layer.params["bias"] = bias.reshape(c_out).astype(F32)
    return b.add(layer, [x], node, node.output[0])


def conv_transpose(b: Builder, node, a, xs):
    x = b.activation(xs[0], node)
    weight = b.constant(xs[1], node, "weight")
    bias = _optional(xs, 2)
    bias = None if bias is None else b.constant(bias, node, "bias")
    if weight.ndim != 4:
        raise b.unsupported(node, "only 2-D transposed convolutions (a 4-D weight)")
    if "output_shape" in a:
        raise b.unsupported(node, "the output_shape attribute (give pads instead)")
    auto = a.get("auto_pad", b"NOTSET")
    if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "VALID"):
        raise b.unsupported(node, f"auto_pad {auto!r}")
    kernel = weight.shape[2:]
    strides, dilations, (top, left, bottom, right) = _geometry(b, node, a, x, kernel)
    if top != bottom or left != right:
        raise b.unsupported(node, f"asymmetric pads {[top, left, bottom, right]}")
    group = int(a.get("group", 1))
    c_in, c_out = x.shape[1], weight.shape[1] * group
    if weight.shape[0] != c_in:
        raise b.unsupported(node, f"weight {list(weight.shape)} does not fit {c_in} channels")
    output_padding = _ints(a.get("output_padding"), (0, 0))
    try:
        layer = ConvTranspose2d(c_in, c_out, kernel, strides, (top, left), output_padding,
                                group, bias is not None, dilations)
    except ValueError as exc:
        raise b.unsupported(node, str(exc)) from None
    layer.params["weight"] = weight.astype(F32)
    if bias is not None:
        layer.params["bias"] = bias.reshape(c_out).astype(F32)
    return b.add(layer, [x], node, node.output[0])


def _onnx_pool_size(n, k, s, begin, end, d, ceil_mode) -> int:
    """ONNX's pooled length for pads (begin, end): floor or ceil, and with ceil a last window
    that would start in the end padding is dropped (as torch)."""
    span = n + begin + end - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= n + begin else out


def _asymmetric_as_symmetric(x: Act, kernel, strides, dilations, pads, ceil_mode):
    """Pads larger at the end than at the beginning (TensorFlow's SAME): the windows start
    where symmetric pads of the beginning's size put them, so only their count differs, and
    one of floor and ceil mode gives ONNX's count on both axes. -> that ceil_mode, or None."""
    top, left, bottom, right = pads
    for mode in (False, True):
        if all(
            conv_output_size(n, k, s, p, d, mode) == _onnx_pool_size(n, k, s, p, q, d, ceil_mode)
            for n, k, s, p, q, d in zip(x.shape[2:], kernel, strides, (top, left),
                                        (bottom, right), dilations, strict=True)
        ):
            return mode
    return None


def _pool(b: Builder, node, a, xs, kind: str):
    x = b.activation(xs[0], node)
    if len(node.output) > 1 and node.output[1] and b.consumers[node.output[1]]:
        raise b.unsupported(node, "its Indices output")
    kernel = _ints(a.get("kernel_shape"), ())
    strides, dilations, pads = _geometry(b, node, a, x, kernel)
    top, left, bottom, right = pads
    ceil_mode = bool(a.get("ceil_mode", 0))
    include = kind == "avg" and bool(a.get("count_include_pad", 0))
    if kind == "avg" and dilations != (1, 1):
        raise b.unsupported(node, f"dilations {list(dilations)} in average pooling")
    small = top <= kernel[0] // 2 and left <= kernel[1] // 2
    mode = ceil_mode if (top, left) == (bottom, right) else None
    if mode is None and small and bottom >= top and right >= left and not include:
        # Max pooling never picks a padding cell, and average pooling without
        # count_include_pad never counts one: pads of the end's size need not exist.
        mode = _asymmetric_as_symmetric(x, kernel, strides, dilations, pads, ceil_mode)
    for n, k, st, d, begin, end in zip(x.shape[2:], kernel, strides, dilations, (top, left),
                                       (bottom, right), strict=True):
        size = _onnx_pool_size(n, k, st, begin, end, d, ceil_mode)
        starts = np.arange(max(size, 0))[:, None] * st - begin + np.arange(k) * d
        if not ((starts >= 0) & (starts < n)).any(axis=1).all():
            raise b.unsupported(node, f"pads {list(pads)}: a window would lie entirely in the "
                                "padding")
    if mode is not None and small:
        if kind == "max":
            layer = MaxPool2d(kernel, strides, (top, left), mode, dilations)
        else:
            layer = AvgPool2d(kernel, strides, (top, left), mode, include)
    elif include and not ceil_mode:  # zeros that count: an explicit padding node
        x = b.add(ZeroPad2d((left, right, top, bottom)), [x], node, "", suffix="_pad")
        layer = AvgPool2d(kernel, strides, 0, False, True)
    else:
        raise b.unsupported(node, f"pads {list(pads)} with ceil_mode {int(ceil_mode)}"
                            + (f" and count_include_pad {int(include)}" if kind == "avg" else "")
                            + " (supported: symmetric pads of at most half the kernel, or "
                            "larger pads at the end as TensorFlow's SAME writes them)")
    return b.add(layer, [x], node, node.output[0])


def max_pool(b: Builder, node, a, xs):
    return _pool(b, node, a, xs, "max")


def average_pool(b: Builder, node, a, xs):
    return _pool(b, node, a, xs, "avg")
