"""The activation lesson in a real browser, at 1280, 1024, 853 and 390 px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, no_sideways_scroll, save_screenshot
from tests.browser.conftest import wait_for_text as wait_for

pytestmark = pytest.mark.browser


def test_every_activation_is_plotted_with_its_saturation_and_the_scaled_ranges(sized_page,
                                                                                live_server):
    page = sized_page
    page.goto(live_server + "/learn/activations")
    page.wait_for_selector("#ac-sat-sigmoid", state="attached")
    wait_for(page, "#ac-sat-sigmoid", "Saturates")
    assert page.locator("#ac-cards .ac-card").count() == 6
    assert page.locator("#ac-brief .ac-card").count() == 2
    assert page.locator("#ac-sat-sigmoid").text_content() == \
        "Saturates (|f′| < 0.01) for x ≤ −4.6 and x ≥ 4.6."
    assert page.locator("#ac-sat-tanh").text_content() == \
        "Saturates (|f′| < 0.01) for x ≤ −3 and x ≥ 3."
    assert "everywhere" in page.locator("#ac-sat-sign").text_content()
    assert page.locator("#ac-sat-leakyrelu").text_content().startswith("Never saturates")
    rows = page.locator("#ac-scale-table tbody tr")
    assert rows.count() == 2
    assert "f′(0) = 0.25" in rows.nth(0).text_content()
    assert "f′(255) = 0 (saturated)" in rows.nth(1).text_content()
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_activations_{page.lesson_width}")


def test_a_new_range_redraws_and_a_bad_one_is_named(page, live_server):
    page.goto(live_server + "/learn/activations")
    page.wait_for_selector("#ac-sat-relu6", state="attached")
    wait_for(page, "#ac-sat-relu6", "Saturates")
    page.fill("#ac-min", "-2")
    page.fill("#ac-max", "8")
    page.click("#ac-apply")
    wait_for(page, "#ac-sat-relu6", "x ≤ 0 and x ≥ 6")
    page.fill("#ac-min", "9")
    page.click("#ac-apply")
    wait_for(page, "#ac-error", "x_min (9) must be less than x_max (8)")
    assert axe_violations(page) == []
