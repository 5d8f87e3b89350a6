"""The autoencoder lesson in a real browser, at 1280, 1024, 853 and 390 px: the input, the
reconstruction and the error map with their scales, every layer's maps, the transposed
convolution stepped one input at a time, the checkerboard of counts, and a drawing."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, no_sideways_scroll, save_screenshot
from tests.browser.conftest import wait_for_text as wait_for

pytestmark = pytest.mark.browser


def test_a_digit_its_reconstruction_error_map_layers_and_the_scatter(sized_page, live_server):
    page = sized_page
    page.goto(live_server + "/learn/autoencoder")
    wait_for(page, "#ae-loss", "gallery digit 0: loss = mean of the error map")
    assert page.locator(".ae-layer").count() == 10
    assert page.locator(".ae-layer[data-layer='conv2'] .ae-tile").count() == 16
    for legend in ("#ae-input-legend", "#ae-recon-legend", "#ae-error-legend"):
        assert page.locator(f"{legend} .legend-ramp").count() == 1
    assert page.locator("#ae-error-legend .legend-label").inner_text() == "squared error"
    wait_for(page, "#ct-where", "input 1 of 9")
    wait_for(page, "#ct-check", "not a multiple of stride 2")
    assert page.locator("#ct-view .ct-counts td").count() == 49
    wait_for(page, "#mc-readout", "with its top-left tap at output")
    assert page.locator("#mc-view .ct-counts td").count() == 14 * 14
    assert no_sideways_scroll(page)
    save_screenshot(page, f"lessons_autoencoder_{page.lesson_width}")


def test_stepping_the_scatter_and_switching_to_an_even_kernel(page, live_server):
    page.goto(live_server + "/learn/autoencoder")
    wait_for(page, "#ct-where", "input 1 of 9")
    page.click("#ct-step")
    page.click("#ct-step")
    wait_for(page, "#ct-where", "input 3 of 9: x[0, 2]")
    assert "output after 3 of 9 copies" in page.locator("#ct-view").inner_text()
    save_screenshot(page, "lessons_autoencoder_step3_1280")
    keys = page.locator("#ct-view .ct-counts .swatch-key li")
    assert [keys.nth(i).inner_text() for i in range(keys.count())] == ["1 tap", "2 taps",
                                                                       "4 taps"]
    page.select_option("#ct-preset", "4,2")
    wait_for(page, "#ct-check", "Kernel 4 is a multiple of stride 2: even overlaps")
    page.click("#ct-all")
    wait_for(page, "#ct-where", "input 9 of 9")
    save_screenshot(page, "lessons_autoencoder_even_1280")


def test_backward_maps_and_a_drawing(page, live_server):
    page.goto(live_server + "/learn/autoencoder")
    wait_for(page, "#ae-loss", "gallery digit 0")
    page.select_option("#ae-show", "grad_output")
    assert "dL/d(map)" in page.locator(".ae-layer").first.inner_text()
    box = page.locator("#ae-draw").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.8, steps=12)
    page.mouse.up()
    page.click("#ae-send")
    wait_for(page, "#ae-loss", "your drawing: loss")
    save_screenshot(page, "lessons_autoencoder_drawing_1280")
    assert axe_violations(page) == []
    assert page.locator("h1").count() == 1


RENDER_DETAIL = """async ([layerIndex, channel, y, x, mode]) => {
  const response = await fetch('/api/v1/lessons/autoencoder/inspect', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({sample: 4})});
  const body = await response.json();
  const tensor = (nested) => {
    const shape = [];
    for (let v = nested; Array.isArray(v); v = v[0]) shape.push(v.length);
    return {shape, data: Float64Array.from(nested.flat(Infinity))};
  };
  const names = body.layers.map((l) => l.name);
  const trace = {
    input: tensor([body.input]), input_grad: tensor([body.input_grad]),
    layers: body.layers.map((l, i) => ({
      name: l.name, kind: l.kind, config: l.config, inputs: [i ? names[i - 1] : 'input'],
      output_shape: l.output_shape, output: tensor(l.output), grad_output: tensor(l.grad_output),
      params: Object.fromEntries(Object.entries(l.params).map(([k, v]) => [k, tensor(v)])),
    })),
  };
  const {showDetail} = await import('/static/js/views/detail.js');
  const holder = document.createElement('div');
  holder.id = 'detail-under-test';
  document.querySelector('#lesson-root').append(holder);
  showDetail(holder, {trace, layerIndex, channel, y, x, mode, classes: []});
  const badge = holder.querySelector('[data-testid=detail-convtranspose] .match');
  return {text: holder.textContent, ok: badge ? badge.className : null,
          cells: holder.querySelectorAll('.ct-counts td').length};
}"""


def test_the_inspect_detail_view_of_a_convtranspose_unit_sums_the_copies_landing_on_it(
        page, live_server):
    # The inspect page's detail view (views/detail.js) on the autoencoder's real trace: deconv1
    # (k 3, s 2, padding 1) output (5, 6) receives 2 row taps x 1 column tap x 8 channels.
    page.goto(live_server + "/learn/autoencoder")
    wait_for(page, "#ae-loss", "gallery digit 0")
    result = page.evaluate(RENDER_DETAIL, [6, 2, 5, 6, "forward"])
    assert result["ok"] == "match ok", result["text"][:600]
    assert "2 row tap(s) × 1 column tap(s) × 8 input channel(s) = 16 copies" in result["text"]
    assert "not a multiple of stride 2×2" in result["text"]
    assert result["cells"] == 81
    page.locator("#detail-under-test").scroll_into_view_if_needed()
    save_screenshot(page, "lessons_autoencoder_inspect_detail_1280")
    result = page.evaluate(RENDER_DETAIL, [8, 0, 13, 13, "backward"])
    assert result["ok"] == "match ok", result["text"][:600]
    assert "2 row tap(s) × 2 column tap(s) × 8 input channel(s) = 32 copies" in result["text"]
    assert "a multiple of stride 2×2: away from the border" in result["text"]
