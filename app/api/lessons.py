"""The lessons' JSON endpoints under /api/v1/lessons/: validate, call a service in
app/lessons/ on the bounded CPU pool, encode."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.lessons_schemas import (
    CONV_MATRIX_MAX_DILATION,
    CONV_MATRIX_MAX_IN_CHANNELS,
    CONV_MATRIX_MAX_KERNEL,
    CONV_MATRIX_MAX_OUT_CHANNELS,
    CONV_MATRIX_MAX_PADDING,
    CONV_MATRIX_MAX_SIDE,
    CONV_MATRIX_MAX_STRIDE,
    MAP_MAX_SIDE,
    MAP_MIN_SIDE,
    MAX_POINTS,
    ConvMatrixResponse,
    Dataset,
    FcAsConvResponse,
    MapRequest,
    MapResponse,
    TrainRequest,
    TrainResponse,
)
from app.api.limits import run_cpu_bound
from app.api.schemas import error_responses
from app.api.validation import check_shape, load_json, validation_error
from app.imaging import ImageRejected, decode_image, pixels_to_image
from app.lessons import conv_matrix
from app.lessons.datasets import EXTENT, make_dataset
from app.lessons.fc_as_conv import (
    compare_on_input,
    conversion_table,
    prediction_map,
    upload_to_canvas,
)
from app.lessons.perceptron import LessonInputError, TrainSetup, train
from app.services.errors import ApiError
from app.services.models import get_model
from app.services.samples import sample_digit
from app.settings import Settings

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"])


# ----------------------------------------------------------------------------- perceptron


@router.get(
    "/perceptron/datasets/{name}",
    operation_id="lesson_perceptron_dataset",
    response_model=Dataset,
    summary="A seeded 2-D dataset: AND, OR, XOR, two moons or concentric circles",
    responses=error_responses(422),
)
def perceptron_dataset(
    name: Literal["and", "or", "xor", "moons", "circles"],
    n: int = Query(40, ge=4, le=MAX_POINTS, description="Number of points."),
    seed: int = Query(0, ge=0, le=2**32 - 1),
) -> dict[str, Any]:
    points, labels = make_dataset(name, n, seed)
    return {
        "name": name, "seed": seed, "extent": EXTENT,
        "points": [{"x": float(x), "y": float(y), "label": int(c)}
                   for (x, y), c in zip(points, labels, strict=True)],
    }


def _train(request: TrainRequest) -> dict[str, Any]:
    points = np.array([[p.x, p.y] for p in request.points], dtype=np.float64)
    labels = np.array([p.label for p in request.points], dtype=np.int64)
    setup = TrainSetup(
        points=points, labels=labels, model=request.model, width=request.width,
        activation=request.activation, learning_rate=request.learning_rate,
        steps=request.steps, step=request.state.step, weights=request.state.weights,
        seed=request.seed, grid_size=request.grid_size,
    )
    try:
        return train(setup)
    except LessonInputError as exc:
        raise ApiError(422, "invalid_state", str(exc), field=exc.field) from None


@router.post(
    "/perceptron/train",
    operation_id="lesson_perceptron_train",
    response_model=TrainResponse,
    summary="Run the next training steps of a perceptron or an MLP on 2-D points",
    description=(
        "Stateless: send the points (as edited), the model, and `state` from the previous "
        "response (or none to start from seeded weights); get back every step's weights, "
        "update, loss and accuracy, the new state, and the decision values on a grid."
    ),
    responses=error_responses(400, 413, 422, 503),
)
async def perceptron_train(request: TrainRequest) -> dict[str, Any]:
    return await run_cpu_bound(_train, request)


# ----------------------------------------------------------------------------- fc as conv


def _convolutional(model_id: str) -> None:
    """404 for an unknown model; 422 for a model without fc1 (the sequence models)."""
    if "fc1" not in get_model(model_id).network.names:
        raise ApiError(422, "unsupported_model", f"model {model_id!r} has no fully connected "
                       "layer fc1 after a flatten: pick a convolutional model", field="model")


def _fc_as_conv(model_id: str, sample: int, unit: int) -> dict[str, Any]:
    model = get_model(model_id)
    digit, label = sample_digit(sample)
    x = model.prepare(digit[None])
    result = compare_on_input(model.network, x)
    fc1 = model.network.layers[model.network.names.index("fc1")]
    units = fc1.params["weight"].shape[0]
    if unit >= units:
        raise ApiError(422, "invalid_unit", f"unit {unit} is out of range: fc1 has units 0 to "
                       f"{units - 1}", field="unit")
    kernel = fc1.params["weight"][unit].reshape(result.feature_map.shape)
    return {
        "model": model.id, "sample": sample, "label": label, "unit": unit,
        "layers": conversion_table(model.network, model.input_shape),
        "feature_map": result.feature_map.astype(np.float64).tolist(),
        "kernel": kernel.astype(np.float64).tolist(),
        "bias": float(fc1.params["bias"][unit]),
        "linear_output": result.linear_output.astype(np.float64).tolist(),
        "conv_output": result.conv_output.astype(np.float64).tolist(),
        "max_abs_difference": float(np.abs(
            result.linear_output.astype(np.float64) - result.conv_output).max()),
        "logits_linear": result.logits_linear.astype(np.float64).tolist(),
        "logits_conv": result.logits_conv.astype(np.float64).tolist(),
        "prediction": int(result.logits_conv.argmax()),
    }


@router.get(
    "/fc-as-conv",
    operation_id="lesson_fc_as_conv",
    response_model=FcAsConvResponse,
    summary="A model's first fully connected layer as a convolution, on a gallery digit",
    description=(
        "fc1 (400 -> 120, reading pool2's 16x5x5 map) computed both ways: as W x + b on the "
        "flattened map and as 120 kernels of 5x5x16 convolved over the map; the later fully "
        "connected layers become 1x1 convolutions."
    ),
    responses=error_responses(404, 422, 503),
)
async def fc_as_conv(
    model: str = Query("lenet5", description="A bundled model id."),
    sample: int = Query(0, ge=0, description="A gallery id (GET /api/v1/samples)."),
    unit: int = Query(0, ge=0, description="The fc1 unit whose kernel is returned."),
) -> dict[str, Any]:
    _convolutional(model)
    return await run_cpu_bound(_fc_as_conv, model, sample, unit)


def _canvas_map(model_id: str, canvas: np.ndarray) -> dict[str, Any]:
    model = get_model(model_id)
    height, width = canvas.shape
    if min(height, width) < MAP_MIN_SIDE or max(height, width) > MAP_MAX_SIDE:
        raise ApiError(
            422, "invalid_canvas_size",
            f"the canvas is {width}x{height}; each side must be {MAP_MIN_SIDE} to "
            f"{MAP_MAX_SIDE} pixels", field="pixels",
            min_side=MAP_MIN_SIDE, max_side=MAP_MAX_SIDE,
        )
    x = (canvas.astype(np.float32) / 255.0)[None, None]
    result = prediction_map(model.network, model.input_shape, x)
    field = result["receptive_field"]
    return {
        "model": model.id, "height": height, "width": width,
        "rows": result["rows"], "cols": result["cols"], "classes": model.classes,
        "window": list(model.input_shape[1:]), "stride": field["jump"],
        "receptive_field": field,
        "prediction": result["prediction"].tolist(),
        "probability": result["probability"].tolist(),
        "ink": result["ink"].tolist(),
        "probabilities": result["probabilities"].tolist(),
    }


def _rejected(exc: ImageRejected) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, **(exc.details or {}))


def _map_json(model_id: str, raw: bytes, settings: Settings) -> dict[str, Any]:
    data = load_json(raw)
    check_shape(data, max_items=settings.max_canvas_side, max_keys=4, max_depth=3)
    try:
        body = MapRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
    try:
        canvas = pixels_to_image(body.pixels, settings)
    except ImageRejected as exc:
        raise _rejected(exc) from None
    return _canvas_map(model_id, canvas)


def _map_upload(model_id: str, data: bytes, settings: Settings) -> dict[str, Any]:
    try:
        gray = np.asarray(decode_image(data, settings))
    except ImageRejected as exc:
        raise _rejected(exc) from None
    return _canvas_map(model_id, upload_to_canvas(gray, MAP_MAX_SIDE))


async def _upload_bytes(request: Request, settings: Settings) -> bytes:
    try:
        form = await request.form(
            max_files=1, max_fields=settings.max_multipart_fields,
            max_part_size=settings.max_multipart_field_bytes,
        )
    except StarletteHTTPException as exc:
        if exc.status_code != 400:
            raise  # 413 from the body cap: rendered by the limits middleware
        raise ApiError(400, "invalid_multipart",
                       f"could not read the multipart body: {exc.detail}") from None
    try:
        unknown = sorted(set(form.keys()) - {"image"})
        upload = form.get("image")
        if unknown or not isinstance(upload, UploadFile):
            raise ApiError(422, "missing_image", "the multipart body needs exactly one file "
                           "field `image`", field="image")
        return await upload.read()
    finally:
        await form.close()


_MAP_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": MapRequest.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object", "required": ["image"],
                "properties": {"image": {"type": "string", "format": "binary",
                                         "description": "PNG, JPEG, GIF, WebP or BMP."}},
            },
        },
    },
}


@router.post(
    "/fc-as-conv/map",
    operation_id="lesson_fc_as_conv_map",
    response_model=MapResponse,
    summary="Slide the fully convolutional version of a model over a canvas: a prediction map",
    description=(
        "The model's fully connected layers become convolutions, so it runs on any canvas of "
        f"{MAP_MIN_SIDE} to {MAP_MAX_SIDE} pixels a side and returns, per output position, "
        "the class probabilities of the 28x28 crop under it (outputs are 4 pixels apart for "
        "LeNet-5; each sees a 32x32 field: the crop plus the 2-pixel border its first conv "
        "pads with). Send JSON `{\"pixels\": rows of 0-255}` (white ink on black) or a "
        "multipart file field `image`: an upload is decoded, inverted when its border is "
        "light, and shrunk by a whole factor to fit 256 pixels; digits should be about 20 px."
    ),
    openapi_extra={"requestBody": _MAP_BODY},
    responses=error_responses(400, 404, 413, 415, 422, 503),
)
async def fc_as_conv_map(
    request: Request, model: str = Query("lenet5", description="A bundled model id."),
) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    _convolutional(model)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        data = await _upload_bytes(request, settings)
        return await run_cpu_bound(_map_upload, model, data, settings)
    if media_type == "application/json":
        return await run_cpu_bound(_map_json, model, await request.body(), settings)
    raise ApiError(
        415, "unsupported_media_type",
        f"send application/json (`pixels`) or multipart/form-data (file field `image`), not "
        f"{media_type or 'a body without a Content-Type'}",
        supported=["application/json", "multipart/form-data"],
    )


# ----------------------------------------------------------------------------- conv as a matrix


def _conv_matrix(geometry: conv_matrix.Geometry, seed: int) -> dict[str, Any]:
    x, weight, bias, dy = conv_matrix.seeded_example(geometry, seed)
    r = conv_matrix.compute(x, weight, bias, dy, geometry)
    backward_error = max(float(np.abs(r.dx_matrix - r.dx_backward).max()),
                         float(np.abs(r.dx_matrix - r.dx_transpose).max()))
    return {
        "geometry": {
            "input": [geometry.in_channels, geometry.height, geometry.width],
            "kernel_size": list(geometry.kernel), "stride": list(geometry.stride),
            "padding": list(geometry.padding), "dilation": list(geometry.dilation),
            "output": [geometry.out_channels, *geometry.output_hw()],
            "output_padding": list(geometry.output_padding()),
        },
        "seed": seed, "input": x.tolist(), "weight": weight.tolist(), "bias": bias.tolist(),
        "rows": r.matrix.shape[0], "columns": r.matrix.shape[1],
        "matrix": r.matrix.tolist(), "kernel_index": r.index.tolist(),
        "nonzeros": int((r.index >= 0).sum()),
        "y_matrix": r.y_matrix.tolist(), "y_conv": r.y_conv.tolist(),
        "forward_max_abs_difference": float(np.abs(r.y_matrix - r.y_conv).max()),
        "output_gradient": dy.tolist(), "dx_matrix": r.dx_matrix.tolist(),
        "dx_backward": r.dx_backward.tolist(), "dx_transpose": r.dx_transpose.tolist(),
        "backward_max_abs_difference": backward_error,
    }


@router.get(
    "/conv-matrix",
    operation_id="lesson_conv_matrix",
    response_model=ConvMatrixResponse,
    summary="A small convolution as its fully connected weight matrix, forward and transposed",
    description=(
        "The matrix W with y = W x + b for a Conv2d on a small seeded input (x flattened in "
        "C, H, W order, y in C_out, H_out, W_out order): doubly block-Toeplitz, sparse and "
        "weight-shared; `kernel_index` says which kernel weight each entry is. Also returns "
        "W x + b next to the convolution, and W^T dy next to the convolution's input "
        "gradient and the transposed convolution (\"deconvolution\") of dy with the same "
        f"kernel. Sides up to {CONV_MATRIX_MAX_SIDE}, kernels up to {CONV_MATRIX_MAX_KERNEL}, "
        f"up to {CONV_MATRIX_MAX_IN_CHANNELS} input and {CONV_MATRIX_MAX_OUT_CHANNELS} output "
        "channels. The kernel and input are small integers, so every product is exact."
    ),
    responses=error_responses(422, 503),
)
async def conv_matrix_endpoint(
    height: int = Query(5, ge=1, le=CONV_MATRIX_MAX_SIDE, description="Input rows."),
    width: int = Query(5, ge=1, le=CONV_MATRIX_MAX_SIDE, description="Input columns."),
    kernel_size: int = Query(3, ge=1, le=CONV_MATRIX_MAX_KERNEL),
    stride: int = Query(1, ge=1, le=CONV_MATRIX_MAX_STRIDE),
    padding: int = Query(0, ge=0, le=CONV_MATRIX_MAX_PADDING),
    dilation: int = Query(1, ge=1, le=CONV_MATRIX_MAX_DILATION),
    in_channels: int = Query(1, ge=1, le=CONV_MATRIX_MAX_IN_CHANNELS),
    out_channels: int = Query(1, ge=1, le=CONV_MATRIX_MAX_OUT_CHANNELS),
    seed: int = Query(0, ge=0, le=2**32 - 1, description="Seeds x, the kernel, bias and dy."),
) -> dict[str, Any]:
    geometry = conv_matrix.Geometry(
        in_channels, out_channels, height, width, (kernel_size,) * 2, (stride,) * 2,
        (padding,) * 2, (dilation,) * 2,
    )
    try:
        geometry.output_hw()
    except ValueError as exc:
        raise ApiError(422, "invalid_geometry", str(exc), field="kernel_size") from None
    return await run_cpu_bound(_conv_matrix, geometry, seed)
