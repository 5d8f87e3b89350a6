"""POST /api/v1/models/{model_id}/inspect: one forward and one backward pass, every layer.

The body is parsed here (multipart or JSON, both declared in the OpenAPI schema), the image
goes through app.imaging, the pass through app.models / app.nn, and the Trace through
app.api.encoding. `inspect_image` is the whole pipeline for one image; `convscope inspect`
calls it too.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from PIL import Image
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.encoding import (
    DEFAULT_INCLUDE,
    ENCODINGS,
    INCLUDE_PARTS,
    NonFiniteError,
    encode_trace,
    parse_include,
)
from app.api.errors import ApiError
from app.api.limits import run_cpu_bound
from app.api.models import get_model, receptive_fields
from app.api.samples import sample_digit
from app.api.schemas import (
    InspectJsonRequest,
    InspectMultipartRequest,
    InspectResponse,
    error_responses,
)
from app.imaging import ImageRejected, decode_image, pixels_to_image, png_data_url, preprocess
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["inspect"])

JSON_TYPES = ("application/json",)
MULTIPART_TYPE = "multipart/form-data"
FORM_FIELDS = ("image", "target", "encoding", "include")
MAX_REPORTED_PROBLEMS = 10
PREVIEW_SIDE = 160


@dataclass
class InspectInput:
    """One request's image (exactly one of the three sources) and options."""

    image: bytes | None = None
    pixels: list[list[float]] | None = None
    sample: int | None = None
    target: int | None = None
    encoding: str = "base64"
    include: tuple[str, ...] = DEFAULT_INCLUDE
    timings_ms: dict[str, float] = field(default_factory=dict)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def _rejected(exc: ImageRejected) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, **(exc.details or {}))


def _include(values) -> tuple[str, ...]:
    try:
        return parse_include(values)
    except ValueError as exc:
        raise ApiError(422, "invalid_include", str(exc), field="include") from None


def _validation_error(exc: ValidationError) -> ApiError:
    problems = [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)[:MAX_REPORTED_PROBLEMS]
    ]
    first = problems[0]
    where = ".".join(first["loc"]) or "body"
    return ApiError(
        422, "invalid_input", f"{where}: {first['msg']}", problems=problems,
        problem_count=exc.error_count(),
    )


def parse_json_body(raw: bytes) -> InspectInput:
    """The JSON body -> InspectInput; 400 for malformed JSON, 422 for invalid fields."""
    try:
        request = InspectJsonRequest.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise ApiError(
                400, "invalid_json", f"the body is not valid JSON: {exc.errors()[0]['msg']}"
            ) from None
        errors = exc.errors(include_url=False)
        if all(err["loc"][:1] == ("include",) for err in errors):
            bad = sorted({repr(err["input"]) for err in errors if isinstance(err["input"], str)})
            problem = f"unknown include part(s) {', '.join(bad)}" if bad else (
                "include must be a comma list or a list of part names"
            )
            raise ApiError(
                422, "invalid_include", f"{problem}; known: {', '.join(INCLUDE_PARTS)}",
                field="include",
            ) from None
        raise _validation_error(exc) from None
    include = request.include
    return InspectInput(
        pixels=request.pixels, sample=request.sample, target=request.target,
        encoding=request.encoding, include=_include(include),
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
            raise  # 413 from the body cap: rendered by the limits middleware
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
            raise _validation_error(exc) from None
        includes = form.getlist("include")
        if any(not isinstance(v, str) for v in includes):
            raise ApiError(422, "invalid_input", "`include` must be a text field", field="include")
        return InspectInput(
            image=data, target=options.target, encoding=options.encoding,
            include=_include(includes or None),
        )
    finally:
        await form.close()


def step_preview(image: np.ndarray) -> np.ndarray:
    """A preprocessing step's uint8 (H, W) image, shrunk to a longer side of at most
    PREVIEW_SIDE for the response: a noisy 512 px photo would otherwise cost ~200 KB per step.
    The 28x28 steps (what the network saw) are never resized."""
    if max(image.shape) <= PREVIEW_SIDE:
        return image
    preview = Image.fromarray(image)
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BOX)
    return np.asarray(preview)


def _check_target(target: int | None, classes: list[str]) -> None:
    if target is not None and not 0 <= target < len(classes):
        raise ApiError(
            422, "invalid_target",
            f"target {target} is out of range: this model has classes 0 to {len(classes) - 1}",
            field="target", classes=len(classes),
        )


def inspect_image(model_id: str, source: InspectInput, settings: Settings) -> dict[str, Any]:
    """The pipeline for one image: decode -> preprocess -> forward + backward -> encode.

    Returns the inspect response body (InspectResponse as a dict). Raises ApiError.
    """
    started = time.perf_counter()
    model = get_model(model_id)
    _check_target(source.target, model.classes)
    if source.encoding not in ENCODINGS:
        raise ApiError(422, "invalid_encoding", f"encoding must be one of {', '.join(ENCODINGS)}")
    timings = dict(source.timings_ms)

    tick = time.perf_counter()
    try:
        if source.sample is not None:
            digit, _ = sample_digit(source.sample)
            timings["decode"] = _ms(tick)
            tick = time.perf_counter()
            network_input = digit
            steps = [("sample", digit)]
        else:
            if source.image is not None:
                gray = decode_image(source.image, settings)
            else:
                gray = pixels_to_image(source.pixels, settings)
            timings["decode"] = _ms(tick)
            tick = time.perf_counter()
            prepared = preprocess(gray)
            network_input = prepared.input[0]
            steps = prepared.steps
    except ImageRejected as exc:
        raise _rejected(exc) from None
    timings["preprocess"] = _ms(tick)

    tick = time.perf_counter()
    trace = model.trace(network_input, source.target)
    timings["forward_backward"] = _ms(tick)

    tick = time.perf_counter()
    try:
        body = encode_trace(
            trace, model_id=model.id, classes=model.classes,
            receptive_fields=receptive_fields(model),
            preprocessing=[
                {"step": name, "image": png_data_url(step_preview(image))}
                for name, image in steps
            ],
            include=source.include, encoding=source.encoding,
        )
    except NonFiniteError as exc:
        raise ApiError(
            422, "non_finite_result",
            f"the pass produced non-finite numbers ({exc}); the input cannot be inspected",
            tensor=exc.name,
        ) from None
    timings["encode"] = _ms(tick)
    timings["total"] = _ms(started)
    body["timings_ms"] = timings
    return body


def _json_bytes(body: dict[str, Any], compress: bool = False) -> bytes:
    # allow_nan=False: a NaN that slipped past encode_trace fails loudly instead of
    # becoming invalid JSON.
    data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    # Level 1: about 2 ms for a 180 KB trace, and 3.5x smaller (base64 floats compress well);
    # done here, on the worker thread, as one buffer rather than streamed by a middleware.
    return gzip.compress(data, compresslevel=1, mtime=0) if compress else data


def accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding lists gzip (or *) without q=0."""
    for item in request.headers.get("accept-encoding", "").lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in {"gzip", "*"}:
            q = params.strip().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return False
    return False


def _inspect_json(model_id: str, raw: bytes, settings: Settings, compress: bool) -> bytes:
    tick = time.perf_counter()
    source = parse_json_body(raw)
    source.timings_ms["parse"] = _ms(tick)
    return _json_bytes(inspect_image(model_id, source, settings), compress)


def _inspect_parsed(
    model_id: str, source: InspectInput, settings: Settings, compress: bool
) -> bytes:
    return _json_bytes(inspect_image(model_id, source, settings), compress)


_REQUEST_BODY = {
    "required": True,
    "content": {
        MULTIPART_TYPE: {"schema": InspectMultipartRequest.model_json_schema()},
        "application/json": {
            "schema": InspectJsonRequest.model_json_schema(),
            "examples": {
                "sample": {"summary": "a gallery digit", "value": {"sample": 7}},
                "pixels": {
                    "summary": "a drawn canvas, loss against class 3",
                    "value": {"pixels": [[0, 0, 0], [0, 255, 0], [0, 255, 0]], "target": 3},
                },
            },
        },
    },
}


@router.post(
    "/models/{model_id}/inspect",
    operation_id="inspect",
    response_model=InspectResponse,
    summary="Run one image through the model: every layer's activations, pool winners and "
    "deltas",
    description=(
        "Send a multipart body with a file field `image` (plus optional form fields `target`, "
        "`encoding`, `include`), or a JSON body with `pixels` (a drawn canvas) or `sample` (a "
        "gallery id). The image is preprocessed like MNIST (EXIF orientation, grayscale, "
        "inverted when the background is light, cropped to the ink, longer side scaled to 20, "
        "centred by mass in 28x28), then one forward and one backward pass of the softmax "
        "cross-entropy against `target` (default: the prediction) are run. Tensors are "
        "base64 little-endian by default, nested lists with `encoding=list`. Batch axis "
        "dropped. Max pooling ties go to the first maximum in row-major window order."
    ),
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses=error_responses(400, 404, 413, 415, 422, 503),
)
async def inspect(model_id: str, request: Request) -> Response:
    settings: Settings = request.app.state.settings
    get_model(model_id)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    tick = time.perf_counter()
    compress = accepts_gzip(request)
    if media_type == MULTIPART_TYPE:
        source = await parse_multipart_body(request, settings)
        source.timings_ms["read"] = _ms(tick)
        payload = await run_cpu_bound(_inspect_parsed, model_id, source, settings, compress)
    elif media_type in JSON_TYPES:
        raw = await request.body()
        payload = await run_cpu_bound(_inspect_json, model_id, raw, settings, compress)
    else:
        raise ApiError(
            415, "unsupported_media_type",
            f"send multipart/form-data (file field `image`) or application/json, "
            f"not {media_type or 'a body without a Content-Type'}",
            supported=[MULTIPART_TYPE, *JSON_TYPES],
        )
    headers = {"Vary": "Accept-Encoding"}
    if compress:
        headers["Content-Encoding"] = "gzip"
    return Response(payload, media_type="application/json", headers=headers)


# ------------------------------------------------------------------------ convscope inspect


def _range(tensor: dict | None) -> str:
    return "-" if tensor is None else f"{tensor['min']:>10.4g} {tensor['max']:>10.4g}"


def layer_table(body: dict[str, Any]) -> str:
    """The inspect response as text: the prediction, then per layer its output shape and
    the min/max of its activation and of its delta."""
    classes = body["classes"]
    probs = body["probabilities"]
    lines = [
        f"model {body['model']}: prediction {classes[body['prediction']]} "
        f"(p = {probs[body['prediction']]:.4f}), target {classes[body['target']]}, "
        f"loss {body['loss']:.4f}",
        f"{'#':>2} {'layer':<10} {'kind':<16} {'output shape':<14} "
        f"{'act min':>10} {'act max':>10} {'delta min':>10} {'delta max':>10}",
    ]
    for layer in body["layers"]:
        shape = "x".join(map(str, layer["output_shape"]))
        lines.append(
            f"{layer['index']:>2} {layer['name']:<10} {layer['kind']:<16} {shape:<14} "
            f"{_range(layer.get('output')):>21} {_range(layer.get('grad_output')):>21}"
        )
    if "input_grad" in body:
        lines.append(f"input gradient: {_range(body['input_grad'])}")
    return "\n".join(lines)


def inspect_command(args) -> int:
    """`convscope inspect IMAGE [--model M] [--target T] [--include ...] [--encoding E]
    [--json OUT]`: the same pipeline and the same JSON as POST /inspect."""
    from pathlib import Path

    settings = Settings.from_env()
    try:
        data = Path(args.image).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.image}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        source = InspectInput(
            image=data, target=args.target, encoding=args.encoding,
            include=_include(args.include),
        )
        body = inspect_image(args.model, source, settings)
    except ApiError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(layer_table(body))
    if args.json:
        payload = _json_bytes(body)
        if args.json == "-":
            sys.stdout.buffer.write(payload + b"\n")
        else:
            Path(args.json).write_bytes(payload)
            print(f"wrote {args.json} ({len(payload)} bytes)")
    return 0


def add_inspect_arguments(parser) -> None:
    """The `convscope inspect` options (the API's names)."""
    parser.add_argument("image", help="an image file: PNG, JPEG, GIF, WebP or BMP")
    parser.add_argument("--model", default="lenet5", help="model id (default: lenet5)")
    parser.add_argument(
        "--target", type=int, default=None,
        help="class whose loss is back-propagated (default: the prediction)",
    )
    parser.add_argument(
        "--include", action="append", default=None,
        help=f"parts of the trace, comma list or repeated: {', '.join(INCLUDE_PARTS)} "
        f"(default: {','.join(DEFAULT_INCLUDE)})",
    )
    parser.add_argument("--encoding", choices=ENCODINGS, default="base64")
    parser.add_argument("--json", metavar="OUT", help="write the API's JSON here ('-': stdout)")
