"""The colour model on the inspect page, in Chromium at 1280, 1024, 853 and 390 px: its gallery
of colour shapes, an RGB upload kept in colour, the conv detail with three input channels."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import no_sideways_scroll, save_screenshot, wait_for_text
from tests.browser.test_inspect_page import open_inspect_page, wait_for_input

pytestmark = pytest.mark.browser


def choose_colour_model(page):
    with page.expect_response(lambda r: r.url.endswith("/models/colour-cnn/inspect")):
        page.select_option("[data-testid=model-select]", "colour-cnn")
    page.wait_for_selector("[data-testid=sample-gallery][data-dataset=colour-shapes]")
    page.wait_for_selector("[data-testid=network-input-2]")


def click_map(page, testid: str, tries: int = 4) -> None:
    """Click a map and wait for its detail. The mouse's first move over a map writes the hover
    readout above the maps, which on a narrow page can wrap and move them: so hover first,
    then click where the map is now (a finger has no hover: a tap does not move them)."""
    for attempt in range(tries):
        canvas = page.locator(f"[data-testid={testid}]")
        canvas.scroll_into_view_if_needed()
        for _ in range(2):
            box = canvas.bounding_box()
            x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
            page.mouse.move(x, y)
            page.wait_for_timeout(200)
        page.mouse.click(x, y)
        try:
            page.wait_for_selector("[data-testid=detail-view] .detail-header", timeout=3000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


def test_the_colour_model_shows_its_gallery_and_three_input_channels(sized_page, live_server):
    page = sized_page
    open_inspect_page(page, live_server)
    choose_colour_model(page)
    wait_for_text(page, "#gallery-hint", "colour shapes")
    gallery = page.locator("[data-testid=sample-gallery] button")
    labels = {int(gallery.nth(i).get_attribute("data-label")) for i in range(9)}
    assert labels == set(range(9))  # the first nine samples are one of every class
    assert gallery.first.locator("img").get_attribute("alt") == "red square"
    with page.expect_response(lambda r: r.url.endswith("/models/colour-cnn/inspect")):
        gallery.nth(4).click()
    wait_for_input(page, "sample:4")
    body = httpx.post(f"{live_server}/api/v1/models/colour-cnn/inspect",
                      json={"sample": 4}, timeout=60).json()
    wait_for_text(page, "[data-testid=prediction]", body["classes"][body["prediction"]])
    captions = page.locator("#preprocessing figcaption").all_inner_texts()
    assert any(c.startswith("network input red") for c in captions)
    assert any(c.startswith("network input blue") for c in captions)
    # the first conv layer has 8 maps from three input channels
    page.wait_for_selector("[data-testid=fmap-0-7]")
    click_map(page, "fmap-0-3")
    for c in range(3):
        page.wait_for_selector(f"[data-testid=detail-conv-channel-sum-{c}]")
    page.wait_for_selector("[data-testid=detail-conv-bias]")
    assert no_sideways_scroll(page)
    save_screenshot(page, f"colour_model_{page.lesson_width}")


def test_an_rgb_upload_keeps_its_colour_on_the_page(page, live_server):
    open_inspect_page(page, live_server)
    choose_colour_model(page)
    picture = np.zeros((60, 90, 3), np.uint8)
    picture[..., 0] = 230  # red everywhere, a green disc in the middle
    rows, cols = np.indices((60, 90))
    disc = (rows - 30) ** 2 + (cols - 45) ** 2 < 18**2
    picture[disc] = (20, 200, 30)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    with page.expect_response(lambda r: r.url.endswith("/models/colour-cnn/inspect")) as sent:
        page.set_input_files("[data-testid=upload-input]", files=[{
            "name": "disc.png", "mimeType": "image/png", "buffer": buffer.getvalue()}])
    body = sent.value.json()
    assert [s["step"] for s in body["preprocessing"]] == ["colour", "cropped", "resized"]
    wait_for_input(page, "file:disc.png")
    red, green = page.eval_on_selector_all(
        "[data-testid=network-input], [data-testid=network-input-1]",
        "cs => cs.map(c => c.toDataURL())")
    assert red != green  # the channels differ: the picture kept its colour
    with page.expect_response(lambda r: r.url.endswith("/models/colour-cnn/inspect")):
        page.click("[data-testid=mode-backward]")
    page.wait_for_selector("[data-testid=saliency-2]")
    save_screenshot(page, "colour_model_upload_backward_1280")
