"""The fc-as-conv lesson in a real browser, at 1280, 1024, 853 and 390 px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_sideways_scroll, save_screenshot

pytestmark = pytest.mark.browser


def wait_for_map(page):
    page.wait_for_function(
        "() => document.querySelector('#fc-map-readout').textContent.includes('outputs over')",
        timeout=30_000,
    )


def test_fc1_both_ways_and_the_prediction_map_of_gallery_digits(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/learn/fc-as-conv")
    page.wait_for_function(
        "() => document.querySelector('#fc-equation').textContent.includes('as a convolution')"
    )
    wait_for_map(page)
    assert "8×22 outputs over the 112×56 canvas" in page.locator("#fc-map-readout").inner_text()
    assert "4 pixels apart" in page.locator("#fc-map-readout").inner_text()
    rows = page.locator("#fc-layers tbody tr")
    assert rows.count() == 3
    assert "120 kernels of 5x5x16" in rows.nth(0).inner_text()
    assert "1x1" in rows.nth(1).inner_text()
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_fc_as_conv_{page.lesson_width}")


def test_choosing_a_unit_and_an_output_cell_explains_what_it_reads(page, live_server):
    page.goto(live_server + "/learn/fc-as-conv")
    wait_for_map(page)
    page.fill("#fc-unit", "17")
    page.dispatch_event("#fc-unit", "change")
    page.wait_for_function(
        "() => document.querySelector('#fc-equation').textContent.includes('unit 17:')"
    )
    text = page.locator("#fc-equation").inner_text()
    conv = text.split("Σ map ⊙ kernel + b = ")[1].split(";")[0]
    linear = text.split("· x + b = ")[1].split(".")[0:2]
    assert abs(float(conv) - float(".".join(linear))) < 1e-4
    grid = page.locator("#fc-grid")
    grid.scroll_into_view_if_needed()
    # output (1, 1): its crop starts at canvas (4, 4), where the first gallery digit sits
    scale = grid.bounding_box()["width"] / 112
    grid.click(position={"x": 18 * scale, "y": 18 * scale})
    page.wait_for_function(
        "() => document.querySelector('#fc-cell-readout').textContent.startsWith('Output (1, 1)')"
    )
    assert "7: " in page.locator("#fc-cell-readout").inner_text().split(":", 1)[1][:8]
    save_screenshot(page, "lessons_fc_as_conv_cell_1280")


def test_drawing_on_a_cleared_canvas_changes_the_map(page, live_server):
    page.goto(live_server + "/learn/fc-as-conv")
    wait_for_map(page)
    page.click("#fc-clear")
    page.wait_for_function(
        "() => document.querySelector('#fc-map-readout').textContent.includes('outputs over')"
    )
    page.locator("#fc-canvas").scroll_into_view_if_needed()
    box = page.locator("#fc-canvas").bounding_box()
    scale = box["width"] / 112
    # a vertical stroke, 18 px tall, around canvas column 60
    page.mouse.move(box["x"] + 60 * scale, box["y"] + 14 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 60 * scale, box["y"] + 40 * scale, steps=8)
    page.mouse.up()
    ink = page.evaluate(
        "() => { const c = document.querySelector('#fc-canvas').getContext('2d');"
        " const d = c.getImageData(0, 0, 112, 56).data; let s = 0;"
        " for (let i = 0; i < d.length; i += 4) s += d[i]; return s; }"
    )
    assert ink > 0
    save_screenshot(page, "lessons_fc_as_conv_drawn_1280")
