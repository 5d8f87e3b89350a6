"""'Open your model' on the inspect page, end to end in Chromium: an ONNX file built with
onnx.helper is uploaded through the page (progress, then the card), joins the picker and is
inspected forward and backward; a model with an unsupported operator shows the server's
message naming the op. Widths 1280, 1024, 853 and 390."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.browser.conftest import no_sideways_scroll, save_screenshot, wait_for_text
from tests.browser.test_inspect_page import open_inspect_page
from tests.importers.onnx_build import Net
from tests.importers.test_onnx_models import lenet, resnet

pytestmark = pytest.mark.browser


def onnx_bytes(builder, note: str) -> bytes:
    net, out = builder()
    model = net.model(out)
    model.producer_version = note  # other bytes, so another id than other tests' uploads
    return model.SerializeToString()


def open_band(page):
    page.click("[data-testid=open-model-toggle]")
    page.wait_for_selector("[data-testid=model-file]", state="attached")


def choose_file(page, data: bytes, name: str = "model.onnx"):
    page.set_input_files("[data-testid=model-file]", files=[{
        "name": name, "mimeType": "application/octet-stream", "buffer": data}])
    wait_for_text(page, "[data-testid=model-file-name]", name)


def test_an_uploaded_model_shows_its_card_and_is_inspected_forward_and_backward(
    sized_page, live_server
):
    page = sized_page
    open_inspect_page(page, live_server)
    open_band(page)
    choose_file(page, onnx_bytes(resnet, f"browser {page.lesson_width}"), "tiny-resnet.onnx")
    page.fill("[data-testid=model-name]", "tiny resnet")
    page.fill("[data-testid=model-classes]", "cat\ndog\nbird\nfish\nfrog")
    page.fill("[data-testid=model-mean]", "0.5, 0.5, 0.5")
    page.fill("[data-testid=model-std]", "0.25 0.25 0.25")
    with page.expect_response(lambda r: "/inspect" in r.url and r.request.method == "POST",
                              timeout=60_000) as first:
        page.click("[data-testid=model-open]")
    page.wait_for_selector("[data-testid=model-card]:not([hidden])")
    card_text = page.locator("[data-testid=model-card]").inner_text()
    assert "tiny resnet" in card_text and "3×16×16" in card_text
    assert "mean 0.5, 0.5, 0.5, std 0.25, 0.25, 0.25" in card_text
    assert page.locator("[data-testid=model-card-layers] tbody tr").count() >= 10
    model_id = page.locator("[data-testid=model-card-id]").inner_text()
    assert page.input_value("[data-testid=model-select]") == model_id
    assert page.locator("optgroup[label='Your models'] option").count() >= 1
    body = first.value.json()
    assert body["model"] == model_id and body["input"]["shape"] == [3, 16, 16]
    assert body["input_spec"]["mean"] == [0.5, 0.5, 0.5]
    page.wait_for_selector("[data-testid=sample-gallery][data-dataset=colour-shapes]")
    wait_for_text(page, "[data-testid=prediction]", "Prediction:")
    assert page.locator("[data-testid=probabilities]").inner_text().count("frog") >= 1
    with page.expect_response(lambda r: f"/models/{model_id}/inspect" in r.url):
        page.click("[data-testid=mode-backward]")
    page.wait_for_selector("[data-testid=saliency-2]")
    assert no_sideways_scroll(page)
    save_screenshot(page, f"open_model_{page.lesson_width}")
    listed = httpx.get(f"{live_server}/api/v1/models").json()["models"]
    assert any(m["id"] == model_id and m["source"] == "onnx" for m in listed)


def test_an_uploaded_digit_model_takes_the_digit_gallery_and_drawings(page, live_server):
    open_inspect_page(page, live_server)
    open_band(page)
    choose_file(page, onnx_bytes(lenet, "browser digits"), "lenet.onnx")
    with page.expect_response(lambda r: "/inspect" in r.url and r.request.method == "POST",
                              timeout=60_000) as first:
        page.click("[data-testid=model-open]")
    body = first.value.json()
    assert body["input"]["shape"] == [1, 28, 28] and body["input_spec"]["kind"] == "digit"
    page.wait_for_selector("[data-testid=sample-gallery][data-dataset=digits]")
    wait_for_text(page, "[data-testid=prediction]", "Prediction:")
    save_screenshot(page, "open_model_digits_1280")


def test_an_unsupported_operator_is_named_in_the_error(page, live_server, probe):
    net = Net((1, 2, 6, 6), opset=13)
    y = net.op("Relu", [net.conv("x", 2, 3, 3)], name="relu_a")
    y = net.op("Resize", [y, "", net.const(np.array([1, 1, 2, 2], np.float32))], name="up1")
    open_inspect_page(page, live_server)
    open_band(page)
    choose_file(page, net.model(y).SerializeToString(), "upsampler.onnx")
    page.click("[data-testid=model-open]")
    page.wait_for_selector("[data-testid=model-error]:not([hidden])")
    text = page.locator("[data-testid=model-error]").inner_text()
    assert "Resize" in text and "up1" in text and "unsupported_operator" in text
    assert page.locator("[data-testid=model-card]").is_hidden()
    assert page.input_value("[data-testid=model-select]") == "lenet5"
    save_screenshot(page, "open_model_unsupported_1280")
    # Chromium itself logs every 4xx answer; that one line is expected here, nothing else is.
    browser_line = "Failed to load resource: the server responded with a status of 422"
    assert sum(e.startswith(browser_line) for e in probe.console_errors) == 1
    probe.console_errors[:] = [e for e in probe.console_errors if not e.startswith(browser_line)]


def test_a_bad_mean_is_explained_before_anything_is_sent(page, live_server):
    open_inspect_page(page, live_server)
    open_band(page)
    choose_file(page, onnx_bytes(lenet, "never sent"))
    page.fill("[data-testid=model-mean]", "0.1, 0.2")
    sent = []
    page.on("request", lambda r: r.url.endswith("/api/v1/models") and r.method == "POST"
            and sent.append(r.url))
    page.click("[data-testid=model-open]")
    wait_for_text(page, "[data-testid=model-error]", "mean: give 1 value")
    assert sent == []
