"""The page loads in a real browser with no console errors and no external requests."""


def test_index_page_loads_offline(page, live_server):
    page.goto(live_server + "/")
    assert page.title().startswith("ConvScope")
