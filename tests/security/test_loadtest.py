"""`make loadtest` keeps working: a tiny run against a real uvicorn stops by itself, answers
every upload, and prints the figures it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tiny_loadtest_run_reports_every_figure():
    # A subprocess, as `make loadtest` runs it (and clear of any event loop in this process).
    result = subprocess.run(
        [sys.executable, "-m", "bench.loadtest", "--requests", "8", "--concurrency", "4",
         "--deadline", "120", "--no-hostile"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "status counts: 200: 8" in out
    for figure in ("latency ms, 200 only: p50", "/healthz during the burst", "server peak RSS"):
        assert figure in out
    assert "alive at the end: True" in out
