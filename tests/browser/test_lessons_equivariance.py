"""The equivariance lesson in a real browser, at 1280, 1024, 853 and 390 px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_sideways_scroll, save_screenshot
from tests.browser.conftest import wait_for_text as wait_for

pytestmark = pytest.mark.browser



def tiny(text):
    """An error cell or caption number is 0 up to float rounding (BLAS kernels differ by CPU)."""
    return text == "0" or float(text) < 1e-5


def row_cells(page, name):
    return page.locator("#eq-table tbody tr", has_text=name).first.locator("td").all_inner_texts()


def test_a_1_pixel_shift_is_exact_for_conv1_and_non_integer_after_pooling(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/learn/equivariance")
    wait_for(page, "#eq-maps-caption", "conv1, first 6 channels")
    wait_for(page, "#eq-curve-readout", "of 9 shifts")
    conv1 = row_cells(page, "conv1")
    assert conv1[0] == "1" and tiny(conv1[2])
    pool1 = row_cells(page, "pool1")
    assert pool1[0] == "2" and "non-integer" in pool1[1] and pool1[2] == "—"
    assert page.locator("#eq-layer option").count() == 6
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_equivariance_{page.lesson_width}")


def test_an_even_shift_and_a_deeper_layer_then_the_vertical_curve(page, live_server):
    page.goto(live_server + "/learn/equivariance")
    wait_for(page, "#eq-maps-caption", "conv1")
    page.fill("#eq-dx", "2")
    page.dispatch_event("#eq-dx", "input")
    page.select_option("#eq-layer", "conv2")
    wait_for(page, "#eq-maps-caption", "conv2, first 6 channels: the feature maps")
    caption = page.locator("#eq-maps-caption").inner_text()
    assert tiny(caption.split("float rounding: error ")[1].rstrip("."))
    assert row_cells(page, "pool2")[1] == "(0, 0.5) non-integer"
    page.select_option("#eq-axis", "y")
    wait_for(page, "#eq-curve-readout", "of 9 shifts")
    save_screenshot(page, "lessons_equivariance_conv2_1280")
