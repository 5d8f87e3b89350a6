"""/docs and /redoc render in a real browser with no request leaving the machine, under the
Content-Security-Policy the server sends on HTML pages (no inline script, no eval), and
Swagger's "Try it out" works for inspect with what it pre-fills."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser

# The policy the server sends on every HTML page; set here on the docs pages themselves so
# the test holds whether or not the server's middleware is there.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DIGIT = Path(__file__).resolve().parents[2] / "examples" / "digit-7.png"


def _with_csp(page) -> None:
    def add_csp(route):
        response = route.fetch()
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": CSP},
        )

    page.route(re.compile(r"^http://127\.0\.0\.1:\d+/(docs|redoc)$"), add_csp)


def test_swagger_docs_render_offline_under_the_csp_with_the_inspect_endpoint(page, live_server):
    _with_csp(page)
    response = page.goto(f"{live_server}/docs")
    assert response.headers["content-security-policy"] == CSP
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    labels = page.locator(".opblock-summary-path").all_inner_texts()
    paths = [label.replace("\u200b", "") for label in labels]
    assert "/api/v1/models/{model_id}/inspect" in paths
    assert "/api/v1/samples" in paths
    page.locator("#operations-inspect-inspect .opblock-summary").click()
    page.wait_for_selector(".opblock.is-open .opblock-section-request-body", timeout=10_000)
    types = page.locator(".opblock.is-open .opblock-section-request-body select option")
    assert {"multipart/form-data", "application/json"} <= set(types.all_inner_texts())
    save_screenshot(page, "api_docs_swagger_inspect_open")


def test_swagger_try_it_out_inspects_an_upload_with_the_prefilled_fields(page, live_server):
    _with_csp(page)
    page.goto(f"{live_server}/docs")
    op = page.locator("#operations-inspect-inspect")
    op.locator(".opblock-summary").click()
    op.locator("button.try-out__btn").click()
    op.locator("tr[data-param-name='model_id'] input").fill("lenet5")
    op.locator("input[type=file]").set_input_files(str(DIGIT))
    op.locator("button.execute").click()
    status = op.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20_000)
    assert status.inner_text().strip() == "200", op.locator(".live-responses-table").inner_text()
    save_screenshot(page, "api_docs_swagger_try_it_out")


def test_swagger_try_it_out_inspects_the_prefilled_json_example(page, live_server):
    _with_csp(page)
    page.goto(f"{live_server}/docs")
    op = page.locator("#operations-inspect-inspect")
    op.locator(".opblock-summary").click()
    op.locator(".opblock-section-request-body select.content-type").select_option(
        "application/json")
    op.locator("button.try-out__btn").click()
    op.locator("tr[data-param-name='model_id'] input").fill("lenet5")
    body = op.locator(".opblock-section-request-body textarea").input_value()
    assert '"sample": 7' in body, body
    op.locator("button.execute").click()
    status = op.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20_000)
    assert status.inner_text().strip() == "200", op.locator(".live-responses-table").inner_text()


def test_redoc_renders_offline_under_the_csp_and_links_back(page, live_server):
    _with_csp(page)
    page.goto(f"{live_server}/redoc")
    heading = page.get_by_role("heading", name="ConvScope API")
    heading.first.wait_for(timeout=30_000)
    page.get_by_text("API docs by Redocly").wait_for(state="attached", timeout=10_000)
    save_screenshot(page, "api_docs_redoc")
    page.get_by_role("link", name=re.compile("Back to the ConvScope app")).click()
    page.wait_for_url(f"{live_server}/")
