"""A model the training lab put into the store (model_store().put_network, as a run's end
does) opens on the inspect page from its shareable URL `/?model=<id>`: selected in the
picker, inspected, its prediction shown. Widths 1280 and 390."""

from __future__ import annotations

import pytest

from app.nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from app.services.model_store import model_store
from tests.browser.conftest import no_sideways_scroll, save_screenshot, wait_for_text
from tests.browser.test_inspect_page import is_inspect

pytestmark = pytest.mark.browser

DIGITS = [str(d) for d in range(10)]


def _trained_model_id(note: str, pool: int = 4) -> str:
    """Store a small digit network as the training lab does; its id (the server shares the
    store's directory: tests/conftest.py sets CONVSCOPE_MODEL_DIR before it starts)."""
    side = 28 // pool
    net = Sequential([Conv2d(1, 3, 3, padding=1, rng=5), ReLU(), MaxPool2d(pool), Flatten(),
                      Linear(3 * side * side, 10, rng=6)])
    net.eval()
    card = model_store().put_network(
        net, name=f"tiny cnn trained on digits ({note})", classes=DIGITS,
        input_shape=(1, 28, 28),
        extra={"training_run": {"id": f"run-{note}", "history": [], "heldout_accuracy": None}},
    )
    return card["id"]


def _opens_from_its_url(page, live_server: str, model_id: str, width: int) -> None:
    with page.expect_response(is_inspect, timeout=60_000) as first:
        page.goto(f"{live_server}/?model={model_id}")
    response = first.value
    assert f"/models/{model_id}/inspect" in response.url, response.url
    body = response.json()
    assert body["model"] == model_id and body["input"]["shape"] == [1, 28, 28]
    page.wait_for_selector("[data-testid=prediction][data-class]")
    wait_for_text(page, "[data-testid=prediction]", "Prediction:")
    page.wait_for_selector("[data-testid=fmap-0-0]")
    assert page.input_value("[data-testid=model-select]") == model_id
    option = page.locator(f"[data-testid=model-select] option[value='{model_id}']")
    assert "tiny cnn trained on digits" in option.inner_text()
    save_screenshot(page, f"trained_model_{width}")
    assert no_sideways_scroll(page), page.evaluate(
        "() => [document.documentElement.scrollWidth, ...[...document.querySelectorAll('*')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5)"
        ".map(e => e.tagName + '.' + e.className + '#' + (e.dataset.testid || ''))]")


def test_a_trained_model_opens_from_its_url_selected_inspected_with_a_prediction(
    page, live_server
):
    _opens_from_its_url(page, live_server, _trained_model_id("browser 1280"), 1280)


def test_a_trained_model_opens_from_its_url_on_a_phone(phone_page, live_server):
    _opens_from_its_url(phone_page, live_server, _trained_model_id("browser 390"), 390)


def test_a_wide_flatten_fits_a_phone(phone_page, live_server):
    """3 x 28 x 28 flattened is 2,352 units: stacked on a phone its strip shrinks to fit."""
    _opens_from_its_url(phone_page, live_server, _trained_model_id("wide 390", pool=1), 390)
