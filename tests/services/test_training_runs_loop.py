"""The training lab's step-wise trainer, config checks and learning-rate verdict, in process."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.nn import Linear, Sequential, from_spec
from app.services.errors import ApiError
from app.services.training_runs_config import build_network, dataset_info, lr_at, resolve
from app.services.training_runs_loop import Adam, Diverged, Trainer, confusion
from app.services.training_runs_verdict import classify
from tests.floats import assert_equal_up_to_rounding

BASE = {
    "architecture": "lenet5", "dataset": "digits",
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005},
    "schedule": {"name": "constant", "step_epochs": 1, "gamma": 0.5, "warmup_steps": 0},
    "batch_size": 64, "epochs": 1, "augment": False, "seed": 0, "train_examples": None,
}


def tiny_data(n=64, seed=0):
    """Two separable classes of 1x4x4 images: bright top half or bright bottom half."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.uniform(0, 0.2, (n, 1, 4, 4)).astype(np.float32)
    images[labels == 0, :, :2] += 0.8
    images[labels == 1, :, 2:] += 0.8
    return images, labels, images[:16], labels[:16]


TINY_SPEC = [{"kind": "flatten"}, {"kind": "linear", "in_features": 16, "out_features": 2}]


def tiny_config(**changes):
    config = {**BASE, "spec": TINY_SPEC, "batch_size": 16, "epochs": 2, **changes}
    config["train_examples"] = None
    return config


def run(config, emit=None, data=None):
    network = from_spec(config["spec"], rng=config["seed"])
    events = []
    trainer = Trainer(network, data or tiny_data(), config, 2,
                      emit=(lambda k, d: events.append((k, d))) if emit else None,
                      step_every=1, stats_every=2)
    while not trainer.finished:
        trainer.step()
    return network, trainer, events


def test_schedules_give_the_hand_worked_learning_rates():
    config = {**BASE, "epochs": 4}
    assert lr_at(config, 7, 40) == 0.05
    cosine = {**config, "schedule": {**BASE["schedule"], "name": "cosine"}}
    assert lr_at(cosine, 0, 40) == pytest.approx(0.05)
    assert lr_at(cosine, 20, 40) == pytest.approx(0.025)
    step = {**config, "schedule": {**BASE["schedule"], "name": "step", "step_epochs": 2,
                                   "gamma": 0.1}}
    assert [lr_at(step, s, 40) for s in (0, 19, 20, 39)] == pytest.approx(
        [0.05, 0.05, 0.005, 0.005])
    warm = {**config, "schedule": {**BASE["schedule"], "warmup_steps": 4}}
    assert [lr_at(warm, s, 40) for s in (0, 1, 3, 4)] == pytest.approx(
        [0.0125, 0.025, 0.05, 0.05])


def test_first_adam_step_moves_each_weight_by_lr_against_its_gradient_sign():
    network = Sequential([Linear(2, 1, rng=0)])
    layer = network.layers[0]
    before = {k: v.copy() for k, v in layer.params.items()}
    grads = [{"weight": np.array([[0.3, -2.0]], np.float32), "bias": np.array([1e-3], np.float32)}]
    Adam(network, weight_decay=0.0).step(grads, 0.01)
    assert_equal_up_to_rounding(layer.params["weight"] - before["weight"],
                                np.array([[-0.01, 0.01]], np.float32), rel=1e-4)
    assert layer.params["bias"] - before["bias"] == pytest.approx([-0.01], rel=1e-3)


def test_confusion_counts_true_rows_against_predicted_columns():
    assert confusion(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3) == [
        [1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_trainer_learns_a_separable_toy_problem_and_records_one_history_entry_per_epoch():
    _, trainer, _ = run(tiny_config(optimizer={**BASE["optimizer"], "lr": 0.5}))
    assert [e["epoch"] for e in trainer.history] == [1, 2]
    assert trainer.history[-1]["heldout_accuracy"] == 1.0
    assert trainer.history[-1]["train_loss"] < trainer.history[0]["train_loss"]


def test_adam_trains_the_toy_problem_too():
    _, trainer, _ = run(tiny_config(optimizer={**BASE["optimizer"], "name": "adam", "lr": 0.05}))
    assert trainer.history[-1]["heldout_accuracy"] == 1.0


def test_recording_events_does_not_change_the_training():
    quiet, _, _ = run(tiny_config())
    loud, _, events = run(tiny_config(), emit=True)
    for a, b in zip(quiet.layers, loud.layers, strict=True):
        for key in a.params:
            assert_equal_up_to_rounding(b.params[key], a.params[key])
    kinds = {kind for kind, _ in events}
    assert kinds == {"step", "layers", "epoch"}  # no conv layer: no filter snapshots


def test_events_carry_losses_lr_layer_statistics_and_the_confusion_matrix():
    _, trainer, events = run(tiny_config(), emit=True)
    steps = [d for k, d in events if k == "step"]
    assert [d["step"] for d in steps] == list(range(1, trainer.total_steps + 1))
    assert all(d["lr"] == 0.05 and math.isfinite(d["loss"]) for d in steps)
    layers = next(d for k, d in events if k == "layers")["layers"]
    (fc,) = layers
    assert fc["name"] == "fc1" and fc["weight_norm"] > 0 and fc["grad_norm"] > 0
    assert 0 < fc["update_ratio"] < 1
    assert sum(fc["weight_hist"]["counts"]) == 32
    epoch = next(d for k, d in events if k == "epoch")
    assert np.sum(epoch["confusion"]) == 16
    assert np.trace(epoch["confusion"]) / 16 == epoch["heldout_accuracy"]


def test_first_conv_filters_are_snapshotted_with_their_shape():
    spec = [{"kind": "conv2d", "in_channels": 1, "out_channels": 3, "kernel_size": 3},
            {"kind": "flatten"}, {"kind": "linear", "in_features": 12, "out_features": 2}]
    network, _, events = run(tiny_config(spec=spec), emit=True)
    snapshot = [d for k, d in events if k == "filters"][-1]
    assert snapshot["layer"] == "conv1" and snapshot["shape"] == [3, 1, 3, 3]
    assert_equal_up_to_rounding(np.array(snapshot["values"]).reshape(3, 1, 3, 3),
                                network.layers[0].params["weight"].astype(float), rel=1e-4)


def test_a_huge_learning_rate_diverges_at_a_named_step():
    with pytest.raises(Diverged) as caught:
        run(tiny_config(optimizer={**BASE["optimizer"], "lr": 1e30}))
    assert caught.value.step >= 1


@pytest.mark.parametrize("spec, words", [
    ([], "non-empty"),
    ([{"kind": "nonsense"}], "unknown kind"),
    (["relu"], "must be an object"),
    ([{"kind": "conv2d", "in_channels": 1, "out_channels": 10**8, "kernel_size": 9}],
     "too large"),
    ([{"kind": "flatten"}, {"kind": "linear", "in_features": 700, "out_features": 10}],
     "do not fit"),
    ([{"kind": "flatten"}, {"kind": "linear", "in_features": 784, "out_features": 7}],
     "one score per class"),
    ([{"kind": "relu"}], "no trainable parameters"),
])
def test_bad_layer_specs_get_a_422_naming_the_problem(spec, words):
    with pytest.raises(ApiError) as caught:
        build_network(spec, dataset_info("digits"))
    assert caught.value.status == 422 and words in caught.value.message


def test_bundled_architecture_must_fit_the_dataset_and_epochs_are_capped():
    with pytest.raises(ApiError, match="built for the colour-shapes"):
        resolve({**BASE, "architecture": "colour-cnn"}, 20)
    with pytest.raises(ApiError, match="the limit is 20"):
        resolve({**BASE, "epochs": 21}, 20)
    config = resolve({**BASE, "architecture": "colour-cnn", "dataset": "colour-shapes"}, 20)
    assert config["spec"][0]["in_channels"] == 3


@pytest.mark.parametrize("losses, ratios, diverged, label", [
    ([2.3, 2.3, 2.3, float("nan")], [0.1], False, "diverging"),
    ([2.3, 2.3, 2.3], [0.1], True, "diverging"),
    ([2.3, 2.3, 2.3, 4.0, 4.0, 4.0], [0.5], False, "diverging"),
    ([2.3, 2.2, 2.1, 1.0, 0.9, 0.8], [0.02], False, "good"),
    ([2.3, 2.3, 2.3, 2.35, 2.33, 2.34], [0.04], False, "too large"),
    ([2.31, 2.3, 2.3, 2.29, 2.29, 2.28], [1e-5], False, "too small"),
])
def test_lr_verdict_follows_the_stated_rule(losses, ratios, diverged, label):
    verdict = classify(losses, ratios, diverged)
    assert verdict["label"] == label and verdict["reason"]
