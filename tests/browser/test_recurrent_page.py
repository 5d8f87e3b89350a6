"""/recurrent in a real browser, at 1280, 1024, 853 and 390 px: the digit read row by row, the
gates over time with saturation marked, the arithmetic checked against the trace, the
backward pass through time on a log scale, RNN against LSTM, and the Bi-LSTM's two
directions. Served under the CSP; no console errors; axe-core clean."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, no_sideways_scroll, save_screenshot

pytestmark = pytest.mark.browser


def pick_sample(page, live_server, index=0):
    page.goto(live_server + "/recurrent")
    page.wait_for_selector("#rnn-gallery .sample")
    page.locator("#rnn-gallery .sample").nth(index).click()
    wait_for_pass(page)


def wait_for_pass(page):
    page.wait_for_function(
        "() => document.querySelector('#rnn-status').textContent.startsWith('Prediction')"
        " && !document.querySelector('#rnn-compare').hidden",
        timeout=60_000,
    )


def wait_for_heading(page, text):
    page.wait_for_function(
        "t => document.querySelector('#rnn-arith h3').textContent.startsWith(t)", arg=text
    )


def test_the_lstm_view_shows_gates_arithmetic_and_gradients_through_time(sized_page,
                                                                         live_server):
    page = sized_page
    pick_sample(page, live_server)
    for gate in "ifgo":
        figure = page.locator(f'[data-testid="rnn-gate-{gate}"]')
        assert figure.locator("canvas.rnn-heatmap").count() == 1
        assert "saturated" in figure.inner_text()
        assert figure.locator(".legend-max").count() == 1  # the colour scale is labelled
    arith = page.locator('[data-testid="rnn-arith"]').inner_text()
    assert "c_t = f ⊙ c_{t−1} + i ⊙ g" in arith and "h_t = o ⊙ tanh(c_t)" in arith
    assert page.locator('[data-testid="rnn-arith"] .match.ok').count() == 2
    assert page.locator('[data-testid="rnn-arith"] .match.bad').count() == 0
    assert page.locator('[data-testid="rnn-route"] .match.ok').count() == 1
    norms = page.locator('[data-testid="rnn-norms"] svg')
    assert "log scale" in norms.inner_html() and norms.locator("polyline").count() == 2
    compare = page.locator('[data-testid="rnn-compare-plot"] polyline')
    assert compare.count() == 2
    assert "RNN" in page.locator('[data-testid="rnn-compare-summary"]').inner_text()
    assert page.locator("#rnn-bi").is_hidden()
    assert no_sideways_scroll(page)
    save_screenshot(page, f"recurrent_lstm_{page.lesson_width}")


def test_choosing_a_step_and_unit_recomputes_the_arithmetic(page, live_server):
    pick_sample(page, live_server, 3)
    page.fill("#rnn-unit", "17")
    page.dispatch_event("#rnn-unit", "change")
    page.locator("#rnn-step").fill("5")
    wait_for_heading(page, "Unit 17, step t = 5")
    assert page.locator('[data-testid="rnn-arith"] .match.ok').count() == 2
    assert page.locator('[data-testid="rnn-route"] .match.ok').count() == 1
    # Each step scaled by its own largest |value|: every column reaches the ends of [-1, 1].
    page.check("#rnn-per-step")
    grad_h = page.locator('[data-testid="rnn-map-grad-h"]')
    assert "÷ max per step" in grad_h.locator("figcaption").inner_text()
    assert grad_h.locator(".legend").get_attribute("data-max") == "1"
    # A click on a heatmap cell picks its unit and step.
    canvas = page.locator('[data-testid="rnn-map-h"] canvas.rnn-heatmap')
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * (20.5 / 28), "y": box["height"] * (3.5 / 128)})
    wait_for_heading(page, "Unit 3, step t = 20")


def test_the_rnn_view_and_the_bilstm_view(page, live_server):
    pick_sample(page, live_server, 1)
    page.select_option("#rnn-model", "rnn-rows")
    page.wait_for_function("() => !document.querySelector('[data-testid=rnn-gate-i]')")
    assert page.locator('[data-testid="rnn-map-h"] canvas.rnn-heatmap').count() == 1
    assert "no gates" in page.locator('[data-testid="rnn-arith"]').inner_text()
    save_screenshot(page, "recurrent_rnn_1280")
    page.select_option("#rnn-model", "bilstm-rows")
    page.wait_for_function("() => !document.querySelector('#rnn-bi').hidden", timeout=60_000)
    assert "✓ matches" in page.locator('[data-testid="rnn-bi-check"]').inner_text()
    assert page.locator('[data-testid="rnn-bi-maps"] canvas.rnn-heatmap').count() == 3
    page.select_option("#rnn-direction", "1")
    page.wait_for_function(
        "() => document.querySelector('#rnn-step-label').textContent.includes('bottom-up')"
    )
    assert page.locator('[data-testid="rnn-arith"] .match.ok').count() == 2
    save_screenshot(page, "recurrent_bilstm_1280")


def test_a_drawn_digit_runs_through_the_lstm(page, live_server):
    page.goto(live_server + "/recurrent")
    page.wait_for_selector("#rnn-gallery .sample")  # the page module is mounted
    pad = page.locator("#rnn-draw")
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 20, steps=8)
    page.mouse.up()
    wait_for_pass(page)
    assert page.locator('[data-testid="rnn-arith"] .match.ok').count() == 2


def test_the_recurrent_page_has_no_serious_axe_violation(page, live_server):
    page.goto(live_server + "/recurrent")
    page.wait_for_selector("#rnn-gallery .sample")
    assert axe_violations(page) == []
    page.locator("#rnn-gallery .sample").first.click()
    wait_for_pass(page)
    page.select_option("#rnn-model", "bilstm-rows")
    page.wait_for_function("() => !document.querySelector('#rnn-bi').hidden", timeout=60_000)
    assert axe_violations(page) == []
    assert page.locator("h1").count() == 1
    assert page.locator('nav a[href="/recurrent"]').get_attribute("aria-current") == "page"
