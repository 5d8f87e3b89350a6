"""A training run's own process: `python -m app.services.training_runs_worker RUN_DIR`.

It lowers its CPU priority (os.nice), pins BLAS to one thread, trains step by step and
between steps obeys the control file (pause, resume, step, stop) and the limits in run.json
(the wall-clock cap, the idle cap: nobody listened). It writes progress.json and the event
log, and, when the run is done, the trained weights (final.npz). A crash or a NaN in here
cannot touch the server.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.services.training_runs_files import (
    ControlReader,
    EventWriter,
    read_json,
    seen_age,
    write_json,
)

PAUSED_POLL = 0.05
MAX_STEP_EVENTS = 1000
MAX_STAT_EVENTS = 200
PROGRESS_EVERY = 0.5  # seconds between progress.json rewrites while training


class Run:
    def __init__(self, run_dir: Path):
        from app.nn import from_spec
        from app.services.training_runs_config import dataset_info, load_dataset, steps_per_epoch
        from app.services.training_runs_loop import Trainer

        self.dir = run_dir
        meta = read_json(run_dir / "run.json")
        assert meta is not None, "run.json missing"
        self.config: dict[str, Any] = meta["config"]
        self.limits: dict[str, float] = meta["limits"]
        self.events = EventWriter(run_dir / "events.jsonl", int(self.limits["max_events"]))
        self.control = ControlReader(run_dir / "control")
        self.status = "queued"
        self.reason: str | None = None
        self.diverged_at_step: int | None = None
        self.started = time.monotonic()
        self.saved = 0.0
        info = dataset_info(self.config["dataset"])
        self.network = from_spec(self.config["spec"], rng=self.config["seed"])
        # Long runs record less often: at most about MAX_STEP_EVENTS loss points and
        # MAX_STAT_EVENTS layer and filter snapshots, so the event log stays small.
        total = steps_per_epoch(self.config) * self.config["epochs"]
        self.trainer = Trainer(
            self.network, load_dataset(self.config["dataset"]), self.config, len(info.classes),
            emit=self.events.write,
            step_every=max(int(self.limits["step_every"]), math.ceil(total / MAX_STEP_EVENTS)),
            stats_every=max(int(self.limits["stats_every"]), math.ceil(total / MAX_STAT_EVENTS)),
        )

    def progress(self) -> dict[str, Any]:
        t = self.trainer
        return {
            "status": self.status, "reason": self.reason,
            "diverged_at_step": self.diverged_at_step,
            "step": t.step_count, "total_steps": t.total_steps,
            "epoch": min(t.epoch, t.epochs), "epochs": t.epochs, "history": t.history,
            "last_event_id": self.events.last_id, "pid": os.getpid(),
        }

    def save(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.saved >= PROGRESS_EVERY:
            write_json(self.dir / "progress.json", self.progress())
            self.saved = now

    def set_status(self, status: str, reason: str | None = None) -> None:
        self.status, self.reason = status, reason
        data = {"status": status, "step": self.trainer.step_count}
        if reason:
            data["reason"] = reason
        if self.diverged_at_step is not None:
            data["diverged_at_step"] = self.diverged_at_step
        self.events.write("status", data)
        self.save(force=True)

    def over_limit(self) -> str | None:
        if time.monotonic() - self.started > self.limits["max_seconds"]:
            return (f"the run reached the wall-clock limit of {self.limits['max_seconds']:g} s")
        if seen_age(self.dir, time.time()) > self.limits["idle_seconds"]:
            return (f"nobody listened to the run (no request, no event stream) for "
                    f"{self.limits['idle_seconds']:g} s")
        return None

    def train_step(self) -> bool:
        """One step; False when the run ended (diverged)."""
        from app.services.training_runs_loop import Diverged

        try:
            self.trainer.step()
        except Diverged as exc:
            self.diverged_at_step = exc.step
            self.set_status("diverged", str(exc))
            return False
        self.save()
        return True

    def loop(self) -> None:
        paused = False
        self.set_status("running")
        while not self.trainer.finished:
            stepping = 0
            for command in self.control.read():
                if command == "stop":
                    self.set_status("stopped", "stopped on request")
                    return
                if command == "pause" and not paused:
                    paused = True
                    self.set_status("paused")
                elif command == "resume" and paused:
                    paused = False
                    self.set_status("running")
                elif command == "step" and paused:
                    stepping += 1
            reason = self.over_limit()
            if reason:
                self.set_status("stopped", reason)
                return
            if paused and not stepping:
                time.sleep(PAUSED_POLL)
                continue
            for _ in range(max(1, stepping)):
                if self.trainer.finished or not self.train_step():
                    break
            if self.status == "diverged":
                return
            if stepping:
                self.save(force=True)
        from app.nn import dump_params

        np.savez(self.dir / "final.npz", **dump_params(self.network))
        self.set_status("done")


def main(run_dir: str) -> int:
    path = Path(run_dir)
    meta = read_json(path / "run.json") or {}
    try:
        os.nice(int(meta.get("limits", {}).get("nice", 10)))
    except OSError:
        pass
    from threadpoolctl import threadpool_limits

    from app.nn import set_num_threads

    # One thread: the run shares the machine with the server's inspects.
    set_num_threads(1)
    run = None
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            run = Run(path)
            run.loop()
    except Exception as exc:  # a failed run is a result: record it for the server
        events = run.events if run else EventWriter(path / "events.jsonl")
        events.write("status", {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"})
        progress = run.progress() if run else {"step": 0, "history": []}
        write_json(path / "progress.json", {
            **progress, "status": "failed", "reason": f"{type(exc).__name__}: {exc}",
            "last_event_id": events.last_id,
        })
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
