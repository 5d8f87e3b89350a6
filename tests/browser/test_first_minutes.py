"""The first five minutes in a browser, at 1280, 1024, 853 and 390 px wide: the overview fits
its card, a clicked unit's detail comes into view (Enter moves focus there), an error dims the
old result, the backward view shows the runner-up's deltas and says so, a blank image is "No
digit found", Clear clears, flat max-pool windows are marked as ties, the logits are labelled
with class names and the drawing pad reads back without a browser warning."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.browser.conftest import _open_page, save_screenshot

pytestmark = pytest.mark.browser

WIDTHS = [1280, 1024, 853, 390]


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def sized_page(request, browser, probe):
    width = request.param
    context, pg = _open_page(browser, probe, width, 800, has_touch=width < 600)
    pg.width = width
    yield pg
    context.close()
    assert probe.external_requests == [], probe.external_requests
    assert probe.console_errors == [], probe.console_errors


def ready(page, live_server):
    page.goto(live_server + "/")
    page.wait_for_selector('#overview-band[aria-busy="false"] [data-testid="fmap-0-0"]')
    page.wait_for_selector("[data-testid=prediction][data-class]")


def overflow_report(page) -> dict:
    """Everything that sticks out: the page sideways, the overview's scroller, a layer column
    past the overview card, a legend into its neighbour column."""
    return page.evaluate(
        """() => {
            const doc = document.documentElement;
            const scroller = document.getElementById('overview');
            const card = document.getElementById('overview-band').getBoundingClientRect();
            const columns = [...scroller.querySelectorAll('.layer-column')];
            const outside = columns
                .filter((c) => c.getBoundingClientRect().right > card.right + 0.5)
                .map((c) => c.querySelector('.layer-name').textContent);
            const overlaps = [];
            for (const column of columns) {
                const legend = column.querySelector('.legend');
                if (!legend) continue;
                const l = legend.getBoundingClientRect();
                for (const other of columns) {
                    if (other === column) continue;
                    const o = other.getBoundingClientRect();
                    const apart = l.right <= o.left + 0.5 || l.left >= o.right - 0.5
                        || l.bottom <= o.top + 0.5 || l.top >= o.bottom - 0.5;
                    if (!apart) overlaps.push(column.querySelector('.layer-name').textContent);
                }
            }
            return {
                page: doc.scrollWidth - doc.clientWidth,
                scroller: scroller.scrollWidth - scroller.clientWidth,
                outside, overlaps,
            };
        }"""
    )


@pytest.mark.parametrize("scale", ["layer", "map"])
def test_the_overview_never_overflows_its_card_or_the_page(sized_page, live_server, scale):
    page = sized_page
    ready(page, live_server)
    page.select_option("#scale-select", scale)
    page.wait_for_selector('#overview .legend')
    report = overflow_report(page)
    save_screenshot(page, f"overview-{page.width}px-{scale}")
    assert report == {"page": 0, "scroller": 0, "outside": [], "overlaps": []}, report
    # every layer, fc3 included, is on screen within the card
    assert page.locator("#overview .layer-column").count() == 1 + 12


def test_clicking_a_unit_brings_its_detail_into_view_and_enter_moves_focus(sized_page, live_server):
    page = sized_page
    ready(page, live_server)
    canvas = page.get_by_test_id("fmap-1-2")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector('[data-testid="detail-view"] .detail[data-layer="1"]')
    page.wait_for_timeout(100)
    top = page.evaluate("() => document.getElementById('detail-band').getBoundingClientRect().top")
    assert -1 <= top < 800 * 0.6, f"the detail band starts at {top}px"
    assert "relu1" in page.get_by_test_id("detail-status").inner_text()
    save_screenshot(page, f"detail-in-view-{page.width}px")
    # From the keyboard: focus a map, Enter, and the focus lands on the detail's heading.
    page.evaluate("() => window.scrollTo(0, 0)")
    page.focus('[data-testid="fmap-3-0"]')
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-testid="detail-view"] .detail[data-layer="3"]')
    page.wait_for_function(
        "() => document.activeElement"
        " && document.activeElement.matches('[data-testid=detail-view] .detail-header h2')"
    )
    top = page.evaluate("() => document.getElementById('detail-band').getBoundingClientRect().top")
    assert -1 <= top < 800 * 0.6


def test_after_an_error_the_old_result_is_dimmed_next_to_the_error(sized_page, live_server, probe):
    page = sized_page
    ready(page, live_server)
    page.set_input_files('[data-testid="upload-input"]', files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"}])
    page.wait_for_selector("#input-error:not([hidden])")
    assert "is-stale" in page.get_attribute("#overview-band", "class")
    assert page.get_attribute("[data-testid=prediction]", "data-stale") == "true"
    assert "could not be inspected" in page.get_by_test_id("prediction").inner_text()
    opacity = page.eval_on_selector(
        '[data-testid="fmap-0-0"]', "c => Number(getComputedStyle(c).opacity)"
    )
    assert opacity < 0.5
    save_screenshot(page, f"error-dims-result-{page.width}px")
    probe.console_errors[:] = [e for e in probe.console_errors if "status of 415" not in e]
    # A good input brings the result back, undimmed.
    page.locator('[data-testid="sample-gallery"] .sample').nth(3).click()
    page.wait_for_selector("#input-error", state="hidden")
    assert "is-stale" not in page.get_attribute("#overview-band", "class")


def test_conv_arithmetic_dims_its_drawing_after_an_error(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/conv-arithmetic")
    page.wait_for_function("() => document.querySelector('#ca-formula').textContent.length > 0")
    page.fill("#ca-k", "30")
    page.wait_for_selector("#ca-stale:not([hidden])")
    assert "stale" in page.get_attribute("#ca-page", "class")
    opacity = page.eval_on_selector("#ca-input-canvas", "c => Number(getComputedStyle(c).opacity)")
    assert opacity < 0.5
    save_screenshot(page, f"conv-arithmetic-error-{page.width}px")
    page.fill("#ca-k", "3")
    page.wait_for_selector("#ca-stale", state="hidden")


def test_backward_shows_the_runner_up_says_why_and_marks_the_target(sized_page, live_server):
    page = sized_page
    ready(page, live_server)
    with page.expect_response(lambda r: "/inspect" in r.url) as answer:
        page.get_by_test_id("mode-backward").click()
    body = answer.value.json()
    page.locator('#overview-band[data-mode="backward"][aria-busy="false"]').wait_for()
    ranked = sorted(range(len(body["probabilities"])), key=lambda k: -body["probabilities"][k])
    assert body["target"] == ranked[1] != body["prediction"]
    note = page.get_by_test_id("target-note").inner_text()
    assert "runner-up" in note and f"not {body['classes'][ranked[1]]}?" in note
    target_row = page.locator(f".prob-row[data-class='{body['target']}']")
    assert "is-target" in target_row.get_attribute("class")
    assert target_row.locator(".target-marker").is_visible()
    assert "loss target" in page.get_by_test_id("probabilities-legend").inner_text()
    # the deltas are not noise: the input's saliency reaches well above 1e-6
    assert max(abs(body["input_grad"]["min"]), abs(body["input_grad"]["max"])) > 1e-3
    save_screenshot(page, f"backward-runner-up-{page.width}px")


def png(colour: int, size=(64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_blank_image_says_no_digit_found(browser, probe, live_server, width):
    context, page = _open_page(browser, probe, width, 800)
    try:
        ready(page, live_server)
        page.set_input_files('[data-testid="upload-input"]', files=[
            {"name": "blank.png", "mimeType": "image/png", "buffer": png(255)}])
        page.wait_for_function(
            "() => document.querySelector('[data-testid=prediction]').dataset.blank === 'true'"
        )
        text = page.get_by_test_id("prediction").inner_text()
        assert text.startswith("No digit found") and "Prediction" not in text
        save_screenshot(page, f"no-digit-found-{width}px")
    finally:
        context.close()
    assert probe.console_errors == []


def test_clear_clears_the_result_and_the_pad_reads_back_without_a_warning(page, live_server):
    warnings = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    ready(page, live_server)
    pad = page.get_by_test_id("draw-pad")
    box = pad.bounding_box()
    with page.expect_response(lambda r: "/inspect" in r.url):
        page.mouse.move(box["x"] + 70, box["y"] + 30)
        page.mouse.down()
        for i in range(12):
            page.mouse.move(box["x"] + 70, box["y"] + 30 + 7 * i)
        page.mouse.up()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=prediction]').dataset.input === 'pixels'"
    )
    page.get_by_role("button", name="Clear").click()
    assert page.get_by_test_id("prediction").inner_text().startswith("No input yet")
    assert page.locator("#overview canvas").count() == 0
    assert page.locator("#probabilities li").count() == 0
    assert page.get_by_test_id("download-json").is_disabled()
    assert not [w for w in warnings if "willReadFrequently" in w], warnings


def test_the_logits_strip_is_labelled_with_class_names(page, live_server):
    ready(page, live_server)
    labels = page.get_by_test_id("class-labels").locator(".class-label").all_inner_texts()
    assert labels == [str(k) for k in range(10)]
    strip = page.get_by_test_id("fmap-11-0").bounding_box()
    first = page.get_by_test_id("class-labels").locator(".class-label").nth(0).bounding_box()
    last = page.get_by_test_id("class-labels").locator(".class-label").nth(9).bounding_box()
    # each label sits beside its own cell (10 cells down the strip)
    cell = strip["height"] / 10
    assert abs((first["y"] + first["height"] / 2) - (strip["y"] + cell / 2)) < cell / 2
    assert abs((last["y"] + last["height"] / 2) - (strip["y"] + 9.5 * cell)) < cell / 2


def test_max_pool_ties_in_flat_windows_are_marked_and_drawn_faint(page, live_server):
    ready(page, live_server)
    # pool1, channel 0, a corner: an all-zero window after the ReLU
    canvas = page.get_by_test_id("fmap-2-0")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + 0.5 * box["width"] / 14, box["y"] + 0.5 * box["height"] / 14)
    page.get_by_test_id("detail-pool").wait_for()
    assert "tie: first in row-major order" in page.get_by_test_id("detail-pool-tie").inner_text()
    mask = page.get_by_test_id("detail-pool-mask")
    ties, winners = int(mask.get_attribute("data-ties")), int(mask.get_attribute("data-winners"))
    assert 0 < ties < winners
    save_screenshot(page, "max-pool-ties")
