"""The two explorers in a real browser: /receptive-field and /conv-arithmetic."""

from __future__ import annotations

import json
from urllib.request import Request, urlopen

import pytest

from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser


def api_receptive_field(base, body):
    request = Request(
        base + "/api/v1/receptive-field", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def no_sideways_scroll(page):
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def canvas_signature(page, selector):
    """A cheap fingerprint of a canvas's pixels, to see that a drawing changed."""
    return page.eval_on_selector(selector, "c => c.toDataURL().length + ':' + c.toDataURL().slice(-64)")


def readout(page):
    return page.locator("#rf-readout").inner_text()


def wait_for_readout(page, text):
    page.wait_for_function(
        "t => document.querySelector('#rf-readout').textContent.includes(t)", arg=text
    )


# ---- /receptive-field ----

def test_receptive_field_page_shows_alexnet_and_pool5_field(page, live_server):
    page.goto(live_server + "/receptive-field")
    wait_for_readout(page, "pool5 unit")
    rows = page.locator("#rf-table tbody tr")
    assert rows.count() == 8
    pool5 = rows.nth(7).locator("td")
    assert pool5.nth(6).inner_text() == "32"     # jump
    assert pool5.nth(7).inner_text() == "195"    # RF size
    assert "195 field" in readout(page)
    # the readout's box is the API's box for the chosen unit
    text = readout(page)
    unit = page.evaluate("document.querySelector('#rf-readout').textContent.match(/\\((\\d+), (\\d+)\\)/).slice(1).map(Number)")
    expected = api_receptive_field(
        live_server, {"preset": "alexnet", "unit": {"layer": 7, "y": unit[0], "x": unit[1]}}
    )
    box = expected["unit_box"]
    assert f"rows {box['y0']}…{box['y1']}, columns {box['x0']}…{box['x1']}" in text
    assert page.locator("a[href='/conv-arithmetic']").first.is_visible()
    save_screenshot(page, "receptive_field_alexnet")


def test_choosing_a_layer_redraws_a_smaller_field(page, live_server):
    page.goto(live_server + "/receptive-field")
    wait_for_readout(page, "pool5 unit")
    before = canvas_signature(page, "#rf-input-canvas")
    page.locator("#rf-table tbody tr").nth(0).get_by_role("button").click()
    wait_for_readout(page, "conv1 unit")
    assert "11 field" in readout(page)
    assert canvas_signature(page, "#rf-input-canvas") != before
    assert page.locator("#rf-layer-range").input_value() == "0"
    # scrubbing with the keyboard walks the layers and grows the field
    page.locator("#rf-layer-range").focus()
    page.keyboard.press("ArrowRight")
    wait_for_readout(page, "pool1 unit")
    assert "19 field" in readout(page)


def test_clicking_a_unit_and_the_input_moves_the_box(page, live_server):
    page.goto(live_server + "/receptive-field?preset=lenet5")
    wait_for_readout(page, "pool2 unit")
    canvas = page.locator("#rf-unit-canvas")
    bbox = canvas.bounding_box()
    canvas.click(position={"x": 8, "y": 8})             # the top-left unit of a 5x5 grid
    wait_for_readout(page, "unit (0, 0)")
    assert "rows -2…13, columns -2…13" in readout(page)
    assert "inside the input rows 0…13, columns 0…13" in readout(page)
    canvas.click(position={"x": bbox["width"] - 8, "y": bbox["height"] - 8})
    wait_for_readout(page, "unit (4, 4)")
    canvas.focus()
    page.keyboard.press("ArrowLeft")
    wait_for_readout(page, "unit (4, 3)")
    save_screenshot(page, "receptive_field_lenet5_unit")


def test_editing_the_layers_recomputes_and_bad_values_are_named(page, live_server, probe):
    page.goto(live_server + "/receptive-field")
    wait_for_readout(page, "pool5 unit")
    page.select_option("#rf-preset", "")
    # a custom non-square chain: kernel (3,5) stride 2 then (3,1) stride 2
    while page.locator("#rf-layers li").count() > 2:
        page.locator("#rf-layers li").last.get_by_role("button", name="Remove").click()
    first, second = page.locator("#rf-layers li").nth(0), page.locator("#rf-layers li").nth(1)
    for row, kernel in ((first, "3,5"), (second, "3,1")):
        row.locator("[data-key=kind]").select_option("conv2d")
        row.locator("[data-key=kernel_size]").fill(kernel)
        row.locator("[data-key=stride]").fill("2")
        row.locator("[data-key=padding]").fill("0")
    page.wait_for_function(
        "() => document.querySelectorAll('#rf-table tbody tr').length === 2 && "
        "document.querySelector('#rf-table tbody tr:last-child td:nth-child(9)')"
        ".textContent === '7×5'"
    )
    assert page.locator("#rf-table tbody tr").nth(1).locator("td").nth(6).inner_text() == "4"
    second.locator("[data-key=stride]").fill("0")
    page.wait_for_selector("#rf-error:not([hidden])")
    message = page.locator("#rf-error").inner_text()
    assert "layer 1" in message and "stride must be >= 1" in message
    assert second.locator("[data-key=stride]").get_attribute("aria-invalid") == "true"
    save_screenshot(page, "receptive_field_invalid_layer")
    second.locator("[data-key=stride]").fill("2")
    page.wait_for_selector("#rf-error", state="hidden")
    page.get_by_role("button", name="Add layer").click()
    page.wait_for_function("() => document.querySelectorAll('#rf-table tbody tr').length === 3")
    # chromium logs the expected 422 as a console error; anything else still fails the test
    expected = [e for e in probe.console_errors if "status of 422" in e]
    assert expected
    probe.console_errors[:] = [e for e in probe.console_errors if e not in expected]


def test_receptive_field_page_fits_a_phone(phone_page, live_server):
    phone_page.goto(live_server + "/receptive-field")
    wait_for_readout(phone_page, "pool5 unit")
    assert no_sideways_scroll(phone_page)
    save_screenshot(phone_page, "receptive_field_phone")
