"""An ONNX model opened through "Open your model" is explained by the attribution panel:
saliency and Grad-CAM draw a heatmap, and what the page shows (heatmap, logit, raw map's
shape, Grad-CAM's layer and channel weights) is what POST /api/v1/models/{id}/attribution
answers for the same input. Widths 1280 and 390; screenshots
tests/artifacts/screenshots/open_model_attribution_*.png."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from app.services.encoding import decode_tensor
from tests.browser.conftest import no_sideways_scroll, save_screenshot, wait_for_text
from tests.browser.test_attribution_panels import _canvas_has_colour
from tests.browser.test_inspect_page import open_inspect_page
from tests.browser.test_open_model import choose_file, onnx_bytes, open_band
from tests.importers.test_onnx_models import lenet

pytestmark = pytest.mark.browser


def js_fmt(x: float) -> str:
    """static/js/numbers.js fmt for 1e-3 <= |x| < 1e6: String(Number(x.toPrecision(4)))."""
    assert 1e-3 <= abs(x) < 1e6, x
    value = float(f"{x:.4g}")
    return str(int(value)) if value.is_integer() else repr(value)


def _open_uploaded(page, live_server: str, note: str) -> str:
    open_inspect_page(page, live_server)
    open_band(page)
    choose_file(page, onnx_bytes(lenet, note), "lenet.onnx")
    with page.expect_response(lambda r: "/inspect" in r.url and r.request.method == "POST",
                              timeout=60_000):
        page.click("[data-testid=model-open]")
    page.wait_for_selector("[data-testid=model-card]:not([hidden])")
    wait_for_text(page, "[data-testid=prediction]", "Prediction:")
    return page.locator("[data-testid=model-card-id]").inner_text()


def _explain(page, live_server: str, model_id: str, method: str) -> dict:
    """Run the panel's method; the page's answer, checked against the API's own answer for
    the same request body."""
    page.select_option("[data-testid=attr-method]", method)
    with page.expect_response(lambda r: r.url.endswith("/attribution"),
                              timeout=60_000) as answer:
        page.click("[data-testid=attr-run]")
    response = answer.value
    assert response.url.endswith(f"/api/v1/models/{model_id}/attribution"), response.url
    shown = response.json()
    sent = json.loads(response.request.post_data)
    assert sent["method"] == method
    direct = httpx.post(f"{live_server}/api/v1/models/{model_id}/attribution", json=sent,
                        timeout=60)
    assert direct.status_code == 200, direct.text
    api = direct.json()
    assert (api["target"], api["prediction"], api["layer"]) == (
        shown["target"], shown["prediction"], shown["layer"])
    assert api["logit"] == pytest.approx(shown["logit"], rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(decode_tensor(shown["heatmap"]), decode_tensor(api["heatmap"]),
                               rtol=1e-6, atol=1e-9 * np.abs(decode_tensor(api["heatmap"])).max())
    page.wait_for_selector("[data-testid=attr-numbers] p")
    numbers = page.inner_text("[data-testid=attr-numbers]")
    assert f"logit y_t = {js_fmt(api['logit'])}" in numbers, numbers
    assert f"Raw map: {'×'.join(map(str, api['heatmap']['shape']))}" in numbers, numbers
    assert f"the model predicts {api['classes'][api['prediction']]}" in numbers, numbers
    assert _canvas_has_colour(page, "attr-heatmap")
    return api


def _saliency_and_grad_cam(page, live_server: str, width: int) -> None:
    model_id = _open_uploaded(page, live_server, f"attribution {width}")
    page.locator("[data-testid=attribution-panel]").scroll_into_view_if_needed()
    saliency = _explain(page, live_server, model_id, "saliency")
    assert saliency["heatmap_of"] == "input" and saliency["heatmap"]["shape"] == [1, 28, 28]
    legend = page.inner_text("[data-testid=attr-legend]")
    bound = float(np.abs(decode_tensor(saliency["heatmap"])).max())
    assert "∂y_t/∂x" in legend and js_fmt(bound) in legend, legend
    save_screenshot(page, f"open_model_attribution_saliency_{width}")

    cam = _explain(page, live_server, model_id, "grad_cam")
    h, w = cam["resolution"]
    wait_for_text(page, "[data-testid=attr-legend]", f"Grad-CAM at {cam['layer']} ({h}×{w})")
    best = int(np.argmax(cam["weights"]))
    assert f"c{best} {js_fmt(cam['weights'][best])}" in page.inner_text(
        "[data-testid=attr-numbers]")
    assert page.input_value("[data-testid=attr-layer]") == cam["layer"]
    assert no_sideways_scroll(page)
    save_screenshot(page, f"open_model_attribution_gradcam_{width}")


def test_an_uploaded_onnx_model_is_explained_by_saliency_and_grad_cam(page, live_server):
    _saliency_and_grad_cam(page, live_server, 1280)


def test_an_uploaded_onnx_model_is_explained_on_a_phone(phone_page, live_server):
    _saliency_and_grad_cam(phone_page, live_server, 390)
