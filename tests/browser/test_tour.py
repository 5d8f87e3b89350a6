"""The inspect page's guided tour, walked end to end in a real browser: every step selects the
real unit through the page, highlights its layer and explains it with the trace's numbers;
Next / Back / Exit by mouse and keyboard; lenet5 and lenet5-classic wording; a model without
convolutions skips the steps it lacks. Plus the in-place help toggles."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, no_sideways_scroll, save_screenshot
from tests.browser.conftest import wait_for_text as wait_for

pytestmark = pytest.mark.browser

STEPS = ["input", "conv", "activation", "pool", "flatten", "linear", "softmax", "backward"]


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector("[data-testid=prediction][data-class]")
    page.wait_for_selector("[data-testid=fmap-0-0]")


def detail(page) -> dict:
    return page.evaluate("() => ({...document.querySelector('.detail')?.dataset})")


def step_is(page, step_id: str) -> None:
    page.wait_for_function(
        "s => document.querySelector('[data-testid=tour-panel]').dataset.step === s",
        arg=step_id, timeout=30_000)


def mode_is(page, mode: str) -> None:
    page.wait_for_function(
        "m => document.querySelector(`#mode-${m}`).getAttribute('aria-pressed') === 'true'",
        arg=mode)


def test_the_tour_walks_lenet5_end_to_end_on_the_current_image(sized_page, live_server):
    page = sized_page
    open_page(page, live_server + "/?model=lenet5&sample=7")
    page.get_by_test_id("tour-start").click()
    panel = page.get_by_test_id("tour-panel")
    seen = []
    for i, step in enumerate(STEPS):
        step_is(page, step)
        text = page.get_by_test_id("tour-text").text_content()
        seen.append(text)
        assert f"Step {i + 1} of 8" in panel.text_content()
        if step == "input":
            assert "28×28" in text and "It predicts 7" in text
        if step == "conv":
            page.wait_for_function("() => document.querySelector('.detail')?.dataset.layer === '0'")
            assert "conv1 slides 6 kernels of 5×5" in text
            column = page.locator(".layer-column[data-layer='0']")
            assert column.get_attribute("class").endswith("tour-target")
            save_screenshot(page, f"tour_conv_{page.lesson_width}")
        if step == "activation":
            page.wait_for_function("() => document.querySelector('.detail')?.dataset.layer === '1'")
            assert "relu1 (ReLU) keeps positive values" in text and "f(−" not in text
            page.get_by_test_id("detail-activation-plot").wait_for()
        if step == "pool":
            assert "keeps the largest value of each 2×2 window" in text and "14×14" in text
        if step == "flatten":
            assert "the 16×5×5 maps into one vector of 400" in text
        if step == "linear":
            assert "fc1 is fully connected: each of its 120 units weighs all 400 inputs" in text
        if step == "softmax":
            assert "Class 7: logit " in text and ", probability " in text and "−log p = " in text
            assert detail(page)["layer"] == "12"
        if step == "backward":
            mode_is(page, "backward")
            wait_for(page, "[data-testid=tour-text]", "delta is")
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=tour-text]').textContent"
                ".includes('loading')")
            assert detail(page)["mode"] == "backward" and detail(page)["layer"] == "0"
            assert no_sideways_scroll(page)
            save_screenshot(page, f"tour_backward_{page.lesson_width}")
            assert page.get_by_test_id("tour-next").text_content() == "Finish"
        if i < len(STEPS) - 1:
            page.get_by_test_id("tour-next").click()
    # Back returns to softmax, forward again
    page.get_by_test_id("tour-back").click()
    step_is(page, "softmax")
    mode_is(page, "forward")
    page.get_by_test_id("tour-next").click()
    step_is(page, "backward")
    page.get_by_test_id("tour-next").click()  # Finish
    assert panel.is_hidden()
    assert page.locator(".tour-target").count() == 0


def test_the_classic_lenet_gets_tanh_and_average_pooling_wording_by_keyboard(page, live_server):
    open_page(page, live_server + "/?model=lenet5-classic&sample=2&tour=1")
    step_is(page, "input")
    title = page.locator("#tour-title")
    assert title.evaluate("el => el === document.activeElement")
    texts = {}
    for step in STEPS[1:5]:
        page.keyboard.press("ArrowRight")
        step_is(page, step)
        texts[step] = page.get_by_test_id("tour-text").text_content()
    assert "tanh1 (tanh) squashes every value into (−1, 1)" in texts["activation"]
    assert "averages (LeCun’s subsampling) each 2×2 window" in texts["pool"]
    page.keyboard.press("ArrowLeft")
    step_is(page, "pool")
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    assert page.get_by_test_id("tour-panel").is_hidden()
    assert page.get_by_test_id("tour-start").evaluate("el => el === document.activeElement")


@pytest.mark.parametrize(("model", "absent", "present"), [
    ("mlp", {"conv", "pool"}, {"flatten", "linear", "activation"}),
    ("resnet-mini", {"pool"}, {"conv", "activation", "flatten", "linear"}),
    ("lstm-rows", {"conv", "pool", "flatten", "activation"}, {"linear"}),
])
def test_other_models_skip_the_steps_whose_layer_kind_they_lack(page, live_server, model, absent,
                                                                 present):
    page.goto(live_server + f"/?model={model}&sample=1")
    page.wait_for_selector("[data-testid=prediction][data-class]")
    page.get_by_test_id("tour-start").click()
    steps = []
    for _ in range(10):
        page.wait_for_selector("[data-testid=tour-panel][data-step]")
        steps.append(page.get_by_test_id("tour-panel").get_attribute("data-step"))
        if page.get_by_test_id("tour-next").text_content() == "Finish":
            break
        page.get_by_test_id("tour-next").click()
        wait_for(page, "#tour-count", f"Step {len(steps) + 1} ")
    assert steps[0] == "input" and steps[-2:] == ["softmax", "backward"]
    assert absent.isdisjoint(steps) and present <= set(steps)
    wait_for(page, "[data-testid=tour-text]", "delta is")
    page.wait_for_selector("[data-testid=progress]", state="hidden")
    save_screenshot(page, f"tour_{model}_1280")


def test_every_view_has_a_help_toggle_with_what_to_see_try_and_formula(page, live_server):
    open_page(page, live_server + "/?model=lenet5&sample=0&layer=pool1&unit=1,3,3")
    page.wait_for_function("() => document.querySelector('.detail')?.dataset.layer === '2'")
    for key in ("input", "overview", "probabilities", "maxpool2d"):
        toggle = page.get_by_test_id(f"help-toggle-{key}")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        text = page.get_by_test_id(f"help-{key}").text_content()
        assert "What you see:" in text and "Try:" in text and "Formula:" in text
    assert "max(window)" in page.get_by_test_id("help-maxpool2d").text_content()
    save_screenshot(page, "help_toggles_1280")
