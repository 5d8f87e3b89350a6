"""GET /api/v1/samples and /api/v1/samples/{id}.png: only held-out digits, in both forms."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from app.api.samples import DEFAULT_LIMIT, gallery_indices
from app.api.schemas import SampleList
from app.data import HELDOUT_PER_CLASS, load_digits, split_indices


def _decode_data_url(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_gallery_is_exactly_the_held_out_digits():
    train, heldout = split_indices()
    ids = gallery_indices()
    assert sorted(ids.tolist()) == sorted(heldout.tolist())
    assert not set(ids.tolist()) & set(train.tolist())


def test_first_page_shows_every_class_with_thumbnails_of_the_digits(client):
    r = client.get("/api/v1/samples")
    assert r.status_code == 200
    body = r.json()
    SampleList.model_validate(body)
    images, labels = load_digits()
    assert body["total"] == 10 * HELDOUT_PER_CLASS
    assert body["limit"] == DEFAULT_LIMIT and body["offset"] == 0
    samples = body["samples"]
    assert [s["id"] for s in samples] == list(range(DEFAULT_LIMIT))
    assert [s["label"] for s in samples[:10]] == list(range(10))
    for s in samples:
        index = gallery_indices()[s["id"]]
        assert s["label"] == labels[index]
        np.testing.assert_array_equal(_decode_data_url(s["thumbnail"]), images[index])


def test_paging_and_label_filter(client):
    page = client.get("/api/v1/samples", params={"limit": 5, "offset": 495}).json()
    assert [s["id"] for s in page["samples"]] == [495, 496, 497, 498, 499]
    sevens = client.get("/api/v1/samples", params={"label": 7, "limit": 500}).json()
    assert sevens["total"] == HELDOUT_PER_CLASS == len(sevens["samples"])
    assert {s["label"] for s in sevens["samples"]} == {7}
    assert client.get("/api/v1/samples", params={"offset": 600}).json()["samples"] == []


def test_bad_paging_parameters_are_422(client):
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"label": 10}):
        r = client.get("/api/v1/samples", params=params)
        assert r.status_code == 422, params
        assert r.json()["error"]["code"] == "invalid_input"


def test_sample_png_is_the_digit(client):
    images, labels = load_digits()
    r = client.get("/api/v1/samples/12.png")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), images[gallery_indices()[12]])
    assert labels[gallery_indices()[12]] == 2


def test_unknown_sample_png_is_404_envelope(client):
    r = client.get("/api/v1/samples/500.png")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "sample_not_found"
    assert client.get("/api/v1/samples/abc.png").status_code in (404, 422)
