"""The error envelope `{"error": {"code", "message", ...details}}` and `error_responses`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """One schema violation: where (`loc`, path of keys), what (`msg`) and its kind (`type`)."""

    loc: list[str]
    msg: str
    type: str


class ErrorDetail(BaseModel):
    """`code` and `message` always; the other fields when they apply to the error."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Machine-readable, e.g. `unsupported_media_type`.")
    message: str = Field(description="What was wrong, for a human.")
    field: str | None = Field(None, description="The request field at fault.")
    problems: list[Problem] | None = Field(
        None, description="`invalid_input`: the first schema violations."
    )
    problem_count: int | None = Field(None, description="How many violations in all.")
    available: list[str] | None = Field(None, description="Known ids (unknown model).")
    supported: list[str] | None = Field(None, description="Accepted request media types.")
    allowed: list[str] | None = Field(None, description="Accepted image formats.")
    request_id: str | None = Field(None, description="Id of the request in the server log.")
    model: str | None = Field(None, description="The unknown model id.")
    sample: int | None = Field(None, description="The unknown sample id.")
    layer: int | None = Field(None, description="`invalid_layer`: the layer's index.")
    name: str | None = Field(None, description="`invalid_layer`: the layer's name.")
    classes: int | None = Field(None, description="`invalid_target`: the model's class count.")
    tensor: str | None = Field(None, description="`non_finite_result`: the tensor at fault.")
    format: str | None = Field(None, description="The image format at fault.")
    width: int | None = Field(None, description="The image's width in pixels.")
    height: int | None = Field(None, description="The image's height in pixels.")
    limit: int | None = Field(None, description="The limit that was exceeded.")
    max_bytes: int | None = Field(None, description="`payload_too_large`: the body limit.")
    max_pixels: int | None = Field(None, description="`image_too_large`: the pixel limit.")
    max_aspect_ratio: float | None = Field(
        None, description="`extreme_aspect_ratio`: the limit."
    )


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: `{"error": {"code", "message", ...details}}`."""

    error: ErrorDetail


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented with the error envelope."""
    meaning = {
        400: "Malformed request body.",
        404: "Unknown model or sample.",
        413: "Request body or image too large.",
        415: "Unsupported media type or image format.",
        422: "Invalid input (field, value, target or include part).",
        503: "Server busy; retry after the Retry-After header's seconds.",
    }
    responses: dict[int | str, dict[str, Any]] = {
        s: {"model": ErrorResponse, "description": meaning[s]} for s in statuses
    }
    if 503 in responses:
        responses[503]["headers"] = RETRY_AFTER
    return responses
