"""The text CNN lesson's endpoint, POST /api/v1/lessons/text-cnn/inspect: validate the
string, run app.lessons.text_cnn on the bounded CPU pool, return its numbers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.limits import run_cpu_bound
from app.api.schemas import error_responses
from app.data.text import ALPHABET, CLASSES, MAX_LENGTH, TextRejected
from app.lessons.text_cnn import MAX_TEXT_LENGTH, inspect_text
from app.services.errors import ApiError

router = APIRouter(prefix="/api/v1/lessons", tags=["lessons"])


class TextInspectRequest(BaseModel):
    # strict: `"target": false` is not class 0, `"text": 5` is not "5".
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(
        min_length=1, max_length=MAX_TEXT_LENGTH,
        description=f"1 to {MAX_TEXT_LENGTH} characters, each one of the letters {ALPHABET!r}.",
        examples=["gdbadhe"],
    )
    target: int | None = Field(
        None, ge=0, lt=len(CLASSES),
        description=f"The class the loss is taken against, an index into {list(CLASSES)}; "
        "default: the predicted class.",
    )


class Winner(BaseModel):
    position: int = Field(description="Where the filter's window starts (0-based).")
    end: int = Field(description="Where it ends (exclusive): the n-gram is text[position:end].")
    value: float = Field(description="The winning response: this filter's entry of the vector.")
    ngram: str = Field(description="The characters under the window (padding left out).")
    padding: int = Field(description="How many padding cells the window covers.")


class FilterResponse(BaseModel):
    width: int = Field(description="The window width (the n of the n-grams it reads).")
    filter: int
    name: str
    response: list[float] = Field(
        description="ReLU(convolution) at each window position: padded_length - width + 1 "
        "values; max-over-time pooling keeps the largest (the first, on ties).")
    winner: Winner
    weight_norm: float


class TextInspectResponse(BaseModel):
    model: str
    text: str
    alphabet: str
    classes: list[str]
    tokens: list[str | None] = Field(
        description=f"The characters the model reads: the text, right-padded with null "
        f"(padding) to {MAX_LENGTH} as in training; longer texts are not padded.")
    padded_length: int
    widths: list[int]
    filters: list[FilterResponse]
    vector: list[float] = Field(description="The fixed-length vector: every filter's winner.")
    logits: list[float]
    probabilities: list[float]
    prediction: int
    target: int
    loss: float = Field(description="Cross-entropy against `target`.")
    embedding_grad: list[list[float]] = Field(
        description="dL/d(embedding output): (padded_length, embedding_dim), one row per "
        "character.")
    sensitivity: list[float] = Field(description="Each row's L2 norm: how much the loss "
                                     "responds to that character.")
    heldout_accuracy: float | None
    training_length: int


@router.post(
    "/text-cnn/inspect",
    operation_id="lesson_text_cnn_inspect",
    response_model=TextInspectResponse,
    summary="Read a string with the text CNN: filter responses, max-over-time winners, "
            "vector, prediction and per-character gradient",
    description=(
        f"The bundled text model reads strings over the letters {ALPHABET!r} and says which "
        f"motif they hold: none, \"hg\", \"bad\" or \"cafe\", anywhere in the string. Send "
        f"`{{\"text\": ...}}` (1 to {MAX_TEXT_LENGTH} characters); a character outside the "
        "alphabet gets a 422 `invalid_character` naming it and its position."
    ),
    responses=error_responses(400, 413, 422, 503),
)
async def text_cnn_inspect(request: TextInspectRequest) -> dict[str, Any]:
    try:
        return await run_cpu_bound(inspect_text, request.text, request.target)
    except TextRejected as exc:
        if exc.character is None:
            raise ApiError(422, "invalid_text", str(exc), field="text") from None
        raise ApiError(422, "invalid_character", str(exc), field="text",
                       position=exc.position, character=exc.character,
                       alphabet=ALPHABET) from None
