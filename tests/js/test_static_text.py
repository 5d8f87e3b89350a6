"""The UI's static files: user text states rules instead of citing internal documents, pages
need no inline script or inline event handler (they run under a strict CSP), and no module
grows past 400 lines."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = sorted(
    [*ROOT.joinpath("templates").rglob("*.html"), *ROOT.joinpath("static").rglob("*.js"),
     *ROOT.joinpath("static").rglob("*.css")]
)


def test_ui_text_cites_no_internal_documents():
    cited = re.compile(r"\bseeds? 0\d\d\b|\bissue \d+\b", re.IGNORECASE)
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in UI_FILES
            for m in cited.finditer(p.read_text(encoding="utf-8"))]
    assert hits == []


def test_receptive_field_text_has_no_formula_residue_and_one_direction_word():
    text = "\n".join(p.read_text(encoding="utf-8") for p in UI_FILES)
    flat = text.replace("&nbsp;", " ").replace("\u2212", "-")
    assert "+ 1 - 1)" not in flat, "the (d(k - 1) + 1 - 1) residue"
    assert "top-down" not in text.lower(), "one direction word: bottom-up"


def test_templates_need_no_inline_script_or_event_handlers():
    for path in ROOT.joinpath("templates").rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        for script in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
            assert "src=" in script.group(1) and not script.group(2).strip(), path
        assert not re.search(r"\son[a-z]+\s*=", html), f"{path}: inline event handler"


def test_no_static_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in ROOT.joinpath("static").rglob("*.js")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
