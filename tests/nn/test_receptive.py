"""Receptive-field arithmetic: the seed's script, published figures, and the gradient footprint."""

from __future__ import annotations

import numpy as np
import pytest

from app.models import ARCHITECTURES
from app.models.presets import CLASSIC_INPUT_SIZE, CLASSIC_TABLES, get_preset, presets
from app.nn import AvgPool2d, Conv2d, ConvTranspose2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from app.nn.receptive import (
    MAX_INPUT_SIDE,
    MAX_LAYERS,
    InvalidLayer,
    geometry,
    geometry_from_dict,
    network_receptive_fields,
    receptive_fields,
    unit_box,
    unit_footprint,
    units_seeing,
)


def classic_out_from_in(size, table, count):
    """The classic receptive-field script's outFromIn (Python 2's / on ints is floor)."""
    total_stride = 1
    for kernel, stride, pad in table[:count]:
        size = (size - kernel + 2 * pad) // stride + 1
        total_stride *= stride
    return size, total_stride


def classic_in_from_out(table, count):
    """The classic receptive-field script's inFromOut: RF = (RF - 1) * stride + fsize, top-down."""
    rf = 1
    for kernel, stride, _ in reversed(table[:count]):
        rf = (rf - 1) * stride + kernel
    return rf


def _table_of(preset_id):
    if preset_id in CLASSIC_TABLES:
        return CLASSIC_TABLES[preset_id][1], CLASSIC_INPUT_SIZE
    preset = get_preset(preset_id)
    table = []
    for layer in preset.layers:
        assert layer.kernel_size[0] == layer.kernel_size[1] and layer.dilation == (1, 1)
        table.append((layer.kernel_size[0], layer.stride[0], layer.padding[0]))
    return table, preset.input_size[0]


@pytest.mark.parametrize("preset_id", list(presets()))
def test_every_preset_matches_the_classic_script(preset_id):
    table, input_size = _table_of(preset_id)
    preset = get_preset(preset_id)
    rows = receptive_fields(preset.layers, preset.input_size)
    assert len(rows) == len(table) > 0
    for count, row in enumerate(rows, start=1):
        out, total_stride = classic_out_from_in(input_size, table, count)
        rf = classic_in_from_out(table, count)
        assert row.output_size == (out, out), row.name
        assert row.jump == (total_stride, total_stride), row.name
        assert row.size == (rf, rf), row.name


def test_presets_cover_the_classic_networks_and_every_bundled_convolutional_chain():
    ids = set(presets())
    assert {"alexnet", "vgg16", "zf5", "lenet5"} <= ids
    chains = {
        model_id for model_id, arch in ARCHITECTURES.items()
        if not any("inputs" in entry for entry in arch.spec)
        and any(layer["kind"] in ("conv2d", "maxpool2d", "avgpool2d") for layer in arch.spec)
    }
    assert chains == ids & set(ARCHITECTURES)
    assert "mlp" not in ids and "resnet-mini" not in ids


def test_alexnet_pool5_sees_195_pixels_at_a_stride_of_32():
    rows = receptive_fields(get_preset("alexnet").layers, 224)
    pool5 = rows[-1]
    assert pool5.name == "pool5"
    assert pool5.size == (195, 195)
    assert pool5.jump == (32, 32)


def test_non_square_kernels_give_a_7x5_field_at_jump_4():
    # google-research/receptive_field's example: kernel (3, 5) stride 2, then (3, 1) stride 2.
    layers = [geometry("a", "conv2d", (3, 5), 2), geometry("b", "conv2d", (3, 1), 2)]
    rows = receptive_fields(layers, 64)
    assert rows[-1].size == (7, 5)
    assert rows[-1].jump == (4, 4)


def test_non_square_input_keeps_each_axis_apart():
    rows = receptive_fields([geometry("c", "conv2d", 3, 2, 1)], (10, 31))
    assert rows[0].output_size == (5, 16)


def test_dilation_uses_the_effective_kernel():
    # k = 3 with dilations 1, 2, 4, 8: 1 + 2 * (1 + 2 + 4 + 8) = 31.
    layers = [geometry(f"c{d}", "conv2d", 3, 1, 0, d) for d in (1, 2, 4, 8)]
    rows = receptive_fields(layers, 64)
    assert [r.size[0] for r in rows] == [3, 7, 15, 31]
    assert rows[-1].output_size == (64 - 30, 64 - 30)
    conv = Conv2d(1, 1, 3, stride=2, padding=1, dilation=3)
    row = receptive_fields([geometry("c", "conv2d", 3, 2, 1, 3)], (20, 17))[0]
    assert row.size == (7, 7)
    assert row.output_size == conv.output_shape((1, 1, 20, 17))[2:]


def test_ceil_mode_keeps_the_last_partial_window():
    # The seeds' 1000x1000 image through a 10x10 conv gives 991; 2x2 pooling gives 496 only
    # with ceil_mode (floor gives 495), like MaxPool2d.
    for ceil_mode, expected in ((False, 495), (True, 496)):
        pool = geometry("pool", "maxpool2d", 2, ceil_mode=ceil_mode)
        layers = [geometry("conv", "conv2d", 10), pool]
        rows = receptive_fields(layers, 1000)
        assert rows[0].output_size == (991, 991)
        assert rows[1].output_size == (expected, expected)
        assert rows[1].output_size == MaxPool2d(2, ceil_mode=ceil_mode).output_shape(
            (1, 1, 991, 991)
        )[2:]
    last = unit_box(rows, 1, 495, 495)
    assert last == {"y0": 990, "x0": 990, "y1": 1000, "x1": 1000}  # reaches past the edge
    assert unit_box(rows, 1, 495, 495, clip_to=(1000, 1000)) == {
        "y0": 990, "x0": 990, "y1": 999, "x1": 999,
    }


def test_start_is_the_centre_of_unit_zero():
    rows = receptive_fields([geometry("c", "conv2d", 3, 1, 1), geometry("p", "maxpool2d", 2)], 8)
    assert rows[0].start == (0, 0)        # a 3-wide field centred on pixel 0 (padding 1)
    assert rows[1].start == (0.5, 0.5)    # a 4-wide field from -1 to 2
    box = unit_box(rows, 1, 2, 3)
    for axis, (lo, hi) in enumerate(((box["y0"], box["y1"]), (box["x0"], box["x1"]))):
        index = (2, 3)[axis]
        assert (lo + hi) / 2 == rows[1].start[axis] + index * rows[1].jump[axis]


def _random_chain(rng, input_size, kinds, max_dilation=1, allow_padding=True, ceil=False):
    """A random valid chain of conv / pool layer geometries."""
    layers, size = [], input_size
    for _ in range(rng.integers(1, 5)):
        kind = kinds[rng.integers(len(kinds))]
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
        dilation = (
            tuple(int(d) for d in rng.integers(1, max_dilation + 1, size=2))
            if kind == "conv2d" else (1, 1)
        )
        eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
        if not allow_padding or max(dilation) > 1:
            padding = (0, 0)
        elif kind == "conv2d":
            padding = tuple(int(rng.integers(0, e)) for e in eff)  # p <= k_eff - 1
        else:
            padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        ceil_mode = bool(ceil and kind != "conv2d" and rng.integers(2))
        entry = {"kind": kind, "kernel_size": kernel, "stride": stride, "padding": padding,
                 "dilation": dilation, "ceil_mode": ceil_mode}
        geo = geometry_from_dict(entry, len(layers))
        try:
            row = receptive_fields([geo], size)[0]
        except InvalidLayer:
            break
        layers.append(geo)
        size = row.output_size
    return layers


def _gradient_support(network, input_hw, layer_index, y, x):
    """Bounding box of the non-zero input gradient of unit (y, x) of one layer."""
    prefix = Sequential(network.layers[: layer_index + 1])
    image = np.ones((1, 1, *input_hw))
    out, caches = prefix.forward(image)
    seed = np.zeros_like(out)
    seed[0, 0, y, x] = 1.0
    grad, _ = prefix.backward(seed, caches)
    rows, cols = np.nonzero(grad[0, 0])
    return {"y0": rows.min(), "x0": cols.min(), "y1": rows.max(), "x1": cols.max()}, grad[0, 0]


def _check_footprints(geos, input_hw, rng):
    rows = receptive_fields(geos, input_hw)
    network = _positive_network(geos, rng)
    for index, row in enumerate(rows):
        oh, ow = row.output_size
        units = {(0, 0), (oh - 1, ow - 1), (int(rng.integers(oh)), int(rng.integers(ow)))}
        for y, x in units:
            support, grad = _gradient_support(network, input_hw, index, y, x)
            assert support == unit_footprint(geos, input_hw, index, y, x), (geos, index, y, x)
            clipped = unit_box(rows, index, y, x, clip_to=input_hw)
            unclipped = unit_box(rows, index, y, x)
            assert clipped["y0"] <= support["y0"] <= support["y1"] <= clipped["y1"]
            assert clipped["x0"] <= support["x0"] <= support["x1"] <= clipped["x1"]
            if all(geo.padding == (0, 0) and not geo.ceil_mode for geo in geos):
                assert support == clipped == unclipped, (geos, index, y, x)
            inside = np.zeros_like(grad, dtype=bool)
            inside[max(unclipped["y0"], 0) : unclipped["y1"] + 1,
                   max(unclipped["x0"], 0) : unclipped["x1"] + 1] = True
            assert not np.any(grad[~inside])


@pytest.mark.parametrize("seed", range(20))
def test_field_equals_the_gradient_footprint_of_an_average_pool_network(seed):
    rng = np.random.default_rng(seed)
    input_hw = tuple(int(n) for n in rng.integers(12, 30, size=2))
    layers = _random_chain(rng, input_hw, ["avgpool2d"], ceil=True)
    assert layers
    _check_footprints(layers, input_hw, rng)


def _positive_network(layers, rng):
    """app.nn layers with a chain's geometry: one channel, positive conv weights, and mean
    pooling in place of max pooling (so that every input a unit reads gets some gradient)."""
    built = []
    for geo in layers:
        if geo.kind == "conv2d":
            layer = Conv2d(1, 1, geo.kernel_size, geo.stride, geo.padding, geo.dilation,
                           bias=False, dtype=np.float64)
            layer.params["weight"] = rng.uniform(0.5, 1.5, size=(1, 1, *geo.kernel_size))
        else:
            layer = AvgPool2d(geo.kernel_size, geo.stride, geo.padding, geo.ceil_mode)
        built.append(layer)
    return Sequential(built)


def test_footprint_drops_the_pixels_that_floor_mode_never_reads():
    # AlexNet's conv1 (11, stride 4) on 224 reads pixels 0..222 only, and every later floor
    # division drops more: the bottom-right pool5 unit's box reaches 223, its inputs stop short.
    layers = get_preset("alexnet").layers
    rows = receptive_fields(layers, 224)
    last = rows[0].output_size[0] - 1
    assert unit_box(rows, 0, last, last, clip_to=(224, 224))["y1"] == 222
    corner = unit_box(rows, 7, 4, 4, clip_to=(224, 224))
    assert corner == {"y0": 64, "x0": 64, "y1": 223, "x1": 223}
    network = _positive_network(layers, np.random.default_rng(0))
    support, _ = _gradient_support(network, (224, 224), 7, 4, 4)
    footprint = unit_footprint(layers, 224, 7, 4, 4)
    assert footprint == support
    assert footprint["y1"] < corner["y1"]


def test_footprint_skips_a_dilated_edge_in_the_padding():
    # taps at -1, 1, 3: pixel 0 sits in a hole of the dilated kernel
    layers = [geometry("c", "conv2d", 3, 1, 1, 2)]
    rows = receptive_fields(layers, 6)
    assert unit_box(rows, 0, 0, 0, clip_to=(6, 6)) == {"y0": 0, "x0": 0, "y1": 3, "x1": 3}
    assert unit_footprint(layers, 6, 0, 0, 0) == {"y0": 1, "x0": 1, "y1": 3, "x1": 3}


@pytest.mark.parametrize("seed", range(20))
def test_field_equals_the_gradient_footprint_of_a_positive_conv_network(seed):
    rng = np.random.default_rng(100 + seed)
    input_hw = tuple(int(n) for n in rng.integers(16, 40, size=2))
    layers = _random_chain(rng, input_hw, ["conv2d", "avgpool2d"], max_dilation=1 + seed % 3)
    assert layers
    _check_footprints(layers, input_hw, rng)


def test_units_seeing_a_pixel_are_exactly_those_whose_box_holds_it():
    rng = np.random.default_rng(7)
    for _ in range(10):
        geos = _random_chain(rng, (21, 17), ["conv2d", "avgpool2d"], max_dilation=2)
        rows = receptive_fields(geos, (21, 17))
        for index, row in enumerate(rows):
            for py, px in ((0, 0), (20, 16), (10, 5)):
                seeing = [
                    (y, x)
                    for y in range(row.output_size[0]) for x in range(row.output_size[1])
                    if (b := unit_box(rows, index, y, x))["y0"] <= py <= b["y1"]
                    and b["x0"] <= px <= b["x1"]
                ]
                result = units_seeing(row, py, px)
                if not seeing:
                    assert result is None
                    continue
                ys, xs = zip(*seeing, strict=True)
                assert result == {"y0": min(ys), "x0": min(xs), "y1": max(ys), "x1": max(xs)}
                assert len(seeing) == (max(ys) - min(ys) + 1) * (max(xs) - min(xs) + 1)


def test_a_stride_larger_than_the_kernel_leaves_pixels_unseen():
    row = receptive_fields([geometry("p", "maxpool2d", 2, 3)], 9)[0]
    assert units_seeing(row, 2, 2) is None
    assert units_seeing(row, 3, 4) == {"y0": 1, "x0": 1, "y1": 1, "x1": 1}


def test_network_fields_follow_every_layer_of_a_bundled_model():
    from app.nn import from_spec

    network = from_spec(ARCHITECTURES["lenet5"].spec, rng=0)
    fields = network_receptive_fields(network, (28, 28))
    assert len(fields) == len(network)
    by_name = dict(zip(network.names, fields, strict=True))
    expected = {
        row.name: row.fields() for row in receptive_fields(get_preset("lenet5").layers, 28)
    }
    for name, spatial in expected.items():
        assert by_name[name] == spatial
    assert by_name["relu1"] == by_name["conv1"]           # activations inherit
    assert by_name["pool2"]["size"] == [16, 16]
    for name in ("flatten", "fc1", "fc3"):                 # the dense head sees everything
        assert by_name[name] == {"size": [28, 28], "jump": [0, 0], "start": [13.5, 13.5],
                                 "padding": [0, 0]}
    assert unit_box(fields, network.names.index("fc3"), 0, 7) == {
        "y0": 0, "x0": 0, "y1": 27, "x1": 27,
    }


def test_network_fields_after_a_transposed_conv_are_not_applicable():
    network = Sequential([
        Conv2d(1, 2, 3), ReLU(), ConvTranspose2d(2, 1, 2, stride=2), MaxPool2d(2), Flatten(),
        Linear(4, 2),
    ])
    fields = network_receptive_fields(network, (5, 5))
    assert fields[1] == {"size": [3, 3], "jump": [1, 1], "start": [1, 1], "padding": [0, 0]}
    assert fields[2:] == [None] * 4
    assert unit_box(fields, 3, 0, 0) is None


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"kernel_size": 0}, "kernel_size", "kernel_size must be >= 1"),
        ({"kernel_size": 3, "stride": 0}, "stride", "stride must be >= 1"),
        ({"kernel_size": 3, "padding": -1}, "padding", "padding must be >= 0"),
        ({"kernel_size": 3, "dilation": (1, 0)}, "dilation", "dilation must be >= 1"),
        ({"kernel_size": 3, "kind": "conv3d"}, "kind", "unknown kind 'conv3d'"),
        ({"kernel_size": "3"}, "kernel_size", "kernel_size must be an int or a pair"),
        ({"kernel_size": 3, "kind": "conv2d", "ceil_mode": True}, "ceil_mode", "no ceil_mode"),
        ({"kernel_size": 3, "kind": "avgpool2d", "dilation": 2}, "dilation", "no dilation"),
        ({"kernel_size": 2, "kind": "maxpool2d", "padding": 2}, "padding", "at most half"),
        ({"kernel_size": MAX_INPUT_SIDE + 1}, "kernel_size", "larger than"),
    ],
)
def test_invalid_layers_name_the_layer_and_the_problem(kwargs, field, words):
    entry = {"kind": "conv2d", "name": "bad", **kwargs}
    with pytest.raises(InvalidLayer) as info:
        geometry_from_dict(entry, 4)
    assert (info.value.index, info.value.name, info.value.field) == (4, "bad", field)
    assert words in info.value.problem
    assert str(info.value).startswith("layer 4 (bad): ")


def test_a_chain_that_leaves_no_output_names_the_layer():
    layers = [geometry("c1", "conv2d", 5), geometry("c2", "conv2d", 5)]
    with pytest.raises(InvalidLayer) as info:
        receptive_fields(layers, 8)
    assert (info.value.index, info.value.name) == (1, "c2")
    assert "output size 0x0" in info.value.problem


def test_absurd_inputs_and_layer_counts_are_refused():
    with pytest.raises(InvalidLayer, match="input_size"):
        receptive_fields([geometry("c", "conv2d", 1)], MAX_INPUT_SIDE + 1)
    with pytest.raises(InvalidLayer, match="input_size"):
        receptive_fields([geometry("c", "conv2d", 1)], (0, 5))
    growing = [geometry(f"c{i}", "conv2d", 1, 1, 5000) for i in range(3)]
    with pytest.raises(InvalidLayer, match="output size 20001x20001 is larger than") as info:
        receptive_fields(growing, 1)
    assert (info.value.index, info.value.field) == (1, "padding")
    with pytest.raises(InvalidLayer, match="more than the limit"):
        receptive_fields([geometry("c", "conv2d", 1)] * (MAX_LAYERS + 1), 8)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(KeyError, match="alexnet"):
        get_preset("resnet152")
