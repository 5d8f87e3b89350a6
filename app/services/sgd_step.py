"""One SGD step under a microscope, apart from HTTP: w' = w - lr * g on one input, on a COPY
of the model's parameters (the served model never changes).

L is the softmax cross-entropy of the input against `target`. The first-order prediction of
the change is dL ~ -lr * |g|^2; the second-order one adds lr^2/2 * g^T H g, with the
Hessian-vector product taken by central differences of the gradient along g (two extra
forward + backward passes). Small models run in float64, large ones in float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.nn.graph import Graph
from app.nn.losses import softmax_cross_entropy
from app.nn.trace import summary
from app.services.attribution import (
    FLOAT64_PARAMETERS,
    check_classifier,
    json_floats,
    network_input_of,
)
from app.services.encoding import NonFiniteError, encode_tensor
from app.services.errors import ApiError

MAX_LR = 100.0
# Full before/after feature maps are returned when all (C, H, W) maps together hold at most
# this many numbers (small models); per-layer summaries always.
MAP_BUDGET = 400_000
# Central-difference step (parameter-space length, along g) for the Hessian-vector product.
# Small, so that both sides of w usually lie in one linear region of the ReLUs (a wider step
# that straddles a kink measures the kink, not the curvature); larger in float32 (rounding).
HVP_STEP = {np.float64: 1e-5, np.float32: 1e-2}


def _copy(graph: Graph, dtype) -> Graph:
    """A deep copy of the parameters and buffers (Graph.astype always copies)."""
    return graph.astype(dtype)


def _shifted(graph: Graph, grads: list[dict[str, np.ndarray]], scale: float) -> Graph:
    """A copy of `graph` with every parameter w moved to w + scale * g."""
    layers = []
    for layer, g in zip(graph.layers, grads, strict=True):
        clone = layer.astype(next(iter(layer.params.values())).dtype) if layer.params else layer
        for key in layer.params:
            clone.params[key] = layer.params[key] + scale * g[key]
        layers.append(clone)
    return graph._with_layers(layers)


def loss_and_gradient(graph: Graph, x: np.ndarray, target: int):
    """-> (loss, logits (1, K), probabilities (1, K), per-node parameter gradients)."""
    logits, caches = graph.forward(x)
    loss, dlogits, probs = softmax_cross_entropy(logits, np.array([target]))
    _, grads = graph.backward(dlogits, caches)
    return loss, logits, probs, grads


def _dot(a: list[dict[str, np.ndarray]], b: list[dict[str, np.ndarray]]) -> float:
    return float(sum(np.vdot(a_i[k], b_i[k]) for a_i, b_i in zip(a, b, strict=True)
                     for k in a_i))


def _feature_maps(graph: Graph, x: np.ndarray) -> list[np.ndarray]:
    return graph._forward(x, keep=True)[2]


def sgd_step(
    model, network_input: np.ndarray, lr: float, target: int | None = None,
    encoding: str = "base64", include_gradients: bool = False,
) -> dict[str, Any]:
    """The response body of one step (SgdStepResponse as a dict). Raises ApiError."""
    if not (np.isfinite(lr) and 0 < lr <= MAX_LR):
        raise ApiError(422, "invalid_lr", f"lr must be a number in (0, {MAX_LR:g}], got {lr}",
                       field="lr")
    classes = len(model.classes)
    if target is not None and not 0 <= target < classes:
        raise ApiError(422, "invalid_target", f"target {target} is out of range: this model "
                       f"has classes 0 to {classes - 1}", field="target", classes=classes)
    dtype = np.float64 if model.network.parameter_count <= FLOAT64_PARAMETERS else np.float32
    graph = _copy(model.network, dtype)
    x = network_input_of(model, network_input, dtype)
    with np.errstate(all="ignore"):
        logits = graph.predict(x)
        check_classifier(model, logits)
        if target is None:
            target = int(logits[0].argmax())
        loss0, logits0, probs0, grads = loss_and_gradient(graph, x, target)
        g2 = _dot(grads, grads)
        g_norm = float(np.sqrt(g2))
        updated = _shifted(graph, grads, -lr)
        loss1, logits1, probs1, _ = loss_and_gradient(updated, x, target)
        curvature = 0.0  # g^T H g
        if g_norm > 0:
            h = HVP_STEP[dtype] / g_norm
            plus = loss_and_gradient(_shifted(graph, grads, h), x, target)[3]
            minus = loss_and_gradient(_shifted(graph, grads, -h), x, target)[3]
            curvature = (_dot(grads, plus) - _dot(grads, minus)) / (2 * h)
        maps0, maps1 = _feature_maps(graph, x), _feature_maps(updated, x)
    predicted = -lr * g2
    body: dict[str, Any] = {
        "model_id": model.id,
        "lr": lr,
        "target": target,
        "loss_before": loss0,
        "loss_after": loss1,
        "actual_change": loss1 - loss0,
        "predicted_change": predicted,
        "predicted_change_second_order": predicted + 0.5 * lr * lr * curvature,
        "curvature": curvature,
        "grad_norm": g_norm,
        "prediction_before": int(logits0[0].argmax()),
        "prediction_after": int(logits1[0].argmax()),
        "probabilities_before": probs0[0].tolist(),
        "probabilities_after": probs1[0].tolist(),
        "classes": model.classes,
        "dtype": np.dtype(dtype).name,
    }
    numbers = [v for v in body.values() if isinstance(v, float)]
    numbers += body["probabilities_before"] + body["probabilities_after"]
    if not np.isfinite(numbers).all():
        raise ApiError(422, "non_finite_result", f"the step at lr={lr:g} made the loss or the "
                       "probabilities non-finite: try a smaller learning rate", field="lr")
    try:
        body["parameters"] = _parameters(graph, grads, lr, encoding, include_gradients)
        body["layers"] = _layers(graph, maps0, maps1, encoding)
        if not np.isfinite(json_floats(body["parameters"]) + json_floats(body["layers"])).all():
            raise NonFiniteError("a feature map or parameter norm", 1)
    except NonFiniteError as exc:
        raise ApiError(422, "non_finite_result", f"the step at lr={lr:g} produced non-finite "
                       f"numbers ({exc}): try a smaller learning rate", field="lr") from None
    return body


def _parameters(graph, grads, lr, encoding, include_gradients) -> list[dict[str, Any]]:
    rows = []
    for name, layer, g in zip(graph.names, graph.layers, grads, strict=True):
        for key, w in layer.params.items():
            w_norm = float(np.linalg.norm(w))
            g_norm = float(np.linalg.norm(g[key]))
            row = {
                "name": f"{name}.{key}", "layer": name, "shape": list(w.shape),
                "weight_norm": w_norm, "grad_norm": g_norm, "update_norm": lr * g_norm,
                "update_ratio": lr * g_norm / w_norm if w_norm else None,
            }
            if include_gradients:
                row["gradient"] = encode_tensor(g[key].astype(np.float32), encoding,
                                                f"{name}.{key} gradient")
            rows.append(row)
    return rows


def _summary(array: np.ndarray) -> dict[str, Any]:
    """app.nn.trace.summary of a batch of one, its shape without the batch axis."""
    result = summary(array)
    result["shape"] = result["shape"][1:]
    return result


def _layers(graph, maps0, maps1, encoding) -> list[dict[str, Any]]:
    spatial = sum(m.size for m in maps0 if m.ndim == 4)
    full = spatial <= MAP_BUDGET
    rows = []
    for name, layer, a, b in zip(graph.names, graph.layers, maps0, maps1, strict=True):
        before_norm = float(np.linalg.norm(a))
        change = float(np.linalg.norm(b - a))
        row: dict[str, Any] = {
            "name": name, "kind": layer.kind,
            "before": _summary(a), "after": _summary(b),
            "change_norm": change,
            "relative_change": change / before_norm if before_norm else None,
        }
        if full and a.ndim == 4:
            row["output_before"] = encode_tensor(a[0].astype(np.float32), encoding, name)
            row["output_after"] = encode_tensor(b[0].astype(np.float32), encoding, name)
        rows.append(row)
    return rows
