"""The training lab's costs (`python -m bench.training_lab`, also a section of `make bench`).

1. lenet5 at batch 64 on the digits, one BLAS thread, as a run's process trains: steps/s and
   digits/s with no events, and with every event recorded and written to the run's event log
   (what the stream reads). Blocks of steps alternate between the two, so both see the same
   machine load; the overhead is the ratio of the medians.
2. /inspect p50 (one client, gallery digits) on a served app (`convscope serve`, its default
   workers) with one training run paused (idle) and training (with an event-stream client
   reading it, as the page does), in alternating blocks.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

BATCH = 64


@dataclass
class LabReport:
    steps_per_s: dict[str, float] = field(default_factory=dict)
    inspect_p50_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)

    @property
    def overhead(self) -> float:
        s = self.steps_per_s
        return s["no events (CPU time)"] / s["events (CPU time)"] - 1

    @property
    def slowdown(self) -> float:
        return self.inspect_p50_ms["while training"] / self.inspect_p50_ms["idle"]


def _trainer(emit, epochs: int = 20):
    from app.nn import from_spec
    from app.services.training_runs_config import load_dataset, resolve
    from app.services.training_runs_loop import Trainer

    config = resolve({
        "architecture": "lenet5", "dataset": "digits",
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4},
        "schedule": {"name": "constant", "step_epochs": 1, "gamma": 0.5, "warmup_steps": 0},
        "batch_size": BATCH, "epochs": epochs, "augment": False, "seed": 0,
        "train_examples": None,
    }, max_epochs=epochs)
    network = from_spec(config["spec"], rng=0)
    return Trainer(network, load_dataset("digits"), config, 10, emit=emit)


def measure_steps(blocks: int = 8, steps: int = 40) -> dict[str, float]:
    """Median steps/s over alternating blocks of `steps` steps, without and with events: by
    the wall clock, and per second of this process's own CPU time (which other processes on
    a shared machine disturb far less: the overhead is judged on it)."""
    from app.services.training_runs_files import EventWriter

    with tempfile.TemporaryDirectory() as tmp:
        writer = EventWriter(Path(tmp) / "events.jsonl", limit=10**9)
        trainers = {"no events": _trainer(None), "events": _trainer(writer.write)}
        wall: dict[str, list[float]] = {name: [] for name in trainers}
        cpu: dict[str, list[float]] = {name: [] for name in trainers}
        with threadpool_limits(limits=1, user_api="blas"):
            for trainer in trainers.values():  # warm-up
                for _ in range(5):
                    trainer.step()
            for block in range(blocks):
                order = list(trainers) if block % 2 == 0 else list(reversed(trainers))
                for name in order:
                    trainer = trainers[name]
                    started, started_cpu = time.perf_counter(), time.process_time()
                    for _ in range(steps):
                        trainer.step()
                    wall[name].append(steps / (time.perf_counter() - started))
                    cpu[name].append(steps / (time.process_time() - started_cpu))
    out = {name: statistics.median(values) for name, values in wall.items()}
    out.update({f"{name} (CPU time)": statistics.median(values) for name, values in cpu.items()})
    return out


def _post_json(port: int, path: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body or {}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def _listen(port: int, run_id: str, stop: threading.Event, counter: list[int]) -> None:
    """An event-stream client: reads the run's SSE until it ends or `stop` is set."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", f"/api/v1/training-runs/{run_id}/events")
        response = conn.getresponse()
        while not stop.is_set():
            line = response.readline()
            if not line:
                return
            if line.startswith(b"id:"):
                counter[0] += 1
    finally:
        conn.close()


def measure_inspect(blocks: int = 6, requests: int = 30) -> tuple[dict[str, float], list[str]]:
    """/inspect latency with one run paused (its process asleep: idle) and running, in
    alternating blocks so that both see the same machine load."""
    from bench.server import check_inspect, measure_latency, running_server
    from bench.timing import percentile

    notes = []
    samples: dict[str, list[float]] = {"idle": [], "while training": []}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CONVSCOPE_TRAINING_DIR"] = str(Path(tmp) / "runs")
        os.environ.setdefault("CONVSCOPE_MODEL_DIR", str(Path(tmp) / "models"))
        with running_server() as (port, _):
            check_inspect(port)
            measure_latency(port, 1, 10, 30)  # warm-up
            status, run = _post_json(port, "/api/v1/training-runs",
                                     {"architecture": "lenet5", "epochs": 20})
            if status != 201:
                raise RuntimeError(f"POST /api/v1/training-runs answered {status}: {run}")
            base = f"/api/v1/training-runs/{run['id']}"
            stop, counter = threading.Event(), [0]
            listener = threading.Thread(target=_listen, args=(port, run["id"], stop, counter),
                                        daemon=True)
            listener.start()
            time.sleep(2.0)  # the run's process has started and trains
            steps = []
            for block in range(blocks):
                for name in (("idle", "while training") if block % 2 == 0
                             else ("while training", "idle")):
                    _, state = _post_json(port, f"{base}/{'pause' if name == 'idle' else 'resume'}")
                    steps.append(state.get("progress", {}).get("step", 0))
                    samples[name] += measure_latency(port, 1, requests, 60).samples
            _post_json(port, f"{base}/stop")
            stop.set()
            notes.append(f"the run trained {steps[-1]} steps meanwhile; the event-stream "
                         f"client read {counter[0]} events")
    figures = {}
    for name, values in samples.items():
        figures[name] = percentile(values, 50) * 1e3
        figures[f"{name} p95"] = percentile(values, 95) * 1e3
    return figures, notes


def run_lab(quick: bool = False) -> LabReport:
    report = LabReport()
    start_load = os.getloadavg()[0]
    report.steps_per_s = measure_steps(blocks=2 if quick else 12, steps=10 if quick else 30)
    report.inspect_p50_ms, report.notes = measure_inspect(2 if quick else 6, 10 if quick else 60)
    report.load = (start_load, os.getloadavg()[0])
    return report


def lab_section(report: LabReport | None) -> str:
    if report is None:
        return "Training lab: not run."
    s = report.steps_per_s
    p = report.inspect_p50_ms
    return "\n".join([
        f"lenet5, batch {BATCH}, one BLAS thread, alternating blocks (median); load average "
        f"{report.load[0]:.2f} at start, {report.load[1]:.2f} at end.",
        "",
        "| | steps/s | digits/s |",
        "|---|---|---|",
        *(f"| {name} | {rate:.1f} | {rate * BATCH:.0f} |" for name, rate in s.items()),
        f"| overhead of events (CPU time) | {100 * report.overhead:+.1f}% | |",
        "",
        "| /inspect, one client | p50 ms | p95 ms |",
        "|---|---|---|",
        f"| idle | {p['idle']:.1f} | {p['idle p95']:.1f} |",
        f"| while one run trains (niced process, events streamed) | {p['while training']:.1f} "
        f"| {p['while training p95']:.1f} |",
        f"| ratio | {report.slowdown:.2f}x | |",
        "",
        *(f"- {note}" for note in report.notes),
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.training_lab")
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke run)")
    args = parser.parse_args(argv)
    print(lab_section(run_lab(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
