"""The text CNN lesson in a real browser, at 1280, 1024, 853 and 390 px, under the server's
Content-Security-Policy (the page fixtures add it and fail on any console error)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, no_sideways_scroll, save_screenshot

pytestmark = pytest.mark.browser

OUTLINED = """() => [...document.querySelectorAll('#tc-filters tbody tr[data-filter]')].map(
  (row) => ({winner: Number(row.dataset.winner),
             outlined: [...row.querySelectorAll('td.tc-cell')].findIndex(
               (c) => c.classList.contains('tc-win'))}))"""


def open_lesson(page, live_server):
    page.goto(live_server + "/learn/text-cnn")
    expect(page.locator("#tc-prediction")).to_contain_text("Prediction for", timeout=30_000)


def test_a_string_shows_filters_winners_vector_prediction_and_sensitivity(sized_page,
                                                                          live_server):
    page = sized_page
    open_lesson(page, live_server)
    expect(page.locator("#tc-prediction")).to_contain_text('Prediction for "gdbadhe": bad')
    assert page.locator("#tc-filters tbody tr[data-filter]").count() == 18
    assert page.locator("#tc-filters thead th").count() == 1 + 24 + 1
    rows = page.evaluate(OUTLINED)
    assert len(rows) == 18 and all(r["winner"] == r["outlined"] for r in rows), rows
    assert page.locator("#tc-vector li").count() == 18
    assert page.locator("#tc-sensitivity li").count() == 24
    assert page.locator("#tc-probs li.tc-predicted").inner_text().startswith("bad")
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_text_cnn_{page.lesson_width}")
    assert axe_violations(page) == []
    assert page.locator("h1").count() == 1


def test_typing_another_string_reads_its_motif(page, live_server):
    open_lesson(page, live_server)
    page.fill("#tc-text", "ffaahgaa")
    expect(page.locator("#tc-prediction")).to_contain_text('Prediction for "ffaahgaa": hg')
    rows = page.locator("#tc-filters tbody tr[data-filter^='conv2'] td.tc-ngram")
    winners = rows.all_inner_texts()
    assert any(w.startswith('"hg" at 4') for w in winners), winners
    page.click("#tc-examples button:has-text('gcafeb')")
    expect(page.locator("#tc-prediction")).to_contain_text('Prediction for "gcafeb": cafe')
    save_screenshot(page, "lessons_text_cnn_typed_1280")


def test_a_letter_outside_a_to_h_is_named_and_nothing_is_sent(page, live_server):
    open_lesson(page, live_server)
    page.fill("#tc-text", "hello")
    expect(page.locator("#tc-error")).to_contain_text('"l"')
    expect(page.locator("#tc-error")).to_contain_text('"o"')
    assert axe_violations(page) == []
    assert "is-stale" in page.locator("#lesson-root").get_attribute("class")
    save_screenshot(page, "lessons_text_cnn_error_1280")
    page.fill("#tc-text", "hgab")
    expect(page.locator("#tc-error")).to_be_hidden()
    expect(page.locator("#tc-prediction")).to_contain_text('Prediction for "hgab": hg')


def test_choosing_the_class_the_loss_is_against_redraws_the_gradient(page, live_server):
    open_lesson(page, live_server)
    page.select_option("#tc-target", label="cafe")
    expect(page.locator("#tc-loss")).to_contain_text('against "cafe"')
    save_screenshot(page, "lessons_text_cnn_target_1280")


def test_learn_lists_the_text_lesson(page, live_server):
    page.goto(live_server + "/learn")
    link = page.locator(".lesson-list a[href='/learn/text-cnn']")
    expect(link).to_have_text("A 1-D convolution reads text")
