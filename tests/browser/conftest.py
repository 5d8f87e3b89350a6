"""Browser fixtures: a real uvicorn on loopback and Debian's chromium driven by Playwright.

Never `playwright install`: the browser is Debian's (`make test` installs it). Every page
fails its test on a console error or on any request that would leave the machine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.servers import serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CONVSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
# The Content-Security-Policy the server sends on every HTML page. Pages are served with it
# here too (added to each document response when the server did not send it), so a page that
# needs inline script, an inline event handler or eval fails its test: chromium reports every
# CSP violation as a console error. The API docs (/docs, /redoc) are left as the server sends
# them: their pages are not the UI's. (So wait_for_function predicates are written as functions,
# "() => ...": Playwright polls a bare expression with eval, which the CSP forbids.)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def live_server():
    """Base URL of the app served by a real uvicorn process on 127.0.0.1."""
    with serve() as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"chromium not found at {CHROMIUM}: run `make test`, which installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProbe:
    """What a page did that a test must check: console errors and off-machine requests."""

    def __init__(self):
        self.console_errors: list[str] = []
        self.external_requests: list[str] = []


@pytest.fixture
def probe():
    return PageProbe()


def _open_page(browser, probe: PageProbe, width: int, height: int, **context_args):
    context = browser.new_context(viewport={"width": width, "height": height}, **context_args)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: msg.type == "error" and probe.console_errors.append(msg.text),
    )
    page.on("pageerror", lambda exc: probe.console_errors.append(str(exc)))

    def guard(route):
        url = route.request.url
        host = urlparse(url).hostname or ""
        if host in LOOPBACK and route.request.resource_type == "document" and not urlparse(
            url
        ).path.startswith(("/docs", "/redoc")):
            response = route.fetch()
            headers = dict(response.headers)
            if "content-security-policy" not in {k.lower() for k in headers}:
                headers["content-security-policy"] = CSP
            route.fulfill(response=response, headers=headers)
        elif url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            probe.external_requests.append(url)
            route.abort()

    page.route("**/*", guard)
    return context, page


@pytest.fixture
def page(browser, probe, request):
    """A 1280x800 page; after the test: no console errors, no request off the machine."""
    context, pg = _open_page(browser, probe, 1280, 800)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
    assert probe.external_requests == [], probe.external_requests
    assert probe.console_errors == [], probe.console_errors


@pytest.fixture
def phone_page(browser, probe, request):
    """A 390x844 touch page (a phone), with the same checks as `page`."""
    context, pg = _open_page(browser, probe, 390, 844, has_touch=True, is_mobile=True)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
    assert probe.external_requests == [], probe.external_requests
    assert probe.console_errors == [], probe.console_errors


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (node_modules/axe-core, installed by `make test` with npm ci) in the page
    and return its WCAG 2 A/AA violations of the given impacts, each {id, impact, help, nodes}.
    The page runs under the CSP (no inline script), so axe is added as a script element whose
    same-origin URL Playwright answers with the file: the app never serves it."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --no-audit --no-fund` (make test does)")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.route("**/__test-only__/axe.min.js",
                   lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
        page.add_script_tag(url="/__test-only__/axe.min.js")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
                resultTypes: ['violations'],
            });
            return r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in impacts]


def save_screenshot(page, name: str) -> Path:
    """Save a named screenshot into the artifacts folder and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


WIDTHS = [1280, 1024, 853, 390]


@pytest.fixture(name="sized_page", params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def sized_page_fixture(request, browser, probe):
    """A page at each width; after the test: no console errors, no request off the machine."""
    width = request.param
    extra = {"has_touch": True, "is_mobile": True} if width < 600 else {}
    context, pg = _open_page(browser, probe, width, 844 if width < 600 else 900, **extra)
    pg.lesson_width = width
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context.close()
    assert probe.external_requests == [], probe.external_requests
    assert probe.console_errors == [], probe.console_errors


def no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def wait_for_text(page, selector: str, text: str, timeout: float = 30_000) -> None:
    """Wait until `selector`'s text contains `text`. (A function, not a string predicate: the
    pages' CSP forbids the eval Playwright uses for strings.)"""
    page.wait_for_function(
        "([s, t]) => document.querySelector(s).textContent.includes(t)", arg=[selector, text],
        timeout=timeout,
    )
