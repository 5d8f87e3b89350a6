"""The bundled text model: its card tells the truth, and its gradient w.r.t. the embedding
weights matches central finite differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

from app.data.text import CLASSES, PAD, encode, pad_batch, text_splits
from app.models.text_cnn import build_text_cnn, load_text_model, text_cnn_spec
from app.models.text_training import TEXT_RECIPE, evaluate_unpadded, train_text_cnn
from app.nn import from_spec, to_spec
from app.nn.losses import softmax_cross_entropy
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient

TARGET_ACCURACY = 0.98


@pytest.fixture(scope="module")
def model():
    return load_text_model()


@pytest.fixture(scope="module")
def heldout():
    return text_splits()[1]


def _allowed_miss(probs: np.ndarray) -> int:
    """Strings whose two best classes are within BLAS rounding of each other: only these may
    change their answer on another CPU."""
    top2 = np.sort(probs, axis=1)[:, -2:]
    return int((top2[:, 1] - top2[:, 0] < 1e-4).sum())


def test_text_cnn_reproduces_the_heldout_accuracy_in_its_card(model, heldout):
    probs = model.predict(heldout.texts)
    correct = int((probs.argmax(axis=1) == heldout.labels).sum())
    card = model.card["heldout"]
    assert card["total"] == len(heldout.texts) == 1000
    assert abs(correct - card["correct"]) <= _allowed_miss(probs)
    assert card["accuracy"] == card["correct"] / card["total"]
    loss = float(-np.log(probs[np.arange(len(probs)), heldout.labels].astype(np.float64)).mean())
    assert loss == pytest.approx(card["loss"], rel=1e-3)


def test_text_cnn_reads_unpadded_strings_as_its_card_says(model, heldout):
    unpadded = evaluate_unpadded(model.network, heldout)
    assert abs(unpadded.correct - model.card["heldout_unpadded"]["correct"]) <= 2


def test_text_cnn_meets_the_heldout_accuracy_target(model):
    assert model.card["heldout"]["accuracy"] >= TARGET_ACCURACY


def test_text_cnn_card_records_its_recipe_architecture_and_data(model):
    card = model.card
    train, heldout = text_splits()
    recipe = TEXT_RECIPE.as_dict()
    assert {k: card["training"][k] for k in recipe} == recipe
    assert card["architecture"] == text_cnn_spec()
    assert card["classes"] == list(CLASSES)
    assert card["parameter_count"] == model.network.parameter_count
    assert card["data"]["train_digest"] == train.digest()
    assert card["data"]["heldout_digest"] == heldout.digest()


def test_text_cnn_spec_round_trips(model):
    spec = to_spec(model.network)
    assert to_spec(from_spec(spec, rng=0)) == spec


def test_the_padding_row_of_the_embedding_stays_zero(model):
    assert not model.network.layers[0].params["weight"][PAD].any()


def test_two_epochs_of_the_recipe_already_read_the_motifs():
    _, card = train_text_cnn(epochs=2)
    assert card["heldout"]["accuracy"] > 0.9


@pytest.mark.parametrize("texts", [["gdbadhe", "hgcafeab"], ["abcdefghabcdefghabcdefghcafe"]])
def test_gradient_wrt_embedding_weights_matches_finite_differences(model, texts):
    network = build_text_cnn(seed=3, dtype=np.float64)
    for (_, layer), (_, trained) in zip(network, model.network, strict=True):
        for key, value in trained.params.items():
            layer.params[key] = value.astype(np.float64)
    rows = [encode(t) for t in texts]
    x = pad_batch(rows, max(24, *(len(r) for r in rows)))
    labels = np.array([0, 1][: len(texts)])  # wrong answers: large gradients
    embedding = network.layers[0].params["weight"]

    def loss(_: np.ndarray) -> float:
        return softmax_cross_entropy(network.predict(x), labels)[0]

    logits, caches = network.forward(x)
    _, dlogits, _ = softmax_cross_entropy(logits, labels)
    _, grads = network.backward(dlogits, caches)
    analytic = grads[0]["weight"]
    assert analytic.dtype == np.float64
    # The padding row gets no gradient (torch's padding_idx); the letters' rows are checked.
    assert not analytic[PAD].any()
    numeric = numerical_gradient(loss, embedding)
    assert_gradients_close({"embedding": analytic[1:]}, {"embedding": numeric[1:]})
    assert np.abs(analytic[1:]).max() > 1e-2  # a real check, not zeros against zeros
