"""The inspect pipeline for one image, apart from HTTP: decode -> preprocess -> forward +
backward -> encode. POST /api/v1/models/{id}/inspect and `convscope inspect` both call
`inspect_image` and serialize its result with `to_json_bytes`, so they give the same JSON.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from app.imaging import ImageRejected, decode_image, pixels_to_image, png_data_url
from app.imaging.spec import prepare_for_spec
from app.services.encoding import DEFAULT_INCLUDE, ENCODINGS, NonFiniteError, encode_trace
from app.services.errors import ApiError
from app.services.models import get_model, receptive_fields
from app.services.samples import as_picture, dataset_for, sample_image
from app.services.traces import TraceStore, encode_token, pack_recipe, recipe_of, trace_id_of
from app.settings import Settings

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
    include_layers: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def _rejected(exc: ImageRejected) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, **(exc.details or {}))


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


def _check_include_layers(names: tuple[str, ...], model) -> None:
    unknown = sorted(set(names) - set(model.network.names))
    if unknown:
        raise ApiError(
            422, "invalid_include_layers",
            f"unknown layer(s) {', '.join(map(repr, unknown[:20]))}; this model's layers: "
            f"{', '.join(model.network.names[:64])}",
            field="include_layers",
        )


def inspect_image(
    model_id: str, source: InspectInput, settings: Settings, store: TraceStore | None = None
) -> dict[str, Any]:
    """The pipeline for one image: decode -> preprocess -> forward + backward -> encode.

    Returns the inspect response body (InspectResponse as a dict); the trace is kept in
    `store` when one is given. Raises ApiError.
    """
    started = time.perf_counter()
    model = get_model(model_id)
    _check_target(source.target, model.classes)
    _check_include_layers(source.include_layers, model)  # before any decoding
    if source.encoding not in ENCODINGS:
        raise ApiError(422, "invalid_encoding", f"encoding must be one of {', '.join(ENCODINGS)}")
    timings = dict(source.timings_ms)

    tick = time.perf_counter()
    try:
        spec = model.input_spec
        if source.sample is not None:
            image, _ = sample_image(source.sample, dataset_for(model))
            timings["decode"] = _ms(tick)
            tick = time.perf_counter()
            if image.shape in (model.input_shape, model.input_shape[1:]):
                network_input = image  # a sample of the model's own dataset, as it is
                steps = [("sample", as_picture(image))]
            else:  # another model's sample: prepared for this model's input spec
                prepared = prepare_for_spec(as_picture(image), spec)
                network_input, steps = prepared.pixels, [("sample", as_picture(image))]
                steps += prepared.steps
        else:
            if source.image is not None:
                picture = decode_image(source.image, settings, colour=spec.channels == 3)
            else:
                picture = pixels_to_image(source.pixels, settings)
            timings["decode"] = _ms(tick)
            tick = time.perf_counter()
            # Model.trace applies the spec's mean and std: it takes the [0, 1] pixels.
            prepared = prepare_for_spec(picture, spec)
            network_input = prepared.pixels
            steps = prepared.steps
    except ImageRejected as exc:
        raise _rejected(exc) from None
    timings["preprocess"] = _ms(tick)
    body = inspect_input(model, network_input, source, settings, store, steps, timings)
    # No ink found: the network saw all zeros, and the last preprocessing step says "blank".
    body["blank"] = source.sample is None and steps[-1][0] == "blank"
    body["input_spec"] = spec.as_dict()
    timings["total"] = _ms(started)
    body["timings_ms"] = timings
    return body


def inspect_input(
    model, network_input: np.ndarray, source: InspectInput, settings: Settings,
    store: TraceStore | None = None, steps: list[tuple[str, np.ndarray]] | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Forward + backward of one network input (the model's (C, H, W) or (H, W)), then the
    response body: summaries for every layer, full tensors within the layer budget, the
    content-addressed `trace_id` and the `trace_input` token; the trace goes into `store`.
    `steps` are the preprocessing steps' (name, uint8 image), previewed in the body."""
    _check_include_layers(source.include_layers, model)
    timings = {} if timings is None else timings
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
                for name, image in steps or ()
            ],
            include=source.include, encoding=source.encoding,
            layer_budget=settings.trace_layer_budget, include_layers=source.include_layers,
        )
    except NonFiniteError as exc:
        raise ApiError(
            422, "non_finite_result",
            f"the pass produced non-finite numbers ({exc}); the input cannot be inspected",
            tensor=exc.name,
        ) from None
    recipe = recipe_of(model, trace)
    packed = pack_recipe(recipe)
    body["trace_id"] = trace_id_of(recipe)
    body["trace_input"] = encode_token(packed)
    if store is not None:
        store.put(body["trace_id"], model.id, trace, packed)
    timings["encode"] = _ms(tick)
    return body


def to_json_bytes(body: dict[str, Any]) -> bytes:
    """The response body as compact JSON bytes. allow_nan=False: a NaN that slipped past
    encode_trace fails loudly instead of becoming invalid JSON."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
