"""`make loadtest` keeps working: a tiny run against a real uvicorn stops by itself, answers
every upload, and prints the figures it promises."""

from __future__ import annotations

import pytest

from bench import loadtest


@pytest.mark.slow
def test_tiny_loadtest_run_reports_every_figure(capsys):
    assert loadtest.main(["--requests", "8", "--concurrency", "4", "--deadline", "120"]) == 0
    out = capsys.readouterr().out
    assert "status counts: 200: 8" in out
    for figure in ("latency ms, 200 only: p50", "/healthz during the burst", "server peak RSS"):
        assert figure in out
    assert "alive at the end: True" in out
