"""The conv-as-a-matrix lesson in a real browser, at 1280, 1024, 853 and 390 px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_sideways_scroll, save_screenshot

pytestmark = pytest.mark.browser


def wait_for_summary(page, text):
    page.wait_for_function(
        "t => document.querySelector('#cm-summary').textContent.includes(t)", arg=text,
        timeout=30_000,
    )


def test_the_matrix_of_a_3x3_kernel_on_5x5_and_both_directions_agree(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/learn/conv-matrix")
    wait_for_summary(page, "W is 9×25: 81 of its 225 entries")
    assert "→ 3×3 output" in page.locator("#cm-summary").inner_text()
    assert page.locator("#cm-row").inner_text().startswith("Row 0 of W is output y[0,0]:")
    assert page.locator("#cm-input-grid td.read").count() == 9
    assert page.locator("#cm-kernel-grid td").count() == 9
    assert page.locator("#cm-y-matrix td").all_inner_texts() == \
        page.locator("#cm-y-conv td").all_inner_texts()
    assert page.locator("#cm-dx-matrix td").all_inner_texts() == \
        page.locator("#cm-dx-backward td").all_inner_texts() == \
        page.locator("#cm-dx-transpose td").all_inner_texts()
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_conv_matrix_{page.lesson_width}")
    page.locator("#cm-transpose-title").scroll_into_view_if_needed()
    save_screenshot(page, f"lessons_conv_matrix_transpose_{page.lesson_width}")


def test_picking_a_row_and_a_strided_padded_geometry(page, live_server):
    page.goto(live_server + "/learn/conv-matrix")
    wait_for_summary(page, "W is 9×25")
    matrix = page.locator("#cm-matrix")
    matrix.scroll_into_view_if_needed()
    box = matrix.bounding_box()
    # 9 rows below a 14 px ruler: click the middle of the last row
    scale = box["height"] / (14 + 9 * 26)
    matrix.click(position={"x": 10, "y": (14 + 8.5 * 26) * scale})
    page.wait_for_function(
        "t => document.querySelector('#cm-row').textContent.startsWith(t)",
        arg="Row 8 of W is output y[2,2]",
    )
    assert "x[4,4]" in page.locator("#cm-row").inner_text()
    page.fill("#cm-stride", "2")
    page.dispatch_event("#cm-stride", "change")
    page.fill("#cm-padding", "1")
    page.dispatch_event("#cm-padding", "change")
    wait_for_summary(page, "stride 2, padding 1")
    assert "W is 9×25" in page.locator("#cm-summary").inner_text()
    assert "output padding" not in page.locator("#cm-transpose-caption").inner_text()
    page.fill("#cm-size", "6")
    page.dispatch_event("#cm-size", "change")
    wait_for_summary(page, "6×6 input")
    assert "output padding 1×1 to give 6×6 back" in \
        page.locator("#cm-transpose-caption").inner_text()
    page.fill("#cm-channels", "3")
    page.dispatch_event("#cm-channels", "change")
    wait_for_summary(page, "3×6×6 input")
    assert "W is 9×108" in page.locator("#cm-summary").inner_text()
    assert page.locator("#cm-input-grid table").count() == 3
    save_screenshot(page, "lessons_conv_matrix_strided_1280")


def test_the_learn_page_links_the_lesson(page, live_server):
    page.goto(live_server + "/learn")
    page.locator(".lesson-list a", has_text="A convolution is a matrix").click()
    wait_for_summary(page, "W is 9×25")
