"""The MLP-vs-CNN lesson's endpoints (included in the lessons router, /api/v1/lessons/...):
validate, call app/lessons/mlp_vs_cnn.py on the bounded CPU pool, encode."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from app.api.lessons_mlp_schemas import (
    MAX_HIDDEN,
    MAX_IMAGE_SIDE,
    MAX_KERNEL,
    MAX_SHIFT,
    MatrixFormResponse,
    ParameterCounts,
    ShiftResponse,
)
from app.api.limits import run_cpu_bound
from app.api.schemas import error_responses
from app.lessons.mlp_vs_cnn import (
    cached_shift_report,
    hidden_layers,
    matrix_form,
    parameter_counts,
)
from app.services.errors import ApiError
from app.services.models import get_model
from app.services.samples import sample_digit

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"])


def _matrix_form(model_id: str, sample: int, layer: str, unit: int) -> dict[str, Any]:
    model = get_model(model_id)
    hidden = hidden_layers(model)
    if layer not in hidden:
        raise ApiError(422, "invalid_layer",
                       f"{model.id} has no hidden layer {layer!r} (a linear layer followed by "
                       f"tanh or sigmoid); it has: {', '.join(hidden) or 'none'}",
                       field="layer", hidden_layers=hidden)
    digit, label = sample_digit(sample)
    r = matrix_form(model, digit, label, layer)
    units = r["theta_shape"][0]
    if unit >= units:
        raise ApiError(422, "invalid_unit",
                       f"unit {unit} is out of range: {layer} has units 0 to {units - 1}",
                       field="unit")
    vectors = ("x", "n", "a", "delta_next", "back", "act_prime", "delta", "core_delta")
    return {
        "model": model.id, "sample": sample, "label": label, "hidden_layers": hidden,
        **{k: r[k] for k in ("layer", "activation", "next_layer", "theta_shape",
                             "theta_next_shape", "prediction", "probability", "loss",
                             "forward_max_abs_difference", "backward_max_abs_difference")},
        **{k: r[k].tolist() for k in vectors},
        "unit": {
            "unit": unit, "theta_row": r["theta"][unit].tolist(), "bias": float(r["bias"][unit]),
            **{k: float(r[k][unit]) for k in ("n", "a", "back", "act_prime", "delta")},
        },
    }


@router.get(
    "/mlp-vs-cnn/matrix-form",
    operation_id="lesson_mlp_matrix_form",
    response_model=MatrixFormResponse,
    summary="A hidden layer's forward and backward step as matrix-vector products, on a digit",
    description=(
        "From one real trace of a gallery digit (target: its label): the layer's n = Θx + b "
        "and a = act(n), and its delta (Θ_nextᵀ δ_next) ∘ act'(n), recomputed in float64 next "
        "to the core's numbers; plus one unit's row of Θ and its numbers."
    ),
    responses=error_responses(404, 422, 503),
)
async def mlp_matrix_form(
    model: str = Query("mlp", description="A bundled model with tanh or sigmoid layers."),
    sample: int = Query(0, ge=0, description="A gallery id (GET /api/v1/samples)."),
    layer: str = Query("fc1", max_length=40, description="A hidden linear layer."),
    unit: int = Query(0, ge=0, description="The unit whose row and numbers are returned."),
) -> dict[str, Any]:
    get_model(model)
    return await run_cpu_bound(_matrix_form, model, sample, layer, unit)


@router.get(
    "/mlp-vs-cnn/parameters",
    operation_id="lesson_mlp_parameters",
    response_model=ParameterCounts,
    summary="Weights of one layer: fully connected, locally connected, one shared kernel",
    description=(
        "For an H x W image and N hidden units: H*W*N weights fully connected, N*k*k when "
        "each unit reads its own k x k patch, and k*k for one shared k x k kernel (biases "
        "apart). The classic 1000 x 1000 image with 1,000 units: 10^9 against 100 for a "
        "shared 10 x 10 kernel."
    ),
    responses=error_responses(422),
)
def mlp_parameters(
    height: int = Query(1000, ge=1, le=MAX_IMAGE_SIDE),
    width: int = Query(1000, ge=1, le=MAX_IMAGE_SIDE),
    hidden: int = Query(1000, ge=1, le=MAX_HIDDEN, description="Hidden units N."),
    kernel: int = Query(10, ge=1, le=MAX_KERNEL, description="Kernel side k."),
) -> dict[str, Any]:
    if kernel > min(height, width):
        raise ApiError(422, "invalid_kernel", f"a {kernel}x{kernel} kernel does not fit a "
                       f"{height}x{width} image", field="kernel")
    return {"height": height, "width": width, "hidden": hidden, "kernel": kernel,
            **parameter_counts(height, width, hidden, kernel)}


def _shift(models: list[str], pixels: int) -> dict[str, Any]:
    reports = [cached_shift_report(m, pixels) for m in models]
    return {"pixels": pixels, "heldout": 500, "models": reports}


@router.get(
    "/mlp-vs-cnn/shift",
    operation_id="lesson_mlp_shift",
    response_model=ShiftResponse,
    summary="A CNN and the MLP on held-out digits shifted by a few pixels",
    description=(
        "Accuracy and the mean probability of the true class on the 500 held-out digits, as "
        "they are and moved by `pixels` right, left, down and up (zeros come in). Both models "
        "were trained with the same augmentation (shifts up to 2 pixels)."
    ),
    responses=error_responses(404, 422, 503),
)
async def mlp_shift(
    cnn: str = Query("lenet5", description="A bundled convolutional model."),
    mlp: str = Query("mlp", description="A bundled MLP."),
    pixels: int = Query(3, ge=0, le=MAX_SHIFT),
) -> dict[str, Any]:
    ids = [get_model(cnn).id, get_model(mlp).id]
    return await run_cpu_bound(_shift, ids, pixels)
