"""Attribution: which parts of the input (or of a feature map) a class's score depends on.

Every method explains y_t, the LOGIT of the target class t (not its probability, not the
loss), of a Graph whose output is (N, classes) logits. Inputs are batches x (N, C, H, W) (or
whatever the graph reads); items are independent in inference mode, so one pass over a batch
of noisy, scaled or occluded copies gives each copy's own gradient. Arrays keep x's dtype.

    logit_gradient(graph, x, t)            dy_t/dx, the saliency map (signed)
    gradient_x_input(graph, x, t)          x * dy_t/dx
    grad_cam(graph, x, t, node)            ReLU(sum_c mean_hw(dy_t/dA_c) A_c) at the node
    guided_backprop(graph, x, t)           dy_t/dx with ReLU passing only positive gradients
    smoothgrad(graph, x, t, n, sigma, seed) mean of dy_t/dx over x + N(0, sigma^2) copies
    integrated_gradients(graph, x, t, steps, baseline, rule)
    occlusion(graph, x, t, patch, stride, baseline)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.nn.activations import ReLU
from app.nn.graph import Graph

# Items per forward/backward batch for the multi-pass methods: bounds memory (activations
# of every node for this many copies) whatever n, steps or the occlusion grid ask for.
MAX_BATCH_ELEMENTS = 1 << 20


def chunk_size(x: np.ndarray, limit: int = 32) -> int:
    """How many copies of one input (x's first item) go into one pass: at most `limit`, and
    at most MAX_BATCH_ELEMENTS input elements."""
    per_item = max(1, int(np.prod(x.shape[1:])))
    return max(1, min(limit, MAX_BATCH_ELEMENTS // per_item))


def _one_hot(logits: np.ndarray, target: int) -> np.ndarray:
    if logits.ndim != 2:
        raise ValueError(f"the network must end in (N, classes) logits, got {logits.shape}")
    if not 0 <= target < logits.shape[1]:
        raise ValueError(f"target {target} is out of range 0..{logits.shape[1] - 1}")
    seed = np.zeros_like(logits)
    seed[:, target] = 1
    return seed


def logit_gradient(graph: Graph, x: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """x (N, ...) -> (logits (N, classes), dy_t/dx (N, ...)): each item's gradient of its own
    target logit."""
    logits, caches, _ = graph._forward(x, keep=False)
    dx, _, _ = graph._backward(_one_hot(logits, target), caches, keep=False)
    return logits, dx


def gradient_x_input(graph: Graph, x: np.ndarray, target: int) -> np.ndarray:
    """x * dy_t/dx, element by element (N, ...)."""
    return x * logit_gradient(graph, x, target)[1]


def conv_like_nodes(graph: Graph, input_shape: tuple[int, ...]) -> list[str]:
    """Nodes whose output is a (N, C, H, W) feature map with more than one position: where
    Grad-CAM can look, in topological order."""
    return [
        name for name, (_, out) in zip(graph.names, graph.shapes(input_shape), strict=True)
        if len(out) == 4 and out[2] * out[3] > 1
    ]


@dataclass
class GradCam:
    """cam (N, h, w) at the node's resolution; weights (N, C) = mean_hw dy_t/dA_c;
    activation A and its gradient dy_t/dA (N, C, h, w)."""

    cam: np.ndarray
    weights: np.ndarray
    activation: np.ndarray
    gradient: np.ndarray
    logits: np.ndarray


def grad_cam(graph: Graph, x: np.ndarray, target: int, node: str) -> GradCam:
    """ReLU(sum_c w_c A_c) with w_c = mean over h, w of dy_t/dA_c, A the output of `node`
    (N, C, h, w). The map stays at the node's own resolution."""
    if node not in graph.names:
        raise ValueError(f"unknown node {node!r}")
    i = graph.names.index(node)
    logits, caches, outputs = graph._forward(x, keep=True)
    _, _, deltas = graph._backward(_one_hot(logits, target), caches, keep=True)
    activation, gradient = outputs[i], deltas[i]
    if activation.ndim != 4:
        raise ValueError(f"node {node!r} outputs {activation.shape}, not (N, C, H, W)")
    weights = gradient.mean(axis=(2, 3))
    cam = np.maximum(np.einsum("nc,nchw->nhw", weights, activation), 0)
    return GradCam(cam.astype(x.dtype, copy=False), weights, activation, gradient, logits)


class GuidedReLU(ReLU):
    """ReLU whose backward passes a gradient only where the input was positive AND the
    incoming gradient is positive (Springenberg et al. 2015's guided backpropagation)."""

    def backward(self, dy, cache):
        return np.where(cache & (dy > 0), dy, 0).astype(dy.dtype, copy=False), {}


def guided_graph(graph: Graph) -> tuple[Graph, int]:
    """A view of `graph` (same parameters) whose ReLU nodes are GuidedReLU; the count of
    ReLU nodes replaced. Forward is unchanged; only backward differs."""
    layers, count = [], 0
    for layer in graph.layers:
        if type(layer) is ReLU:
            guided = GuidedReLU()
            guided.training = layer.training
            layers.append(guided)
            count += 1
        else:
            layers.append(layer)
    return graph._with_layers(layers), count


def guided_backprop(graph: Graph, x: np.ndarray, target: int) -> np.ndarray:
    """dy_t/dx computed with every ReLU's backward replaced by the guided rule."""
    return logit_gradient(guided_graph(graph)[0], x, target)[1]


def smoothgrad(
    graph: Graph, x: np.ndarray, target: int, n: int, sigma: float, seed: int
) -> np.ndarray:
    """Mean of dy_t/dx over n copies of x (one item, (1, ...)) with Gaussian noise of
    standard deviation sigma (input units), drawn from default_rng(seed): reproducible."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, size=(n, *x.shape[1:]))
    step = chunk_size(x)
    total = np.zeros(x.shape[1:], dtype=np.float64)
    for start in range(0, n, step):
        xs = (x + noise[start:start + step]).astype(x.dtype)
        total += logit_gradient(graph, xs, target)[1].sum(axis=0)
    return (total / n).astype(x.dtype)[None]


IG_RULES = ("adaptive", "uniform")
# The adaptive rule keeps every path gradient until the end (its final weights depend on
# the final grid): above this many stored elements it falls back to the uniform rule.
ADAPTIVE_MAX_ELEMENTS = 1 << 23
# The adaptive rule's first grid has steps // COARSE_DIVISOR intervals; the remaining
# evaluations bisect intervals in about REFINE_ROUNDS rounds.
COARSE_DIVISOR = 3
REFINE_ROUNDS = 16


@dataclass
class IntegratedGradients:
    """attributions (1, ...); completeness: their sum against f(x) - f(baseline); rule:
    "adaptive" or "uniform"; evaluations: forward+backward passes spent (<= steps + 1)."""

    attributions: np.ndarray
    total: float
    f_x: float
    f_baseline: float
    rule: str = "uniform"
    evaluations: int = 0

    @property
    def gap(self) -> float:
        """|sum - (f(x) - f(baseline))| relative to |f(x) - f(baseline)| (absolute when
        that difference is 0)."""
        diff = self.f_x - self.f_baseline
        return abs(self.total - diff) / (abs(diff) if diff else 1.0)


def _path_points(graph: Graph, x, base, target: int, alphas: np.ndarray, keep: bool,
                 weights: np.ndarray | None = None):
    """Logit and gradient at x' + a (x - x') for each a, in bounded batches: -> (f (k,),
    gradients (k, ...) if keep, else their `weights`-weighted sum (...))."""
    step = chunk_size(x)
    f = np.empty(alphas.size)
    grads = np.empty((alphas.size, *x.shape[1:]), x.dtype) if keep else None
    total = np.zeros(x.shape[1:], dtype=np.float64)
    for start in range(0, alphas.size, step):
        a = alphas[start:start + step].reshape(-1, *([1] * (x.ndim - 1)))
        logits, dx = logit_gradient(graph, (base + a * (x - base)).astype(x.dtype), target)
        f[start:start + step] = logits[:, target]
        if keep:
            grads[start:start + step] = dx
        else:
            total += np.tensordot(weights[start:start + step], dx, axes=1)
    return f, (grads if keep else total)


def trapezoid_weights(alphas: np.ndarray) -> np.ndarray:
    """Weights w with sum_j w_j g(a_j) = sum_k (a_{k+1} - a_k) (g(a_k) + g(a_{k+1})) / 2
    for a sorted grid 0 = a_0 < ... < a_K = 1."""
    da = np.diff(alphas)
    w = np.zeros(alphas.size)
    w[:-1] += da / 2
    w[1:] += da / 2
    return w


def adaptive_grid(graph: Graph, x, base, target: int, steps: int):
    """The adaptive rule's grid within steps + 1 evaluations: a uniform grid of
    steps // COARSE_DIVISOR intervals, then rounds that bisect the intervals whose
    trapezoid estimate of f(a_{k+1}) - f(a_k), (a_{k+1} - a_k) (g_k + g_{k+1})/2 . (x - x'),
    misses the actual difference most. Along the path a ReLU / max-pool network's logit is
    piecewise linear, so the error sits in the few intervals holding kinks; an interval
    whose estimate is exact is never split. -> (alphas (K+1,), f (K+1,), grads (K+1, ...))."""
    coarse = max(1, steps // COARSE_DIVISOR)
    alphas = np.linspace(0.0, 1.0, coarse + 1)
    f, grads = _path_points(graph, x, base, target, alphas, keep=True)
    direction = (x[0] - base[0]).ravel().astype(np.float64)
    slope = grads.reshape(alphas.size, -1).astype(np.float64) @ direction
    budget = steps + 1
    per_round = max(1, (budget - alphas.size + REFINE_ROUNDS - 1) // REFINE_ROUNDS)
    while alphas.size < budget:
        da = np.diff(alphas)
        error = np.abs(da * (slope[:-1] + slope[1:]) / 2 - np.diff(f))
        floor = 1e-12 * (np.abs(f).max() + 1.0)
        worst = np.argsort(-error, kind="stable")[:min(per_round, budget - alphas.size)]
        worst = np.sort(worst[error[worst] > floor])
        if worst.size == 0:
            break
        mid = (alphas[worst] + alphas[worst + 1]) / 2
        f_mid, g_mid = _path_points(graph, x, base, target, mid, keep=True)
        s_mid = g_mid.reshape(mid.size, -1).astype(np.float64) @ direction
        order = np.argsort(np.concatenate([alphas, mid]), kind="stable")
        alphas = np.concatenate([alphas, mid])[order]
        f = np.concatenate([f, f_mid])[order]
        slope = np.concatenate([slope, s_mid])[order]
        grads = np.concatenate([grads, g_mid])[order]
    return alphas, f, grads


def integrated_gradients(
    graph: Graph, x: np.ndarray, target: int, steps: int, baseline: float = 0.0,
    rule: str = "adaptive",
) -> IntegratedGradients:
    """(x - x') * integral_0^1 dy_t/dx(x' + a (x - x')) da, x' the constant `baseline`
    image, x one item, with at most steps + 1 gradient evaluations. rule "uniform": the
    trapezoidal rule over `steps` equal intervals; "adaptive" (default): the trapezoidal
    rule over the grid adaptive_grid refines (falls back to uniform when keeping every
    gradient would exceed ADAPTIVE_MAX_ELEMENTS). Both converge to the integral."""
    if rule not in IG_RULES:
        raise ValueError(f"unknown rule {rule!r}; known: {', '.join(IG_RULES)}")
    base = np.full_like(x, baseline)
    if rule == "adaptive" and (steps + 1) * x[0].size > ADAPTIVE_MAX_ELEMENTS:
        rule = "uniform"
    if rule == "adaptive":
        alphas, f, grads = adaptive_grid(graph, x, base, target, steps)
        total = np.tensordot(trapezoid_weights(alphas), grads.astype(np.float64), axes=1)
    else:
        alphas = np.linspace(0.0, 1.0, steps + 1)
        f, total = _path_points(graph, x, base, target, alphas, keep=False,
                                weights=trapezoid_weights(alphas))
    attributions = ((x[0] - base[0]) * total).astype(x.dtype)[None]
    return IntegratedGradients(
        attributions, float(attributions.sum(dtype=np.float64)), float(f[-1]), float(f[0]),
        rule, int(alphas.size),
    )


def occlusion_grid(size: tuple[int, int], patch: tuple[int, int], stride: tuple[int, int]):
    """Top and left corners of every patch position that fits: (tops, lefts)."""
    (h, w), (ph, pw), (sh, sw) = size, patch, stride
    if ph > h or pw > w:
        raise ValueError(f"patch {ph}x{pw} is larger than the input {h}x{w}")
    return np.arange(0, h - ph + 1, sh), np.arange(0, w - pw + 1, sw)


@dataclass
class Occlusion:
    """drop (gh, gw): y_t(x) - y_t(x with the patch at that position set to baseline);
    score: y_t(x); tops, lefts: the grid's patch corners."""

    drop: np.ndarray
    score: float
    tops: np.ndarray
    lefts: np.ndarray


def occlusion(
    graph: Graph, x: np.ndarray, target: int, patch: tuple[int, int],
    stride: tuple[int, int], baseline: float = 0.0,
) -> Occlusion:
    """Slide a patch (every channel) over x (1, C, H, W); occluded copies are batched."""
    h, w = x.shape[-2:]
    tops, lefts = occlusion_grid((h, w), patch, stride)
    corners_t = np.repeat(tops, lefts.size)
    corners_l = np.tile(lefts, tops.size)
    rows, cols = np.arange(h), np.arange(w)
    score = float(graph._forward(x, keep=False)[0][0, target])
    drops = np.empty(corners_t.size)
    step = chunk_size(x)
    for start in range(0, corners_t.size, step):
        t = corners_t[start:start + step, None]
        left = corners_l[start:start + step, None]
        inside_r = (rows >= t) & (rows < t + patch[0])             # (P, H)
        inside_c = (cols >= left) & (cols < left + patch[1])       # (P, W)
        mask = (inside_r[:, :, None] & inside_c[:, None, :])[:, None]  # (P, 1, H, W)
        xs = np.where(mask, np.asarray(baseline, x.dtype), x)
        logits = graph._forward(xs, keep=False)[0]
        drops[start:start + step] = score - logits[:, target]
    return Occlusion(drops.reshape(tops.size, lefts.size), score, tops, lefts)


__all__ = [
    "IG_RULES", "GradCam", "GuidedReLU", "IntegratedGradients", "Occlusion", "adaptive_grid",
    "chunk_size", "trapezoid_weights",
    "conv_like_nodes", "grad_cam", "gradient_x_input", "guided_backprop", "guided_graph",
    "integrated_gradients", "logit_gradient", "occlusion", "occlusion_grid", "smoothgrad",
]
