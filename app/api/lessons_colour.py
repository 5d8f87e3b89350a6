"""The colour lesson's endpoints (included in the lessons router, /api/v1/lessons/...):
validate, call app/lessons/colour.py on the bounded CPU pool, encode."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Query

from app.api.lessons_colour_schemas import ColourConvResponse, ColourGalleryResponse
from app.api.limits import run_cpu_bound
from app.api.schemas import error_responses
from app.data.colour_shapes import CLASSES, colour_split
from app.lessons.colour import channel_correlations, classic_example, gallery, model_example
from app.models.colour_training import load_colour_cnn
from app.services.errors import ApiError

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"])


def _encode(parts: dict[str, Any]) -> dict[str, Any]:
    out = {k: np.asarray(parts[k], dtype=np.float64).tolist()
           for k in ("image", "kernel", "per_channel", "sum", "output", "core_output")}
    out["bias"] = float(parts["bias"])
    out["max_abs_difference"] = float(np.abs(parts["output"] - parts["core_output"]).max())
    return out


def _colour_conv(preset: str, seed: int, sample: int, unit: int) -> dict[str, Any]:
    if preset == "classic":
        image, kernel, bias = classic_example(seed)
        parts = {"image": image, "kernel": kernel, "bias": bias,
                 **channel_correlations(image, kernel, bias)}
        return {"preset": preset, **_encode(parts)}
    heldout = len(colour_split()[1])
    if sample >= heldout:
        raise ApiError(422, "invalid_sample", f"sample {sample} is out of range: the held-out "
                       f"images are 0 to {heldout - 1}", field="sample")
    units = load_colour_cnn()[0].layers[0].out_channels
    if unit >= units:
        raise ApiError(422, "invalid_unit", f"unit {unit} is out of range: conv1 has units 0 "
                       f"to {units - 1}", field="unit")
    r = model_example(sample, unit)
    return {"preset": preset, **_encode(r), "sample": sample, "unit": unit,
            "label": CLASSES[r["label"]], "prediction": CLASSES[r["prediction"]],
            "probability": r["probability"]}


@router.get(
    "/colour/conv",
    operation_id="lesson_colour_conv",
    response_model=ColourConvResponse,
    summary="A convolution over a colour image: three 2-D correlations, their sum, the bias",
    description=(
        "preset=classic: a seeded 6x6x3 image of small integers and a 3x3x3 kernel give a 4x4x1 "
        "output; preset=model: the colour CNN's conv1 unit `unit` on held-out image `sample` "
        "(20x20, padding 1). Each channel is correlated with its kernel slice by the core's "
        "Conv2d; the sum plus the bias is checked against the 3-channel Conv2d."
    ),
    responses=error_responses(422, 503),
)
async def colour_conv(
    preset: Literal["classic", "model"] = Query("classic"),
    seed: int = Query(0, ge=0, le=2**32 - 1, description="classic: seeds the numbers."),
    sample: int = Query(0, ge=0, description="model: a held-out image (see /colour/gallery)."),
    unit: int = Query(0, ge=0, description="model: the conv1 unit."),
) -> dict[str, Any]:
    return await run_cpu_bound(_colour_conv, preset, seed, sample, unit)


def _gallery(per_class: int) -> dict[str, Any]:
    _, card = load_colour_cnn()
    items = [{**{k: item[k] for k in ("sample", "label", "prediction", "probability")},
              "class_name": item["class"], "prediction_name": CLASSES[item["prediction"]],
              "image": item["image"].tolist()} for item in gallery(per_class)]
    held = card["heldout"]
    return {"classes": list(CLASSES), "heldout_accuracy": held["accuracy"],
            "heldout_correct": held["correct"], "heldout_total": held["total"],
            "parameters": card["parameter_count"], "items": items}


@router.get(
    "/colour/gallery",
    operation_id="lesson_colour_gallery",
    response_model=ColourGalleryResponse,
    summary="Held-out colour shapes of every class with the colour CNN's predictions",
    responses=error_responses(422, 503),
)
async def colour_gallery(
    per_class: int = Query(2, ge=1, le=5, description="Images per class."),
) -> dict[str, Any]:
    return await run_cpu_bound(_gallery, per_class)
