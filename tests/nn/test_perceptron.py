"""The perceptron rule against hand-worked steps; the sigmoid unit's and the MLP's gradients
against central finite differences in float64; XOR: no perceptron beats 75%, the MLP gets
every point."""

from __future__ import annotations

import numpy as np
import pytest

from app.lessons.datasets import make_dataset
from app.nn.perceptron import (
    bce_with_logits,
    binary_network,
    gradient_step,
    network_predictions,
    perceptron_criterion,
    perceptron_rule_step,
    sgd_step,
    sign_predictions,
)
from app.nn.spec import dump_params
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient

XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([0, 1, 1, 0])


def test_perceptron_rule_hand_worked_steps():
    # w = (0, 0), b = 0, lr = 1.
    # 1. x = (1, 2), y = +1: a = 0, y a = 0 <= 0: wrong -> w = (1, 2), b = 1.
    s1 = perceptron_rule_step(np.zeros(2), 0.0, np.array([1.0, 2.0]), 1, 1.0)
    assert s1.activation == 0.0 and s1.misclassified
    np.testing.assert_array_equal(s1.weight_update, [1.0, 2.0])
    assert s1.bias_update == 1.0
    np.testing.assert_array_equal(s1.weight, [1.0, 2.0])
    assert s1.bias == 1.0
    # 2. x = (2, -1), y = -1: a = 2 - 2 + 1 = 1, y a = -1: wrong -> w = (-1, 3), b = 0.
    s2 = perceptron_rule_step(s1.weight, s1.bias, np.array([2.0, -1.0]), -1, 1.0)
    assert s2.activation == 1.0 and s2.misclassified
    np.testing.assert_array_equal(s2.weight, [-1.0, 3.0])
    assert s2.bias == 0.0
    # 3. x = (-1, 1), y = +1: a = 1 + 3 = 4 > 0: right -> no change.
    s3 = perceptron_rule_step(s2.weight, s2.bias, np.array([-1.0, 1.0]), 1, 1.0)
    assert s3.activation == 4.0 and not s3.misclassified
    np.testing.assert_array_equal(s3.weight_update, [0.0, 0.0])
    assert s3.bias_update == 0.0
    np.testing.assert_array_equal(s3.weight, [-1.0, 3.0])
    # A learning rate scales the update: lr 0.5 on step 1 gives w = (0.5, 1), b = 0.5.
    half = perceptron_rule_step(np.zeros(2), 0.0, np.array([1.0, 2.0]), 1, 0.5)
    np.testing.assert_array_equal(half.weight, [0.5, 1.0])
    assert half.bias == 0.5


def test_perceptron_rule_rejects_zero_one_labels():
    with pytest.raises(ValueError, match="-1 or \\+1"):
        perceptron_rule_step(np.zeros(2), 0.0, np.ones(2), 0, 1.0)


def test_perceptron_rule_learns_and_in_a_few_epochs():
    labels = np.array([0, 0, 0, 1])
    w, b = np.zeros(2), 0.0
    for t in range(40):
        i = t % 4
        step = perceptron_rule_step(w, b, XOR_CORNERS[i], 2 * labels[i] - 1, 1.0)
        w, b = step.weight, step.bias
    np.testing.assert_array_equal(sign_predictions(w, b, XOR_CORNERS), labels)
    assert perceptron_criterion(w, b, XOR_CORNERS, labels) == 0.0


def test_bce_with_logits_gradient_matches_finite_differences_and_does_not_overflow():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((7, 1)) * 3
    y = rng.integers(0, 2, size=7)
    loss, grad = bce_with_logits(z, y)
    numeric = numerical_gradient(lambda v: bce_with_logits(v, y)[0], z.copy())
    assert_gradients_close({"z": grad}, {"z": numeric})
    p = 1 / (1 + np.exp(-z[:, 0]))
    np.testing.assert_allclose(loss, -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)),
                               rtol=1e-12)
    big, _ = bce_with_logits(np.array([[1000.0], [-1000.0]]), np.array([0, 1]))
    assert big == pytest.approx(1000.0)


@pytest.mark.parametrize("width,activation", [(0, "tanh"), (1, "tanh"), (3, "tanh"),
                                              (5, "sigmoid")])
def test_network_gradients_match_finite_differences_in_float64(width, activation):
    rng = np.random.default_rng(width)
    network = binary_network(width, activation, rng=rng)
    points = rng.uniform(-2, 2, size=(9, 2))
    labels = rng.integers(0, 2, size=9)

    def loss() -> float:
        return bce_with_logits(network.predict(points), labels)[0]

    logits, caches = network.forward(points)
    _, dlogits = bce_with_logits(logits, labels)
    _, grads = network.backward(dlogits, caches)
    for (name, layer), layer_grads in zip(network, grads, strict=True):
        assert set(layer_grads) == set(layer.params)
        for key, param in layer.params.items():
            assert param.dtype == np.float64
            numeric = numerical_gradient(lambda _: loss(), param)
            assert_gradients_close({key: layer_grads[key]}, {key: numeric},
                                   context=f"{name}.{key}")


def test_gradient_step_moves_every_parameter_by_minus_lr_times_its_gradient():
    rng = np.random.default_rng(1)
    network = binary_network(4, "tanh", rng=rng)
    before = {k: v.copy() for k, v in dump_params(network).items()}
    points, labels = rng.uniform(-2, 2, size=(6, 2)), rng.integers(0, 2, size=6)
    result = gradient_step(network, points, labels, 0.3)
    after = dump_params(network)
    for name, layer_grads, updates in zip(network.names, result.grads, result.updates,
                                          strict=True):
        for key, grad in layer_grads.items():
            np.testing.assert_allclose(updates[key], -0.3 * grad, rtol=1e-15)
            np.testing.assert_allclose(after[f"{name}.{key}"], before[f"{name}.{key}"]
                                       + updates[key], rtol=1e-15)
    assert sgd_step(network, [{} for _ in network.layers], 0.1) == [{}, {}, {}]


def _rule_accuracies(points, labels, epochs, lr=1.0):
    w, b = np.zeros(2), 0.0
    accuracies = []
    for t in range(epochs * len(points)):
        i = t % len(points)
        step = perceptron_rule_step(w, b, points[i], 2 * labels[i] - 1, lr)
        w, b = step.weight, step.bias
        accuracies.append(float((sign_predictions(w, b, points) == labels).mean()))
    return accuracies


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_xor_perceptron_accuracy_stays_at_most_75_percent_for_all_epochs(seed):
    corners = _rule_accuracies(XOR_CORNERS, XOR_LABELS, epochs=100)
    points, labels = make_dataset("xor", 40, seed)
    generated = _rule_accuracies(points, labels, epochs=50, lr=0.1)
    print(f"XOR perceptron rule, best accuracy: corners {max(corners):.3f}, "
          f"seeded set {max(generated):.3f}")
    assert max(corners) <= 0.75
    assert max(generated) <= 0.75
    sigmoid = binary_network(0, rng=seed)
    for _ in range(500):
        gradient_step(sigmoid, points, labels, 0.5)
        assert (network_predictions(sigmoid, points) == labels).mean() <= 0.75


@pytest.mark.parametrize("width", [3, 4, 8])
def test_xor_mlp_with_three_or_more_hidden_units_reaches_100_percent(width):
    points, labels = make_dataset("xor", 40, 0)
    network = binary_network(width, "tanh", rng=0)
    reached = None
    for step in range(1, 2001):
        gradient_step(network, points, labels, 0.5)
        if reached is None and (network_predictions(network, points) == labels).all():
            reached = step
    final = float((network_predictions(network, points) == labels).mean())
    print(f"XOR MLP width {width} (tanh, lr 0.5, seed 0): 100% first at step {reached}, "
          f"accuracy after 2000 steps {final:.3f}")
    assert reached is not None
    assert final == 1.0
