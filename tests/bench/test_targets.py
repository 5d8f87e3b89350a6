"""The targets section's plumbing with minimal sizes: the reference protocol's round trip
with a fake reference (a tiny script, no framework), the ratio arithmetic, failing
references reported in the table, and specs a reference can rebuild. No timing is asserted."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import pytest

from app.nn import from_spec
from bench.__main__ import SECTIONS, parse_args
from bench.reference import (
    ReferenceFailed,
    ReferenceReply,
    ReferenceResult,
    build_request,
    call_reference,
    parse_reply,
)
from bench.targets import (
    NO_REFERENCE,
    Passes,
    TargetRow,
    TargetsReport,
    _apply_replies,
    build_workloads,
    main,
    run_targets,
    targets_section,
)

FAST_MS, SLOW_MS = 1e-3, 1e7  # the fake's medians: ours is slower / faster than these

FAKE = """
import json, pathlib, sys
request = json.load(sys.stdin)
with pathlib.Path(sys.argv[1]).open("a") as log:
    log.write(json.dumps(request) + "\\n")
results = [{"id": w["id"], "median_ms": SLOW if w["id"].startswith("lenet5") else FAST,
            "min_ms": FAST, "cpu_ms": None, "repeats": 3} for w in request["workloads"]]
print("fake reference: timed", len(results), "workloads", file=sys.stderr)
print(json.dumps({"framework": "fake 0.1", "threads": request["threads"], "results": results}))
"""

FAILING = {
    "exit status 1": "import sys; sys.stdin.read(); sys.exit(1)",
    "stdout is not one JSON document": "import sys; sys.stdin.read(); print('timings: 3 ms')",
    "no reply within 0.5 s": "import sys, time; sys.stdin.read(); time.sleep(30)",
}


def _command(tmp_path, source: str, *args: str) -> str:
    script = tmp_path / "reference.py"
    script.write_text(source.replace("SLOW", repr(SLOW_MS)).replace("FAST", repr(FAST_MS)))
    return shlex.join([sys.executable, str(script), *args])


def test_fake_reference_round_trip_gives_same_run_ratios_met_and_not_met(tmp_path):
    log = tmp_path / "requests.jsonl"
    report = run_targets(_command(tmp_path, FAKE, str(log)), quick=True, rounds=2,
                         training=False)
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(requests) == 2  # once per round
    request = requests[0]
    assert request["protocol"] == 1 and request["threads"] == report.threads
    assert {"budget_s", "min_repeats", "warmup"} <= set(request)
    ids = [w["id"] for w in request["workloads"]]
    assert ids == ["lenet5-b1", "lenet5-b2", "tinyvgg-b1", "tinyvgg-b2", "resnet18-32px-b1",
                   "resnet18-32px-b2"]
    for workload in request["workloads"]:
        assert workload["dtype"] == "float32" and workload["loss"] == "softmax_cross_entropy"
        assert workload["input_grad"] is True and workload["mode"] == "eval"
    assert report.framework == "fake 0.1" and report.failure is None
    assert len(report.rows) == 7  # six passes and the inspect
    for row in report.rows:
        slow = row.reference_id.startswith("lenet5")
        assert row.reference_ms == (SLOW_MS if slow else FAST_MS)
        assert row.ratio == pytest.approx(row.ours.median / row.reference_ms)
        assert row.met is slow  # ours is far below SLOW_MS and far above FAST_MS
        assert len(row.ours.median_ms) == 2
    inspect = report.rows[-1]
    assert inspect.reference_id == "resnet18-32px-b1" and inspect.limit == 1.5
    text = targets_section(report)
    assert "fake 0.1" in text and "**not met**" in text and "| met |" in text
    assert NO_REFERENCE not in text


def test_ratio_is_median_of_ours_over_median_of_the_reference_rounds():
    row = TargetRow("t", "w", 1.2, "w", Passes([2.0, 4.0, 3.0], [1.0] * 3, [1.0] * 3))
    report = TargetsReport([row], cpus=2, threads=2, quick=False, rounds=3, reference="ref")
    replies = [ReferenceReply("fake", 2, {"w": ReferenceResult(m, m, None, 3)})
               for m in (1.0, 2.5, 2.0)]
    _apply_replies(report, replies)
    assert row.reference_ms == 2.0 and row.ratio == 1.5 and row.met is False
    row.limit = 1.5
    assert row.met is True  # at the limit is met
    row.reference_ms = 4.0
    assert row.ratio == 0.75 and row.met is True


def test_a_missing_id_in_the_reply_marks_only_that_row():
    rows = [TargetRow("a", "a", 1.0, "a", Passes([1.0], [1.0], [1.0])),
            TargetRow("b", "b", 1.0, "b", Passes([1.0], [1.0], [1.0]))]
    report = TargetsReport(rows, 2, 2, False, 1, reference="ref")
    _apply_replies(report, [ReferenceReply("fake", 2, {"a": ReferenceResult(2, 1, 1, 3)})])
    assert rows[0].ratio == 0.5 and rows[1].ratio is None
    assert rows[1].note == "reference failed: no result for b"


def test_a_failing_reference_gives_rows_saying_so_not_an_exception(tmp_path):
    reason = "stdout is not one JSON document"
    report = run_targets(_command(tmp_path, FAILING[reason]), quick=True, rounds=1,
                         training=False)
    assert report.failure.startswith(reason)
    assert all(row.note.startswith(f"reference failed: {reason}") and row.ratio is None
               and row.met is None for row in report.rows)
    text = targets_section(report)
    assert f"reference failed: {reason}" in text and "failed:" in text.split("- Reference:")[1]


def test_a_later_failed_round_keeps_the_earlier_rounds_figures_and_says_so():
    row = TargetRow("t", "w", 1.0, "w", Passes([3.0], [3.0], [3.0]))
    report = TargetsReport([row], 2, 2, False, 3, reference="ref", failure="exit status 2|x\ny")
    _apply_replies(report, [ReferenceReply("fake 0.1", 2, {"w": ReferenceResult(2, 1, 1, 3)})])
    assert row.ratio == 1.5 and row.met is False
    text = targets_section(report)
    assert "a later round failed (exit status 2/x y)" in text and "fake 0.1" in text


@pytest.mark.parametrize("reason", sorted(FAILING))
def test_a_failing_reference_raises_reference_failed_with_its_reason(tmp_path, reason):
    with pytest.raises(ReferenceFailed, match=f"^{reason}"):
        call_reference(_command(tmp_path, FAILING[reason]), {"protocol": 1}, timeout_s=0.5)


@pytest.mark.parametrize(("command", "reason"), [
    ("/nonexistent/reference --x", "cannot start '/nonexistent/reference'"),
    ("", "the command is empty"),
    ("python 'unbalanced", "cannot split the command"),
])
def test_a_reference_that_cannot_start_raises_reference_failed(command, reason):
    with pytest.raises(ReferenceFailed, match=reason):
        call_reference(command, {"protocol": 1}, timeout_s=5)


def test_a_timed_out_reference_is_killed_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    parent = (
        "import subprocess, sys, time; sys.stdin.read(); "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
        f"open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(30)"
    )
    start = time.perf_counter()
    with pytest.raises(ReferenceFailed, match="no reply within 2 s"):
        call_reference(_command(tmp_path, parent), {}, 2.0)
    assert time.perf_counter() - start < 10  # not the script's 30 s sleep
    child = int(pid_file.read_text())
    for _ in range(50):  # the killed child is reaped by init shortly after
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return status != "Z"


@pytest.mark.parametrize(("reply", "problem"), [
    ("[]", "not a JSON object"),
    ('{"threads": 2, "results": []}', "no \"framework\""),
    ('{"framework": "f", "threads": 0, "results": []}', "\"threads\" must be"),
    ('{"framework": "f", "threads": 2}', "no \"results\" list"),
    ('{"framework": "f", "threads": 2, "results": [{"median_ms": 1}]}', "\"id\" string"),
    ('{"framework": "f", "threads": 2, "results": [{"id": "a", "median_ms": -1, "min_ms": 1,'
     ' "repeats": 3}]}', "a: median_ms must be a positive number"),
    ('{"framework": "f", "threads": 2, "results": [{"id": "a", "median_ms": 1, "min_ms": 1,'
     ' "repeats": 0}]}', "a: \"repeats\" must be"),
    ('{"framework": "f"} {"again": 1}', "not one JSON document"),
])
def test_a_malformed_reply_names_its_first_problem(reply, problem):
    with pytest.raises(ReferenceFailed, match=problem):
        parse_reply(reply)


def test_request_specs_rebuild_into_networks_of_the_same_parameter_count():
    workloads, _ = build_workloads(quick=False)
    request = json.loads(json.dumps(build_request(workloads, 2, 1.5, 3)))
    assert [w["input_shape"] for w in request["workloads"]] == [
        [1, 1, 28, 28], [64, 1, 28, 28], [1, 3, 64, 64], [64, 3, 64, 64],
        [1, 3, 224, 224], [64, 3, 224, 224]]
    for entry, workload in zip(request["workloads"], workloads, strict=True):
        rebuilt = from_spec(entry["network"], rng=0)
        assert rebuilt.parameter_count == workload.network.parameter_count
        assert rebuilt.names == workload.network.names
        assert entry["classes"] == rebuilt.shapes((1, *entry["input_shape"][1:]))[-1][1][1]
    big_resnet = request["workloads"][-1]
    assert big_resnet["min_repeats"] == 2 and big_resnet["warmup"] == 1
    assert "warmup" not in request["workloads"][0]  # the request's default applies


def test_quick_run_without_a_reference_renders_every_target_row(capsys):
    assert main(["--quick", "--rounds", "1"]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    targets = [line.split(" | ")[0][2:] for line in rows[1:]]
    assert len(targets) == 8
    for name in ("LeNet-5", "TinyVGG", "ResNet-18 shape"):
        assert f"{name} forward+backward, batch 1" in text
        assert f"{name} forward+backward, batch 2" in text
    assert "inspect, ResNet-18 shape end to end" in text
    assert "training throughput, lenet5, batch 64, augmentation on" in text
    assert text.count(NO_REFERENCE) >= 7 and "Quick run" in text
    assert "load average" in text and "keep_freed_memory" in text


def test_bench_has_a_skippable_targets_section_and_a_reference_flag(monkeypatch):
    monkeypatch.delenv("CONVSCOPE_BENCH_REFERENCE", raising=False)
    assert SECTIONS[-1] == "targets"
    args = parse_args(["--skip", "targets", "--reference", "ref --threads 2"])
    assert args.skip == ["targets"] and args.reference == "ref --threads 2"
    monkeypatch.setenv("CONVSCOPE_BENCH_REFERENCE", "from-env")
    assert parse_args([]).reference == "from-env"


def test_targets_refuse_fewer_than_one_round(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--rounds", "0"])
    assert exit_info.value.code == 2 and "--rounds must be at least 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        run_targets(None, quick=True, rounds=-1)
