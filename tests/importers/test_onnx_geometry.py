"""Property tests over conv and pooling geometry: for any kernel, stride, dilation, pads
(symmetric or not), ceil_mode and count_include_pad that ONNX defines on a small input, the
importer either maps the node exactly or refuses it with UnsupportedOperator naming the
reason; it never builds a wrong graph.

"Exactly" is judged by onnx.reference where it is sound, and always by `spec_pool`, the spec
written out window by window: onnx.reference's pooling with ceil_mode goes wrong when the
ceil overhang is 2 cells or more (it moves half of it before the input, shifting every
window; or it fails on an empty window), where torch and onnxruntime keep the windows at
`i * stride - pad_begin` and only drop a last window that would start in the end padding;
on some padded geometries it raises instead of answering. With unit strides and dilations
it also reads four pads as (top, bottom, left, right) where ONNX orders them (top, left,
bottom, right), so on pads whose left and bottom differ it pads the wrong axes (a 5x7 input,
kernel 2x3, pads [0, 1, 0, 1] gives it 5x6 instead of 4x7): `reference_reads_pads_right`
says when its answer can be compared."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from onnx.reference import ReferenceEvaluator

from app.importers import UnsupportedOperator, import_onnx
from app.importers.onnx_conv import _onnx_pool_size
from tests.floats import assert_equal_up_to_rounding
from tests.importers.check import check_against_reference
from tests.importers.onnx_build import Net

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def geometry(draw, dilate: bool = True):
    kernel = [draw(st.integers(1, 4)) for _ in range(2)]
    strides = [draw(st.integers(1, 3)) for _ in range(2)]
    dilations = [draw(st.integers(1, 2)) if dilate else 1 for _ in range(2)]
    pads = [draw(st.integers(0, k - 1)) for k in kernel * 2]
    size = [draw(st.integers(1, 9)) for _ in range(2)]
    for i in range(2):  # ONNX needs at least one output
        assume(size[i] + pads[i] + pads[i + 2] >= dilations[i] * (kernel[i] - 1) + 1)
    return kernel, strides, dilations, pads, size


def spec_pool(x, kind, kernel, strides, dilations, pads, ceil_mode, include):
    """ONNX pooling, one window at a time: window i starts at i * stride - pad_begin; its taps
    in the input are averaged or maxed; with count_include_pad the explicit padding's taps
    count too (never the ceil overhang past it)."""
    n, c, h, w = x.shape
    sizes = [_onnx_pool_size(size, k, s, p, q, d, ceil_mode) for size, k, s, p, q, d in
             zip((h, w), kernel, strides, pads[:2], pads[2:], dilations, strict=True)]
    out = np.zeros((n, c, *sizes))
    for i in range(sizes[0]):
        for j in range(sizes[1]):
            rows = [i * strides[0] - pads[0] + a * dilations[0] for a in range(kernel[0])]
            cols = [j * strides[1] - pads[1] + b * dilations[1] for b in range(kernel[1])]
            real = [(r, q) for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
            values = np.stack([x[:, :, r, q] for r, q in real], axis=-1).astype(np.float64)
            if kind == "MaxPool":
                out[:, :, i, j] = values.max(axis=-1)
                continue
            padded = [(r, q) for r in rows for q in cols
                      if -pads[0] <= r < h + pads[2] and -pads[1] <= q < w + pads[3]]
            out[:, :, i, j] = values.sum(axis=-1) / (len(padded) if include else len(real))
    return out


def reference_reads_pads_right(strides, dilations, pads) -> bool:
    """onnx.reference's unit-stride pooling path unpacks pads as (top, bottom, left, right);
    that reading agrees with ONNX's (top, left, bottom, right) only when left == bottom."""
    unit = all(s == 1 for s in strides) and all(d == 1 for d in dilations)
    return not unit or pads[1] == pads[2]


def run(net, output, kind, kernel, strides, dilations, pads, ceil_mode, include=False):
    x = net.input()
    try:
        graph, _ = import_onnx(net.model(output).SerializeToString())
    except UnsupportedOperator as error:
        assert error.reason, error
        return
    got = graph.predict(x)
    want = spec_pool(x, kind, kernel, strides, dilations, pads, ceil_mode, include)
    assert_equal_up_to_rounding(got, want, rel=1e-6)
    if ceil_mode or not reference_reads_pads_right(strides, dilations, pads):
        return
    try:  # onnx.reference also fails outright on some padded windows without ceil_mode
        reference = ReferenceEvaluator(net.model(output)).run(None, {"x": x})[0]
    except (RuntimeError, ValueError):
        return
    assert_equal_up_to_rounding(got, reference, rel=1e-5)


@SETTINGS
@given(geometry(), st.booleans())
@example(([2, 3], [1, 1], [1, 1], [0, 1, 0, 1], [5, 7]), False)
def test_max_pool_is_mapped_exactly_or_refused(g, ceil_mode):
    kernel, strides, dilations, pads, size = g
    net = Net((1, 2, *size))
    output = net.op("MaxPool", ["x"], kernel_shape=kernel, strides=strides,
                    dilations=dilations, pads=pads, ceil_mode=int(ceil_mode))
    run(net, output, "MaxPool", kernel, strides, dilations, pads, ceil_mode)


@pytest.mark.parametrize("kind", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize(("size", "kernel", "pads", "want"), [
    ((5, 7), (2, 3), (0, 1, 0, 1), (4, 7)),
    ((7, 5), (3, 2), (1, 0, 1, 0), (7, 4)),
    ((4, 9), (3, 1), (1, 0, 1, 0), (4, 9)),
])
def test_pooling_pads_each_axis_by_its_own_pads_on_a_non_square_input(kind, size, kernel, pads,
                                                                       want):
    net = Net((1, 2, *size))
    output = net.op(kind, ["x"], kernel_shape=list(kernel), strides=[1, 1], pads=list(pads))
    x = net.input()
    graph, _ = import_onnx(net.model(output).SerializeToString())
    got = graph.predict(x)
    assert got.shape == (1, 2, *want)
    spec = spec_pool(x, kind, kernel, (1, 1), (1, 1), pads, False, False)
    assert_equal_up_to_rounding(got, spec, rel=1e-6)


@SETTINGS
@given(geometry(dilate=False), st.booleans(), st.booleans())
def test_average_pool_is_mapped_exactly_or_refused(g, ceil_mode, include):
    kernel, strides, _, pads, size = g
    net = Net((1, 2, *size))
    output = net.op("AveragePool", ["x"], kernel_shape=kernel, strides=strides, pads=pads,
                    ceil_mode=int(ceil_mode), count_include_pad=int(include))
    run(net, output, "AveragePool", kernel, strides, [1, 1], pads, ceil_mode, include)


@SETTINGS
@given(geometry(), st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]),
       st.sampled_from([1, 2]))
def test_conv_is_mapped_exactly_whatever_its_padding(g, auto_pad, group):
    kernel, strides, dilations, pads, size = g
    net = Net((1, 2, *size))
    attrs = {"pads": pads} if auto_pad == "NOTSET" else {"auto_pad": auto_pad}
    if auto_pad == "VALID":
        assume(all(n >= d * (k - 1) + 1 for n, k, d in zip(size, kernel, dilations,
                                                            strict=True)))
    weight = net.weight(4, 2 // group, *kernel)
    output = net.op("Conv", ["x", weight, net.weight(4)], group=group, strides=strides,
                    dilations=dilations, **attrs)
    check_against_reference(net.model(output), net.input())
    assert np.isfinite(net.input()).all()
