"""Reading a body that is an inspect input plus a few options of its own (attribution's
method and parameters, the SGD step's `lr`): the options are validated by their own model,
the rest by inspect's parsers (app.api.bodies), so every input /inspect takes is taken here
too, with the same errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.api.bodies import parse_json_body, parse_multipart_body
from app.api.limits import run_cpu_bound
from app.api.validation import load_json, validation_error
from app.services.errors import ApiError
from app.services.inspect import InspectInput
from app.settings import Settings

M = TypeVar("M", bound=BaseModel)
JSON_TYPES = ("application/json",)
MULTIPART_TYPE = "multipart/form-data"


def media_type_of(request: Request) -> str:
    """The body's media type; 415 envelope unless JSON or multipart."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != MULTIPART_TYPE and media_type not in JSON_TYPES:
        raise ApiError(
            415, "unsupported_media_type",
            f"send multipart/form-data (file field `image`) or application/json, "
            f"not {media_type or 'a body without a Content-Type'}",
            supported=[MULTIPART_TYPE, *JSON_TYPES],
        )
    return media_type


def _options(model: type[M], values: dict) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise validation_error(exc) from None


def parse_json_with_options(
    raw: bytes, settings: Settings, model: type[M], fields: tuple[str, ...]
) -> tuple[InspectInput, M]:
    """A JSON body -> (the inspect input, the options). Runs on the CPU pool."""
    body = load_json(raw)
    if not isinstance(body, dict):
        return parse_json_body(raw, settings), _options(model, {})  # the parser's own 422
    own = {key: body.pop(key) for key in fields if key in body}
    options = _options(model, own)
    return parse_json_body(json.dumps(body).encode() if own else raw, settings), options


async def parse_multipart_with_options(
    request: Request, settings: Settings, model: type[M], fields: tuple[str, ...]
) -> tuple[InspectInput, M]:
    """A multipart body -> (the inspect input, the options given as text fields)."""
    source = await parse_multipart_body(request, settings, extra_fields=fields)
    form = await request.form()  # the form parse_multipart_body read, cached
    own = {}
    for key in fields:
        value = form.get(key)
        if value is not None and not isinstance(value, str):
            raise ApiError(422, "invalid_input", f"`{key}` must be a text field", field=key)
        if value not in (None, ""):
            own[key] = value
    return source, _options(model, own)


async def run_with_options(
    request: Request, settings: Settings, model: type[M], fields: tuple[str, ...],
    work: Callable[[InspectInput, M], bytes],
) -> bytes:
    """Read an inspect input plus `model`'s options from the body (multipart or JSON; 415
    otherwise) and run work(input, options) on the CPU pool -> its bytes. A JSON body is
    parsed on the pool too; a multipart one is read on the event loop, as its upload
    arrives."""
    if media_type_of(request) == MULTIPART_TYPE:
        source, options = await parse_multipart_with_options(request, settings, model, fields)
        return await run_cpu_bound(work, source, options)
    raw = await request.body()
    return await run_cpu_bound(
        lambda: work(*parse_json_with_options(raw, settings, model, fields))
    )
