"""First paint of the inspect page's overview for a large graph, in Chromium on loopback.

The server is a real uvicorn (bench.big_graph_app: the app plus `resnet18-digits`, ResNet-18's
layout on upsampled digits, 70 nodes, 16,000 channels, random weights). The page is opened with
the model list answered so that this model comes first (registered models are not listed), so
from navigation the page loads it as a user's first model. Per run, from the page's own clocks
(performance.now(), the inspect request's Resource Timing):

- `response -> overview drawn`: from the inspect response's last byte to the frame after the
  last node's column is in the DOM (decoding, summaries, strips, skip edges, layout);
- `navigation -> overview drawn`: the same end, from navigation start (page, scripts, model
  list, card, the server's forward + backward pass, transfer);
- `inspect request (server pass + transfer)`: the request's start to its last byte;
- `navigation -> visible strips fetched`: until no map in the viewport waits for its numbers;
- the same for lenet5 from navigation (the page's default model), for comparison.

    python -m bench.first_paint            # 5 runs
    python -m bench.first_paint --runs 3

Debian's chromium (/usr/bin/chromium), headless, as the browser tests drive it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen

from bench.traces import DIGITS_MODEL_ID

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CONVSCOPE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
LAST_LAYER = 69

# Before any page script: note when the last node's column enters the DOM and the frame after.
PAINT_PROBE = """
window.__paint = null;
new MutationObserver((_, observer) => {
  const last = document.querySelector('#overview .layer-column[data-layer="%d"]');
  if (!last) return;
  observer.disconnect();
  const dom = performance.now();
  requestAnimationFrame(() => setTimeout(() => {
    window.__paint = { dom, painted: performance.now() };
  }, 0));
}).observe(document, { subtree: true, childList: true });
"""

VISIBLE_LOADED = """() => [...document.querySelectorAll('.fmap-canvas[data-state="loading"]')]
  .every((c) => {
    const r = c.getBoundingClientRect();
    return r.bottom < 0 || r.top > innerHeight || r.right < 0 || r.left > innerWidth;
  })"""


@contextmanager
def serve():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.big_graph_app:app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level",
                             "warning"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def one_run(browser, base: str, model: str, last_layer: int, big_first: bool) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(PAINT_PROBE % last_layer)
    if big_first:
        with urlopen(f"{base}/api/v1/models/{model}") as r:
            card = json.load(r)
        summary = {k: card[k] for k in ("id", "name", "description", "input_shape", "classes",
                                        "parameters") if k in card}

        def models(route):
            listed = route.fetch().json()
            listed["models"].insert(0, {**listed["models"][0], **summary})
            route.fulfill(json=listed)

        page.route("**/api/v1/models", models)
    try:
        page.goto(base)
        page.wait_for_function("() => window.__paint !== null", timeout=120_000)
        paint = page.evaluate("() => window.__paint")
        timing = page.evaluate("""(id) => {
            const e = performance.getEntriesByType('resource')
              .filter((r) => r.name.includes(`/models/${id}/inspect`)).pop();
            return { start: e.startTime, end: e.responseEnd, bytes: e.transferSize };
        }""", model)
        page.wait_for_function(VISIBLE_LOADED, timeout=120_000, polling=50)
        loaded = page.evaluate("() => performance.now()")
        return {
            "response -> overview drawn": paint["painted"] - timing["end"],
            "navigation -> overview drawn": paint["painted"],
            "inspect request (server pass + transfer)": timing["end"] - timing["start"],
            "navigation -> visible strips fetched": loaded,
            "inspect bytes on the wire": timing["bytes"],
        }
    finally:
        context.close()


def run(runs: int) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, float]] = {}
    with serve() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for label, model, last, big in ((DIGITS_MODEL_ID, DIGITS_MODEL_ID, LAST_LAYER, True),
                                            ("lenet5", "lenet5", 11, False)):
                one_run(browser, base, model, last, big)  # warm-up (server caches, JIT)
                samples = [one_run(browser, base, model, last, big) for _ in range(runs)]
                results[label] = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
        finally:
            browser.close()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_paint")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    results = run(args.runs)
    load = os.getloadavg()
    print(f"First paint, Chromium headless 1280x900 on loopback, median of {args.runs} runs "
          f"(load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}):\n")
    print("| | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for key in next(iter(results.values())):
        unit = " B" if "bytes" in key else " ms"
        cells = [f"{r[key]:,.0f}{unit}" for r in results.values()]
        print(f"| {key} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
