"""POST /api/v1/lessons/text-cnn/inspect: the numbers agree with each other and with the
model, and any string gets a 200 or a 4xx envelope naming the problem."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.data.text import ALPHABET, CLASSES, bad_character
from app.lessons.text_cnn import MAX_TEXT_LENGTH
from app.models.text_cnn import WIDTHS, load_text_model

URL = "/api/v1/lessons/text-cnn/inspect"
FIXTURE_SETTINGS = settings(deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_consistent(body: dict, text: str) -> None:
    """Every number the page draws agrees with the others."""
    assert body["text"] == text
    length = body["padded_length"]
    assert length == max(24, len(text)) == len(body["tokens"]) == len(body["embedding_grad"])
    assert body["tokens"] == [*text, *[None] * (length - len(text))]
    assert [f["width"] for f in body["filters"]] == [k for k in WIDTHS for _ in range(6)]
    for f in body["filters"]:
        response = np.array(f["response"])
        k, win = f["width"], f["winner"]
        assert len(response) == length - k + 1
        assert (response >= 0).all()  # a ReLU's output
        # The winner is the first maximum of the returned responses (max-over-time's rule).
        assert win["position"] == int(np.argmax(response))
        assert win["value"] == response.max()
        assert win["end"] == win["position"] + k
        assert win["ngram"] == text[win["position"] : win["end"]]
        assert win["padding"] == k - len(win["ngram"])
    assert body["vector"] == [f["winner"]["value"] for f in body["filters"]]
    probs = np.array(body["probabilities"])
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert body["prediction"] == int(np.argmax(body["logits"]))
    assert body["loss"] == pytest.approx(-np.log(probs[body["target"]]), rel=1e-4, abs=1e-6)
    grad = np.array(body["embedding_grad"])
    np.testing.assert_allclose(body["sensitivity"], np.linalg.norm(grad, axis=1), rtol=1e-12)


@pytest.mark.parametrize("text, label", [("gdbadhe", "bad"), ("aahgaa", "hg"),
                                         ("gcafeb", "cafe"), ("abcdefgh", "none")])
def test_the_text_model_finds_the_motif_anywhere(client, text, label):
    r = client.post(URL, json={"text": text})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_consistent(body, text)
    assert body["classes"][body["prediction"]] == label
    model = load_text_model()
    np.testing.assert_allclose(body["probabilities"], model.predict([text])[0], atol=1e-6)


def test_the_winning_ngram_of_some_width_3_filter_is_the_motif(client):
    body = client.post(URL, json={"text": "ggcbadge"}).json()
    assert "bad" in {f["winner"]["ngram"] for f in body["filters"] if f["width"] == 3}


def test_characters_outside_the_motif_barely_move_the_loss(client):
    """The backward pass: against a wrong target, the motif's letters carry the gradient."""
    body = client.post(URL, json={"text": "gggbadggg", "target": 0}).json()
    sensitivity = np.array(body["sensitivity"])
    assert set(np.argsort(sensitivity)[-3:]) <= {2, 3, 4, 5, 6}
    assert sensitivity[3:6].sum() > sensitivity[9:].sum()


def test_target_sets_the_class_the_loss_is_taken_against(client):
    mine = client.post(URL, json={"text": "gdbadhe", "target": 3}).json()
    assert mine["target"] == 3 and mine["prediction"] == 2
    assert mine["loss"] > 1


def test_a_string_longer_than_training_is_read_unpadded(client):
    text = "abcdefgh" * 7 + "hg"
    body = client.post(URL, json={"text": text}).json()
    assert_consistent(body, text)
    assert body["padded_length"] == len(text) and None not in body["tokens"]


@pytest.mark.parametrize("text, char, position", [("hello", "l", 2), ("abc!", "!", 3),
                                                  ("ABC", "A", 0), ("ab cd", " ", 2)])
def test_a_bad_character_is_a_422_naming_it(client, text, char, position):
    r = client.post(URL, json={"text": text})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_character"
    assert (error["character"], error["position"]) == (char, position)
    assert repr(char) in error["message"] and error["alphabet"] == ALPHABET


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "a" * (MAX_TEXT_LENGTH + 1)},
                                  {"text": 5}, {}, {"text": "ab", "target": len(CLASSES)},
                                  {"text": "ab", "target": -1}, {"text": "ab", "extra": 1}, []])
def test_a_bad_body_is_a_422_envelope(client, body):
    r = client.post(URL, json=body)
    assert r.status_code == 422, r.text
    assert set(r.json()["error"]) >= {"code", "message"}


def test_a_body_that_is_not_json_is_a_4xx_envelope(client):
    r = client.post(URL, content=b"{text:", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and "message" in r.json()["error"]


@FIXTURE_SETTINGS
@given(text=st.text(alphabet=ALPHABET, min_size=1, max_size=MAX_TEXT_LENGTH),
       target=st.none() | st.integers(0, len(CLASSES) - 1))
def test_any_string_over_the_alphabet_gets_consistent_numbers(client, text, target):
    r = client.post(URL, json={"text": text, "target": target})
    assert r.status_code == 200, r.text
    assert_consistent(r.json(), text)


@FIXTURE_SETTINGS
@given(text=st.text(max_size=MAX_TEXT_LENGTH + 8))
def test_any_string_gets_a_200_or_a_422_naming_the_problem(client, text):
    r = client.post(URL, json={"text": text})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        return
    error = r.json()["error"]
    bad = bad_character(text)
    if text and len(text) <= MAX_TEXT_LENGTH and bad is not None:
        assert error["code"] == "invalid_character"
        assert (error["position"], error["character"]) == bad
    else:
        assert error["code"] == "invalid_input" and "text" in error["message"]
