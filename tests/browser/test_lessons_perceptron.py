"""/learn and the perceptron lesson in a real browser, at 1280, 1024, 853 and 390 px."""

from __future__ import annotations

import pytest

from app.api.lessons_pages import learning_path
from tests.browser.conftest import no_sideways_scroll, save_screenshot

pytestmark = pytest.mark.browser

def wait_for_readout(page, prefix):
    page.wait_for_function(
        "p => document.querySelector('#pc-readout').textContent.startsWith(p)", arg=prefix
    )


def readout(page):
    return page.locator("#pc-readout").inner_text()


def wait_for_step(page, step):
    page.wait_for_function(
        "s => { const m = document.querySelector('#pc-readout').textContent"
        ".match(/^step (\\d+)/); return m && Number(m[1]) >= s; }",
        arg=step, timeout=30_000,
    )


def test_learn_lists_the_lessons_in_order_and_the_nav_links_it(page, live_server):
    page.goto(live_server + "/learn")
    links = page.locator(".lesson-list a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == [item["href"] for item in learning_path()]
    lessons = [h for h in hrefs if h.startswith("/learn/")]
    assert lessons[:3] == ["/learn/perceptron", "/learn/activations", "/learn/mlp-vs-cnn"]
    assert page.locator("nav a[href='/learn']").get_attribute("aria-current") == "page"
    save_screenshot(page, "lessons_learn_1280")


def test_xor_mlp_trains_live_to_100_percent_with_hidden_lines(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/learn/perceptron")
    wait_for_readout(page, "step 0")
    page.select_option("#pc-speed", "20")
    page.click("#pc-play")
    page.wait_for_function(
        "() => document.querySelector('#pc-readout').textContent.includes('accuracy 100.0%')",
        timeout=60_000,
    )
    page.click("#pc-play")  # pause
    assert page.locator("#pc-play").get_attribute("aria-pressed") == "false"
    assert "hidden space" in page.locator("#pc-hidden-caption").inner_text()
    assert page.locator("#pc-step-table tr").count() >= 4
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_perceptron_xor_mlp_{page.lesson_width}")


def test_xor_perceptron_never_passes_75_percent(page, live_server):
    page.goto(live_server + "/learn/perceptron")
    wait_for_readout(page, "step 0")
    page.select_option("#pc-model", "perceptron")
    wait_for_readout(page, "step 0")
    page.select_option("#pc-speed", "20")
    page.click("#pc-play")
    wait_for_step(page, 200)
    page.click("#pc-play")
    text = readout(page)
    best = float(text.split("best so far ")[1].split("%")[0])
    assert best <= 75.0, text
    assert "point visited" in page.locator("#pc-step-table").inner_text()
    # any earlier step's numbers: step 1 visited point 0
    page.eval_on_selector(
        "#pc-history", "el => { el.value = '1'; el.dispatchEvent(new Event('input')); }"
    )
    table = page.locator("#pc-step-table").inner_text()
    assert "1 (epoch 0)" in table and "#0 (" in table
    assert page.locator("#pc-history-label").inner_text().startswith("1 of ")
    save_screenshot(page, "lessons_perceptron_xor_rule_1280")


def test_dragging_a_point_moves_it_and_the_next_step_uses_it(page, live_server):
    page.goto(live_server + "/learn/perceptron")
    wait_for_readout(page, "step 0")
    page.select_option("#pc-dataset", "and")
    page.wait_for_load_state("networkidle")
    wait_for_readout(page, "step 0")
    box = page.locator("#pc-plane").bounding_box()
    # the AND dataset's first point sits near (-1, -1); find it through the page's own scale
    before = page.evaluate(
        "() => fetch('/api/v1/lessons/perceptron/datasets/and?n=40&seed=0').then(r => r.json())"
    )
    p0 = before["points"][0]
    scale = box["width"] / 420
    to_px = lambda x, y: (box["x"] + (44 + (x + 2.5) / 5 * 366) * scale,  # noqa: E731
                          box["y"] + (10 + (2.5 - y) / 5 * 366) * scale)
    sx, sy = to_px(p0["x"], p0["y"])
    tx, ty = to_px(2.0, 2.0)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(tx, ty, steps=5)
    page.mouse.up()
    page.wait_for_load_state("networkidle")
    with page.expect_request(lambda r: r.url.endswith("/perceptron/train")) as sent:
        page.click("#pc-step")
    moved = sent.value.post_data_json["points"][0]
    assert abs(moved["x"] - 2.0) < 0.05 and abs(moved["y"] - 2.0) < 0.05, moved
    assert moved["label"] == p0["label"]
    wait_for_readout(page, "step 1")
    assert "of 40 points wrong" in readout(page)
    save_screenshot(page, "lessons_perceptron_drag_1280")


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@pytest.mark.parametrize("path,selector,text", [
    ("/learn", ".lesson-list", "The perceptron and XOR"),
    ("/learn/perceptron", "#pc-readout", "step 0"),
    ("/learn/fc-as-conv", "#fc-map-readout", "outputs over"),
    ("/learn/conv-matrix", "#cm-backward", "and the transposed convolution:"),
    ("/learn/mlp-vs-cnn", "#mv-side-readout", "times as many weights"),
    ("/learn/equivariance", "#eq-curve-readout", "of 9 shifts"),
    ("/learn/colour", "#co-accuracy", "Held-out accuracy"),
])
def test_lessons_run_under_the_content_security_policy(page, live_server, path, selector, text):
    """The server's CSP, added to the HTML response here: a violation (an inline script, an
    eval, a blocked image) is a console error, which the page fixture fails on. (Waits use
    locators: Playwright's wait_for_function evaluates strings, which the CSP blocks.)"""
    from playwright.sync_api import expect

    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response,
                      headers={**response.headers, "content-security-policy": CSP})

    page.route("**" + path, with_csp)
    page.goto(live_server + path)
    expect(page.locator(selector)).to_contain_text(text, timeout=30_000)
    if path == "/learn/fc-as-conv":
        expect(page.locator("#fc-equation")).to_contain_text("as a convolution")
