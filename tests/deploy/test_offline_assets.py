"""Everything a page loads is served by the app itself: no CDN, no external URL."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/", "/receptive-field", "/conv-arithmetic", "/docs", "/redoc"]
ASSET_REFS = re.compile(
    r"""<(?:script|link|img|source|iframe|video|audio)\b[^>]*?\s(?:src|href)\s*=\s*["']([^"'#]+)["']""",
    re.IGNORECASE,
)
JS_IMPORTS = re.compile(
    r"""(?:^|[;\s])(?:import|export)\s[^;'"]*?from\s*["']([^"']+)["']"""
    r"""|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']""",
    re.MULTILINE,
)
CSS_URLS = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
# A quoted or url()-wrapped address that names another host: "https://...", '//cdn...'.
EXTERNAL = re.compile(r"""["'(]\s*(?:https?:)?//[A-Za-z0-9]""")


def _refs(path: str, body: str, content_type: str) -> set[str]:
    if "html" in content_type:
        found = set(ASSET_REFS.findall(body))
    elif "javascript" in content_type:
        found = {next(g for g in groups if g) for groups in JS_IMPORTS.findall(body)}
    elif "css" in content_type:
        found = set(CSS_URLS.findall(body))
    else:
        found = set()
    return {
        urljoin(path, ref)
        for ref in found
        if not ref.startswith(("data:", "blob:", "mailto:", "javascript:"))
    }


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_a_page_loads_is_served_by_the_app(client, page):
    seen, queue = set(), [page]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        parsed = urlparse(url)
        assert not parsed.netloc, f"{url} (linked from the app) is not served by the app"
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        if url.startswith("/api/"):
            continue
        kind = response.headers.get("content-type", "")
        queue.extend(_refs(parsed.path, response.text, kind) - seen)
    assert len(seen) > 1 or page in {"/docs", "/redoc"}


def test_no_template_or_own_static_file_references_an_external_url():
    files = list((ROOT / "templates").rglob("*.html")) + [
        p for p in (ROOT / "static").rglob("*")
        if p.suffix in {".js", ".mjs", ".css", ".html"} and "vendor" not in p.parts
    ]
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in files
        for m in EXTERNAL.finditer(p.read_text(errors="replace"))
    ]
    assert offenders == []
