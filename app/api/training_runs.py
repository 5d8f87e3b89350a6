"""/api/v1/training-runs: train a CNN as a server job, watch it live, pause, step, stop.

The event stream is Server-Sent Events: each event has an `id:` (1, 2, 3, ... per run), an
`event:` kind and JSON `data:`. Kinds: `status` (status, step; reason, diverged_at_step),
`step` (every few steps: step, epoch, loss, lr), `layers` (per layer: weight_norm,
grad_norm, update_ratio, weight_hist, grad_hist), `filters` (the first conv layer's weights:
layer, shape, values), `epoch` (epoch, train_loss, heldout_loss, heldout_accuracy,
confusion[true][predicted]) and, last, `end` (status, model_id, reason, diverged_at_step,
history, lr_verdict). Reconnecting with the Last-Event-ID header (or `?last_event_id=`)
resumes after that event. Comment lines (`: keep-alive`) come every few seconds while
nothing happens. The stream ends after `end`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import StreamingResponse

from app.api.errors import ApiError
from app.api.schemas.errors import RETRY_AFTER, ErrorResponse
from app.api.schemas.training import ArchitectureCheck, TrainingRun, TrainingRunRequest
from app.services.training_runs import ENDED, TrainingRuns, check_architecture
from app.services.training_runs_files import EventReader, touch_seen

router = APIRouter(prefix="/api/v1", tags=["training"])

HEARTBEAT_SECONDS = 5.0
POLL_SECONDS = 0.2


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        400: "Malformed request body (not JSON).",
        404: "Unknown run (or one forgotten since).",
        409: "The run cannot do that now (it has ended, or step needs a paused run).",
        413: "Request body too large.",
        422: "Invalid config: the field, the layer or the limit is named.",
        429: "Too many runs in progress; retry after the Retry-After header's seconds.",
    }
    out: dict[int | str, dict[str, Any]] = {
        s: {"model": ErrorResponse, "description": meaning[s]} for s in statuses
    }
    if 429 in out:
        out[429]["headers"] = RETRY_AFTER
    return out


def runs_of(request: Request) -> TrainingRuns:
    state = request.app.state
    if getattr(state, "training_runs", None) is None:
        state.training_runs = TrainingRuns(state.settings)
    return state.training_runs


@router.post(
    "/training-runs", operation_id="create_training_run", status_code=201,
    response_model=TrainingRun, summary="Start a training run",
    responses=_errors(400, 413, 422, 429),
)
def create_training_run(request: Request, body: TrainingRunRequest = Body(...)) -> dict:
    """Train `architecture` (a bundled model id, freshly initialised from `seed`, or a layer
    spec) on `dataset`. The run trains in a process of its own at a lower CPU priority; watch
    it through GET .../events. When it is done the trained model is stored (`model_id`) and
    can be inspected like any model."""
    return runs_of(request).create(body.model_dump())


@router.post(
    "/training-runs/check", operation_id="check_training_architecture",
    response_model=ArchitectureCheck, summary="Check a layer spec against a dataset",
    responses=_errors(400, 413, 422),
)
def check_training_architecture(
    architecture: str | list[dict[str, Any]] = Body(
        ..., embed=True, description="A bundled model id or a layer spec."),
    dataset: str = Body("digits", embed=True),
) -> dict:
    """Each layer's output shape and parameter count for the dataset's images, and the layer
    spec in full (a bundled model's, or the given one with its defaults filled in), or a 422
    naming the layer that does not fit."""
    return check_architecture(architecture, dataset)


@router.get(
    "/training-runs/{run_id}", operation_id="get_training_run", response_model=TrainingRun,
    summary="A training run: status, config, history", responses=_errors(404),
)
def get_training_run(request: Request, run_id: str) -> dict:
    return runs_of(request).get(run_id)


def _control(command: str, summary: str, doc: str):
    def endpoint(request: Request, run_id: str) -> dict:
        return runs_of(request).control(run_id, command)

    endpoint.__doc__ = doc
    endpoint.__name__ = f"{command}_training_run"
    router.post(
        f"/training-runs/{{run_id}}/{command}", operation_id=f"{command}_training_run",
        response_model=TrainingRun, summary=summary, responses=_errors(404, 409),
    )(endpoint)


_control("pause", "Pause a training run", "Pause between two steps; `resume` goes on.")
_control("resume", "Resume a paused training run", "Go on training after `pause`.")
_control("stop", "Stop a training run", "End the run now (status `stopped`); the model is "
         "not stored.")
_control("step", "Train one step of a paused run", "Train one mini-batch, then stay paused.")


def _sse(event: dict[str, Any]) -> str:
    return (f"id: {event['id']}\nevent: {event['event']}\n"
            f"data: {json.dumps(event['data'], separators=(',', ':'))}\n\n")


@router.get(
    "/training-runs/{run_id}/events", operation_id="training_run_events",
    summary="The run's live events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                     "description": "An event stream; see the API description."},
               **_errors(404)},
)
async def training_run_events(
    request: Request, run_id: str,
    last_event_id_header: str | None = Header(None, alias="Last-Event-ID"),
    last_event_id: int | None = Query(None, ge=0, description="Resume after this event id "
                                      "(for clients that cannot send Last-Event-ID)."),
) -> StreamingResponse:
    """Events of the run from the start, or after Last-Event-ID; ends after the `end` event."""
    runs = runs_of(request)
    path = await asyncio.to_thread(runs.refresh, run_id)
    after = last_event_id or 0
    if last_event_id_header and last_event_id_header.strip().isdigit():
        after = int(last_event_id_header.strip())

    async def stream():
        reader = EventReader(path / "events.jsonl", after)
        yield "retry: 1000\n\n"
        beat = seen = time.monotonic()
        while True:
            events = await asyncio.to_thread(reader.read)
            for event in events:
                yield _sse(event)
                if event["event"] == "end":
                    return
            now = time.monotonic()
            if now - seen >= 1.0:
                touch_seen(path)
                seen = now
            if not events:
                try:
                    resource = await asyncio.to_thread(runs.get, run_id, False)
                except ApiError:  # forgotten meanwhile (only ended runs are)
                    return
                if resource["status"] in ENDED and reader.after >= resource["last_event_id"]:
                    return
                if now - beat >= HEARTBEAT_SECONDS:
                    yield ": keep-alive\n\n"
                    beat = now
                await asyncio.sleep(POLL_SECONDS)

    touch_seen(path)
    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
