"""/openapi.json: FastAPI's document, finished so that code generators get named, typed
schemas and the rules the API enforces.

- A request body declared inline (the inspect bodies, built from a pydantic model by hand
  because one operation takes two content types) becomes a named component
  (`InspectJsonRequest`, `InspectMultipartRequest`) referenced by `$ref`.
- The receptive-field request states its rules: `preset` and `kind` are enums, sizes have minimums,
  maximums and exact pair lengths, `layers` is not empty, and exactly one of `preset` or
  `layers` (with `input_size`) is given, so `{}` is not a valid body.
- A receptive field's `start` is one numeric type (a number: x.5 for an even field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.nn import receptive

REF = "#/components/schemas/"
WINDOWED_KINDS = ["conv2d", "maxpool2d", "avgpool2d"]
MULTIPART_ENCODING = {
    # The image's type is decided by its content; these are the types accepted.
    "image": {"contentType": "image/png, image/jpeg, image/gif, image/webp, image/bmp"},
    # `include` may repeat: one form field per item.
    "include": {"style": "form", "explode": True},
}


def _size(lowest: int, highest: int, description: str, nullable: bool = False) -> dict:
    """An int or an exact [h, w] pair, each value in [lowest, highest]."""
    value = {"type": "integer", "minimum": lowest, "maximum": highest}
    options: list[dict[str, Any]] = [
        dict(value), {"type": "array", "items": dict(value), "minItems": 2, "maxItems": 2},
    ]
    if nullable:
        options.append({"type": "null"})
    return {"anyOf": options, "description": description}


def _given(name: str) -> dict:
    """The body has `name`, not null."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _receptive_field_rules(schemas: dict[str, Any]) -> None:
    from app.models.presets import presets

    side, hyper = receptive.MAX_INPUT_SIDE, receptive.MAX_HYPER_PARAMETER
    preset_ids = list(presets())
    layer = schemas.get("ReceptiveFieldLayerIn")
    if layer is not None:
        props = layer["properties"]
        props["kind"] = {
            "type": "string", "enum": WINDOWED_KINDS, "default": "conv2d",
            "description": "The layer kind.",
        }
        props["kernel_size"] = _size(1, hyper, "n or [h, w].")
        props["stride"] = _size(
            1, hyper, "Default: 1 for conv2d, the kernel size for pooling (PyTorch's).", True
        )
        props["padding"] = _size(0, hyper, "n or [h, w]; default 0.")
        props["dilation"] = _size(1, hyper, "Effective kernel d(k - 1) + 1; default 1.")
    request = schemas.get("ReceptiveFieldRequest")
    if request is not None:
        props = request["properties"]
        props["preset"] = {
            "anyOf": [{"type": "string", "enum": preset_ids}, {"type": "null"}],
            "description": "A preset id (GET /api/v1/receptive-field/presets).",
        }
        props["layers"] = {
            "anyOf": [
                {
                    "type": "array", "items": {"$ref": f"{REF}ReceptiveFieldLayerIn"},
                    "minItems": 1, "maxItems": receptive.MAX_LAYERS,
                },
                {"type": "null"},
            ],
            "description": "The chain, input side first.",
        }
        props["input_size"] = _size(
            1, side, "n or [h, w]; default: the preset's. Required with `layers`.", True
        )
        # Exactly one of preset / layers (null counts as absent), and input_size with
        # layers; written with `not` (see InspectJsonRequest: generators ignore `not` but
        # turn a oneOf of bare `required` branches into an untyped body).
        preset, layers, size = _given("preset"), _given("layers"), _given("input_size")
        request["not"] = {
            "anyOf": [
                {"allOf": [preset, layers]},
                {"not": {"anyOf": [preset, layers]}},
                {"allOf": [layers, {"not": size}]},
            ]
        }
        request["description"] = (
            "Exactly one of `preset` or `layers` (with `input_size`)."
        )
    for name in ("ReceptiveFieldUnitIn", "PixelIn"):
        if name in schemas:
            for axis in ("y", "x"):
                schemas[name]["properties"][axis]["minimum"] = 0
    for name in ("ReceptiveFieldLayer", "ReceptiveField"):
        if name in schemas and "start" in schemas[name]["properties"]:
            start = schemas[name]["properties"]["start"]
            start["items"] = {"type": "number"}


def _hoist_request_bodies(document: dict[str, Any]) -> None:
    """Inline request-body schemas that carry a title become components of that name."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for path in document.get("paths", {}).values():
        for operation in path.values():
            content = (operation.get("requestBody") or {}).get("content", {})
            for media in content.values():
                schema = media.get("schema", {})
                title = schema.get("title")
                if "$ref" in schema or not title:
                    continue
                schema = dict(schema)
                for name, sub in schema.pop("$defs", {}).items():
                    schemas.setdefault(name, sub)
                schemas[title] = _rebase_refs(schema)
                if title == "InspectMultipartRequest":
                    media["encoding"] = MULTIPART_ENCODING
                media["schema"] = {"$ref": f"{REF}{title}"}


def _rebase_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace("#/$defs/", REF) if k == "$ref" else _rebase_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    return node


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """Apply every change above to FastAPI's document, in place."""
    _hoist_request_bodies(document)
    _receptive_field_rules(document.get("components", {}).get("schemas", {}))
    return document


def install_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Make app.openapi() build FastAPI's document once and finish it."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(
                get_openapi(
                    title=app.title, version=app.version, openapi_version=app.openapi_version,
                    summary=app.summary, description=app.description, routes=app.routes,
                    tags=app.openapi_tags, servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi
