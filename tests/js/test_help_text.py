"""The inspect page's in-place help (static/js/help_text.js) has an entry for every layer kind
the core can put on the page, and for the page's own bands."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.nn.layers import LAYER_TYPES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ("import('./static/js/help_text.js').then((m) => console.log(JSON.stringify(m.HELP)))")


def test_every_layer_kind_and_band_has_what_to_see_what_to_try_and_a_formula():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run([node, "--input-type=module", "-e", SCRIPT], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    help_ = json.loads(out)
    wanted = set(LAYER_TYPES) | {"input", "overview", "probabilities", "softmax"}
    assert wanted - set(help_) == set()
    for key, entry in help_.items():
        assert all(entry[part].strip() for part in ("see", "try", "formula")), key
        assert "issue" not in json.dumps(entry).lower() and "seed 0" not in json.dumps(entry)
