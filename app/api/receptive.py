"""POST /api/v1/receptive-field and GET /api/v1/receptive-field/presets.

Validates a preset name or a layer list, runs app.nn.receptive, and encodes the table. Every
problem with a layer is a 422 `invalid_layer` naming the layer (index and name) and the field.
All of it (JSON parsing, validation, arithmetic and encoding) runs on the CPU pool, never on
the event loop, and the body's shape is bounded before pydantic validates it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictInt, ValidationError

from app.api.errors import ApiError
from app.api.pooled import PooledJsonRoute, pooled
from app.api.schemas import ErrorResponse, error_responses
from app.api.validation import check_shape, load_json, validation_error
from app.models.presets import Preset, get_preset, presets
from app.nn import receptive

router = APIRouter(prefix="/api/v1", tags=["receptive field"], route_class=PooledJsonRoute)

# Strict: JSON true/false are not sizes or coordinates (pydantic's lax mode would take them).
IntOrPair = StrictInt | list[StrictInt]


class ReceptiveFieldLayerIn(BaseModel):
    """One conv / pool layer. Sizes are an int or an [h, w] pair."""

    name: str | None = Field(None, max_length=64, description="Default: kind + position.")
    kind: str = Field("conv2d", description="`conv2d`, `maxpool2d` or `avgpool2d`.")
    kernel_size: IntOrPair
    stride: IntOrPair | None = Field(
        None, description="Default: 1 for conv2d, the kernel size for pooling (PyTorch's)."
    )
    padding: IntOrPair = 0
    dilation: IntOrPair = Field(1, description="Effective kernel d(k - 1) + 1.")
    ceil_mode: bool = Field(False, description="Pooling only: keep a last partial window.")


class ReceptiveFieldUnitIn(BaseModel):
    layer: StrictInt | str = Field(description="The layer's index (0-based) or name.")
    y: StrictInt
    x: StrictInt


class PixelIn(BaseModel):
    y: StrictInt
    x: StrictInt


class ReceptiveFieldRequest(BaseModel):
    """Either `preset` or `layers`."""

    preset: str | None = Field(
        None, description="A preset id (GET /api/v1/receptive-field/presets)."
    )
    layers: list[ReceptiveFieldLayerIn] | None = None
    input_size: IntOrPair | None = Field(
        None, description="n or [h, w]; default: the preset's. Required with `layers`."
    )
    unit: ReceptiveFieldUnitIn | None = None
    pixel: PixelIn | None = Field(
        None, description="An input pixel: each layer then lists the units whose field holds it."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"preset": "alexnet", "input_size": 224,
                 "unit": {"layer": "pool5", "y": 2, "x": 2}},
                {"layers": [{"kind": "conv2d", "kernel_size": [3, 5], "stride": 2},
                            {"kind": "conv2d", "kernel_size": [3, 1], "stride": 2}],
                 "input_size": [32, 48]},
            ]
        }
    }


class LayerConfig(BaseModel):
    kernel_size: list[int]
    stride: list[int]
    padding: list[int]
    dilation: list[int]
    ceil_mode: bool


class UnitBox(BaseModel):
    """Inclusive rows y0..y1 and columns x0..x1 (of the input, or of a layer's units)."""

    y0: int
    x0: int
    y1: int
    x1: int


class ReceptiveFieldLayer(BaseModel):
    """One layer's output and field, each an [h, w] pair. Unit i's field spans
    [i * jump - padding, i * jump - padding + size - 1] in input pixels."""

    index: int
    name: str
    kind: str
    config: LayerConfig = Field(description="The layer's own hyper-parameters.")
    output_size: list[int]
    size: list[int] = Field(description="Receptive-field size in input pixels.")
    jump: list[int] = Field(description="Input pixels between neighbouring units.")
    padding: list[int] = Field(description="How far unit 0's field reaches before pixel 0.")
    start: list[float] = Field(
        description="Centre of unit 0's field: a float, x.0 or x.5 (exact: every size, jump "
        "and padding is an integer of at most 2**52, beyond which the chain is a 422)."
    )
    units_seeing: UnitBox | None = Field(
        None, description="With `pixel`: the range of this layer's units whose field holds it "
        "(null when none does: a stride larger than the field skips pixels)."
    )


class ResolvedUnit(BaseModel):
    layer: int
    name: str
    y: int
    x: int


class ReceptiveFieldResponse(BaseModel):
    preset: str | None
    input_size: list[int]
    layers: list[ReceptiveFieldLayer]
    unit: ResolvedUnit | None = None
    unit_box: UnitBox | None = Field(
        None, description="The unit's field, unclipped: it may reach into the padding."
    )
    unit_box_clipped: UnitBox | None = Field(
        None, description="unit_box cut to the input (null if it misses the input)."
    )
    unit_footprint: UnitBox | None = Field(
        None,
        description="Bounding box of the input pixels the unit actually reads: inside "
        "unit_box_clipped, smaller where floor mode dropped edge pixels or a dilated kernel "
        "skips them.",
    )


class ReceptiveFieldPreset(BaseModel):
    id: str
    description: str
    input_size: list[int]
    layers: list[ReceptiveFieldLayerIn]


_ERRORS: dict[int | str, dict[str, Any]] = {
    # Any body can be malformed (400) or over the app-wide body cap (413).
    **error_responses(400, 413),
    422: {
        "model": ErrorResponse,
        "description": "`invalid_layer`: a layer, the input size, the preset or the unit is "
        "invalid; `error.layer` (index, null for the input), `error.name` and `error.field` say "
        "where. `invalid_input`: the body does not match the schema.",
    }
}


def _invalid(exc: receptive.InvalidLayer) -> ApiError:
    return ApiError(
        422, "invalid_layer", str(exc), layer=exc.index, name=exc.name, field=exc.field
    )


def _invalid_request(problem: str, field: str) -> ApiError:
    return ApiError(422, "invalid_layer", problem, layer=None, name=None, field=field)


def _chain(body: ReceptiveFieldRequest) -> tuple[Preset | None, list[receptive.LayerGeometry], Any]:
    if (body.preset is None) == (body.layers is None):
        raise _invalid_request("give either `preset` or `layers`", "preset")
    if body.preset is not None:
        try:
            preset = get_preset(body.preset)
        except KeyError as exc:
            raise _invalid_request(exc.args[0], "preset") from None
        size = preset.input_size if body.input_size is None else body.input_size
        return preset, list(preset.layers), size
    if body.input_size is None:
        raise _invalid_request("input_size is required with `layers`", "input_size")
    if not body.layers:
        raise _invalid_request("`layers` is empty", "layers")
    if len(body.layers) > receptive.MAX_LAYERS:
        raise _invalid_request(
            f"{len(body.layers)} layers is more than the limit of {receptive.MAX_LAYERS}",
            "layers",
        )
    layers = [
        receptive.geometry_from_dict(layer.model_dump(exclude_none=True), i)
        for i, layer in enumerate(body.layers)
    ]
    names = [layer.name for layer in layers]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise receptive.InvalidLayer(i, name, f"the name {name!r} is used twice", "name")
    return None, layers, body.input_size


def _resolve_unit(unit: ReceptiveFieldUnitIn, rows: list[receptive.ReceptiveField]) -> int:
    names = [row.name for row in rows]
    if isinstance(unit.layer, str):
        if unit.layer not in names:
            raise _invalid_request(
                f"unit: no layer named {unit.layer!r}; layers: {', '.join(names)}", "unit.layer"
            )
        index = names.index(unit.layer)
    else:
        index = unit.layer
        if not 0 <= index < len(rows):
            raise _invalid_request(
                f"unit: layer index {index} is out of range 0..{len(rows) - 1}", "unit.layer"
            )
    oh, ow = rows[index].output_size
    if not (0 <= unit.y < oh and 0 <= unit.x < ow):
        raise receptive.InvalidLayer(
            index, names[index],
            f"unit ({unit.y}, {unit.x}) is outside the {oh}x{ow} output", "unit",
        )
    return index


def _receptive_json(raw: bytes) -> bytes:
    """On the CPU pool: parse, bound, validate, compute, encode."""
    data = load_json(raw)
    if isinstance(data, dict):
        layers = data.get("layers")
        if isinstance(layers, list) and len(layers) > receptive.MAX_LAYERS:
            raise _invalid_request(
                f"{len(layers):,} layers is more than the limit of {receptive.MAX_LAYERS}",
                "layers",
            )
    check_shape(data, max_items=receptive.MAX_LAYERS, max_keys=16, max_depth=4)
    try:
        body = ReceptiveFieldRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
    return receptive_field(body).model_dump_json().encode()


@router.post(
    "/receptive-field",
    operation_id="receptive_field",
    response_model=ReceptiveFieldResponse,
    responses=_ERRORS,
    summary="Receptive fields of a conv / pool chain, and one unit's box in the input",
)
@pooled(_receptive_json)  # requests are served by _receptive_json, on the CPU pool
def receptive_field(body: ReceptiveFieldRequest) -> ReceptiveFieldResponse:
    """Per layer: output size (PyTorch's arithmetic, floor or ceil_mode), jump, field size,
    effective padding and start, per axis. With `unit`, its box in the input."""
    try:
        preset, layers, input_size = _chain(body)
        rows = receptive.receptive_fields(layers, input_size)
        input_hw = receptive.input_pair(input_size)
        result = ReceptiveFieldResponse(
            preset=None if preset is None else preset.id,
            input_size=list(input_hw),
            layers=[
                ReceptiveFieldLayer(
                    index=i, name=row.name, kind=row.kind, config=layer.config(),
                    output_size=list(row.output_size), **row.fields(),
                )
                for i, (layer, row) in enumerate(zip(layers, rows, strict=True))
            ],
        )
        if body.pixel is not None:
            y, x = body.pixel.y, body.pixel.x
            if not (0 <= y < input_hw[0] and 0 <= x < input_hw[1]):
                raise _invalid_request(
                    f"pixel ({y}, {x}) is outside the {input_hw[0]}x{input_hw[1]} input", "pixel"
                )
            for layer, row in zip(result.layers, rows, strict=True):
                seeing = receptive.units_seeing(row, y, x)
                layer.units_seeing = None if seeing is None else UnitBox(**seeing)
        if body.unit is not None:
            index = _resolve_unit(body.unit, rows)
            y, x = body.unit.y, body.unit.x
            result.unit = ResolvedUnit(layer=index, name=rows[index].name, y=y, x=x)
            result.unit_box = UnitBox(**receptive.unit_box(rows, index, y, x))
            clipped = receptive.unit_box(rows, index, y, x, clip_to=input_hw)
            result.unit_box_clipped = None if clipped is None else UnitBox(**clipped)
            footprint = receptive.unit_footprint(layers, input_hw, index, y, x)
            result.unit_footprint = None if footprint is None else UnitBox(**footprint)
    except receptive.InvalidLayer as exc:
        raise _invalid(exc) from None
    return result


@router.get(
    "/receptive-field/presets",
    operation_id="list_receptive_field_presets",
    response_model=list[ReceptiveFieldPreset],
    summary="The preset layer tables: AlexNet, VGG16, ZF-5 (224x224) and the bundled models",
)
def receptive_field_presets() -> list[ReceptiveFieldPreset]:
    return [
        ReceptiveFieldPreset(
            id=p.id, description=p.description, input_size=list(p.input_size),
            layers=[
                ReceptiveFieldLayerIn(name=layer.name, kind=layer.kind, **layer.config())
                for layer in p.layers
            ],
        )
        for p in presets().values()
    ]
