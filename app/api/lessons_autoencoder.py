"""The autoencoder lesson's endpoints (/api/v1/lessons/autoencoder/...): validate, call
app/lessons/autoencoder.py on the bounded CPU pool, encode."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Query

from app.api.dependencies import AppSettings
from app.api.lessons_autoencoder_schemas import (
    MAX_SCATTER_INPUT,
    MAX_SCATTER_KERNEL,
    MAX_SCATTER_STRIDE,
    AutoencoderInspectRequest,
    AutoencoderInspectResponse,
    ScatterResponse,
)
from app.api.limits import run_cpu_bound
from app.api.schemas import error_responses
from app.imaging import ImageRejected, pixels_to_image, preprocess
from app.lessons.autoencoder import inspect_digit, model_scatter, scatter_example
from app.services.errors import ApiError
from app.services.samples import sample_digit
from app.settings import Settings

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"])


def _digit(body: AutoencoderInspectRequest, settings: Settings) -> np.ndarray:
    if body.sample is not None:
        return sample_digit(body.sample)[0]
    try:
        return preprocess(pixels_to_image(body.pixels, settings)).input[0]
    except ImageRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message, **(exc.details or {})) from None


def _check_scatter(body: AutoencoderInspectRequest, result: dict[str, Any]) -> None:
    index = [layer["name"] for layer in result["layers"]].index(body.layer)
    source = result["layers"][index - 1]
    channels, side, _ = source["output_shape"]
    out_channels = result["layers"][index]["output_shape"][0]
    for field, value, top in (("channel", body.channel, channels), ("row", body.row, side),
                              ("col", body.col, side),
                              ("out_channel", body.out_channel, out_channels)):
        if value >= top:
            raise ApiError(422, f"invalid_{field}", f"{field} {value} is out of range: "
                           f"{body.layer} has {field}s 0 to {top - 1}", field=field)


def _inspect(body: AutoencoderInspectRequest, settings: Settings) -> dict[str, Any]:
    result = inspect_digit(_digit(body, settings))
    _check_scatter(body, result)
    scatter = model_scatter(result, body.layer, body.channel, body.row, body.col,
                            body.out_channel)
    return {**result, "scatter": scatter}


@router.post(
    "/autoencoder/inspect",
    operation_id="lesson_autoencoder_inspect",
    response_model=AutoencoderInspectResponse,
    summary="A digit through the convolutional autoencoder: every map, the reconstruction, "
    "its error map and the gradients",
    description=(
        "One forward and one backward pass with the reconstruction head: the loss is the mean "
        "squared error of the 28x28 output against the input itself. Returns every encoder "
        "and decoder layer's maps, deltas, weights and weight gradients, the reconstruction, "
        "the per-pixel squared error and dL/d(input); and, for one input value of a "
        "transposed convolution (`layer`, `channel`, `row`, `col`), the scaled kernel copy it "
        "scatters and how many (input, tap) pairs land on each output pixel."
    ),
    responses=error_responses(400, 404, 413, 422, 503),
)
async def autoencoder_inspect(
    body: AutoencoderInspectRequest, settings: AppSettings
) -> dict[str, Any]:
    if (body.sample is None) == (body.pixels is None):
        raise ApiError(422, "invalid_input", "give exactly one of `sample` (a gallery id) or "
                       "`pixels` (a drawn canvas)", field="body")
    return await run_cpu_bound(_inspect, body, settings)


@router.get(
    "/autoencoder/scatter",
    operation_id="lesson_autoencoder_scatter",
    response_model=ScatterResponse,
    summary="A small transposed convolution taken apart: each input scatters a scaled "
    "kernel, overlaps add",
    description=(
        "A seeded n x n input and k x k kernel of small integers: the copy value * kernel of "
        "every input, placed at (row*stride - padding, col*stride - padding), their sum "
        "(checked against the core's ConvTranspose2d), and the overlap counts: with k not "
        "divisible by the stride they alternate, a checkerboard (k=3, s=2: 1, 2 and 4), while "
        "k=4, s=2 gives every interior pixel 4."
    ),
    responses=error_responses(422),
)
def autoencoder_scatter(
    n: int = Query(3, ge=1, le=MAX_SCATTER_INPUT, description="Input side."),
    kernel_size: int = Query(3, ge=1, le=MAX_SCATTER_KERNEL, description="Kernel side k."),
    stride: int = Query(2, ge=1, le=MAX_SCATTER_STRIDE, description="Stride s."),
    padding: int = Query(0, ge=0, le=MAX_SCATTER_KERNEL, description="Padding p."),
    seed: int = Query(0, ge=0, le=2**32 - 1, description="Seeds the numbers."),
) -> dict[str, Any]:
    if 2 * padding >= (n - 1) * stride + kernel_size:
        raise ApiError(422, "invalid_padding", f"padding {padding} crops away the whole "
                       f"output of a {n}x{n} input with kernel {kernel_size} and stride "
                       f"{stride}", field="padding")
    r = scatter_example(n, kernel_size, stride, padding, seed)
    out = {k: np.asarray(r[k], dtype=np.float64).tolist()
           for k in ("input", "kernel", "output", "core_output")}
    return {**{k: r[k] for k in ("n", "kernel_size", "stride", "padding", "seed", "copies",
                                 "divisible")},
            **out, "overlap_counts": r["overlap_counts"].tolist(),
            "max_abs_difference": float(np.abs(r["output"] - r["core_output"]).max())}
