"""Attribution methods (app.nn.attribution) against direct computations: the trace, finite
differences, hand-worked cases and loop references. Every method explains y_t, the logit."""

from __future__ import annotations

import numpy as np
import pytest

from app.models import load_model
from app.nn import INPUT, Conv2d, Flatten, Graph, Linear, ReLU
from app.nn import attribution as attr
from app.services.samples import sample_digit
from tests.floats import assert_equal_up_to_rounding
from tests.nn.gradcheck import numerical_gradient


def _digit_input(model_id: str, sample: int = 7):
    model = load_model(model_id)
    x = model.prepare(sample_digit(sample)[0][None]).astype(np.float64)
    return model.network.astype(np.float64), x


@pytest.fixture(scope="module")
def lenet():
    return _digit_input("lenet5")


@pytest.fixture(scope="module")
def resnet():
    return _digit_input("resnet-mini")


def _tiny_conv(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    return Graph([
        ("conv1", Conv2d(2, 3, 3, padding=1, rng=rng), [INPUT]),
        ("relu1", ReLU(), ["conv1"]),
        ("flatten", Flatten(), ["relu1"]),
        ("fc", Linear(3 * 6 * 5, 4, rng=rng), ["flatten"]),
    ]).astype(np.float64)


@pytest.mark.parametrize("which", ["lenet", "resnet"])
def test_saliency_for_every_class_recombines_into_the_traces_loss_gradient(which, request):
    """dL/dx = sum_k (p_k - [k = t]) dy_k/dx: the trace's input gradient (cross-entropy)
    is rebuilt from the logit saliency maps of every class."""
    graph, x = request.getfixturevalue(which)
    target = 3
    trace = graph.trace(x, [target])
    coeff = trace.probabilities[0] - np.eye(10)[target]
    rebuilt = sum(c * attr.logit_gradient(graph, x, k)[1] for k, c in enumerate(coeff))
    assert_equal_up_to_rounding(rebuilt, trace.input_grad)


def test_saliency_matches_central_finite_differences_of_the_logit():
    graph = _tiny_conv()
    x = np.random.default_rng(1).normal(size=(1, 2, 6, 5))
    numeric = numerical_gradient(lambda v: graph.predict(v)[0, 2], x.copy())
    np.testing.assert_allclose(attr.logit_gradient(graph, x, 2)[1], numeric, rtol=1e-6,
                               atol=1e-8)


def test_gradient_x_input_is_the_input_times_its_saliency(lenet):
    graph, x = lenet
    np.testing.assert_array_equal(attr.gradient_x_input(graph, x, 7),
                                  x * attr.logit_gradient(graph, x, 7)[1])


@pytest.mark.parametrize(("which", "node"), [("lenet", "pool2"), ("lenet", "conv1"),
                                             ("resnet", "block3_relu2")])
def test_grad_cam_matches_the_trace_output_and_its_logit_gradient(which, node, request):
    """A is the traced node's output; the trace's grad_output (cross-entropy) equals
    sum_k (p_k - [k = t]) dy_k/dA, so the per-class gradients Grad-CAM uses are checked
    against it; then the map is ReLU(sum_c mean_hw(dy_t/dA_c) A_c) computed here."""
    graph, x = request.getfixturevalue(which)
    target = 4
    trace = graph.trace(x, [target])
    lt = trace.layers[graph.names.index(node)]
    cams = [attr.grad_cam(graph, x, k, node) for k in range(10)]
    assert_equal_up_to_rounding(cams[target].activation, lt.output)
    coeff = trace.probabilities[0] - np.eye(10)[target]
    assert_equal_up_to_rounding(sum(c * cam.gradient for c, cam in zip(coeff, cams, strict=True)),
                                lt.grad_output)
    weights = cams[target].gradient[0].mean(axis=(1, 2))
    direct = np.maximum((weights[:, None, None] * lt.output[0]).sum(axis=0), 0)
    assert cams[target].cam.shape == (1, *lt.output.shape[2:])  # the node's own resolution
    assert_equal_up_to_rounding(cams[target].cam[0], direct)
    assert_equal_up_to_rounding(cams[target].weights[0], weights)


def test_grad_cam_weights_match_finite_differences_through_the_head():
    """dy_t/dA by central differences of the head (the nodes after A) on A itself."""
    graph = _tiny_conv()
    x = np.random.default_rng(2).normal(size=(1, 2, 6, 5))
    head = Graph([("flatten", Flatten(), [INPUT]), ("fc", graph.layers[3], ["flatten"])])
    cam = attr.grad_cam(graph, x, 1, "relu1")
    numeric = numerical_gradient(lambda a: head.predict(a)[0, 1], cam.activation.copy())
    np.testing.assert_allclose(cam.gradient, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cam.weights, numeric.mean(axis=(2, 3)), rtol=1e-6, atol=1e-8)


def test_guided_backprop_hand_worked_two_layer_case():
    """x = (1, 2); h = ReLU(W1 x), W1 = [[1, 0], [0, 1], [1, -1]] -> pre (1, 2, -1), h = (1, 2, 0);
    y = W2 h, W2 row 0 = (2, -3, 5). Plain gradient: dy0/dh = (2, -3, 5), ReLU mask (1, 1, 0)
    -> (2, -3, 0), dx = W1^T (2, -3, 0) = (2, -3). Guided: negative gradients stop too
    -> (2, 0, 0), dx = (2, 0)."""
    fc1, fc2 = Linear(2, 3), Linear(3, 2)
    fc1.params["weight"] = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    fc1.params["bias"] = np.zeros(3)
    fc2.params["weight"] = np.array([[2.0, -3.0, 5.0], [1.0, 1.0, 1.0]])
    fc2.params["bias"] = np.zeros(2)
    graph = Graph([("fc1", fc1), ("relu", ReLU()), ("fc2", fc2)])
    x = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(attr.logit_gradient(graph, x, 0)[1], [[2.0, -3.0]])
    np.testing.assert_array_equal(attr.guided_backprop(graph, x, 0), [[2.0, 0.0]])
    guided, count = attr.guided_graph(graph)
    assert count == 1 and graph.layers[1].__class__ is ReLU  # the model is left alone
    assert guided.layers[0] is fc1  # same parameters, no copy


def test_guided_backprop_forward_is_unchanged_and_maps_are_nonnegative_through_relu(lenet):
    graph, x = lenet
    guided, count = attr.guided_graph(graph)
    assert count == 4
    np.testing.assert_array_equal(guided.predict(x), graph.predict(x))
    assert np.isfinite(attr.guided_backprop(graph, x, 7)).all()


def test_smoothgrad_is_seeded_and_equals_the_mean_of_noisy_saliency_maps(lenet):
    graph, x = lenet
    a = attr.smoothgrad(graph, x, 7, n=40, sigma=0.2, seed=5)
    np.testing.assert_array_equal(a, attr.smoothgrad(graph, x, 7, n=40, sigma=0.2, seed=5))
    assert not np.allclose(a, attr.smoothgrad(graph, x, 7, n=40, sigma=0.2, seed=6))
    noise = np.random.default_rng(5).normal(0.0, 0.2, size=(40, *x.shape[1:]))
    loop = np.mean([attr.logit_gradient(graph, x + e[None], 7)[1][0] for e in noise], axis=0)
    assert_equal_up_to_rounding(a[0], loop)
    # sigma 0: every copy is x itself
    assert_equal_up_to_rounding(attr.smoothgrad(graph, x, 7, n=3, sigma=0.0, seed=0),
                                attr.logit_gradient(graph, x, 7)[1])


@pytest.mark.parametrize("model_id", ["lenet5", "resnet-mini"])
def test_integrated_gradients_completeness_within_one_percent_at_64_steps(model_id):
    """Completeness: sum of attributions = f(x) - f(baseline) up to the quadrature error.
    Along the straight path a ReLU network's logit is piecewise linear, so its gradient jumps
    at every kink; the adaptive rule spends its 65 evaluations on the intervals holding them.
    Measured on 40 gallery digits (float64, 64 steps): adaptive median 0.06% / worst 0.62%
    (lenet5), 0.18% / 0.92% (resnet-mini); the uniform rule 0.2% / 1.2% and 0.6% / 3.0%."""
    graph, _ = _digit_input(model_id)
    gaps = []
    for sample in range(12):
        _, x = _digit_input(model_id, sample)
        logits = graph.predict(x)[0]
        target = int(logits.argmax())
        ig = attr.integrated_gradients(graph, x, target, steps=64, baseline=0.0)
        assert (ig.rule, ig.evaluations <= 65) == ("adaptive", True)
        assert ig.f_x == pytest.approx(logits[target], rel=1e-12)
        assert ig.total == pytest.approx(ig.attributions.sum(), rel=1e-12)
        gaps.append(ig.gap)
    assert max(gaps) < 0.01, gaps


@pytest.mark.parametrize("baseline", [0.0, 0.3])
def test_adaptive_integrated_gradients_converges_to_the_uniform_rules_limit(resnet, baseline):
    """Both rules estimate the same integral: the adaptive rule at 256 steps agrees with the
    uniform rule at 2048 per feature, far closer than either differs from the uniform rule
    at 16 steps."""
    graph, x = resnet
    target = int(graph.predict(x)[0].argmax())
    limit = attr.integrated_gradients(graph, x, target, 2048, baseline, rule="uniform")
    adaptive = attr.integrated_gradients(graph, x, target, 256, baseline)
    coarse = attr.integrated_gradients(graph, x, target, 16, baseline, rule="uniform")
    scale = np.abs(limit.attributions).max()
    err = np.abs(adaptive.attributions - limit.attributions).max() / scale
    assert err < 1e-2, err
    assert err < np.abs(coarse.attributions - limit.attributions).max() / scale / 4
    assert adaptive.gap < 2e-3 and adaptive.evaluations <= 257


def test_adaptive_grid_keeps_the_budget_and_is_deterministic(lenet):
    graph, x = lenet
    base = np.zeros_like(x)
    for steps in (1, 2, 3, 7, 64):
        alphas, f, grads = attr.adaptive_grid(graph, x, base, 4, steps)
        assert alphas.size <= steps + 1 and alphas[0] == 0 and alphas[-1] == 1
        assert np.all(np.diff(alphas) > 0) and grads.shape == (alphas.size, *x.shape[1:])
        again = attr.integrated_gradients(graph, x, 4, steps)
        assert np.array_equal(attr.integrated_gradients(graph, x, 4, steps).attributions,
                              again.attributions)


def test_adaptive_rule_is_exact_on_a_linear_model_and_does_not_refine():
    """A linear network's path gradient is constant: the first grid is already exact, and no
    evaluation is spent bisecting."""
    rng = np.random.default_rng(3)
    graph = Graph([("flatten", Flatten(), [INPUT]),
                   ("fc", Linear(12, 3, rng=rng), ["flatten"])]).astype(np.float64)
    x = rng.normal(size=(1, 1, 3, 4))
    ig = attr.integrated_gradients(graph, x, 1, steps=30, baseline=0.5)
    weight = graph.layers[1].params["weight"][1].reshape(x.shape[1:])
    assert_equal_up_to_rounding(ig.attributions[0], (x[0] - 0.5) * weight)
    assert ig.evaluations == 30 // attr.COARSE_DIVISOR + 1


def test_trapezoid_weights_on_an_uneven_grid_hand_worked():
    assert np.allclose(attr.trapezoid_weights(np.array([0.0, 0.5, 0.75, 1.0])),
                       [0.25, 0.375, 0.25, 0.125])


def test_integrated_gradients_refuses_an_unknown_rule(lenet):
    graph, x = lenet
    with pytest.raises(ValueError, match="unknown rule"):
        attr.integrated_gradients(graph, x, 0, 4, rule="simpson")


def test_integrated_gradients_f_baseline_is_the_baseline_images_logit(lenet):
    graph, x = lenet
    ig = attr.integrated_gradients(graph, x, 7, steps=8, baseline=0.3)
    assert ig.f_baseline == pytest.approx(graph.predict(np.full_like(x, 0.3))[0, 7], rel=1e-12)


def test_integrated_gradients_equals_the_trapezoid_rule_computed_one_point_at_a_time(lenet):
    graph, x = lenet
    steps, baseline = 10, 0.25
    base = np.full_like(x, baseline)
    grads = [attr.logit_gradient(graph, base + a * (x - base), 2)[1][0]
             for a in np.linspace(0, 1, steps + 1)]
    mean = (sum(grads[1:-1]) + (grads[0] + grads[-1]) / 2) / steps
    ig = attr.integrated_gradients(graph, x, 2, steps=steps, baseline=baseline, rule="uniform")
    assert (ig.rule, ig.evaluations) == ("uniform", steps + 1)
    assert_equal_up_to_rounding(ig.attributions[0], (x[0] - baseline) * mean)


def _occlusion_loop(graph, x, target, patch, stride, baseline):
    score = graph.predict(x)[0, target]
    h, w = x.shape[-2:]
    rows = []
    for top in range(0, h - patch[0] + 1, stride[0]):
        row = []
        for left in range(0, w - patch[1] + 1, stride[1]):
            occluded = x.copy()
            occluded[..., top:top + patch[0], left:left + patch[1]] = baseline
            row.append(score - graph.predict(occluded)[0, target])
        rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize(("patch", "stride", "baseline"),
                         [((2, 3), (1, 2), 0.5), ((1, 1), (1, 1), 0.0), ((6, 5), (3, 3), -1.0)])
def test_occlusion_equals_a_loop_over_patch_positions(patch, stride, baseline):
    graph = _tiny_conv()
    x = np.random.default_rng(3).normal(size=(1, 2, 6, 5))
    occ = attr.occlusion(graph, x, 1, patch, stride, baseline)
    assert_equal_up_to_rounding(occ.drop, _occlusion_loop(graph, x, 1, patch, stride, baseline))
    assert occ.score == pytest.approx(graph.predict(x)[0, 1], rel=1e-12)


def test_occlusion_batches_are_bounded_and_give_the_same_map(monkeypatch, lenet):
    graph, x = lenet
    whole = attr.occlusion(graph, x, 7, (4, 4), (4, 4))
    monkeypatch.setattr(attr, "MAX_BATCH_ELEMENTS", 3 * 28 * 28)  # 3 copies per pass
    assert attr.chunk_size(x) == 3
    assert_equal_up_to_rounding(attr.occlusion(graph, x, 7, (4, 4), (4, 4)).drop, whole.drop)


def test_occlusion_refuses_a_patch_larger_than_the_input():
    with pytest.raises(ValueError, match="larger than the input"):
        attr.occlusion_grid((5, 5), (6, 1), (1, 1))


def test_conv_like_nodes_are_the_spatial_feature_maps():
    lenet = load_model("lenet5").network
    assert attr.conv_like_nodes(lenet, (1, 1, 28, 28)) == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    assert attr.conv_like_nodes(load_model("lstm-rows").network, (1, 1, 28, 28)) == []
