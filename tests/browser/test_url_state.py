"""Shareable URLs on the inspect page: a link with every field set reopens that model, sample,
layer, unit, mode and target; clicking rewrites the link; a reload restores it; bad values
fall back quietly to the defaults. At 1280, 1024, 853 and 390 px."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import no_sideways_scroll, save_screenshot

pytestmark = pytest.mark.browser

FULL = "/?model=lenet5-classic&sample=7&layer=tanh1&unit=2,10,12&mode=backward&target=3"


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_for_detail(page, layer: int, channel: int, y: int, x: int, mode: str) -> None:
    page.wait_for_function(
        "([l, c, y, x, m]) => { const d = document.querySelector('.detail');"
        " return d && d.dataset.layer === l && d.dataset.channel === c && d.dataset.y === y"
        " && d.dataset.x === x && d.dataset.mode === m; }",
        arg=[str(layer), str(channel), str(y), str(x), mode], timeout=30_000,
    )


def state(page) -> dict:
    return page.evaluate("""() => ({
        model: document.querySelector('#model-select').value,
        input: document.querySelector('[data-testid=prediction]').dataset.input,
        backward: document.querySelector('#mode-backward').getAttribute('aria-pressed'),
        target: document.querySelector('#target-select').value,
        heading: document.querySelector('.detail-header h2')?.textContent,
    })""")


def test_a_link_with_every_field_reopens_that_state_exactly(sized_page, live_server):
    page = sized_page
    page.goto(live_server + FULL)
    wait_for_detail(page, 1, 2, 10, 12, "backward")
    page.get_by_test_id("detail-activation-backward").wait_for()
    s = state(page)
    assert s["model"] == "lenet5-classic" and s["input"] == "sample:7"
    assert s["backward"] == "true" and s["target"] == "3"
    assert s["heading"] == "tanh1 (tanh) — channel 2, row 10, column 12"
    assert query(page) == {"model": "lenet5-classic", "sample": "7", "layer": "tanh1",
                           "unit": "2,10,12", "mode": "backward", "target": "3"}
    assert no_sideways_scroll(page)
    save_screenshot(page, f"url_state_restored_{page.lesson_width}")


def test_clicking_rewrites_the_link_and_a_reload_restores_it(page, live_server):
    page.goto(live_server + "/?model=lenet5&sample=3")
    page.wait_for_selector("[data-testid=fmap-0-0]")
    page.wait_for_function("() => location.search.includes('mode=forward')")
    fmap = page.get_by_test_id("fmap-0-4")
    box = fmap.bounding_box()
    # a unit near row 5, column 20 of the 28x28 map (the exact cell depends on the layout)
    fmap.click(position={"x": box["width"] * 20.5 / 28, "y": box["height"] * 5.5 / 28})
    page.wait_for_function("() => document.querySelector('.detail')?.dataset.channel === '4'")
    y, x = page.evaluate(
        "() => ['y', 'x'].map((k) => document.querySelector('.detail').dataset[k])")
    assert abs(int(y) - 5) <= 1 and abs(int(x) - 20) <= 1
    page.get_by_test_id("mode-backward").click()
    page.wait_for_function("() => location.search.includes('mode=backward')")
    assert query(page) == {"model": "lenet5", "sample": "3", "layer": "conv1", "unit": f"4,{y},{x}",
                           "mode": "backward"}
    page.reload()
    wait_for_detail(page, 0, 4, int(y), int(x), "backward")
    s = state(page)
    assert s["model"] == "lenet5" and s["input"] == "sample:3" and s["backward"] == "true"
    page.get_by_test_id("copy-link").click()
    page.wait_for_function("() => document.querySelector('#link-status').textContent.length > 0")
    assert "sample=3" in page.get_by_test_id("link-status").text_content() \
        or page.get_by_test_id("link-status").text_content() == "Link copied."
    save_screenshot(page, "url_state_reloaded_1280")


@pytest.mark.parametrize("search", [
    "?model=nope&sample=99999&layer=conv9&unit=9,9,9&mode=sideways&target=42",
    "?model=%3Cb%3E&sample=-3&unit=a,b&target=1.5",
    "?layer=relu1&unit=6,0,0",
])
def test_invalid_values_fall_back_quietly_to_the_defaults(page, live_server, search):
    page.goto(live_server + "/" + search)
    page.wait_for_selector("[data-testid=prediction][data-class]")
    page.wait_for_function("() => location.search.includes('mode=forward')")
    s = state(page)
    assert s["model"] == "lenet5" and s["input"] == "sample:0" and s["backward"] == "false"
    assert s["target"] == ""
    if "relu1" in search:  # a good layer with a unit out of range: its first unit
        wait_for_detail(page, 1, 0, 0, 0, "forward")
    else:
        assert "layer" not in query(page)
    assert page.locator("#input-error").is_hidden()
