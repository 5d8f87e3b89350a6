"""The Concat, zero-padding and depthwise-convolution detail views, and the fan-out sum
through a Concat, on a small graph traced by the core (no bundled model has these kinds): the
page's own modules render the API's encoding of the trace, and every number is checked
against the core's."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import INPUT, Concat, Conv2d, Flatten, Graph, Linear, ReLU, ZeroPad2d
from app.nn.receptive_graph import graph_receptive_fields
from app.services.encoding import INCLUDE_PARTS, encode_trace
from tests.browser.conftest import save_screenshot

REL = 1e-4


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(3)
    net = Graph([
        ("conv", Conv2d(1, 2, 3, padding=1, rng=rng), [INPUT]),
        ("relu", ReLU(), ["conv"]),
        ("dw", Conv2d(2, 2, 3, padding=1, groups=2, rng=rng), ["relu"]),   # depthwise
        ("conv2", Conv2d(2, 3, 3, padding=1, rng=rng), ["dw"]),
        ("cat", Concat(1), ["conv2", "relu"]),       # relu feeds dw and the concat
        ("pad", ZeroPad2d((1, 0, 2, 1)), ["cat"]),
        ("flatten", Flatten(), ["pad"]),
        ("fc", Linear(5 * 11 * 9, 3, rng=rng), ["flatten"]),
    ])
    x = rng.random((1, 1, 8, 8)).astype(np.float32)
    trace = net.trace(x, [1])
    body = encode_trace(
        trace, model_id="synthetic", classes=["a", "b", "c"],
        receptive_fields=graph_receptive_fields(net, (8, 8)), include=INCLUDE_PARTS,
        encoding="list",
    )
    layers = {lt.name: lt for lt in trace.layers}
    # The depthwise conv's own share of relu's delta (relu's delta also sums the concat's).
    dw = net.layers[net.names.index("dw")]
    _, cache = dw.forward(layers["relu"].output)
    dw_share, _ = dw.backward(layers["dw"].grad_output, cache)
    return body, layers, dw_share


def render(page, live_server, body, layer, channel, y, x, mode):
    page.goto(live_server)
    page.locator('#overview-band[aria-busy="false"] [data-testid="fmap-0-0"]').wait_for()
    page.evaluate(
        """async ({body, layer, channel, y, x, mode}) => {
            const api = await import('/static/js/api.js');
            const { showDetail } = await import('/static/js/views/detail.js');
            const trace = api.decodeTensors(body);
            let box = document.querySelector('[data-testid="synthetic"]');
            if (!box) {
                box = document.createElement('section');
                box.dataset.testid = 'synthetic';
                document.querySelector('main').prepend(box);
            }
            showDetail(box, { trace, layerIndex: layer, channel, y, x, mode,
                              classes: trace.classes, target: trace.target });
        }""",
        {"body": body, "layer": layer, "channel": channel, "y": y, "x": x, "mode": mode},
    )
    page.locator(f'[data-testid="synthetic"] .detail[data-layer="{layer}"]').wait_for()


def value(page, testid: str) -> float:
    return float(page.locator(f'[data-testid="synthetic"] [data-testid="{testid}"]').first
                 .get_attribute("data-value"))


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(b))


def no_bad_badges(page) -> None:
    assert page.locator('[data-testid="synthetic"] .match.bad').count() == 0
    assert page.locator('[data-testid="synthetic"] .match.ok').count() > 0


def test_concat_names_each_channels_source_and_hands_its_delta_back(page, live_server, synthetic):
    body, core, _ = synthetic
    render(page, live_server, body, 4, 1, 4, 5, "backward")     # channel 1 comes from conv2
    rows = page.locator('[data-testid="detail-concat-ranges"] tbody tr').all_inner_texts()
    assert [r.split("\t")[:2] for r in rows] == [["conv2", "0…2"], ["relu", "3…4"]]
    assert close(value(page, "detail-concat-out"), float(core["cat"].output[0, 1, 4, 5]))
    assert close(value(page, "detail-concat-grad"), float(core["conv2"].grad_output[0, 1, 4, 5]))
    no_bad_badges(page)
    render(page, live_server, body, 4, 4, 2, 2, "backward")     # channel 4 is relu's channel 1
    assert close(value(page, "detail-concat-in"), float(core["relu"].output[0, 1, 2, 2]))
    # relu also feeds conv2: its delta is a sum, and the view says so instead of comparing.
    assert page.locator('[data-testid="detail-concat-backward"] .match.shared').count() == 1


def test_zero_padding_shifts_inside_units_and_drops_the_padding_delta(page, live_server, synthetic):
    body, core, _ = synthetic
    render(page, live_server, body, 5, 2, 5, 4, "backward")     # inside: input (3, 3)
    assert close(value(page, "detail-pad-in"), float(core["cat"].output[0, 2, 3, 3]))
    assert close(value(page, "detail-pad-grad"), float(core["cat"].grad_output[0, 2, 3, 3]))
    no_bad_badges(page)
    render(page, live_server, body, 5, 2, 0, 4, "backward")     # the top padding
    assert value(page, "detail-pad-in") == 0
    text = page.get_by_test_id("detail-pad-backward").inner_text()
    assert "goes nowhere" in text
    save_screenshot(page, "graph_detail_pad")


def test_fan_out_through_a_concat_sums_the_conv_and_concat_shares(page, live_server, synthetic):
    body, core, _ = synthetic
    render(page, live_server, body, 1, 1, 3, 6, "backward")
    assert close(value(page, "detail-fanout-sum"), float(core["relu"].grad_output[0, 1, 3, 6]))
    assert close(value(page, "detail-fanout-share-cat"), float(core["cat"].grad_output[0, 4, 3, 6]))
    no_bad_badges(page)
    save_screenshot(page, "graph_detail_fanout_concat")


def test_a_depthwise_kernel_reads_one_input_channel_forward_and_backward(
    page, live_server, synthetic
):
    body, core, dw_share = synthetic
    render(page, live_server, body, 2, 1, 3, 4, "forward")
    rows = page.locator('[data-testid="synthetic"] [data-testid^="detail-conv-products-"]')
    assert rows.count() == 1
    assert page.locator('[data-testid="detail-conv-products-1"]').count() == 1
    assert close(value(page, "detail-conv-sum"), float(core["dw"].output[0, 1, 3, 4]))
    no_bad_badges(page)
    render(page, live_server, body, 2, 1, 3, 4, "backward")
    body_el = page.locator('[data-testid="synthetic"] .conv-backward-body')
    pixel = body_el.get_attribute("data-pixel")
    c, iy, ix = (int(v) for v in pixel.split(","))
    groups = page.locator('[data-testid="detail-conv-backward-terms"] details')
    assert groups.count() == 1                  # input channel c feeds output channel c only
    assert close(value(page, "detail-conv-backward-sum"), float(dw_share[0, c, iy, ix]))
    # relu's delta also sums the concat's share: the view says so instead of comparing.
    shared = page.locator('[data-testid="synthetic"] [data-testid="detail-delta-shared"]')
    assert shared.count() == 1
    save_screenshot(page, "graph_detail_depthwise")
