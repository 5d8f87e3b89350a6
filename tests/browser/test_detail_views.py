"""The detail views on the inspect page: the numbers they show add up to the API's trace.

Each test picks a gallery digit on the page, clicks a unit of a feature map, reads the
full-precision numbers the view puts in data-value attributes, and checks them against the
trace the API returns for the same digit (fetched here with httpx, decoded with the API's own
decoder): sum of products + bias = the conv unit's activation, the pooling winner = pool_indices,
activation in/out, softmax probabilities and loss, and the delta rule of the backward pass.
"""

from __future__ import annotations

import json
import math

import httpx
import numpy as np
import pytest

from app.services.encoding import decode_tensor
from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser

MODEL = "lenet5"
SAMPLE = 3
ALL_PARTS = "activations,gradients,pool_indices,pool_mask,params,param_grads"
REL = 1e-4


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(b))


def fetch_trace(live_server, model: str, runner_up: bool = False) -> dict:
    """The API's trace of gallery digit SAMPLE, every tensor decoded. Its target is the
    prediction (what the page shows forward), or with runner_up the second most probable class
    (what the page shows backward by default)."""
    body = {"sample": SAMPLE, "include": ALL_PARTS}
    if runner_up:
        forward = httpx.post(f"{live_server}/api/v1/models/{model}/inspect", json=body, timeout=60)
        body["target"] = int(np.argsort(forward.json()["probabilities"])[-2])
    response = httpx.post(
        f"{live_server}/api/v1/models/{model}/inspect",
        json=body,
        timeout=60,
    )
    assert response.status_code == 200, response.text

    def decode(value):
        if isinstance(value, dict) and "dtype" in value and "shape" in value:
            return decode_tensor(value).astype(np.float64)
        if isinstance(value, dict):
            return {k: decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return decode(response.json())


@pytest.fixture(scope="module")
def trace(live_server):
    return fetch_trace(live_server, MODEL)


@pytest.fixture(scope="module")
def backward_trace(live_server):
    """The trace the page's backward view shows by default: the runner-up as loss target."""
    return fetch_trace(live_server, MODEL, runner_up=True)


@pytest.fixture(scope="module")
def classic_backward_trace(live_server):
    """lenet5-classic (tanh activations, average pooling), backward: the runner-up target."""
    return fetch_trace(live_server, "lenet5-classic", runner_up=True)


def is_sample(request) -> bool:
    try:
        return json.loads(request.post_data or "{}").get("sample") == SAMPLE
    except ValueError:
        return False


def open_sample(page, live_server, mode: str = "forward", model: str = MODEL):
    page.goto(live_server)
    drawn = page.locator('#overview-band[aria-busy="false"] [data-testid="fmap-0-0"]')
    # Let the page's own first inspect (of the first sample) finish, so that it cannot redraw
    # the maps after ours.
    drawn.wait_for()
    if model != MODEL:
        with page.expect_response(lambda r: f"/models/{model}/inspect" in r.url):
            page.get_by_test_id("model-select").select_option(model)
    # The page inspects the first sample on its own; wait for OUR digit's trace to be drawn.
    with page.expect_response(
        lambda r: f"/models/{model}/inspect" in r.url and is_sample(r.request)
    ):
        page.locator(f'[data-testid="sample-gallery"] [data-sample-id="{SAMPLE}"]').click()
    drawn.wait_for()
    if mode == "backward":
        # The backward side asks for more parts (pool masks, weight gradients): a new request.
        with page.expect_response(lambda r: "/inspect" in r.url):
            page.get_by_test_id("mode-backward").click()
        page.locator('#overview-band[data-mode="backward"][aria-busy="false"]').wait_for()


def click_unit(page, layer: int, channel: int, y: int, x: int, h: int, w: int):
    """Click the centre of cell (y, x) of map fmap-{layer}-{channel} (h x w cells)."""
    canvas = page.get_by_test_id(f"fmap-{layer}-{channel}")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # Viewport coordinates: the page maps a click through getBoundingClientRect (border box).
    page.mouse.click(
        box["x"] + (x + 0.5) * box["width"] / w, box["y"] + (y + 0.5) * box["height"] / h
    )
    selector = (
        f'[data-testid="detail-view"] .detail[data-layer="{layer}"][data-channel="{channel}"]'
        f'[data-y="{y}"][data-x="{x}"]'
    )
    page.locator(selector).wait_for()


def clipped_numbers(page) -> list[str]:
    """Number cells whose text does not fit their cell (a misread waiting to happen)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="detail-view"] td')]
            .filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.textContent)"""
    )


def values(page, selector: str) -> list[float]:
    return page.eval_on_selector_all(selector, "els => els.map(e => Number(e.dataset.value))")


def value(page, testid: str) -> float:
    return float(page.get_by_test_id(testid).get_attribute("data-value"))


def test_conv_unit_products_plus_bias_equal_the_traced_activation(page, live_server, trace):
    open_sample(page, live_server)
    for layer, channel, y, x in [(0, 2, 9, 13), (3, 5, 4, 4)]:
        out = trace["layers"][layer]["output"]
        _, h, w = out.shape
        click_unit(page, layer, channel, y, x, h, w)
        products = values(page, '[data-testid="detail-conv-products"] td.product')
        weight = trace["layers"][layer]["params"]["weight"]
        assert len(products) == weight.shape[1] * weight.shape[2] * weight.shape[3]
        bias = value(page, "detail-conv-bias")
        assert close(bias, trace["layers"][layer]["params"]["bias"][channel])
        expected = out[channel, y, x]
        assert close(math.fsum(products) + bias, expected)
        assert close(value(page, "detail-conv-sum"), expected)
        assert close(value(page, "detail-conv-output"), expected)
        assert clipped_numbers(page) == []
    save_screenshot(page, "detail_conv_forward")


def test_conv_window_steps_and_scrubs_across_the_map(page, live_server, trace):
    open_sample(page, live_server)
    out = trace["layers"][0]["output"]
    _, h, w = out.shape
    click_unit(page, 0, 1, 5, w - 1, h, w)
    page.get_by_test_id("detail-conv-next").click()
    detail = page.locator('[data-testid="detail-view"] .detail[data-y="6"][data-x="0"]')
    detail.wait_for()
    assert close(value(page, "detail-conv-sum"), out[1, 6, 0])
    page.get_by_test_id("detail-conv-prev").click()
    page.locator(f'[data-testid="detail-view"] .detail[data-y="5"][data-x="{w - 1}"]').wait_for()
    page.get_by_test_id("detail-conv-scrub").fill(str(10 * w + 3))
    page.locator('[data-testid="detail-view"] .detail[data-y="10"][data-x="3"]').wait_for()
    assert close(value(page, "detail-conv-sum"), out[1, 10, 3])
    # Play moves the window on its own; pause stops it.
    page.get_by_test_id("detail-conv-play").click()
    moved = page.locator('[data-testid="detail-view"] .detail[data-y="10"][data-x="5"]')
    moved.wait_for(timeout=5000)
    page.get_by_test_id("detail-conv-play").click()
    stopped = page.locator('[data-testid="detail-view"] .detail').get_attribute("data-x")
    page.wait_for_timeout(1600)
    assert page.locator('[data-testid="detail-view"] .detail').get_attribute("data-x") == stopped
    x_now = int(stopped)
    assert close(value(page, "detail-conv-sum"), out[1, 10, x_now])


def test_maxpool_winner_is_the_traced_pool_index(page, live_server, trace):
    open_sample(page, live_server)
    layer = 2
    pool = trace["layers"][layer]
    _, h, w = pool["output"].shape
    in_w = pool["input_shape"][2]
    for channel, y, x in [(1, 3, 4), (4, 7, 8)]:
        click_unit(page, layer, channel, y, x, h, w)
        winner = page.get_by_test_id("detail-pool-winner")
        index = int(pool["pool_indices"][channel, y, x])
        assert int(winner.get_attribute("data-index")) == index
        row, col = int(winner.get_attribute("data-row")), int(winner.get_attribute("data-col"))
        assert (row, col) == divmod(index, in_w)
        relu_out = trace["layers"][layer - 1]["output"]
        assert close(float(winner.get_attribute("data-value")), relu_out[channel].ravel()[index])
        assert close(value(page, "detail-pool-output"), pool["output"][channel, y, x])
    save_screenshot(page, "detail_pool_forward")


def test_activation_panel_in_and_out_are_the_traced_values(page, live_server, trace):
    open_sample(page, live_server)
    layer = 1
    _, h, w = trace["layers"][layer]["output"].shape
    conv = trace["layers"][0]["output"]
    # A unit with a positive input and one with a negative input (ReLU passes / blocks).
    positive = np.unravel_index(np.argmax(conv[0]), conv[0].shape)
    negative = np.unravel_index(np.argmin(conv[0]), conv[0].shape)
    for y, x in (positive, negative):
        click_unit(page, layer, 0, int(y), int(x), h, w)
        assert close(value(page, "detail-activation-in"), conv[0, y, x])
        out = trace["layers"][layer]["output"][0, y, x]
        assert close(value(page, "detail-activation-out"), out)
        assert value(page, "detail-activation-derivative") == (1.0 if conv[0, y, x] > 0 else 0.0)


def test_softmax_probabilities_sum_to_one_and_loss_is_minus_log_p_target(page, live_server, trace):
    open_sample(page, live_server)
    last = len(trace["layers"]) - 1
    page.get_by_test_id(f"fmap-{last}-0").click()
    page.get_by_test_id("detail-softmax").wait_for()
    probabilities = values(page, '[data-testid="detail-softmax-probs"] .num')
    assert len(probabilities) == len(trace["classes"])
    assert abs(math.fsum(probabilities) - 1) < 1e-5
    assert abs(value(page, "detail-softmax-sum") - 1) < 1e-5
    np.testing.assert_allclose(probabilities, trace["probabilities"], rtol=1e-5, atol=1e-7)
    target = trace["target"]
    loss = value(page, "detail-softmax-loss")
    assert close(loss, trace["loss"])
    assert close(loss, -math.log(probabilities[target]))
    assert close(value(page, "detail-softmax-neglogp"), trace["loss"])
    info = trace["information"]
    assert close(value(page, "detail-softmax-cross-entropy"), info["cross_entropy"])
    assert close(value(page, "detail-softmax-kl"), info["kl_divergence"])
    # dL/dlogits = p - y, as the page shows it, is the last layer's traced delta.
    dlogits = values(page, '[data-testid="detail-softmax-dlogits"] .num')
    np.testing.assert_allclose(dlogits, trace["layers"][last]["grad_output"], atol=1e-6)
    save_screenshot(page, "detail_softmax")


def test_backward_conv_terms_sum_to_the_input_pixels_delta(page, live_server, backward_trace):
    trace = backward_trace
    open_sample(page, live_server, mode="backward")
    layer = 3
    _, h, w = trace["layers"][layer]["output"].shape
    click_unit(page, layer, 5, 4, 4, h, w)
    body = page.locator(".conv-backward-body")
    c, iy, ix = (int(v) for v in body.get_attribute("data-pixel").split(","))
    expected = trace["layers"][layer - 1]["grad_output"][c, iy, ix]
    terms = values(page, '[data-testid="detail-conv-backward-terms"] .num.term')
    # 16 output channels x the 25 windows a pixel in the middle of pool1 falls into.
    assert len(terms) == 16 * 25
    assert close(math.fsum(terms), expected, rel=1e-3)
    assert close(value(page, "detail-conv-backward-sum"), expected, rel=1e-3)
    assert close(value(page, "detail-conv-backward-expected"), expected)
    # Picking another pixel (a corner, touched by a single window per channel) re-derives it.
    pick = page.get_by_test_id("detail-conv-backward-pick")
    pick.click(position={"x": 1, "y": 1})
    page.locator('.conv-backward-body[data-pixel="0,0,0"]').wait_for()
    terms = values(page, '[data-testid="detail-conv-backward-terms"] .num.term')
    assert len(terms) == 16
    corner = trace["layers"][layer - 1]["grad_output"][0, 0, 0]
    assert close(value(page, "detail-conv-backward-sum"), corner, rel=1e-3)
    # The keyboard moves the pixel too (focus stays on the map).
    page.get_by_test_id("detail-conv-backward-pick").press("ArrowRight")
    page.locator('.conv-backward-body[data-pixel="0,0,1"]').wait_for()
    page.keyboard.press("ArrowDown")
    page.locator('.conv-backward-body[data-pixel="0,1,1"]').wait_for()
    terms = values(page, '[data-testid="detail-conv-backward-terms"] .num.term')
    assert len(terms) == 16 * 4
    inner = trace["layers"][layer - 1]["grad_output"][0, 1, 1]
    assert close(value(page, "detail-conv-backward-sum"), inner, rel=1e-3)
    save_screenshot(page, "detail_conv_backward")


def test_backward_shows_each_kernel_beside_its_weight_gradient(page, live_server, backward_trace):
    trace = backward_trace
    open_sample(page, live_server, mode="backward")
    layer = 0
    _, h, w = trace["layers"][layer]["output"].shape
    click_unit(page, layer, 4, 14, 14, h, w)
    kernels = page.locator('[data-testid="detail-conv-kernels"] canvas')
    c_out, c_in = trace["layers"][layer]["params"]["weight"].shape[:2]
    assert kernels.count() == 2 * c_out * c_in
    expected = trace["layers"][layer]["param_grads"]["bias"][4]
    assert close(value(page, "detail-conv-bias-grad"), expected)
    assert close(value(page, "detail-conv-bias-grad-sum"), expected, rel=1e-3)


def test_backward_pool_routes_the_delta_to_the_winner(page, live_server, backward_trace):
    trace = backward_trace
    open_sample(page, live_server, mode="backward")
    layer = 2
    pool = trace["layers"][layer]
    _, h, w = pool["output"].shape
    click_unit(page, layer, 3, 6, 6, h, w)
    delta = pool["grad_output"][3, 6, 6]
    assert close(value(page, "detail-pool-delta"), delta)
    routed = values(page, '[data-testid="detail-pool-routed"] td[data-value]')
    assert sorted(routed, key=abs)[:-1] == [0.0] * (len(routed) - 1)
    assert close(max(routed, key=abs), delta)
    index = int(pool["pool_indices"][3, 6, 6])
    relu_delta = trace["layers"][layer - 1]["grad_output"][3].ravel()[index]
    assert close(value(page, "detail-pool-input-grad"), relu_delta)
    assert close(value(page, "detail-pool-routed-sum"), relu_delta)
    mask = page.get_by_test_id("detail-pool-mask")
    assert mask.get_attribute("data-source") == "pool_mask"
    assert int(mask.get_attribute("data-winners")) == int(np.count_nonzero(pool["pool_mask"][3]))
    save_screenshot(page, "detail_pool_backward")


def test_receptive_field_box_on_the_input_follows_the_layers_field(page, live_server, trace):
    open_sample(page, live_server)
    layer, y, x = 5, 1, 3  # pool2
    _, h, w = trace["layers"][layer]["output"].shape
    click_unit(page, layer, 0, y, x, h, w)
    rf = trace["layers"][layer]["receptive_field"]
    box = page.get_by_test_id("detail-rf-input")
    got = [int(box.get_attribute(f"data-{k}")) for k in ("y0", "x0", "y1", "x1")]
    centre = [rf["start"][0] + y * rf["jump"][0], rf["start"][1] + x * rf["jump"][1]]
    half = [(rf["size"][0] - 1) / 2, (rf["size"][1] - 1) / 2]
    want = [
        max(0, math.ceil(centre[0] - half[0])), max(0, math.ceil(centre[1] - half[1])),
        min(27, math.floor(centre[0] + half[0])), min(27, math.floor(centre[1] + half[1])),
    ]
    assert got == want
    # One map per layer that changes the geometry, up to the selected one.
    for drawn in (0, 2, 3, 5):
        assert page.get_by_test_id(f"detail-rf-layer-{drawn}").count() == 1


def test_detail_view_fits_a_phone(phone_page, live_server, trace):
    page = phone_page
    open_sample(page, live_server)
    _, h, w = trace["layers"][3]["output"].shape
    click_unit(page, 3, 0, 2, 2, h, w)
    # Nothing in the detail view reaches past the phone's width (wide tables scroll inside
    # their own box); the page as a whole is the inspect page's test.
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="detail-view"] *')]
            .filter((e) => e.getBoundingClientRect().right > 390.5
                && !e.parentElement.closest('.table-scroll, .kernel-grid'))
            .map((e) => `${e.tagName}.${e.className}`)"""
    )
    assert overflowing == []
    assert clipped_numbers(page) == []
    assert close(value(page, "detail-conv-sum"), trace["layers"][3]["output"][0, 2, 2])
    save_screenshot(page, "detail_conv_phone")


def selected_unit(page) -> int:
    detail = page.locator('[data-testid="detail-view"] .detail')
    detail.wait_for()
    return int(detail.get_attribute("data-channel"))


def test_linear_unit_sum_plus_bias_equals_the_traced_output(page, live_server, trace):
    open_sample(page, live_server)
    layer = 7  # fc1: 400 -> 120
    strip = page.get_by_test_id(f"fmap-{layer}-0")
    strip.scroll_into_view_if_needed()
    box = strip.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    page.get_by_test_id("detail-linear").wait_for()
    j = selected_unit(page)
    fc = trace["layers"][layer]
    expected = fc["output"][j]
    assert close(value(page, "detail-linear-sum"), expected)
    assert close(value(page, "detail-linear-output"), expected)
    assert close(value(page, "detail-linear-bias"), fc["params"]["bias"][j])
    products = fc["params"]["weight"][j] * trace["layers"][layer - 1]["output"]
    assert close(value(page, "detail-linear-products-sum"), products.sum())
    # The rows shown are the largest |x * weight|, in order, and with the rest they add up.
    shown = values(page, '[data-testid="detail-linear-terms"] tbody tr:not(.rest) .num.term')
    top = products[np.argsort(-np.abs(products), kind="stable")][: len(shown)]
    np.testing.assert_allclose(np.abs(shown), np.abs(top), rtol=1e-4, atol=1e-7)
    assert close(math.fsum(shown) + value(page, "detail-linear-rest"), products.sum(), rel=1e-3)


def test_flatten_unit_maps_back_to_its_channel_row_and_column(page, live_server, trace):
    open_sample(page, live_server)
    layer = 6
    strip = page.get_by_test_id(f"fmap-{layer}-0")
    strip.scroll_into_view_if_needed()
    box = strip.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)
    page.get_by_test_id("detail-flatten").wait_for()
    i = selected_unit(page)
    assert int(page.get_by_test_id("detail-flatten-index").inner_text()) == i
    c, h, w = np.unravel_index(i, trace["layers"][layer - 1]["output"].shape)
    assert close(value(page, "detail-flatten-in"), trace["layers"][layer - 1]["output"][c, h, w])
    assert close(value(page, "detail-flatten-out"), trace["layers"][layer]["output"][i])


def test_backward_activation_delta_is_delta_out_times_the_slope(page, live_server, backward_trace):
    trace = backward_trace
    open_sample(page, live_server, mode="backward")
    layer = 8  # relu3, after fc1: a dense activation
    fc1 = trace["layers"][layer - 1]
    strip = page.get_by_test_id(f"fmap-{layer}-0")
    strip.scroll_into_view_if_needed()
    box = strip.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_test_id("detail-activation-backward").wait_for()
    unit = selected_unit(page)
    x_in = fc1["output"][unit]
    assert close(value(page, "detail-activation-in"), x_in)
    delta_out = trace["layers"][layer]["grad_output"][unit]
    assert close(value(page, "detail-activation-delta-out"), delta_out)
    slope = 1.0 if x_in > 0 else 0.0
    assert value(page, "detail-activation-derivative") == slope
    assert close(value(page, "detail-activation-delta-in"), delta_out * slope)
    assert close(value(page, "detail-activation-delta-in-trace"), fc1["grad_output"][unit])


def test_average_pool_mean_and_even_split_and_tanh_slope(page, live_server, classic_backward_trace):
    trace = classic_backward_trace
    open_sample(page, live_server, mode="backward", model="lenet5-classic")
    layer = 2
    pool = trace["layers"][layer]
    assert pool["kind"] == "avgpool2d"
    _, h, w = pool["output"].shape
    click_unit(page, layer, 2, 5, 6, h, w)
    window = trace["layers"][layer - 1]["output"][2, 10:12, 12:14]
    assert close(value(page, "detail-pool-mean"), window.mean())
    assert close(value(page, "detail-pool-output"), pool["output"][2, 5, 6])
    assert page.get_by_test_id("detail-pool-winner").count() == 0
    delta = pool["grad_output"][2, 5, 6]
    routed = values(page, '[data-testid="detail-pool-routed"] td[data-value]')
    np.testing.assert_allclose(routed, [delta / 4] * 4, rtol=1e-5)
    assert close(value(page, "detail-pool-routed-sum"), delta / 4)
    tanh_delta = trace["layers"][layer - 1]["grad_output"][2, 10, 12]
    assert close(value(page, "detail-pool-input-grad"), tanh_delta)
    save_screenshot(page, "detail_avgpool_backward")

    layer = 1  # tanh1: slope 1 - y^2 from the traced output
    click_unit(page, layer, 2, 10, 12, 28, 28)
    y = trace["layers"][layer]["output"][2, 10, 12]
    assert close(value(page, "detail-activation-in"), trace["layers"][0]["output"][2, 10, 12])
    assert close(value(page, "detail-activation-out"), y)
    assert close(value(page, "detail-activation-derivative"), 1 - y * y)
    delta_in = trace["layers"][layer]["grad_output"][2, 10, 12] * (1 - y * y)
    assert close(value(page, "detail-activation-delta-in"), delta_in)
    conv_delta = trace["layers"][0]["grad_output"][2, 10, 12]
    assert close(value(page, "detail-activation-delta-in-trace"), conv_delta)


def test_a_class_opens_the_softmax_panel_with_its_column_marked(page, live_server, trace):
    open_sample(page, live_server)
    k = 5
    # The probability bars: one per class, each opening the softmax detail for its class.
    page.locator('#probabilities [aria-label^="class "]').nth(k).click()
    page.get_by_test_id("detail-softmax").wait_for()
    assert selected_unit(page) == k
    chosen = page.locator('[data-testid="detail-softmax-probs"] td.chosen .num')
    assert close(float(chosen.get_attribute("data-value")), trace["probabilities"][k], rel=1e-5)
