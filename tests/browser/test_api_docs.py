"""/docs and /redoc render in a real browser with no request leaving the machine."""

from __future__ import annotations

import pytest

from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser


def test_swagger_docs_render_offline_with_the_inspect_endpoint(page, live_server):
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    labels = page.locator(".opblock-summary-path").all_inner_texts()
    paths = [label.replace("\u200b", "") for label in labels]
    assert "/api/v1/models/{model_id}/inspect" in paths
    assert "/api/v1/samples" in paths
    page.locator(".opblock-post .opblock-summary").first.click()
    page.wait_for_selector(".opblock.is-open .opblock-section-request-body", timeout=10_000)
    types = page.locator(".opblock.is-open .opblock-section-request-body select option")
    assert {"multipart/form-data", "application/json"} <= set(types.all_inner_texts())
    save_screenshot(page, "api_docs_swagger_inspect_open")


def test_redoc_renders_offline(page, live_server):
    page.goto(f"{live_server}/redoc")
    heading = page.get_by_role("heading", name="ConvScope API")
    heading.first.wait_for(timeout=30_000)
    page.get_by_text("API docs by Redocly").wait_for(state="attached", timeout=10_000)
    save_screenshot(page, "api_docs_redoc")
