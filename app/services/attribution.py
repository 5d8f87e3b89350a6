"""Attribution for one input: "why this class?", apart from HTTP.

`attribute(model, network_input, options)` runs one method of app.nn.attribution on a
model's Graph and returns the response body: the heatmap (a Tensor), what it is a map of,
and the numbers that define it. Every method explains y_t, the target class's logit.
Each method's cost is bounded (caps on samples, steps and occlusion positions: 422 beyond).
Small models are explained in float64 (exact enough that integrated gradients' completeness
measures the method, not rounding); large ones in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.nn import attribution as attr
from app.services.encoding import NonFiniteError, encode_tensor
from app.services.errors import ApiError

METHODS = (
    "saliency", "gradient_x_input", "grad_cam", "guided_backprop", "smoothgrad",
    "integrated_gradients", "occlusion",
)
MAX_SMOOTHGRAD_SAMPLES = 100
MAX_IG_STEPS = 256
MAX_OCCLUSION_POSITIONS = 1024
MAX_PATCH = 256
# Models with at most this many parameters are explained in float64.
FLOAT64_PARAMETERS = 5_000_000


@dataclass
class AttributionOptions:
    """One request's method and parameters (defaults as documented in the API)."""

    method: str = "saliency"
    target: int | None = None
    layer: str | None = None
    n_samples: int = 25
    sigma: float = 0.15
    seed: int = 0
    steps: int = 64
    rule: str = "adaptive"
    baseline: float = 0.0
    patch: tuple[int, int] = (4, 4)
    stride: tuple[int, int] = (2, 2)
    encoding: str = "base64"


def _invalid(field: str, message: str, **details: Any) -> ApiError:
    return ApiError(422, f"invalid_{field}", message, field=field, **details)


def check_options(options: AttributionOptions) -> None:
    """Bounds that do not depend on the model; 422 naming the field."""
    if options.method not in METHODS:
        raise _invalid("method", f"unknown method {options.method!r}; known: "
                       f"{', '.join(METHODS)}", methods=list(METHODS))
    if not 1 <= options.n_samples <= MAX_SMOOTHGRAD_SAMPLES:
        raise _invalid("n_samples", f"n_samples must be 1 to {MAX_SMOOTHGRAD_SAMPLES}, got "
                       f"{options.n_samples}", maximum=MAX_SMOOTHGRAD_SAMPLES)
    if options.rule not in attr.IG_RULES:
        raise _invalid("rule", f"unknown rule {options.rule!r}; known: "
                       f"{', '.join(attr.IG_RULES)}", rules=list(attr.IG_RULES))
    if not 1 <= options.steps <= MAX_IG_STEPS:
        raise _invalid("steps", f"steps must be 1 to {MAX_IG_STEPS}, got {options.steps}",
                       maximum=MAX_IG_STEPS)
    for name in ("patch", "stride"):
        value = getattr(options, name)
        if len(value) != 2 or not all(1 <= v <= MAX_PATCH for v in value):
            raise _invalid(name, f"{name} must be 1 to {MAX_PATCH} (one number or [h, w]), "
                           f"got {list(value)}")


def _target(model, logits: np.ndarray, target: int | None) -> int:
    classes = len(model.classes)
    if target is None:
        return int(logits[0].argmax())
    if not 0 <= target < classes:
        raise ApiError(
            422, "invalid_target",
            f"target {target} is out of range: this model has classes 0 to {classes - 1}",
            field="target", classes=classes,
        )
    return int(target)


def _grad_cam_layer(model, graph, shape, layer: str | None) -> str:
    nodes = attr.conv_like_nodes(graph, shape)
    if not nodes:
        raise ApiError(
            422, "no_conv_layer",
            f"Grad-CAM needs a node with a (C, H, W) feature map; model {model.id!r} has none "
            "(a recurrent or fully connected model): use saliency, gradient_x_input, "
            "integrated_gradients, smoothgrad or occlusion",
            field="method",
        )
    if layer is None:
        return nodes[-1]
    if layer not in nodes:
        raise _invalid("layer", f"Grad-CAM cannot look at {layer!r}; this model's nodes with "
                       f"a (C, H, W) feature map: {', '.join(nodes[:64])}", layers=nodes[:64])
    return layer


def _occlusion_geometry(x: np.ndarray, options: AttributionOptions) -> None:
    if x.ndim != 4:
        raise ApiError(422, "invalid_method", "occlusion needs an image input (C, H, W)",
                       field="method")
    try:
        tops, lefts = attr.occlusion_grid(x.shape[-2:], options.patch, options.stride)
    except ValueError as exc:
        raise _invalid("patch", str(exc)) from None
    if tops.size * lefts.size > MAX_OCCLUSION_POSITIONS:
        raise _invalid(
            "stride", f"{tops.size} x {lefts.size} = {tops.size * lefts.size:,} occlusion "
            f"positions; at most {MAX_OCCLUSION_POSITIONS}: use a larger stride or patch",
            maximum=MAX_OCCLUSION_POSITIONS,
        )


def network_input_of(model, network_input: np.ndarray, dtype) -> np.ndarray:
    """The request's input as the model's batch of one, in dtype: the network's own input
    (1, *input_shape) as it is (an exact tensor, an image already preprocessed), anything
    else (an image (H, W) or (C, H, W)) through model.prepare; 422 when it does not fit."""
    arr = np.asarray(network_input)
    if arr.shape == (1, *model.input_shape):
        return arr.astype(dtype)
    try:
        return model.prepare(arr[None]).astype(dtype)
    except ValueError as exc:
        raise ApiError(422, "input_shape_mismatch", f"this input does not fit model "
                       f"{model.id!r}: {exc}", input_shape=list(model.input_shape)) from None


def check_classifier(model, logits: np.ndarray) -> None:
    """422 unless the graph ends in (1, classes) logits."""
    if logits.ndim != 2 or logits.shape[1] != len(model.classes):
        raise ApiError(
            422, "not_a_classifier",
            f"model {model.id!r} outputs {list(logits.shape[1:])}, not one logit per class "
            f"({len(model.classes)}): attribution and the SGD step need a classifier",
        )


def network_of(model):
    """The model's Graph in the dtype attribution runs in (a copy for float64)."""
    graph = model.network
    if graph.parameter_count <= FLOAT64_PARAMETERS:
        return graph.astype(np.float64), np.float64
    return graph, np.float32


def _run(method: str, graph, x, t: int, options: AttributionOptions, layer: str | None):
    """-> (heatmap without batch axis, what it maps, extra fields)."""
    if method == "saliency":
        return attr.logit_gradient(graph, x, t)[1][0], "input", {}
    if method == "gradient_x_input":
        return attr.gradient_x_input(graph, x, t)[0], "input", {}
    if method == "guided_backprop":
        guided, relus = attr.guided_graph(graph)
        if not relus:
            raise ApiError(422, "no_relu", "guided backpropagation changes how ReLU nodes pass "
                           "gradients back, and this model has none", field="method")
        return attr.logit_gradient(guided, x, t)[1][0], "input", {"relu_nodes": relus}
    if method == "smoothgrad":
        grad = attr.smoothgrad(graph, x, t, options.n_samples, options.sigma, options.seed)
        return grad[0], "input", {"n_samples": options.n_samples, "sigma": options.sigma,
                                  "seed": options.seed}
    if method == "integrated_gradients":
        ig = attr.integrated_gradients(graph, x, t, options.steps, options.baseline,
                                       options.rule)
        return ig.attributions[0], "input", {
            "steps": options.steps, "rule": ig.rule, "evaluations": ig.evaluations,
            "baseline": options.baseline,
            "completeness": {"sum": ig.total, "f_x": ig.f_x, "f_baseline": ig.f_baseline,
                             "difference": ig.f_x - ig.f_baseline, "gap": ig.gap},
        }
    if method == "grad_cam":
        cam = attr.grad_cam(graph, x, t, layer)
        return cam.cam[0], "feature_map", {
            "weights": cam.weights[0].tolist(),
            "layers": attr.conv_like_nodes(graph, x.shape),
            "activation_shape": list(cam.activation.shape[1:]),
        }
    occ = attr.occlusion(graph, x, t, options.patch, options.stride, options.baseline)
    return occ.drop, "occlusion_grid", {
        "patch": list(options.patch), "stride": list(options.stride),
        "baseline": options.baseline, "score": occ.score,
        "tops": occ.tops.tolist(), "lefts": occ.lefts.tolist(),
    }


def attribute(model, network_input: np.ndarray, options: AttributionOptions) -> dict[str, Any]:
    """One attribution of one network input (the model's (C, H, W) or (H, W)) -> the
    response body. Raises ApiError (422) for options this model or input cannot take."""
    check_options(options)
    graph, dtype = network_of(model)
    x = network_input_of(model, network_input, dtype)
    with np.errstate(all="ignore"):
        logits = graph.predict(x)
    check_classifier(model, logits)
    layer = None
    if options.method == "grad_cam":
        layer = _grad_cam_layer(model, graph, x.shape, options.layer)
    elif options.method == "occlusion":
        _occlusion_geometry(x, options)
    with np.errstate(all="ignore"):
        t = _target(model, logits, options.target)
        heatmap, kind, extra = _run(options.method, graph, x, t, options, layer)
    probs = np.exp(logits[0] - logits[0].max())
    probs /= probs.sum()
    try:
        body = {
            "model_id": model.id,
            "method": options.method,
            "target": t,
            "prediction": int(logits[0].argmax()),
            "logit": float(logits[0, t]),
            "probabilities": [float(p) for p in probs],
            "classes": model.classes,
            "heatmap": encode_tensor(heatmap.astype(np.float32), options.encoding, "heatmap"),
            "heatmap_of": kind,
            "resolution": list(heatmap.shape[-2:]),
            "layer": layer,
            "input": encode_tensor(x[0].astype(np.float32), options.encoding, "input"),
            "dtype": np.dtype(dtype).name,
            **extra,
        }
    except NonFiniteError as exc:
        raise ApiError(422, "non_finite_result",
                       f"the attribution produced non-finite numbers ({exc})",
                       tensor=exc.name) from None
    numbers = [body["logit"], *body["probabilities"], *json_floats(extra)]
    if not np.isfinite(numbers).all():
        raise ApiError(422, "non_finite_result",
                       "the model's logits or the method's numbers are not finite")
    return body


def json_floats(value: Any) -> list[float]:
    """Every float inside a JSON-like value."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [f for item in value for f in json_floats(item)]
    return []
