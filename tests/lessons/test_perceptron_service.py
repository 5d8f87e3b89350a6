"""The perceptron lesson's service: datasets, the grid's orientation, boundary segments, the
hidden-space view, and K-step training that resumes exactly from a returned state."""

from __future__ import annotations

import numpy as np
import pytest

from app.lessons.datasets import DATASETS, EXTENT, make_dataset
from app.lessons.perceptron import (
    LessonInputError,
    TrainSetup,
    grid_points,
    line_segment,
    train,
)


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_deterministic_bounded_and_two_class(name):
    points, labels = make_dataset(name, 41, 5)
    again, _ = make_dataset(name, 41, 5)
    np.testing.assert_array_equal(points, again)
    assert points.shape == (41, 2) and labels.shape == (41,)
    assert np.abs(points).max() <= EXTENT
    assert set(labels.tolist()) == {0, 1}


def test_xor_is_mirrored_quadruples_so_no_line_beats_three_of_four():
    points, labels = make_dataset("xor", 40, 0)
    quads = points.reshape(10, 4, 2)
    np.testing.assert_array_equal(quads[:, 1], -quads[:, 0])
    np.testing.assert_array_equal(quads[:, 3], -quads[:, 2])
    np.testing.assert_array_equal(labels.reshape(10, 4), [[0, 0, 1, 1]] * 10)
    # any line: random ones never score above 75%
    rng = np.random.default_rng(0)
    for w1, w2, b in rng.normal(size=(2000, 3)):
        assert ((points @ [w1, w2] + b > 0) == labels).mean() <= 0.75


def test_grid_row_zero_is_the_top_and_column_zero_the_left():
    grid = grid_points(3, extent=1.0).reshape(3, 3, 2)
    np.testing.assert_array_equal(grid[0, 0], [-1.0, 1.0])
    np.testing.assert_array_equal(grid[2, 2], [1.0, -1.0])


def test_line_segment_clips_to_the_square_or_misses_it():
    np.testing.assert_allclose(line_segment(np.array([1.0, 0.0]), -1.0, 2.0),
                               [[1.0, -2.0], [1.0, 2.0]])
    seg = np.array(line_segment(np.array([1.0, 1.0]), 0.0, 2.0))
    np.testing.assert_allclose(seg @ [1.0, 1.0], 0.0, atol=1e-12)
    assert line_segment(np.array([1.0, 0.0]), -5.0, 2.0) is None
    assert line_segment(np.array([0.0, 0.0]), 1.0, 2.0) is None


def test_training_k_then_k_steps_equals_2k_steps_exactly():
    points, labels = make_dataset("moons", 30, 1)
    setup = dict(points=points, labels=labels, model="mlp", width=4, steps=7, seed=2)
    first = train(TrainSetup(**setup))
    second = train(TrainSetup(**setup, step=first["state"]["step"],
                              weights=first["state"]["weights"]))
    both = train(TrainSetup(**{**setup, "steps": 14}))
    assert second["state"] == both["state"]
    assert second["grid"] == both["grid"]


def test_perceptron_steps_visit_points_in_order_and_count_epochs():
    points, labels = make_dataset("and", 8, 0)
    body = train(TrainSetup(points, labels, "perceptron", steps=20, learning_rate=1.0))
    assert [s["point"] for s in body["steps"]] == [t % 8 for t in range(20)]
    assert [s["epoch"] for s in body["steps"]] == [t // 8 for t in range(20)]
    for s in body["steps"]:
        if not s["misclassified"]:
            assert s["update"] == {"fc1.weight": [[0.0, 0.0]], "fc1.bias": [0.0]}
    assert body["hidden"] is None and body["boundary"] is not None


def test_hidden_view_first_axis_is_the_output_logit():
    points, labels = make_dataset("xor", 20, 3)
    body = train(TrainSetup(points, labels, "mlp", width=3, steps=5))
    w = body["state"]["weights"]
    hidden = np.tanh(points @ np.array(w["fc1.weight"]).T + np.array(w["fc1.bias"]))
    logit = hidden @ np.array(w["fc2.weight"])[0] + w["fc2.bias"][0]
    np.testing.assert_allclose(np.array(body["hidden"]["projection"])[:, 0], logit,
                               rtol=1e-9, atol=1e-12)
    assert len(body["hidden"]["lines"]) == 3


def test_zero_steps_only_evaluates_and_bad_weights_are_named():
    points, labels = make_dataset("or", 8, 0)
    body = train(TrainSetup(points, labels, "sigmoid", steps=0))
    assert body["steps"] == [] and body["state"]["step"] == 0
    with pytest.raises(LessonInputError, match="fc1.weight has shape"):
        train(TrainSetup(points, labels, "sigmoid", steps=1,
                         weights={"fc1.weight": [[1.0, 2.0, 3.0]], "fc1.bias": [0.0]}))
    with pytest.raises(LessonInputError, match="NaN"):
        train(TrainSetup(points, labels, "sigmoid", steps=1,
                         weights={"fc1.weight": [[1.0, float("nan")]], "fc1.bias": [0.0]}))
