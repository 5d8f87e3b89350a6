"""/learn links every lesson and page in teaching order, one line each; lesson pages number
themselves by that order."""

from __future__ import annotations

import re

from app.api.lessons_pages import LESSONS, learning_path


def test_learning_path_holds_the_tour_every_lesson_and_the_other_pages_in_order():
    hrefs = [item["href"] for item in learning_path()]
    assert hrefs[0] == "/?tour=1"
    assert [h for h in hrefs if h.startswith("/learn/")] == [f"/learn/{s}" for s, *_ in LESSONS]
    for page in ("/conv-arithmetic", "/receptive-field", "/recurrent"):
        assert hrefs.count(page) == 1
    assert hrefs.index("/learn/perceptron") < hrefs.index("/learn/activations") \
        < hrefs.index("/learn/mlp-vs-cnn")
    assert hrefs.index("/learn/conv-matrix") < hrefs.index("/conv-arithmetic") \
        < hrefs.index("/learn/equivariance")
    assert [item["number"] for item in learning_path()] == list(range(1, len(hrefs) + 1))
    assert all(item["summary"] and "issue" not in item["summary"] for item in learning_path())


def test_learn_page_links_each_entry_with_its_one_line(client):
    html = client.get("/learn").text
    links = re.findall(r'<li><a href="([^"]+)">', html)
    assert links == [item["href"] for item in learning_path()]


def test_each_lesson_page_shows_its_number_on_the_path(client):
    numbers = {item["href"]: item["number"] for item in learning_path()}
    for slug, *_ in LESSONS:
        r = client.get(f"/learn/{slug}")
        assert r.status_code == 200
        assert f"lesson {numbers['/learn/' + slug]}</p>" in r.text, slug
