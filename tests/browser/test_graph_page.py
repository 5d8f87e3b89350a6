"""The inspect page for a graph (resnet-mini): skip connections drawn as labelled connectors
at every width without overflow, the receptive-field hover along the unit's own path, and the
detail views of BatchNorm, Add (with the fan-out sum) and global average pooling, checked
against the API's trace. The LeNets (chains) get no connectors."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.encoding import decode_tensor
from tests.browser.conftest import _open_page, axe_violations, save_screenshot

MODEL = "resnet-mini"
SAMPLE = 7
WIDTHS = (1280, 1024, 853, 390)
REL = 1e-4
# (reader index, argument slot) -> the node it reads: resnet-mini's skip edges.
SKIPS = {(8, 1): "relu1", (15, 0): "block1_relu2", (17, 0): "block2_bn2",
         (24, 0): "block2_relu2", (26, 0): "block3_bn2"}


def decoded(body: dict) -> dict:
    """name -> {"output", "grad_output"} as float64 arrays, from an inspect response."""
    return {
        layer["name"]: {key: decode_tensor(layer[key]).astype(np.float64)
                        for key in ("output", "grad_output") if key in layer}
        for layer in body["layers"]
    }


def open_graph(page, live_server, mode: str = "forward") -> dict:
    """Show resnet-mini on gallery digit SAMPLE; returns the trace the page drew, decoded."""
    page.goto(live_server)
    drawn = page.locator('#overview-band[aria-busy="false"] [data-testid="fmap-0-0"]')
    drawn.wait_for()
    with page.expect_response(lambda r: f"/models/{MODEL}/inspect" in r.url):
        page.get_by_test_id("model-select").select_option(MODEL)
    page.locator('#overview-band[aria-busy="false"] [data-testid="fmap-30-0"]').wait_for()
    with page.expect_response(lambda r: f"/models/{MODEL}/inspect" in r.url) as info:
        page.locator(f'[data-testid="sample-gallery"] [data-sample-id="{SAMPLE}"]').click()
    drawn.wait_for()
    if mode == "backward":
        with page.expect_response(lambda r: "/inspect" in r.url) as info:
            page.get_by_test_id("mode-backward").click()
        page.locator('#overview-band[data-mode="backward"][aria-busy="false"]').wait_for()
    return decoded(info.value.json())


def click_unit(page, layer: int, channel: int, y: int, x: int, h: int, w: int):
    canvas = page.get_by_test_id(f"fmap-{layer}-{channel}")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + (x + 0.5) * box["width"] / w,
                     box["y"] + (y + 0.5) * box["height"] / h)
    page.locator(f'[data-testid="detail-view"] .detail[data-layer="{layer}"]'
                 f'[data-channel="{channel}"][data-y="{y}"][data-x="{x}"]').wait_for()


def value(page, testid: str) -> float:
    return float(page.get_by_test_id(testid).first.get_attribute("data-value"))


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(b))


def no_bad_badges(page) -> None:
    bad = page.locator('[data-testid="detail-view"] .match.bad').all_text_contents()
    assert bad == [], bad
    assert page.locator('[data-testid="detail-view"] .match.ok').count() > 0
    assert "[object" not in page.get_by_test_id("detail-view").text_content()


@pytest.mark.parametrize("width", WIDTHS)
def test_skip_connections_are_labelled_at_both_ends_and_nothing_overflows(
    browser, probe, live_server, width
):
    context, page = _open_page(browser, probe, width, 900, has_touch=width < 600)
    try:
        open_graph(page, live_server)
        for (reader, slot), source in SKIPS.items():
            chip = page.get_by_test_id(f"skip-in-{reader}-{slot}")
            assert chip.get_attribute("data-from") == source
            assert source in chip.text_content()
            out = page.get_by_test_id(f"skip-out-{reader}-{slot}")
            assert out.count() == 1
        assert page.locator(".skip-chip").count() == 2 * len(SKIPS)
        # An Add says what it joins.
        joins = page.locator('.layer-column[data-layer="17"] .layer-inputs').text_content()
        assert joins == "block2_bn2 + block2_proj_bn"
        # The source's chip sits in the source's column.
        column = page.locator('.layer-column[data-layer="2"]')
        assert column.get_by_test_id("skip-out-8-1").count() == 1
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('.skip-chip')]
                .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent)"""
        )
        assert clipped == []
        page.get_by_test_id("skip-in-8-1").scroll_into_view_if_needed()
        save_screenshot(page, f"graph_overview_{width}")
    finally:
        context.close()
    assert probe.console_errors == [] and probe.external_requests == []


def test_a_chain_gets_no_skip_connectors(page, live_server):
    page.goto(live_server)
    page.locator('#overview-band[aria-busy="false"] [data-testid="fmap-0-0"]').wait_for()
    assert page.locator(".skip-chip").count() == 0


def test_activating_a_connector_highlights_its_source_column(page, live_server):
    open_graph(page, live_server)
    page.get_by_test_id("skip-in-8-1").hover()
    assert "skip-highlight" in page.locator('.layer-column[data-layer="2"]').get_attribute("class")


def test_hover_on_an_add_draws_its_field_on_the_input_and_its_path_only(page, live_server):
    open_graph(page, live_server)
    canvas = page.get_by_test_id("fmap-8-0")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 14.5 * box["width"] / 28, box["y"] + 14.5 * box["height"] / 28)
    # The Add's field is the union of its two paths: 7x7 around the unit.
    rf = page.locator('.input-column .rf-box')
    rf.wait_for()
    assert page.locator('.layer-column[data-layer="3"] .rf-box').count() == 8   # an ancestor
    # Later nodes, and siblings off the unit's path, get no box.
    assert page.locator('.layer-column[data-layer="9"] .rf-box').count() == 0


def test_batchnorm_detail_is_gamma_times_normalised_x_plus_beta(page, live_server):
    trace = open_graph(page, live_server)
    click_unit(page, 4, 3, 12, 15, 28, 28)
    x = trace["block1_conv1"]["output"][3, 12, 15]
    y = trace["block1_bn1"]["output"][3, 12, 15]
    assert close(value(page, "detail-bn-x"), x)
    assert close(value(page, "detail-bn-y-trace"), y)
    assert close(value(page, "detail-bn-y"), y)
    assert page.get_by_test_id("detail-bn-channels").locator("tbody tr").count() == 8
    no_bad_badges(page)


def test_add_backward_copies_the_delta_and_sums_the_fan_out(page, live_server):
    trace = open_graph(page, live_server, mode="backward")
    # The unit of channel 2 with the largest delta (where block1_relu2 passes it on).
    grads = trace["block1_add"]["grad_output"][2]
    y, x = np.unravel_index(int(np.abs(grads).argmax()), grads.shape)
    click_unit(page, 8, 2, int(y), int(x), 28, 28)
    delta = trace["block1_add"]["grad_output"][2, y, x]
    assert delta != 0
    assert close(value(page, "detail-add-delta"), delta)
    assert close(value(page, "detail-add-copy-0"), delta)
    assert close(value(page, "detail-add-grad-0"), trace["block1_bn2"]["grad_output"][2, y, x])
    # relu1 feeds block1_conv1 and the skip: its delta is the sum of both shares.
    relu1 = trace["relu1"]["grad_output"][2, y, x]
    assert close(value(page, "detail-fanout-trace"), relu1)
    assert close(value(page, "detail-fanout-sum"), relu1)
    share = value(page, "detail-fanout-share-block1_add")
    assert close(share, delta)
    no_bad_badges(page)


def test_global_average_pool_is_the_mean_and_spreads_its_delta_evenly(page, live_server):
    open_graph(page, live_server, mode="backward")
    click_unit(page, 28, 5, 0, 0, 1, 1)
    mean = value(page, "detail-gap-mean")
    assert close(mean, value(page, "detail-gap-out"))
    assert close(value(page, "detail-gap-each"), value(page, "detail-gap-delta") / 49)
    no_bad_badges(page)


def test_batchnorm_backward_scales_the_delta_and_sums_the_parameter_gradients(page, live_server):
    open_graph(page, live_server, mode="backward")
    click_unit(page, 16, 4, 6, 6, 14, 14)
    scale = value(page, "detail-bn-scale")
    assert close(value(page, "detail-bn-delta-x"), value(page, "detail-bn-delta-y") * scale)
    no_bad_badges(page)
    save_screenshot(page, "graph_detail_batchnorm_backward")


def test_a_conv_reading_a_fanned_out_node_says_its_delta_is_a_share(page, live_server):
    open_graph(page, live_server, mode="backward")
    click_unit(page, 3, 0, 14, 14, 28, 28)      # block1_conv1 reads relu1, which the skip reads too
    shared = page.get_by_test_id("detail-delta-shared")
    assert "relu1" in shared.text_content() and "block1_add" in shared.text_content()
    no_bad_badges(page)


def test_selecting_a_blocks_input_shows_its_delta_as_the_sum_of_both_paths(page, live_server):
    trace = open_graph(page, live_server, mode="backward")
    # The 1x1 stride-2 projection reads the even rows and columns only: pick such a pixel.
    grads = trace["block1_relu2"]["grad_output"][1, ::2, ::2]
    y, x = (2 * int(i) for i in np.unravel_index(int(np.abs(grads).argmax()), grads.shape))
    # block1_relu2 feeds block2_conv1 and block2_proj.
    click_unit(page, 9, 1, y, x, 28, 28)
    shares = page.locator('[data-testid="detail-fanout"] .fanout-shares li')
    assert shares.count() == 2
    total = trace["block1_relu2"]["grad_output"][1, y, x]
    assert close(value(page, "detail-fanout-sum"), total)
    one = value(page, "detail-fanout-share-block2_conv1")
    two = value(page, "detail-fanout-share-block2_proj")
    assert one != 0 and two != 0 and close(one + two, total)
    no_bad_badges(page)


def test_graph_page_with_an_open_batchnorm_detail_has_no_serious_accessibility_violations(
    page, live_server
):
    open_graph(page, live_server)
    click_unit(page, 1, 0, 10, 10, 28, 28)
    assert axe_violations(page) == []
