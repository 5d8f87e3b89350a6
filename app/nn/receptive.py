"""Receptive-field arithmetic for chains of convolution and pooling layers, per axis.

For every layer, in input-pixel coordinates (Dumoulin & Visin; Araujo et al. 2019):

- jump:    how far the field moves when the unit index grows by one,
           jump_out = jump_in * stride;
- size:    the side of the field, size_out = size_in + d(k - 1) * jump_in (the top-down rule
           RF_in = (RF_out - 1) * stride + k, run bottom-up; a dilated kernel spans
           d(k - 1) + 1 pixels);
- padding: how far unit 0's field reaches past the input's first pixel,
           padding_out = padding_in + p * jump_in;
- start:   the centre of unit 0's field, (size - 1) / 2 - padding: always a float (x.0 or
           x.5), so it has one numeric type in JSON.

Sizes, jumps and paddings are exact Python integers. A chain whose field, jump or padding
grows past MAX_FIELD = 2**52 pixels (where a float, and so a JSON number read by JavaScript,
stops holding every x.5 exactly) is refused with InvalidLayer naming the layer.

Unit i's field is the inclusive range [i * jump - padding, i * jump - padding + size - 1]:
unclipped it may reach into the padding, clipped it is cut to the input. With dilation the
field is the bounding box of a lattice with holes; the box is what is reported.

Layers without geometry (activations) inherit the previous values. Flatten and linear units
see the whole input: size = the input size, padding 0, jump 0 (every unit has the same field).
A transposed convolution's field depends on the unit's phase modulo the stride, so it has no
single jump or size: such layers and every layer after them get None ("not applicable").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.nn.functional import Pair, conv_output_size, pair

WINDOWED_KINDS = ("conv2d", "maxpool2d", "avgpool2d")
WHOLE_INPUT_KINDS = ("flatten", "linear")
NOT_APPLICABLE_KINDS = ("convtranspose2d", "imagerows", "rnn", "lstm")  # no single jump
MAX_INPUT_SIDE = 16384
MAX_LAYERS = 200
MAX_HYPER_PARAMETER = 16384
MAX_FIELD = 2**52

Box = dict[str, int]


class InvalidLayer(ValueError):
    """A layer of a chain that cannot be computed: says which layer and what is wrong."""

    def __init__(self, index: int | None, name: str | None, problem: str, field: str = ""):
        self.index, self.name, self.problem, self.field = index, name, problem, field
        where = "input" if index is None else f"layer {index} ({name})"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class LayerGeometry:
    """The hyper-parameters of one conv / pool layer that decide where it looks."""

    name: str
    kind: str
    kernel_size: Pair
    stride: Pair
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil_mode: bool = False

    @property
    def effective_kernel(self) -> Pair:
        """d(k - 1) + 1 per axis: the span a dilated kernel covers."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation, strict=True))

    def config(self) -> dict[str, Any]:
        return {
            "kernel_size": list(self.kernel_size), "stride": list(self.stride),
            "padding": list(self.padding), "dilation": list(self.dilation),
            "ceil_mode": self.ceil_mode,
        }


@dataclass(frozen=True)
class ReceptiveField:
    """One layer's output size and field geometry; each a (h, w) pair."""

    name: str
    kind: str
    output_size: Pair
    size: Pair
    jump: Pair
    padding: Pair

    @property
    def start(self) -> tuple[float, float]:
        """Centre of unit 0's field in input coordinates: (size - 1) / 2 - padding, a float
        (exact: sizes and paddings are at most MAX_FIELD)."""
        return tuple((s - 1 - 2 * p) / 2 for s, p in zip(self.size, self.padding, strict=True))

    def fields(self) -> dict[str, list]:
        """{"size", "jump", "start", "padding"} as [h, w] lists (the JSON shape)."""
        return {
            "size": list(self.size), "jump": list(self.jump), "start": list(self.start),
            "padding": list(self.padding),
        }


def geometry(
    name: str, kind: str, kernel_size, stride=None, padding=0, dilation=1,
    ceil_mode: bool = False, index: int | None = None,
) -> LayerGeometry:
    """Validate one layer's hyper-parameters (ints or (h, w) pairs) into a LayerGeometry.

    stride defaults to 1 for conv2d and to kernel_size for pooling (PyTorch's defaults).
    Raises InvalidLayer naming the layer and the problem.
    """
    if kind not in WINDOWED_KINDS:
        raise InvalidLayer(
            index, name, f"unknown kind {kind!r}; expected one of {', '.join(WINDOWED_KINDS)}",
            "kind",
        )
    if stride is None:
        stride = 1 if kind == "conv2d" else kernel_size
    values = {}
    for field, value in (
        ("kernel_size", kernel_size), ("stride", stride), ("padding", padding),
        ("dilation", dilation),
    ):
        try:
            values[field] = pair(value, field)
        except TypeError as exc:
            raise InvalidLayer(index, name, str(exc), field) from None
        lowest = 0 if field == "padding" else 1
        if min(values[field]) < lowest:
            raise InvalidLayer(
                index, name, f"{field} must be >= {lowest}, got {_fmt(values[field])}", field
            )
        if max(values[field]) > MAX_HYPER_PARAMETER:
            raise InvalidLayer(
                index, name,
                f"{field} {_fmt(values[field])} is larger than {MAX_HYPER_PARAMETER}", field,
            )
    if kind == "conv2d" and ceil_mode:
        raise InvalidLayer(index, name, "conv2d has no ceil_mode (only pooling does)", "ceil_mode")
    if kind == "avgpool2d" and values["dilation"] != (1, 1):
        raise InvalidLayer(index, name, "avgpool2d has no dilation", "dilation")
    layer = LayerGeometry(name, kind, ceil_mode=bool(ceil_mode), **values)
    if kind != "conv2d" and any(
        2 * p > k for p, k in zip(layer.padding, layer.effective_kernel, strict=True)
    ):
        raise InvalidLayer(
            index, name,
            f"padding {_fmt(layer.padding)} must be at most half of the kernel "
            f"{_fmt(layer.effective_kernel)} (PyTorch's pooling rule)", "padding",
        )
    return layer


def geometry_from_dict(entry: Mapping[str, Any], index: int) -> LayerGeometry:
    """A layer given as a dict {"name"?, "kind", "kernel_size", "stride"?, "padding"?,
    "dilation"?, "ceil_mode"?}; the name defaults to the kind and the position."""
    name = entry.get("name") or f"{entry.get('kind', 'layer')}{index + 1}"
    if "kernel_size" not in entry:
        raise InvalidLayer(index, name, "kernel_size is missing", "kernel_size")
    return geometry(
        name, entry.get("kind", "conv2d"), entry["kernel_size"], entry.get("stride"),
        entry.get("padding", 0), entry.get("dilation", 1), entry.get("ceil_mode", False),
        index=index,
    )


def _fmt(value: Pair) -> str:
    return f"{value[0]}x{value[1]}"


def input_pair(input_size) -> Pair:
    """n or (h, w) -> a validated (h, w) input size."""
    try:
        hw = pair(input_size, "input_size")
    except TypeError as exc:
        raise InvalidLayer(None, None, str(exc), "input_size") from None
    if min(hw) < 1 or max(hw) > MAX_INPUT_SIDE:
        raise InvalidLayer(
            None, None, f"input_size {_fmt(hw)} must lie between 1 and {MAX_INPUT_SIDE} per side",
            "input_size",
        )
    return hw


def receptive_fields(layers: Sequence[LayerGeometry], input_size) -> list[ReceptiveField]:
    """Per layer of a conv / pool chain on an input of size n or (h, w): output size, size,
    jump and padding. Raises InvalidLayer for a chain that leaves no output."""
    hw = input_pair(input_size)
    if len(layers) > MAX_LAYERS:
        raise InvalidLayer(
            None, None, f"{len(layers)} layers is more than the limit of {MAX_LAYERS}", "layers"
        )
    size, jump, padding = (1, 1), (1, 1), (0, 0)
    rows = []
    for index, layer in enumerate(layers):
        out = tuple(
            conv_output_size(n, k, s, p, d, layer.ceil_mode)
            for n, k, s, p, d in zip(
                hw, layer.kernel_size, layer.stride, layer.padding, layer.dilation, strict=True
            )
        )
        if min(out) < 1:
            raise InvalidLayer(
                index, layer.name,
                f"output size {_fmt(out)}: the input {_fmt(hw)} padded by "
                f"{_fmt(layer.padding)} is smaller than the kernel {_fmt(layer.effective_kernel)}",
                "kernel_size",
            )
        if max(out) > MAX_INPUT_SIDE:
            raise InvalidLayer(
                index, layer.name,
                f"output size {_fmt(out)} is larger than {MAX_INPUT_SIDE}: the padding "
                f"{_fmt(layer.padding)} grows the map", "padding",
            )
        size, jump, padding = _step(size, jump, padding, layer)
        _check_field(index, layer.name, size, jump, padding)
        rows.append(ReceptiveField(layer.name, layer.kind, out, size, jump, padding))
        hw = out
    return rows


def _check_field(index: int, name: str, size: Pair, jump: Pair, padding: Pair) -> None:
    """InvalidLayer when the field, jump or padding has grown past MAX_FIELD pixels."""
    for field, value in (("size", size), ("jump", jump), ("padding", padding)):
        if max(value) > MAX_FIELD:
            raise InvalidLayer(
                index, name,
                f"the receptive-field {field} grows past 2**52 = {MAX_FIELD:,} input pixels "
                "(the largest a JSON number holds exactly); use smaller strides or fewer "
                "layers", "stride" if field == "jump" else "kernel_size",
            )


def _step(size: Pair, jump: Pair, padding: Pair, layer: LayerGeometry) -> tuple[Pair, Pair, Pair]:
    """(size, jump, padding) after one windowed layer, per axis."""
    new_size = tuple(
        r + (k - 1) * j for r, k, j in zip(size, layer.effective_kernel, jump, strict=True)
    )
    new_padding = tuple(q + p * j for q, p, j in zip(padding, layer.padding, jump, strict=True))
    new_jump = tuple(j * s for j, s in zip(jump, layer.stride, strict=True))
    return new_size, new_jump, new_padding


def network_receptive_fields(network, input_hw: tuple[int, int]) -> list[dict | None]:
    """For every layer of an app.nn.Sequential, in order, its field on an (h, w) input:
    {"size", "jump", "start", "padding"}, each an [h, w] list.

    Activations inherit; flatten / linear see the whole input (jump 0); a convtranspose2d and
    everything after it gets None (its field has no single jump). Reads the layers'
    kernel_size, stride, padding, dilation and ceil_mode attributes; loads no weights.
    """
    hw = input_pair(tuple(input_hw))
    size, jump, padding = (1, 1), (1, 1), (0, 0)
    applicable = True
    result: list[dict | None] = []
    for name, layer in network:
        if layer.kind in NOT_APPLICABLE_KINDS:
            applicable = False
        if not applicable:
            result.append(None)
            continue
        if layer.kind in WINDOWED_KINDS:
            size, jump, padding = _step(size, jump, padding, LayerGeometry(
                name, layer.kind, layer.kernel_size, layer.stride, layer.padding,
                layer.dilation, getattr(layer, "ceil_mode", False),
            ))
            _check_field(len(result), name, size, jump, padding)
        elif layer.kind in WHOLE_INPUT_KINDS:
            size, jump, padding = hw, (0, 0), (0, 0)
        result.append(ReceptiveField(name, layer.kind, (0, 0), size, jump, padding).fields())
    return result


def _as_fields(row: ReceptiveField | Mapping[str, Any]) -> tuple[Pair, Pair, Pair]:
    if isinstance(row, ReceptiveField):
        return row.size, row.jump, row.padding
    return tuple(row["size"]), tuple(row["jump"]), tuple(row["padding"])


def unit_box(
    fields: Sequence[ReceptiveField | Mapping[str, Any] | None], layer_index: int, y: int, x: int,
    clip_to: tuple[int, int] | None = None,
) -> Box | None:
    """The inclusive input box {"y0", "x0", "y1", "x1"} that unit (y, x) of layer
    `layer_index` sees. Unclipped (may reach into the padding) unless clip_to=(h, w) is given;
    a clipped box that misses the input entirely, or a layer without a field, gives None."""
    row = fields[layer_index]
    if row is None:
        return None
    size, jump, padding = _as_fields(row)
    y0, x0 = y * jump[0] - padding[0], x * jump[1] - padding[1]
    box = {"y0": y0, "x0": x0, "y1": y0 + size[0] - 1, "x1": x0 + size[1] - 1}
    if clip_to is None:
        return box
    h, w = clip_to
    clipped = {
        "y0": max(box["y0"], 0), "x0": max(box["x0"], 0),
        "y1": min(box["y1"], h - 1), "x1": min(box["x1"], w - 1),
    }
    if clipped["y0"] > clipped["y1"] or clipped["x0"] > clipped["x1"]:
        return None
    return clipped


def units_seeing(row: ReceptiveField, y: int, x: int) -> Box | None:
    """The inclusive range {"y0", "x0", "y1", "x1"} of row's units whose field contains input
    pixel (y, x), or None when no unit sees it (a stride larger than the field skips pixels)."""
    bounds = []
    for pixel, size, jump, padding, n in zip(
        (y, x), row.size, row.jump, row.padding, row.output_size, strict=True
    ):
        # i * jump - padding <= pixel <= i * jump - padding + size - 1
        first = max(0, -(-(pixel + padding - size + 1) // jump))
        last = min(n - 1, (pixel + padding) // jump)
        if first > last:
            return None
        bounds.append((first, last))
    (y0, y1), (x0, x1) = bounds
    return {"y0": y0, "x0": x0, "y1": y1, "x1": x1}


def _axis_dependencies(
    needed: np.ndarray, size_below: int, kernel: int, stride: int, padding: int, dilation: int
) -> np.ndarray:
    """One axis, one layer down: which of the `size_below` positions feeding the layer the
    units marked in `needed` read. Windows are lattices (step `dilation`); their union is a
    difference array summed along each residue class, so the cost is O(size) for any kernel."""
    starts = np.flatnonzero(needed) * stride  # in padded coordinates (0 = first padding cell)
    reach = int(starts.max(initial=0)) + dilation * kernel
    length = max(size_below + 2 * padding, reach) + dilation
    length += -length % dilation
    diff = np.bincount(starts, minlength=length) - np.bincount(
        starts + kernel * dilation, minlength=length
    )
    covered = np.cumsum(diff.reshape(-1, dilation), axis=0).reshape(-1) > 0
    return covered[padding : padding + size_below]


def unit_footprint(
    layers: Sequence[LayerGeometry], input_size, layer_index: int, y: int, x: int
) -> Box | None:
    """The inclusive bounding box of the input pixels unit (y, x) of layer `layer_index`
    actually depends on, or None when it reads padding only.

    Inside unit_box clipped to the input, and equal to it unless floor mode dropped pixels at
    the bottom / right edge before a padded layer, dilation skips a clipped edge, or a padding
    as wide as the kernel makes windows that read padding only.
    """
    rows = receptive_fields(layers[: layer_index + 1], input_size)
    sizes_below = [input_pair(input_size)] + [row.output_size for row in rows[:-1]]
    bounds = []
    for axis, unit in enumerate((y, x)):
        needed = np.zeros(rows[layer_index].output_size[axis], dtype=bool)
        needed[unit] = True
        for layer, below in zip(
            reversed(layers[: layer_index + 1]), reversed(sizes_below), strict=True
        ):
            needed = _axis_dependencies(
                needed, below[axis], layer.kernel_size[axis], layer.stride[axis],
                layer.padding[axis], layer.dilation[axis],
            )
        hits = np.flatnonzero(needed)
        if hits.size == 0:
            return None
        bounds.append((int(hits[0]), int(hits[-1])))
    (y0, y1), (x0, x1) = bounds
    return {"y0": y0, "x0": x0, "y1": y1, "x1": x1}


def format_table(layers: Sequence[LayerGeometry], rows: Sequence[ReceptiveField]) -> str:
    """The receptive-field printout as an aligned text table: layer, kernel, stride, padding, output
    size, jump, RF size, start. Square pairs print as one number, others as h x w."""

    def show(value) -> str:
        h, w = value
        return f"{h:g}" if h == w else f"{h:g}x{w:g}"

    header = ("layer", "kind", "kernel", "stride", "padding", "dilation", "output", "jump",
              "RF size", "start")
    lines = [header]
    for layer, row in zip(layers, rows, strict=True):
        lines.append((
            row.name, row.kind, show(layer.kernel_size), show(layer.stride), show(layer.padding),
            show(layer.dilation), show(row.output_size), show(row.jump), show(row.size),
            show(row.start),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                  for i, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip()
        for line in lines
    )
