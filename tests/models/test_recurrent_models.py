"""The bundled sequence models (lstm-rows, rnn-rows, bilstm-rows): their cards tell the
truth, they meet their targets, and their recipe trains reproducibly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.data import load_digits, split_indices
from app.models.training_recurrent import (
    RECIPES,
    RECURRENT_ARCHITECTURES,
    load_recurrent_model,
    train_recurrent_model,
)

MODEL_IDS = list(RECURRENT_ARCHITECTURES)
# The held-out digits a model may gain or lose on another CPU or BLAS (summation order).
DIGIT_TOLERANCE = 2
# lstm-rows: the required 97%; rnn-rows: what its shipped recipe reaches, less a digit or three.
TARGETS = {"lstm-rows": 0.97, "bilstm-rows": 0.97, "rnn-rows": 0.95}


@pytest.fixture(scope="module")
def heldout() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_digits()
    _, idx = split_indices()
    return images[idx], labels[idx]


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_bundled_sequence_model_reproduces_the_heldout_accuracy_in_its_card(model_id, heldout):
    model = load_recurrent_model(model_id)
    images, labels = heldout
    probs = model.predict(images)
    correct = int((probs.argmax(axis=1) == labels).sum())
    card = model.card["heldout"]
    assert card["total"] == len(labels) == 500
    assert abs(correct - card["correct"]) <= DIGIT_TOLERANCE
    assert card["accuracy"] == card["correct"] / card["total"]
    loss = float(-np.log(probs[np.arange(len(labels)), labels]).mean())
    assert loss == pytest.approx(card["loss"], rel=1e-2)


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_bundled_sequence_model_meets_its_heldout_target(model_id):
    assert load_recurrent_model(model_id).card["heldout"]["accuracy"] >= TARGETS[model_id]


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_bundled_sequence_model_card_states_its_recipe_and_architecture(model_id):
    model = load_recurrent_model(model_id)
    card, recipe = model.card, RECIPES[model_id]
    expected = recipe.config.as_dict()
    assert {k: card["training"][k] for k in expected} == expected
    assert card["training"]["gradient_clip_norm"] == recipe.clip_norm
    assert card["architecture"] == model.architecture.spec
    assert card["parameter_count"] == model.network.parameter_count
    assert card["data"]["split"]["train"] == 4500
    assert card["reproduce"].endswith(f"python -m app.models.training_recurrent {model_id}")


def test_a_bundled_lstm_traces_one_digit_forward_and_backward(heldout):
    model = load_recurrent_model("lstm-rows")
    trace = model.trace(heldout[0][0])
    assert [layer.name for layer in trace.layers] == ["rows", "lstm", "last", "fc"]
    assert trace.layers[1].output.shape == (1, 28, 128)
    assert trace.input_grad.shape == (1, 1, 28, 28)
    assert np.isfinite(trace.input_grad).all()


def test_the_recurrent_recipe_is_seeded_and_reproducible():
    short = replace(RECIPES["rnn-rows"],
                    config=replace(RECIPES["rnn-rows"].config, epochs=1, batch_size=32))
    first, card, _ = train_recurrent_model("rnn-rows", short, train_limit=96)
    second, _, _ = train_recurrent_model("rnn-rows", short, train_limit=96)
    for (_, a), (_, b) in zip(first, second, strict=True):
        for key in a.params:
            np.testing.assert_allclose(a.params[key], b.params[key], rtol=1e-6, atol=1e-7)
    assert card["data"]["split"]["train"] == 96
