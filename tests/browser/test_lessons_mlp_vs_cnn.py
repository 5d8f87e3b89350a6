"""The MLP-vs-CNN lesson in a real browser, at 1280, 1024, 853 and 390 px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import no_sideways_scroll, save_screenshot
from tests.browser.conftest import wait_for_text as wait_for

pytestmark = pytest.mark.browser



def test_matrix_form_counts_and_the_shift_table(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/learn/mlp-vs-cnn")
    wait_for(page, "#mv-forward", "300×784 matrix times a 784-vector")
    assert "Θ_nextᵀ 300×100" in page.locator("#mv-backward").inner_text()
    wait_for(page, "#mv-counts", "1,000,000,000 (10⁹) weights")
    assert "100 weights" in page.locator("#mv-counts tr").nth(2).inner_text()
    wait_for(page, "#mv-side-readout", "times as many weights")
    rows = page.locator("#mv-side tbody tr")
    assert rows.count() == 2
    assert "LeNet-5" in rows.nth(0).inner_text() and "MLP" in rows.nth(1).inner_text()
    assert "61,706" in rows.nth(0).inner_text() and "266,610" in rows.nth(1).inner_text()
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_mlp_vs_cnn_{page.lesson_width}")


def test_choosing_fc2_a_unit_and_another_shift(page, live_server):
    page.goto(live_server + "/learn/mlp-vs-cnn")
    wait_for(page, "#mv-forward", "Unit 0:")
    page.select_option("#mv-layer", "fc2")
    page.fill("#mv-unit", "42")
    page.dispatch_event("#mv-unit", "change")
    wait_for(page, "#mv-forward", "100×300 matrix times a 300-vector. Unit 42:")
    assert "Θ_nextᵀ 100×10" in page.locator("#mv-backward").inner_text()
    page.fill("#mv-pixels", "0")
    page.dispatch_event("#mv-pixels", "change")
    wait_for(page, "#mv-side-readout", "Shifted by 0 pixels")
    page.fill("#mv-k", "2000")
    page.dispatch_event("#mv-k", "change")
    wait_for(page, "#mv-counts", "1,000,000 (10⁶) weights")  # k clamped to 1000: 10^6 shared
    save_screenshot(page, "lessons_mlp_vs_cnn_fc2_1280")
