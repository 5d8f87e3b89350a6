"""The inspect page's attribution panel and "take one step" panel in Chromium at every width:
the numbers on screen are the API's, the heatmap is drawn, and a small learning rate's
prediction agrees with the actual loss change while a large one's does not. Screenshots go to
tests/artifacts/screenshots/ (attribution-*.png, sgd-step-*.png)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import (
    axe_violations,
    no_sideways_scroll,
    save_screenshot,
    wait_for_text,
)

pytestmark = pytest.mark.browser

INSPECT = re.compile(r"/api/v1/models/[^/]+/inspect$")


def _open(page, live_server):
    with page.expect_response(lambda r: bool(INSPECT.search(r.url)), timeout=60_000):
        page.goto(live_server + "/")
    page.wait_for_selector("[data-testid=prediction][data-class]")


def _canvas_has_colour(page, testid: str) -> bool:
    return page.eval_on_selector(
        f"[data-testid={testid}]",
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  const seen = new Set(); for (let i = 0; i < d.length; i += 4)
                  seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]); return seen.size > 8; }""",
    )


def test_attribution_panel_explains_the_shown_digit(sized_page, live_server):
    page = sized_page
    _open(page, live_server)
    panel = page.locator("[data-testid=attribution-panel]")
    panel.scroll_into_view_if_needed()
    page.select_option("[data-testid=attr-method]", "integrated_gradients")
    wait_for_text(page, "[data-testid=attr-explanation]", "Completeness")
    page.fill("[data-testid=attr-steps]", "64")
    with page.expect_response(lambda r: r.url.endswith("/attribution")) as answer:
        page.click("[data-testid=attr-run]")
    body = answer.value.json()
    page.wait_for_selector("[data-testid=attr-completeness]")
    completeness = page.inner_text("[data-testid=attr-completeness]")
    assert f"gap {100 * body['completeness']['gap']:.2f}%" in completeness
    assert body["steps"] == 64 and body["completeness"]["gap"] < 0.01
    assert _canvas_has_colour(page, "attr-heatmap")
    legend = page.locator("[data-testid=attr-legend]")
    assert "IG attribution" in legend.inner_text()
    assert no_sideways_scroll(page)
    save_screenshot(page, f"attribution-ig-{page.lesson_width}px")

    page.select_option("[data-testid=attr-method]", "grad_cam")
    with page.expect_response(lambda r: r.url.endswith("/attribution")) as answer:
        page.click("[data-testid=attr-run]")
    cam = answer.value.json()
    wait_for_text(page, "[data-testid=attr-numbers]", "channel weights")
    assert cam["layer"] == "pool2" and "Grad-CAM at pool2 (5×5)" in legend.inner_text()
    assert page.eval_on_selector("[data-testid=attr-layer]", "s => s.options.length") == 6
    page.select_option("[data-testid=attr-layer]", "conv2")
    page.select_option("[data-testid=attr-target]", "3")
    with page.expect_response(lambda r: r.url.endswith("/attribution")) as answer:
        page.click("[data-testid=attr-run]")
    assert answer.value.json()["layer"] == "conv2" and answer.value.json()["target"] == 3
    wait_for_text(page, "[data-testid=attr-legend]", "conv2 (10×10)")
    assert no_sideways_scroll(page)
    if page.lesson_width in (1280, 390):
        assert axe_violations(page) == []
    save_screenshot(page, f"attribution-gradcam-{page.lesson_width}px")

    page.select_option("[data-testid=attr-method]", "occlusion")
    page.fill("[data-testid=attr-patch]", "6")
    with page.expect_response(lambda r: r.url.endswith("/attribution")) as answer:
        page.click("[data-testid=attr-run]")
    occluded = answer.value.json()
    assert occluded["patch"] == [6, 6] and occluded["resolution"] == [12, 12]
    wait_for_text(page, "[data-testid=attr-legend]", "logit drop")
    wait_for_text(page, "[data-testid=attr-numbers]", "12×12 patch positions")
    assert _canvas_has_colour(page, "attr-heatmap")
    save_screenshot(page, f"attribution-occlusion-{page.lesson_width}px")


def _step(page, position: str) -> dict:
    page.locator("[data-testid=sgd-lr]").evaluate(
        "(e, v) => { e.value = v; e.dispatchEvent(new Event('input')); }", position)
    with page.expect_response(lambda r: r.url.endswith("/sgd-step")) as answer:
        page.click("[data-testid=sgd-run]")
    body = answer.value.json()
    page.wait_for_function(
        "lr => document.querySelector('[data-testid=sgd-summary]').textContent.length > 0 "
        "&& document.querySelector('[data-testid=sgd-status]').textContent === ''", arg=0)
    return body


def test_take_one_step_small_and_large_learning_rates(sized_page, live_server):
    page = sized_page
    _open(page, live_server)
    page.locator("[data-testid=sgd-step-panel]").scroll_into_view_if_needed()
    page.select_option("[data-testid=sgd-target]", "3")
    small = _step(page, "-4")
    assert small["lr"] == 0.0001 and small["target"] == 3
    assert page.inner_text("[data-testid=sgd-lr-value]") == "lr = 0.0001"
    summary = page.locator("[data-testid=sgd-summary]")
    assert summary.get_attribute("data-verdict") == "agree"
    reference = httpx.post(f"{live_server}/api/v1/models/lenet5/sgd-step",
                           json={"sample": 0, "target": 3, "lr": 0.0001}, timeout=60).json()
    assert reference["loss_after"] == pytest.approx(small["loss_after"], rel=1e-9)
    # conv1's 6 channels, before and after
    assert page.locator("[data-testid=sgd-maps] canvas.sgd-map").count() == 12
    assert page.locator("[data-testid=sgd-updates] tr").count() == 1 + 10
    assert no_sideways_scroll(page)
    save_screenshot(page, f"sgd-step-small-{page.lesson_width}px")

    large = _step(page, "0")
    assert large["lr"] == 1
    assert summary.get_attribute("data-verdict") == "disagree"
    assert "too large" in summary.inner_text()
    assert no_sideways_scroll(page)
    if page.lesson_width in (1280, 390):
        assert axe_violations(page) == []
    save_screenshot(page, f"sgd-step-large-{page.lesson_width}px")
