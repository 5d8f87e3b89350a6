"""The colour lesson in a real browser, at 1280, 1024, 853 and 390 px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_sideways_scroll, save_screenshot
from tests.browser.conftest import wait_for_text as wait_for

pytestmark = pytest.mark.browser



def test_the_classic_6x6x3_example_and_the_gallery(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/learn/colour")
    wait_for(page, "#co-equation", "6×6×3 * 3×3×3 → 4×4×1")
    wait_for(page, "#co-accuracy", "of 450 pictures), with 5,001 weights")
    assert page.locator("#co-rows .co-row").count() == 4
    assert page.locator("#co-rows .num-grid.red tr").count() == 6 + 3 + 4
    assert page.locator("#co-gallery button").count() == 18
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_colour_{page.lesson_width}")


def test_a_gallery_picture_shows_the_models_first_layer(page, live_server):
    page.goto(live_server + "/learn/colour")
    wait_for(page, "#co-accuracy", "Held-out accuracy")
    page.locator("#co-gallery button").nth(4).click()
    wait_for(page, "#co-equation", "kernel 0 of conv1 (3×3×3, padding 1) gives one 20×20 map")
    assert page.locator("#co-rows canvas").count() >= 10
    page.fill("#co-unit", "5")
    page.dispatch_event("#co-unit", "change")
    wait_for(page, "#co-equation", "kernel 5 of conv1")
    save_screenshot(page, "lessons_colour_model_1280")
