"""The inspect page on a large graph: ResNet-18's layout (70 nodes, 16,000 channels, random
weights) behind a stem that makes a digit 3x224x224, served by its own uvicorn
(bench.big_graph_app registers it). The response leaves most layers out (the response
budget); the overview draws every node in topological order with its skip edges, a summary
strip per large node (energy bar, the strongest channels), fetches the strongest channels'
maps only for the nodes scrolled into view, expands a node to all its channels, and a detail
view fetches the tensors and weights it needs and still checks its arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from app.services.encoding import decode_tensor
from tests.browser.conftest import (
    _open_page,
    axe_violations,
    no_sideways_scroll,
    save_screenshot,
)
from tests.servers import serve

MODEL = "resnet18-digits"
WIDTHS = (1280, 1024, 853, 390)
STRIP = 8
VISIBLE_DRAWN = """() => [...document.querySelectorAll('.fmap-canvas[data-state="loading"]')]
    .every((c) => {
      const r = c.getBoundingClientRect();
      return r.bottom < 0 || r.top > innerHeight;
    })"""
ALL_DRAWN = """(i) => [...document.querySelectorAll(
    `.layer-column[data-layer="${i}"] .fmap-canvas`)].every((c) => c.dataset.state === 'drawn')"""


@pytest.fixture(scope="module")
def big_server():
    """A uvicorn serving the app with MODEL registered."""
    with serve("bench.big_graph_app:app", startup_seconds=60) as base:
        yield base


def open_big_graph(page, base: str) -> dict:
    """Load the page, pick MODEL (named by the client: registered models are not listed)
    and return the inspect response the page drew."""
    page.goto(base)
    page.locator('#overview-band[aria-busy="false"] [data-testid="fmap-0-0"]').wait_for()
    page.evaluate("""(id) => {
        const select = document.querySelector('[data-testid="model-select"]');
        select.add(new Option('ResNet-18 (digits, random weights)', id));
    }""", MODEL)
    with page.expect_response(lambda r: f"/models/{MODEL}/inspect" in r.url,
                              timeout=60_000) as info:
        page.get_by_test_id("model-select").select_option(MODEL)
    page.locator('#overview-band[aria-busy="false"] .layer-column[data-layer="69"]').wait_for(
        timeout=60_000)
    return info.value.json()


def skip_edges(layers: list[dict]) -> set[tuple[int, int]]:
    edges = set()
    for i, layer in enumerate(layers):
        previous = "input" if i == 0 else layers[i - 1]["name"]
        for slot, name in enumerate(layer["inputs"]):
            if name != previous:
                edges.add((i, slot))
    return edges


def strongest(layer: dict, part: str = "output") -> list[int]:
    energy = np.asarray(layer["summary"][part]["channel_energy"])
    return sorted(range(len(energy)), key=lambda c: (-energy[c], c))[:STRIP]


def drawn_states(page, index: int) -> list[str]:
    return page.evaluate(
        """(i) => [...document.querySelectorAll(`.layer-column[data-layer="${i}"] .fmap-canvas`)]
            .map((c) => c.dataset.state || 'local')""", index)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_resnet18_overview_draws_every_node_with_strips_fetched_as_they_come_into_view(
    browser, probe, big_server, width
):
    context, page = _open_page(browser, probe, width, 900, has_touch=width < 600)
    fetched: list[str] = []
    page.on("request", lambda r: "/api/v1/traces/" in r.url and fetched.append(r.url))
    try:
        body = open_big_graph(page, big_server)
        layers = body["layers"]
        assert len(layers) == 70
        omitted = [i for i, layer in enumerate(layers) if layer["omitted"]]
        assert len(omitted) > 40  # the response budget left most layers out
        # Every node, in topological order, with its skip edges labelled.
        order = page.evaluate("""() => [...document.querySelectorAll(
            '#overview .layer-column[data-layer]')].map((c) => Number(c.dataset.layer))""")
        assert order == list(range(70))
        edges = skip_edges(layers)
        assert len(edges) >= 8
        for reader, slot in edges:
            assert page.get_by_test_id(f"skip-in-{reader}-{slot}").count() == 1
        # A left-out node: its energy bar and its strongest channels, by the summary.
        for i in omitted:
            assert page.get_by_test_id(f"energy-{i}").count() == 1
        first = omitted[0]
        for c in strongest(layers[first]):
            assert page.get_by_test_id(f"fmap-{first}-{c}").count() == 1
        # (On a phone the overview starts below the fold: nothing is fetched before it shows.)
        page.locator(f'.layer-column[data-layer="{first}"]').scroll_into_view_if_needed()
        page.wait_for_function(ALL_DRAWN, arg=first, timeout=30_000)
        # Only what came into view was fetched: not every left-out layer.
        seen = {url.split("/layers/")[1].split("?")[0] for url in fetched}
        assert layers[first]["name"] in seen
        assert len(seen) < len(omitted), seen
        assert all("channels=" in url for url in fetched)
        assert no_sideways_scroll(page)
        # Scrolled to the end, the last left-out nodes are fetched too.
        last = omitted[-1]
        page.locator(f'.layer-column[data-layer="{last}"]').scroll_into_view_if_needed()
        page.wait_for_function(ALL_DRAWN, arg=last, timeout=30_000)
        page.locator(f'.layer-column[data-layer="{first}"]').scroll_into_view_if_needed()
        page.wait_for_function(VISIBLE_DRAWN, timeout=60_000)
        # (Below the fold the full-page screenshot shows the maps still waiting: striped.)
        save_screenshot(page, f"graph_big_overview_{width}")
    finally:
        context.close()
    assert probe.console_errors == [] and probe.external_requests == []


def test_a_fetched_strip_map_shows_the_traces_numbers_and_a_node_expands_to_every_channel(
    page, big_server
):
    body = open_big_graph(page, big_server)
    layers = body["layers"]
    i = next(k for k, layer in enumerate(layers) if layer["omitted"]
             and layer["kind"] == "conv2d" and layer["output_shape"][0] >= 128)
    layer = layers[i]
    column = page.locator(f'.layer-column[data-layer="{i}"]')
    column.scroll_into_view_if_needed()
    page.wait_for_function(ALL_DRAWN, arg=i, timeout=30_000)
    # The strongest channel's map, fetched, is the trace's: its range in the canvas title
    # equals the channel fetched from the API.
    c = strongest(layer)[0]
    got = page.request.get(f"{big_server}/api/v1/traces/{body['trace_id']}/layers/"
                           f"{layer['name']}", params={"part": "output", "channels": f"{c}-{c}"})
    plane = decode_tensor(got.json()["output"])[0].astype(np.float64)
    energy = float(np.abs(plane).mean())
    assert abs(energy - layer["summary"]["output"]["channel_energy"][c]) <= 1e-6 * max(1, energy)
    title = page.get_by_test_id(f"fmap-{i}-{c}").get_attribute("title")
    assert title.startswith(f"{layer['name']} channel {c}: ")
    # Expand: every channel gets its map, fetched in runs.
    channels = layer["output_shape"][0]
    page.get_by_test_id(f"expand-{i}").click()
    assert column.locator(".fmap-canvas").count() == channels
    page.wait_for_function(ALL_DRAWN, arg=i, timeout=60_000)
    assert page.get_by_test_id(f"expand-{i}").get_attribute("aria-expanded") == "true"
    save_screenshot(page, "graph_big_expanded_1280")


def test_a_detail_view_of_a_left_out_conv_fetches_its_tensors_and_weights_and_checks_out(
    page, big_server
):
    body = open_big_graph(page, big_server)
    layers = body["layers"]
    i = next(k for k, layer in enumerate(layers) if layer["name"] == "layer1.0.conv1")
    assert layers[i]["omitted"] and layers[i - 1]["omitted"]  # and its input, the max pool
    c = strongest(layers[i])[0]
    canvas = page.get_by_test_id(f"fmap-{i}-{c}")
    canvas.scroll_into_view_if_needed()
    page.wait_for_function(ALL_DRAWN, arg=i, timeout=30_000)
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator(f'[data-testid="detail-view"] .detail[data-layer="{i}"]'
                 f'[data-channel="{c}"]').wait_for(timeout=60_000)
    bad = page.locator('[data-testid="detail-view"] .match.bad').all_text_contents()
    assert bad == []
    assert page.locator('[data-testid="detail-view"] .match.ok').count() > 0
    assert page.locator('[data-testid="detail-view"] .detail-error').count() == 0
    save_screenshot(page, "graph_big_detail_1280")
    # Back to a small model: the large trace's fetches stop, the LeNet is drawn whole.
    with page.expect_response(lambda r: "/models/lenet5/inspect" in r.url):
        page.get_by_test_id("model-select").select_option("lenet5")
    page.wait_for_function(
        "() => document.querySelectorAll('#overview .layer-column[data-layer]').length === 12")
    assert page.locator(".energy-bar").count() == 0
    assert page.locator(".layer-column[data-layer]").count() == 12


def test_the_large_overview_has_no_serious_accessibility_violations(page, big_server):
    open_big_graph(page, big_server)
    first = page.locator(".strip-expand").first
    first.scroll_into_view_if_needed()
    assert axe_violations(page) == []


def test_backward_strips_show_the_strongest_deltas_fetched_as_grad_output(page, big_server):
    open_big_graph(page, big_server)
    fetched: list[str] = []
    page.on("request", lambda r: "/api/v1/traces/" in r.url and fetched.append(r.url))
    with page.expect_response(lambda r: f"/models/{MODEL}/inspect" in r.url and r.ok
                              and r.json()["target"] != r.json()["prediction"],
                              timeout=120_000) as info:
        page.get_by_test_id("mode-backward").click()
    body = info.value.json()
    page.locator('#overview-band[data-mode="backward"][aria-busy="false"]').wait_for()
    layers = body["layers"]
    i = next(k for k, layer in enumerate(layers) if layer["omitted"])
    page.locator(f'.layer-column[data-layer="{i}"]').scroll_into_view_if_needed()
    page.wait_for_function(ALL_DRAWN, arg=i, timeout=60_000)
    for c in strongest(layers[i], "grad_output"):
        assert page.get_by_test_id(f"fmap-{i}-{c}").get_attribute("data-state") == "drawn"
    mine = [url for url in fetched if body["trace_id"] in url]
    assert mine and all("part=grad_output" in url for url in mine)
