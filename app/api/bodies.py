"""Reading an inspect request's body into an InspectInput: JSON (`pixels`, `sample` or
`tensor`) or multipart (a file field `image`), every problem a 4xx envelope.

`parse_json_body` runs on the CPU pool: it parses, checks the canvas's shape and values
cheaply (stopping at the first MAX_PROBLEMS problems), and only then lets pydantic validate
what is left, so a 10 MB body of invalid items costs milliseconds, not seconds.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.schemas import InspectJsonRequest, InspectMultipartRequest
from app.api.schemas.inspect import MAX_INCLUDE_LAYERS
from app.api.validation import (
    MAX_PROBLEMS,
    check_shape,
    invalid_input,
    load_json,
    validation_error,
)
from app.services.encoding import INCLUDE_PARTS, parse_include
from app.services.errors import ApiError
from app.services.inspect import InspectInput
from app.settings import Settings

FORM_FIELDS = ("image", "target", "encoding", "include", "include_layers")
_NUMBERS = frozenset((int, float))


def _include(values) -> tuple[str, ...]:
    try:
        return parse_include(values)
    except ValueError as exc:
        raise ApiError(422, "invalid_include", str(exc), field="include") from None


def _layer_names(values) -> tuple[str, ...]:
    """include_layers as a list, a comma list, or repeated comma lists -> names, in order."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    if len(names) > MAX_INCLUDE_LAYERS:
        raise ApiError(422, "invalid_include_layers",
                       f"{len(names):,} layers named; at most {MAX_INCLUDE_LAYERS}",
                       field="include_layers")
    return tuple(dict.fromkeys(names))


def _invalid_pixels(problem: str, limit: int) -> ApiError:
    return ApiError(422, "invalid_pixels", problem, max_side=limit)


def _pixel_problem(value: Any) -> tuple[str, str] | None:
    if type(value) not in _NUMBERS:
        return "Input should be a valid number", "float_type"
    if isinstance(value, float) and not math.isfinite(value):
        return "Input should be a finite number", "finite_number"
    if value < 0:
        return "Input should be greater than or equal to 0", "greater_than_equal"
    if value > 255:
        return "Input should be less than or equal to 255", "less_than_equal"
    return None


def check_pixels(pixels: Any, limit: int) -> None:
    """A canvas's size and values, checked before pydantic sees it: 422 `invalid_pixels` for
    more than `limit` rows or columns, 422 `invalid_input` listing the first MAX_PROBLEMS
    values that are not numbers 0-255. Anything else (not a list, ragged rows) is left to
    the schema and to app.imaging."""
    if not isinstance(pixels, list):
        return
    if len(pixels) > limit:
        raise _invalid_pixels(f"{len(pixels):,} rows; a canvas has 1 to {limit} rows", limit)
    problems: list[dict[str, Any]] = []
    for i, row in enumerate(pixels):
        if not isinstance(row, list):
            problems.append({"loc": ["pixels", str(i)], "msg": "Input should be a valid list",
                             "type": "list_type"})
        elif len(row) > limit:
            raise _invalid_pixels(
                f"row {i} has {len(row):,} values; a canvas has 1 to {limit} columns", limit
            )
        elif not (
            all(map(_NUMBERS.__contains__, map(type, row)))
            # Range first: sum() of a huge JSON integer would overflow a float. A NaN
            # slips through min/max but not the sum.
            and (not row or (min(row) >= 0 and max(row) <= 255 and math.isfinite(sum(row))))
        ):
            for j, value in enumerate(row):  # the slow scan, only for a row with a problem
                problem = _pixel_problem(value)
                if problem is not None:
                    problems.append({"loc": ["pixels", str(i), str(j)], "msg": problem[0],
                                     "type": problem[1]})
                    if len(problems) == MAX_PROBLEMS:
                        break
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise invalid_input(problems[:MAX_PROBLEMS])


def check_tensor(tensor: Any) -> None:
    """A tensor's shape before pydantic sees it: an object of at most 4 short keys whose
    `shape` is a short list (its `data` is one string, whatever its length)."""
    if tensor is None:
        return
    if not isinstance(tensor, dict):
        raise ApiError(422, "invalid_tensor", "tensor must be an object {shape, dtype, "
                       "encoding, data}", field="tensor")
    check_shape({k: v for k, v in tensor.items() if k != "data"}, max_items=8, max_keys=4,
                max_depth=1)


def _include_error(exc: ValidationError) -> ApiError | None:
    errors = exc.errors(include_url=False)
    if not all(err["loc"][:1] == ("include",) for err in errors):
        return None
    bad = sorted({repr(err["input"])[:64] for err in errors if isinstance(err["input"], str)})
    problem = f"unknown include part(s) {', '.join(bad)}" if bad else (
        "include must be a comma list or a list of part names"
    )
    return ApiError(
        422, "invalid_include", f"{problem}; known: {', '.join(INCLUDE_PARTS)}", field="include"
    )


def parse_json_body(raw: bytes, settings: Settings) -> InspectInput:
    """The JSON body -> InspectInput; 400 for malformed JSON, 422 for invalid fields."""
    body = load_json(raw)
    if isinstance(body, dict):
        check_pixels(body.get("pixels"), settings.max_canvas_side)
        check_tensor(body.get("tensor"))
        rest = {key: value for key, value in body.items() if key not in ("pixels", "tensor")}
        check_shape(rest, max_items=max(2 * len(INCLUDE_PARTS), MAX_INCLUDE_LAYERS), max_keys=8,
                    max_depth=2)
    try:
        request = InspectJsonRequest.model_validate(body)
    except ValidationError as exc:
        raise (_include_error(exc) or validation_error(exc)) from None
    return InspectInput(
        pixels=request.pixels, sample=request.sample, target=request.target,
        tensor=None if request.tensor is None else request.tensor.model_dump(),
        encoding=request.encoding, include=_include(request.include),
        include_layers=_layer_names(request.include_layers),
    )


async def parse_multipart_body(request: Request, settings: Settings) -> InspectInput:
    """multipart/form-data with a file field `image` and optional `target`, `encoding`,
    `include` (repeatable) -> InspectInput."""
    try:
        form = await request.form(
            max_files=settings.max_multipart_files,
            max_fields=settings.max_multipart_fields,
            max_part_size=settings.max_multipart_field_bytes,
        )
    except StarletteHTTPException as exc:
        if exc.status_code != 400:
            raise  # 413 from the body cap, 408 from its deadline: rendered by the middleware
        raise ApiError(
            400, "invalid_multipart", f"could not read the multipart body: {exc.detail}"
        ) from None
    try:
        unknown = sorted(set(form.keys()) - set(FORM_FIELDS))
        if unknown:
            raise ApiError(
                422, "invalid_input",
                f"unknown form field(s) {', '.join(unknown)}; known: {', '.join(FORM_FIELDS)}",
            )
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422, "missing_image", "the multipart body needs a file field `image`",
                field="image",
            )
        data = await upload.read()
        values = {k: form.get(k) for k in ("target", "encoding")}
        for name, value in values.items():
            if value is not None and not isinstance(value, str):
                raise ApiError(422, "invalid_input", f"`{name}` must be a text field", field=name)
        target = values["target"]
        try:
            options = InspectMultipartRequest.model_validate(
                {
                    "image": data,
                    "target": None if target in (None, "") else target,
                    "encoding": values["encoding"] or "base64",
                }
            )
        except ValidationError as exc:
            raise validation_error(exc) from None
        includes = form.getlist("include")
        layers = form.getlist("include_layers")
        for name, given in (("include", includes), ("include_layers", layers)):
            if any(not isinstance(v, str) for v in given):
                raise ApiError(422, "invalid_input", f"`{name}` must be a text field", field=name)
        return InspectInput(
            image=data, target=options.target, encoding=options.encoding,
            include=_include(includes or None), include_layers=_layer_names(layers),
        )
    finally:
        await form.close()
