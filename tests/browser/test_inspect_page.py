"""The inspect page end to end: real uvicorn, real API, Debian's chromium.

Every test also fails on a console error or a request leaving the machine (the `page` and
`phone_page` fixtures check both after the test).

Feature-map canvases: a (C, H, W) layer output has C canvases fmap-{layer}-{c}; a dense (N,)
output (flatten, linear, their activations) has ONE canvas fmap-{layer}-0 whose cells are its N
units.
"""

from __future__ import annotations

import io
import json
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from app.data import load_digits, split_indices
from tests.browser.conftest import ARTIFACTS, save_screenshot, wait_for_text

pytestmark = pytest.mark.browser

INSPECT = re.compile(r"/api/v1/models/[^/]+/inspect$")
MODEL = "lenet5"


def is_inspect(response_or_request) -> bool:
    return bool(INSPECT.search(response_or_request.url))


def api_inspect(live_server: str, model: str = MODEL, **kwargs) -> dict:
    response = httpx.post(f"{live_server}/api/v1/models/{model}/inspect", timeout=60, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def open_inspect_page(page, live_server: str) -> dict:
    """Load the page and wait for its first inspect (the first gallery sample); its JSON."""
    with page.expect_response(is_inspect, timeout=60_000) as first:
        page.goto(live_server + "/")
    body = first.value.json()
    page.wait_for_selector("[data-testid=prediction][data-class]")
    page.wait_for_selector("[data-testid=fmap-0-0]")
    return body


def wait_for_input(page, description: str) -> None:
    """Wait until the trace on screen is the one of this input ("sample:3", "pixels", ...)."""
    page.wait_for_function(
        "d => document.querySelector('[data-testid=prediction]').dataset.input === d",
        arg=description,
    )


def canvas_url(page, testid: str) -> str:
    return page.eval_on_selector(f"[data-testid={testid}]", "c => c.toDataURL()")


def shown_prediction(page) -> tuple[int, str]:
    element = page.locator("[data-testid=prediction]")
    return int(element.get_attribute("data-class")), element.inner_text()


def assert_prediction_matches(page, api_body: dict) -> None:
    shown_class, text = shown_prediction(page)
    k = api_body["prediction"]
    assert shown_class == k
    match = re.fullmatch(r"Prediction: (\S+) \(([\d.e+-]+)%\)", text)
    assert match, text
    assert match.group(1) == api_body["classes"][k]
    percent = 100 * api_body["probabilities"][k]
    assert float(match.group(2)) == pytest.approx(percent, rel=5e-3, abs=0.051)


def photo_like_png(digit: np.ndarray) -> bytes:
    """A dark digit on a larger, light, off-centre canvas: what a phone photo of paper gives."""
    canvas = np.full((90, 120), 235, dtype=np.uint8)
    big = np.asarray(Image.fromarray(255 - digit).resize((56, 56), Image.BILINEAR))
    canvas[10:66, 50:106] = np.minimum(canvas[10:66, 50:106], big)
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return buffer.getvalue()


def test_first_sample_is_inspected_on_load_with_the_api_prediction(page, live_server):
    body = open_inspect_page(page, live_server)
    assert page.eval_on_selector("#overview", "o => o.scrollWidth <= o.clientWidth")
    first = page.locator("[data-testid=sample-gallery] button").first
    sample_id = int(first.get_attribute("data-sample-id"))
    assert page.get_attribute("[data-testid=prediction]", "data-input") == f"sample:{sample_id}"
    expected = api_inspect(live_server, json={"sample": sample_id})
    assert body["prediction"] == expected["prediction"]
    assert_prediction_matches(page, expected)
    save_screenshot(page, "inspect_page_forward")


def test_gallery_click_shows_the_same_prediction_as_the_api(page, live_server):
    open_inspect_page(page, live_server)
    buttons = page.locator("[data-testid=sample-gallery] button")
    assert buttons.count() >= 10
    choice = buttons.nth(7)
    sample_id = int(choice.get_attribute("data-sample-id"))
    with page.expect_request(is_inspect) as sent:
        choice.click()
    assert json.loads(sent.value.post_data)["sample"] == sample_id
    wait_for_input(page, f"sample:{sample_id}")
    expected = api_inspect(live_server, json={"sample": sample_id})
    assert_prediction_matches(page, expected)


def test_uploading_a_photo_like_png_inspects_it_like_the_api(page, live_server):
    open_inspect_page(page, live_server)
    images, labels = load_digits()
    _, heldout = split_indices()
    index = int(heldout[3])
    png = photo_like_png(images[index])
    with page.expect_response(is_inspect) as answered:
        page.set_input_files(
            "[data-testid=upload-input]",
            files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png}],
        )
    assert answered.value.status == 200
    assert "multipart/form-data" in answered.value.request.headers["content-type"]
    wait_for_input(page, "file:photo.png")
    expected = api_inspect(live_server, files={"image": ("photo.png", png, "image/png")})
    assert_prediction_matches(page, expected)
    assert expected["prediction"] == int(labels[index])
    # Each preprocessing step the API reports is shown, plus the 28x28 network input.
    steps = page.locator("#preprocessing figure")
    assert steps.count() == len(expected["preprocessing"]) + 1
    save_screenshot(page, "inspect_page_upload")


def draw_one(page) -> None:
    """Mouse strokes of a '1' down the middle of the pad."""
    box = page.locator("[data-testid=draw-pad]").bounding_box()
    x = box["x"] + box["width"] * 0.5
    page.mouse.move(x, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 15):
        page.mouse.move(x + step * 0.5, box["y"] + box["height"] * (0.15 + step * 0.05))
    page.mouse.up()


def test_drawing_on_the_pad_inspects_the_drawing(page, live_server):
    open_inspect_page(page, live_server)
    with page.expect_response(is_inspect) as answered:
        draw_one(page)
    request = json.loads(answered.value.request.post_data)
    pixels = np.asarray(request["pixels"])
    assert pixels.shape == (140, 140)
    assert pixels.max() == 255 and pixels.min() == 0, "white ink on a black pad"
    wait_for_input(page, "pixels")
    expected = api_inspect(live_server, json={"pixels": request["pixels"]})
    assert_prediction_matches(page, expected)
    assert expected["prediction"] == 1
    save_screenshot(page, "inspect_page_drawn")


def test_drawing_sends_one_request_150_ms_after_the_last_stroke(page, live_server):
    page.clock.install()
    open_inspect_page(page, live_server)
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)  # time moves only when told
    sent = []
    page.on("request", lambda r: is_inspect(r) and sent.append(r))
    draw_one(page)
    page.clock.run_for(149)
    page.wait_for_timeout(100)  # real time for a request that should not exist to show up
    assert sent == [], "no request while the pen may still move"
    with page.expect_request(is_inspect):
        page.clock.run_for(2)
    # 15 pointer events made one request, not one per move.
    page.wait_for_timeout(100)
    assert len(sent) == 1


def test_clear_wipes_the_pad(page, live_server):
    open_inspect_page(page, live_server)
    with page.expect_response(is_inspect):
        draw_one(page)
    page.click("#draw-clear")
    ink = page.eval_on_selector(
        "[data-testid=draw-pad]",
        """c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data
                  .some((v, i) => i % 4 === 0 && v > 0)""",
    )
    assert ink is False


def test_feature_map_canvases_match_the_traces_channels(page, live_server):
    body = open_inspect_page(page, live_server)
    for layer in body["layers"]:
        shape = layer["output_shape"]
        expected = shape[0] if len(shape) == 3 else 1
        count = page.locator(f"canvas[data-testid^='fmap-{layer['index']}-']").count()
        assert count == expected, (layer["name"], shape)
        if len(shape) == 3:
            size = page.eval_on_selector(
                f"[data-testid=fmap-{layer['index']}-0]", "c => [c.height, c.width]"
            )
            assert size == shape[1:]
    total = sum(s[0] if len(s) == 3 else 1 for s in (lay["output_shape"] for lay in body["layers"]))
    assert page.locator("canvas[data-testid^='fmap-']").count() == total
    # Each column states the layer's name, kind, shape and parameter count.
    card = httpx.get(f"{live_server}/api/v1/models/{MODEL}").json()
    conv1 = page.locator(".layer-column[data-layer='0'] .layer-head").inner_text()
    assert "conv1" in conv1 and "conv2d" in conv1 and "6×28×28" in conv1
    assert f"{card['layers'][0]['parameters']:,} params" in conv1


def test_backward_switch_redraws_every_map_with_deltas(page, live_server):
    body = open_inspect_page(page, live_server)
    maps = ["fmap-0-0", "fmap-3-5", f"fmap-{len(body['layers']) - 1}-0"]
    before = {m: canvas_url(page, m) for m in maps}
    page.click("[data-testid=mode-backward]")
    assert page.get_attribute("[data-testid=mode-backward]", "aria-pressed") == "true"
    page.wait_for_selector("[data-testid=saliency]")
    after = {m: canvas_url(page, m) for m in maps}
    for m in maps:
        assert after[m] != before[m], m
    # Deltas use the diverging scale: the legend runs symmetric about zero.
    legend = page.locator(".layer-column[data-layer='0'] .legend")
    assert legend.locator(".legend-zero").count() == 1
    # At 1280 px every LeNet-5 column fits beside the probabilities, deltas' legends included.
    assert page.eval_on_selector("#overview", "o => o.scrollWidth <= o.clientWidth")
    save_screenshot(page, "inspect_page_backward")
    page.click("[data-testid=mode-forward]")
    assert canvas_url(page, "fmap-0-0") == before["fmap-0-0"]


def test_target_selector_reruns_the_backward_pass(page, live_server):
    body = open_inspect_page(page, live_server)
    page.click("[data-testid=mode-backward]")
    page.wait_for_selector("[data-testid=saliency]")
    page.wait_for_selector("[aria-busy=false]")
    before = canvas_url(page, "fmap-0-0")
    saliency_before = canvas_url(page, "saliency")
    target = (body["prediction"] + 3) % len(body["classes"])
    with page.expect_response(is_inspect) as answered:
        page.select_option("[data-testid=target-select]", str(target))
    assert json.loads(answered.value.request.post_data)["target"] == target
    assert answered.value.json()["target"] == target
    page.wait_for_function(
        "t => document.querySelector('.prob-row.is-target')?.dataset.class === String(t)",
        arg=target,
    )
    assert canvas_url(page, "fmap-0-0") != before
    assert canvas_url(page, "saliency") != saliency_before
    loss = page.locator(".probabilities .loss").inner_text()
    assert f"p({body['classes'][target]})" in loss


def test_hovering_a_unit_previews_its_receptive_field(page, live_server):
    body = open_inspect_page(page, live_server)
    conv2 = next(layer for layer in body["layers"] if layer["name"] == "conv2")
    canvas = page.locator(f"[data-testid=fmap-{conv2['index']}-0]")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 1, box["y"] + 1)  # unit (0, 0)
    page.wait_for_selector(".input-column .rf-box")
    field = conv2["receptive_field"]
    inside = page.eval_on_selector(
        ".input-column .rf-box",
        "b => [b.style.top, b.style.left, b.style.height, b.style.width]",
    )
    # Unit (0, 0) of conv2 sees input rows/cols [-padding, -padding + size - 1], clipped.
    size, padding = field["size"][0], field["padding"][0]
    last = min(27, -padding + size - 1)
    assert inside[0] == "0%" and inside[1] == "0%"
    assert float(inside[2].rstrip("%")) == pytest.approx(100 * (last + 1) / 28)
    # ...and the layers in between show their part of the field too.
    assert page.locator(".layer-column[data-layer='0'] .rf-box").count() == 6
    assert page.locator("#hover-readout").inner_text().startswith("conv2 channel 0, row 0, col 0")


def test_scale_modes_change_the_colours(page, live_server):
    open_inspect_page(page, live_server)
    per_layer = canvas_url(page, "fmap-0-1")
    page.select_option("[data-testid=scale-select]", "map")
    per_map = canvas_url(page, "fmap-0-1")
    page.select_option("[data-testid=scale-select]", "global")
    global_scale = canvas_url(page, "fmap-0-1")
    assert len({per_layer, per_map, global_scale}) == 3


def test_an_api_error_is_shown_next_to_the_input(page, live_server, probe):
    open_inspect_page(page, live_server)
    with page.expect_response(is_inspect) as answered:
        page.set_input_files(
            "[data-testid=upload-input]",
            files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"}],
        )
    status = answered.value.status
    assert 400 <= status < 500
    code = answered.value.json()["error"]["code"]
    alert = page.locator("#input-error[role=alert]")
    alert.wait_for(state="visible")
    assert code in alert.inner_text()
    # The previous trace stays on screen.
    assert page.locator("[data-testid=fmap-0-0]").count() == 1
    save_screenshot(page, "inspect_page_error")
    # Chromium itself logs every 4xx fetch; that one line is expected here, nothing else is.
    browser_line = f"Failed to load resource: the server responded with a status of {status}"
    assert sum(e.startswith(browser_line) for e in probe.console_errors) == 1
    probe.console_errors[:] = [e for e in probe.console_errors if not e.startswith(browser_line)]


def test_download_json_is_the_raw_response_and_png_is_an_image(page, live_server):
    body = open_inspect_page(page, live_server)
    with page.expect_download() as download:
        page.click("[data-testid=download-json]")
    saved = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert saved == body
    with page.expect_download() as download:
        page.click("[data-testid=download-png]")
    image = Image.open(download.value.path())
    assert image.format == "PNG"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image.save(ARTIFACTS / "inspect_page_download.png")
    assert image.width > 600 and image.height > 200
    pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50, "the maps were drawn into it"


def test_progress_is_shown_while_a_request_runs(page, live_server):
    open_inspect_page(page, live_server)
    release = []

    def hold(route):
        release.append(route)

    page.route(INSPECT, hold)
    page.locator("[data-testid=sample-gallery] button").nth(2).click()
    page.wait_for_function("() => document.querySelector('#overview-band').ariaBusy === 'true'")
    assert page.locator("[data-testid=progress]").is_visible()
    page.unroute(INSPECT, hold)
    release[0].continue_()
    page.wait_for_function("() => document.querySelector('#overview-band').ariaBusy === 'false'")
    assert not page.locator("[data-testid=progress]").is_visible()


def test_the_page_is_keyboard_reachable(page, live_server):
    open_inspect_page(page, live_server)
    reached = set()
    for _ in range(120):
        page.keyboard.press("Tab")
        testid = page.evaluate("document.activeElement?.dataset?.testid || ''")
        reached.add(testid)
    for testid in ("model-select", "upload-input", "mode-forward", "mode-backward",
                   "target-select", "download-json", "fmap-0-0"):
        assert testid in reached, testid
    page.focus("[data-testid=mode-backward]")
    page.keyboard.press("Enter")
    assert page.get_attribute("[data-testid=mode-backward]", "aria-pressed") == "true"


def test_phone_width_fits_without_sideways_scrolling(phone_page, live_server):
    open_inspect_page(phone_page, live_server)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.click("[data-testid=mode-backward]")
    phone_page.wait_for_selector("[data-testid=saliency]")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(phone_page, "inspect_page_phone")


def test_clicking_a_unit_selects_it_and_opens_its_detail_view(page, live_server):
    body = open_inspect_page(page, live_server)
    conv1 = body["layers"][0]
    canvas = page.locator("[data-testid=fmap-0-2]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # Click the centre of cell (row 14, col 9) of the 28x28 map.
    page.mouse.click(box["x"] + box["width"] * (9.5 / 28), box["y"] + box["height"] * (14.5 / 28))
    page.wait_for_selector("[data-testid=detail-conv]")
    assert conv1["kind"] == "conv2d"
    header = page.locator("[data-testid=detail-view] .detail-header").inner_text()
    assert "conv1" in header
    selected = page.eval_on_selector(
        ".layer-column[data-layer='0'] .selected-box",
        "b => [b.style.top, b.style.left]",
    )
    expected = [100 * 14 / 28, 100 * 9 / 28]
    assert [float(v.rstrip("%")) for v in selected] == pytest.approx(expected, abs=1e-3)
    save_screenshot(page, "inspect_page_detail")


def test_enter_on_a_focused_map_selects_its_strongest_unit(page, live_server):
    body = open_inspect_page(page, live_server)
    pool1 = next(layer for layer in body["layers"] if layer["name"] == "pool1")
    page.focus(f"[data-testid=fmap-{pool1['index']}-0]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=detail-view] .detail-header")
    assert "pool1" in page.locator("[data-testid=detail-view] .detail-header").inner_text()
    assert page.locator(f".layer-column[data-layer='{pool1['index']}'] .selected-box").count() == 1


def test_clicking_a_probability_opens_the_softmax_detail(page, live_server):
    open_inspect_page(page, live_server)
    page.click(".prob-row[data-class='4']")
    header = page.locator("[data-testid=detail-view] .detail-header")
    header.wait_for()
    assert "softmax" in header.inner_text()


def test_model_picker_switches_the_network_and_keeps_the_input(page, live_server):
    open_inspect_page(page, live_server)
    options = page.eval_on_selector_all(
        "[data-testid=model-select] option", "os => os.map(o => o.value)"
    )
    listed = [m["id"] for m in httpx.get(f"{live_server}/api/v1/models").json()["models"]]
    assert options == listed
    assert "lenet5-classic" in options
    first = page.locator("[data-testid=sample-gallery] button").first
    sample_id = int(first.get_attribute("data-sample-id"))
    with page.expect_response(lambda r: r.url.endswith("/models/lenet5-classic/inspect")):
        page.select_option("[data-testid=model-select]", "lenet5-classic")
    page.wait_for_selector(".layer-column .layer-name:text-is('tanh1')")
    expected = api_inspect(live_server, "lenet5-classic", json={"sample": sample_id})
    assert_prediction_matches(page, expected)
    assert "avgpool2d" in page.locator(".layer-column[data-layer='2'] .layer-head").inner_text()


def test_each_inspect_is_small_and_weights_come_once_per_model(page, live_server):
    requests = []
    page.on("request", lambda r: "/api/v1/" in r.url and requests.append(r.url))
    body = open_inspect_page(page, live_server)
    assert "params" not in body["include"]
    weight_requests = [u for u in requests if u.endswith("/models/lenet5?include=weights")]
    assert len(weight_requests) == 1
    # The detail view still gets the weights: the conv arithmetic matches the trace.
    page.click("[data-testid=fmap-0-0]")
    page.wait_for_selector("[data-testid=detail-conv-output]")
    for _ in range(3):
        page.click("[data-testid=sample-gallery] button >> nth=4")
    assert len([u for u in requests if "include=weights" in u]) == 1


def test_dropping_an_image_file_inspects_it(page, live_server):
    open_inspect_page(page, live_server)
    images, _ = load_digits()
    _, heldout = split_indices()
    png = photo_like_png(images[int(heldout[5])])
    with page.expect_response(is_inspect) as answered:
        page.evaluate(
            """bytes => {
                const file = new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'});
                const transfer = new DataTransfer();
                transfer.items.add(file);
                const zone = document.getElementById('drop-zone');
                for (const type of ['dragenter', 'dragover', 'drop']) {
                    zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true,
                                                            cancelable: true}));
                }
            }""",
            list(png),
        )
    assert answered.value.status == 200
    wait_for_input(page, "file:dropped.png")
    expected = api_inspect(live_server, files={"image": ("dropped.png", png, "image/png")})
    assert_prediction_matches(page, expected)


def test_a_newer_input_aborts_the_request_still_running(page, live_server):
    open_inspect_page(page, live_server)
    held = []
    failed = []
    page.on("requestfailed", lambda r: is_inspect(r) and failed.append(r))
    page.route(INSPECT, lambda route: held.append(route))
    buttons = page.locator("[data-testid=sample-gallery] button")
    buttons.nth(1).click()
    page.wait_for_function("() => document.querySelector('#overview-band').ariaBusy === 'true'")
    page.unroute(INSPECT)
    second_id = int(buttons.nth(2).get_attribute("data-sample-id"))
    with page.expect_response(is_inspect):
        buttons.nth(2).click()
    page.wait_for_function("() => document.querySelector('#overview-band').ariaBusy === 'false'")
    assert len(failed) == 1, "the first request was aborted"
    assert json.loads(failed[0].post_data)["sample"] == int(buttons.nth(1).get_attribute(
        "data-sample-id"))
    wait_for_input(page, f"sample:{second_id}")


def test_touch_drawing_on_a_phone_inspects_the_drawing(phone_page, live_server):
    open_inspect_page(phone_page, live_server)
    pad = phone_page.locator("[data-testid=draw-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    with phone_page.expect_request(is_inspect) as sent:
        phone_page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    pixels = np.asarray(json.loads(sent.value.post_data)["pixels"])
    assert pixels.max() == 255 and pixels.min() == 0
    wait_for_input(phone_page, "pixels")


def test_a_dense_strip_cell_is_its_unit(page, live_server):
    body = open_inspect_page(page, live_server)
    last = body["layers"][-1]
    assert last["output_shape"] == [10]
    canvas = page.locator(f"[data-testid=fmap-{last['index']}-0]")
    rows = page.eval_on_selector(f"[data-testid=fmap-{last['index']}-0]", "c => c.height")
    assert rows == 10
    box = canvas.bounding_box()
    unit = 3
    # Positions relative to the canvas, resolved when the pointer moves: the page may still be
    # laying out (the gallery's thumbnails arriving) after its first trace is drawn.
    spot = {"x": box["width"] / 2, "y": box["height"] * (unit + 0.5) / rows}
    canvas.hover(position=spot)
    # the last layer's outputs are the logits, and the readout calls them so (the pointermove
    # handler runs after the move returns: wait for it on a busy machine)
    wait_for_text(page, "#hover-readout", f"{last['name']} unit {unit}: logit")
    readout = page.locator("#hover-readout").inner_text()
    assert readout.startswith(f"{last['name']} unit {unit}: logit")
    # A dense unit sees the whole input.
    whole = page.eval_on_selector(".input-column .rf-box", "b => [b.style.height, b.style.width]")
    assert whole == ["100%", "100%"]
    canvas.click(position=spot)
    header = page.locator("[data-testid=detail-view] .detail-header")
    header.wait_for()
    assert last["name"] in header.inner_text()
