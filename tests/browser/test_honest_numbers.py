"""Every "✓ matches" on the page is true, and a real mismatch is shown as one.

The inspect response is intercepted (Playwright's page.route) and one traced number is
perturbed: the page must say "✗ differs". Unperturbed, the same badges say "✓ matches".
The page's loss is float64 log-sum-exp from the trace's logits, held to 1e-9 relative.
"""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest

from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser

INSPECT = re.compile(r"/api/v1/models/[^/]+/inspect$")


def lse_loss(logits: list[float], target: int) -> float:
    """-log softmax(z)[target] in float64, computed independently of the page."""
    top = int(np.argmax(logits))
    shifted = [z - logits[top] for z in logits]
    rest = math.fsum(math.exp(s) for j, s in enumerate(shifted) if j != top)
    return math.log1p(rest) - shifted[target]


def perturbing(page, change) -> None:
    """Answer every inspect with the server's JSON after change(body) edited it."""

    def handler(route):
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, body=json.dumps(body),
                      headers={**response.headers, "content-type": "application/json",
                               "content-encoding": "identity"})

    page.route(INSPECT, handler)


def tensor(t: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(t["data"]), dtype="<f4").reshape(t["shape"]).copy()


def put(t: dict, values: np.ndarray) -> None:
    t["data"] = base64.b64encode(values.astype("<f4").tobytes()).decode()
    t["min"], t["max"] = float(values.min()), float(values.max())


def strongest_conv1_unit(body: dict) -> tuple[int, int, int]:
    out = tensor(body["layers"][0]["output"])
    return tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(out)), out.shape))


def open_page(page, live_server) -> dict:
    with page.expect_response(lambda r: bool(INSPECT.search(r.url)), timeout=60_000) as first:
        page.goto(live_server + "/")
    page.wait_for_selector("[data-testid=prediction][data-class]")
    page.wait_for_selector('#overview-band[aria-busy="false"] [data-testid="fmap-0-0"]')
    return first.value.json()


def open_conv_unit(page, c: int, y: int, x: int) -> str:
    canvas = page.get_by_test_id(f"fmap-0-{c}")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(
        box["x"] + (x + 0.5) * box["width"] / 28, box["y"] + (y + 0.5) * box["height"] / 28
    )
    page.locator(f'.detail[data-layer="0"][data-channel="{c}"][data-y="{y}"][data-x="{x}"]').wait_for()
    return page.locator('[data-testid="detail-conv"] .conv-total .match').inner_text()


def open_softmax(page, body: dict) -> tuple[str, str]:
    """The softmax panel of the loss target: (loss badge, cross-entropy badge)."""
    page.locator(f".prob-row[data-class='{body['target']}']").click()
    page.get_by_test_id("detail-softmax").wait_for()
    loss_line = page.get_by_test_id("detail-softmax-loss").locator("xpath=..")
    info_line = page.get_by_test_id("detail-softmax-information")
    return loss_line.locator(".match").inner_text(), info_line.locator(".match").first.inner_text()


def test_unperturbed_trace_matches_and_the_loss_agrees_with_float64_log_sum_exp(page, live_server):
    # The trace's loss and cross-entropy are set to a float64 log-sum-exp computed here, in
    # Python, from the trace's own logits: the page's value must agree to 1e-9 relative.
    def exact_loss(body):
        loss = lse_loss(body["logits"], body["target"])
        body["loss"] = loss
        body["information"]["cross_entropy"] = loss
        body["information"]["kl_divergence"] = loss

    perturbing(page, exact_loss)
    body = open_page(page, live_server)
    assert open_conv_unit(page, *strongest_conv1_unit(body)) == "✓ matches"
    loss_badge, info_badge = open_softmax(page, body)
    assert loss_badge == "✓ matches"
    assert info_badge == "✓ matches"
    shown = float(page.get_by_test_id("detail-softmax-neglogp").get_attribute("data-value"))
    assert shown == pytest.approx(body["loss"], rel=1e-9, abs=0)
    save_screenshot(page, "honest_numbers_matches")


def test_server_loss_badge_tells_the_truth_about_the_trace(page, live_server):
    # Whatever the server computes, the badge agrees with an independent float64 check.
    body = open_page(page, live_server)
    exact = lse_loss(body["logits"], body["target"])
    agree = abs(exact - body["loss"]) <= 1e-9 * abs(exact) + 4 * 2**-52
    loss_badge, _ = open_softmax(page, body)
    assert loss_badge.startswith("✓ matches" if agree else "✗ differs"), (exact, body["loss"])


def test_a_loss_perturbed_by_1e_3_relative_is_shown_as_a_difference(page, live_server):
    def nudge(body):
        body["loss"] = lse_loss(body["logits"], body["target"]) * (1 + 1e-3)

    perturbing(page, nudge)
    body = open_page(page, live_server)
    loss_badge, _ = open_softmax(page, body)
    assert loss_badge.startswith("✗ differs by 0.0999"), loss_badge
    badge = page.get_by_test_id("detail-softmax-loss").locator("xpath=..").locator(".match")
    assert badge.is_visible()
    save_screenshot(page, "honest_numbers_loss_differs")


def test_one_perturbed_conv_output_is_shown_as_a_difference(page, live_server):
    where = {}

    def nudge(body):
        out = tensor(body["layers"][0]["output"])
        unit = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(out)), out.shape))
        out[unit] *= 1 + 1e-3
        put(body["layers"][0]["output"], out)
        where["unit"] = unit

    perturbing(page, nudge)
    open_page(page, live_server)
    badge = open_conv_unit(page, *where["unit"])
    assert badge.startswith("✗ differs by 0.0999"), badge
    save_screenshot(page, "honest_numbers_conv_differs")


def test_a_confident_loss_is_printed_as_a_small_number_not_zero(page, live_server):
    body = open_page(page, live_server)
    assert body["probabilities"][body["prediction"]] > 0.999
    text = page.locator("#probabilities .loss").inner_text()
    value = text.rsplit("=", 1)[1].strip()
    assert value != "0" and float(value) > 0, text
    assert "e-" in value, text
