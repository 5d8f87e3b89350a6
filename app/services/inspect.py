"""The inspect pipeline for one input, apart from HTTP: decode -> preprocess -> forward +
backward -> encode. POST /api/v1/models/{id}/inspect and `convscope inspect` both call
`inspect_image` and serialize its result with `to_json_bytes`, so they give the same JSON.

An input is an image (uploaded, drawn, or a gallery sample), turned into the network's input
by `image_input` (the one place that does it), or an exact tensor (app.services.input_tensor),
used as is.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from app.imaging import ImageRejected, decode_image, pixels_to_image, png_data_url
from app.imaging.spec import normalise, prepare_for_spec
from app.services.encoding import DEFAULT_INCLUDE, ENCODINGS, NonFiniteError, encode_trace
from app.services.errors import ApiError
from app.services.input_tensor import decode_input_tensor
from app.services.models import get_model, receptive_fields
from app.services.samples import as_picture, dataset_for, sample_image
from app.services.traces import TraceStore, encode_token, pack_recipe, recipe_of, trace_id_of
from app.settings import Settings

PREVIEW_SIDE = 160


@dataclass
class InspectInput:
    """One request's input (exactly one of the four sources) and options."""

    image: bytes | None = None
    pixels: list[list[float]] | None = None
    sample: int | None = None
    tensor: dict[str, Any] | None = None
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


def image_input(
    model, source: InspectInput, settings: Settings, timings: dict[str, float]
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """THE step that turns an image source (uploaded bytes, drawn pixels or a gallery sample)
    into the model's input: -> (float32 (1, *model.input_shape), the preprocessing steps as
    (name, uint8 image)). Sets timings["decode"]. Raises ApiError.

    The image is prepared for the model's input spec (app.imaging.spec.prepare_for_spec):
    1-channel digit models get the digit recipe, others keep their colour (3 channels) and
    are resized on the shorter side then centre-cropped; then (x - mean) / std per channel.
    A gallery sample of the model's own dataset (its shape is the model's) is used as it is,
    scaled to [0, 1] and normalised; another gallery's sample is prepared like an upload.
    Models whose input is not a 1- or 3-channel image take exact tensors only."""
    tick = time.perf_counter()
    shape = tuple(model.input_shape)
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ApiError(
            422, "image_input_unsupported",
            f"this model takes a {list(shape)} input, and images are only preprocessed for "
            "1- or 3-channel image models; send the input as an exact tensor "
            f'{{"tensor": {{"shape": {[1, *shape]}, "dtype": "float32", '
            '"encoding": "base64", "data": "..."}}',
            input_shape=list(shape),
        )
    try:
        spec = model.input_spec
    except ValueError as exc:  # e.g. an input larger than images are prepared for
        raise ApiError(
            422, "image_input_unsupported",
            f"images cannot be prepared for this model's input ({exc}); send the input as an "
            f"exact tensor of shape {[1, *shape]}", input_shape=list(shape),
        ) from None
    try:
        if source.sample is not None:
            image, _ = sample_image(source.sample, dataset_for(model))
            timings["decode"] = _ms(tick)
            picture = as_picture(image)
            if image.shape in (shape, shape[1:]):  # the model's own gallery: as it is
                pixels = image.reshape(shape).astype(np.float32) / 255.0
                x, steps = normalise(pixels, spec), [("sample", picture)]
            else:
                prepared = prepare_for_spec(picture, spec)  # its first step is the picture
                x, steps = prepared.input, [("sample", picture), *prepared.steps[1:]]
        else:
            if source.image is not None:
                decoded = decode_image(source.image, settings, colour=spec.channels == 3)
            else:
                decoded = pixels_to_image(source.pixels, settings)
            timings["decode"] = _ms(tick)
            prepared = prepare_for_spec(decoded, spec)
            x, steps = prepared.input, prepared.steps
    except ImageRejected as exc:
        raise _rejected(exc) from None
    return np.ascontiguousarray(x[None], dtype=np.float32), steps


def request_input(
    model, source: InspectInput, settings: Settings, timings: dict[str, float] | None = None
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """The one input path of every per-input endpoint (inspect, attribution, sgd-step): an
    exact tensor as is, or an image through `image_input` -> (float32 (1, *model.input_shape),
    the preprocessing steps). Sets timings["decode"]. Raises ApiError."""
    timings = {} if timings is None else timings
    tick = time.perf_counter()
    if source.tensor is not None:
        network_input = decode_input_tensor(source.tensor, model.input_shape)
        timings["decode"] = _ms(tick)
        return network_input, []
    return image_input(model, source, settings, timings)


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
    network_input, steps = request_input(model, source, settings, timings)
    timings["preprocess"] = round(_ms(tick) - timings["decode"], 3)
    body = inspect_input(model, network_input, source, settings, store, steps, timings)
    # No ink found: the network saw all zeros, and the last preprocessing step says "blank".
    body["blank"] = bool(steps) and source.sample is None and steps[-1][0] == "blank"
    if source.tensor is None:
        body["input_spec"] = model.input_spec.as_dict()
    timings["total"] = _ms(started)
    body["timings_ms"] = timings
    return body


def inspect_input(
    model, network_input: np.ndarray, source: InspectInput, settings: Settings,
    store: TraceStore | None = None, steps: list[tuple[str, np.ndarray]] | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Forward + backward of one network input (the model's (C, H, W) or (H, W)), then the
    response body: summaries for every layer, full tensors within the layer and response
    budgets (app.services.trace_budget), the
    content-addressed `trace_id` and the `trace_input` token; the trace goes into `store`.
    `steps` are the preprocessing steps' (name, uint8 image), previewed in the body."""
    _check_include_layers(source.include_layers, model)
    timings = {} if timings is None else timings
    tick = time.perf_counter()
    if network_input.shape == (1, *model.input_shape):  # the network's own input, batch of 1
        target = None if source.target is None else [int(source.target)]
        trace = model.network.trace(network_input, target)
    else:
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
            response_budget=settings.trace_response_budget,
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
