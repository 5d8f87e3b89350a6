"""Training runs as server jobs: create, look up, control, stream events, store the result.

Each run trains in a child process of its own (app.services.training_runs_worker) at a lower
CPU priority, outside the request CPU pool, so a run cannot starve /inspect and a crash or a
NaN in it cannot touch the server. The run's files (app.services.training_runs_files) are
what every worker process of the server reads, so any of them answers any run.

Limits (Settings, CONVSCOPE_TRAINING_*): at most `training_max_runs` runs train at once; a
further POST gets 429 `too_many_runs` with Retry-After (no queue: a client retries).
Epochs are capped, and so are a run's wall-clock time and the time nobody listened to it
(status `stopped` with the reason); the newest `training_remembered` ended runs are kept.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.services.errors import ApiError
from app.services.training_runs_config import (
    build_network,
    bundled_spec,
    dataset_info,
    resolve,
)
from app.services.training_runs_files import (
    EventWriter,
    locked,
    pid_alive,
    read_json,
    send_command,
    touch_seen,
    write_json,
)
from app.services.training_runs_verdict import lr_verdict_of

ACTIVE = ("queued", "running", "paused")
ENDED = ("done", "stopped", "diverged", "failed")
RUN_ID = re.compile(r"[0-9a-f]{16}")
KILL_GRACE = 15.0  # seconds past the wall-clock cap before a run's process is killed
ACK_TIMEOUT = 3.0  # seconds a control request waits for the run's process to obey
STARTUP_GRACE = 30.0  # a run without a live process yet, but younger than this, counts


class TrainingRuns:
    """The runs under `root`, with the limits of the settings."""

    def __init__(self, settings: Any):
        self.settings = settings
        self.root = Path(settings.training_dir)
        self.limits = {
            "max_seconds": settings.training_max_seconds,
            "idle_seconds": settings.training_idle_seconds,
            "nice": settings.training_nice,
            "max_events": 5000,
            "step_every": 5,
            "stats_every": 20,
        }

    # --- lookup ---------------------------------------------------------------------------

    def _dir(self, run_id: str) -> Path:
        path = self.root / run_id
        if not RUN_ID.fullmatch(run_id) or not (path / "run.json").is_file():
            raise ApiError(404, "not_found", f"no training run {run_id[:40]!r} (runs are "
                           f"remembered until {self.settings.training_remembered} newer ones "
                           "have ended)", run_id=run_id[:40])
        return path

    def _run_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.iterdir() if RUN_ID.fullmatch(p.name)
                and (p / "run.json").is_file()]

    def _state(self, path: Path) -> tuple[dict, dict]:
        meta = read_json(path / "run.json") or {}
        progress = read_json(path / "progress.json") or {}
        return meta, progress

    def _status(self, meta: dict, progress: dict) -> str:
        if meta.get("finalized"):
            return meta["status"]
        status = progress.get("status", "queued")
        # Ended in its process but not yet recorded (the model stored): still "running".
        return "running" if status in ENDED else status

    def _is_active(self, path: Path) -> bool:
        meta, progress = self._state(path)
        if meta.get("finalized"):
            return False
        if pid_alive(meta.get("pid")):
            return True
        return time.time() - meta.get("created", 0) < STARTUP_GRACE and not meta.get("pid")

    def refresh(self, run_id: str) -> Path:
        """The run's directory, after recording its end if its process has exited."""
        path = self._dir(run_id)
        meta = read_json(path / "run.json") or {}
        if not meta.get("finalized") and meta.get("pid") and not pid_alive(meta["pid"]):
            self.finalize(path)
        return path

    def get(self, run_id: str, listening: bool = True) -> dict[str, Any]:
        path = self.refresh(run_id)
        if listening:
            touch_seen(path)
        return self.resource(path)

    def resource(self, path: Path) -> dict[str, Any]:
        meta, progress = self._state(path)
        config = meta["config"]
        status = self._status(meta, progress)
        public = {k: v for k, v in config.items() if k not in ("spec",)}
        public["layers"] = config["spec"]
        return {
            "id": meta["id"],
            "status": status,
            "config": public,
            "history": progress.get("history", []),
            "progress": {
                "step": progress.get("step", 0),
                "total_steps": progress.get("total_steps", meta.get("total_steps", 0)),
                "epoch": progress.get("epoch", 1),
                "epochs": config["epochs"],
            },
            "model_id": meta.get("model_id"),
            "diverged_at_step": progress.get("diverged_at_step"),
            "reason": meta.get("reason") or progress.get("reason"),
            "created": meta["created"],
            "last_event_id": meta.get("last_event_id", progress.get("last_event_id", 0)),
            "parameters": config["parameters"],
            "classes": list(dataset_info(config["dataset"]).classes),
            "lr_verdict": meta.get("lr_verdict"),
        }

    # --- creation -------------------------------------------------------------------------

    def create(self, request: dict[str, Any]) -> dict[str, Any]:
        config = resolve(request, self.settings.training_max_epochs)
        self.root.mkdir(parents=True, exist_ok=True)
        with locked(self.root / ".lock"):
            active = [p for p in self._run_dirs() if self._is_active(p)]
            limit = self.settings.training_max_runs
            if len(active) >= limit:
                retry = self.settings.retry_after
                raise ApiError(
                    429, "too_many_runs",
                    f"{len(active)} training run(s) are in progress, the limit; retry in "
                    f"{retry} s or stop one", headers={"Retry-After": str(retry)},
                    retry_after=retry, limit=limit,
                )
            self._prune()
            run_id = secrets.token_hex(8)
            path = self.root / run_id
            path.mkdir()
            for name in ("events.jsonl", "control", "seen"):
                (path / name).touch()
            from app.services.training_runs_config import steps_per_epoch

            total = steps_per_epoch(config) * config["epochs"]
            meta = {"id": run_id, "created": time.time(), "config": config,
                    "limits": self.limits, "total_steps": total}
            write_json(path / "run.json", meta)
            write_json(path / "progress.json", {"status": "queued", "step": 0,
                                                "total_steps": total, "history": []})
            log = open(path / "process.log", "wb")  # noqa: SIM115 - the child owns it
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", "app.services.training_runs_worker", str(path)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                    start_new_session=True,
                )
            finally:
                log.close()
            meta["pid"] = process.pid
            write_json(path / "run.json", meta)
        threading.Thread(target=self._watch, args=(process, path), daemon=True,
                         name=f"training-run-{run_id}").start()
        return self.resource(path)

    def _watch(self, process: subprocess.Popen, path: Path) -> None:
        """Reap the run's process (killed past the wall-clock cap), then record its end."""
        try:
            process.wait(timeout=self.limits["max_seconds"] + KILL_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.finalize(path, exit_code=process.returncode)

    def _prune(self) -> None:
        ended = []
        for path in self._run_dirs():
            meta = read_json(path / "run.json") or {}
            if meta.get("finalized"):
                ended.append((meta.get("created", 0), path))
        ended.sort()
        excess = len(ended) - max(0, self.settings.training_remembered - 1)
        for _, path in ended[:max(0, excess)]:
            shutil.rmtree(path, ignore_errors=True)

    # --- the end --------------------------------------------------------------------------

    def finalize(self, path: Path, exit_code: int | None = None) -> None:
        """Record the run's end once (any worker may): its final status, the trained model
        in the model store when done, the learning-rate verdict, and the `end` event."""
        with locked(path / "lock"):
            meta, progress = self._state(path)
            if meta.get("finalized") or pid_alive(meta.get("pid")) and exit_code is None:
                return
            status = progress.get("status", "queued")
            reason = progress.get("reason")
            if status not in ENDED:
                status = "failed"
                code = "" if exit_code is None else f" (exit code {exit_code})"
                reason = f"the training process ended unexpectedly{code}"
            model_id = None
            if status == "done":
                try:
                    model_id = store_trained_model(path, meta, progress)
                except Exception as exc:  # the run trained; say why it is not in the store
                    status, reason = "failed", f"the trained model could not be stored: {exc}"
            events = EventWriter(path / "events.jsonl")
            verdict = lr_verdict_of(path / "events.jsonl", status)
            end_id = events.write("end", {
                "status": status, "model_id": model_id, "reason": reason,
                "diverged_at_step": progress.get("diverged_at_step"),
                "history": progress.get("history", []), "lr_verdict": verdict,
            })
            meta.update(finalized=True, status=status, reason=reason, model_id=model_id,
                        ended=time.time(), lr_verdict=verdict, last_event_id=end_id)
            write_json(path / "run.json", meta)

    # --- control --------------------------------------------------------------------------

    def control(self, run_id: str, command: str) -> dict[str, Any]:
        """pause, resume, stop, or step (one mini-batch, while paused). Waits up to
        ACK_TIMEOUT s for the run's process to obey, then answers the run."""
        path = self.refresh(run_id)
        touch_seen(path)
        meta, progress = self._state(path)
        status = self._status(meta, progress)
        if status in ENDED:
            raise ApiError(409, "run_ended", f"the run has ended ({status}); nothing to "
                           f"{command}", run_status=status)
        if command == "step" and status != "paused":
            raise ApiError(409, "not_paused", f"step trains one mini-batch of a paused run; "
                           f"this run is {status}: pause it first", run_status=status)
        before = progress.get("step", 0)
        send_command(path, command)
        deadline = time.monotonic() + ACK_TIMEOUT
        while time.monotonic() < deadline:
            meta, progress = self._state(path)
            now = progress.get("status")
            if (now in ENDED or command == "pause" and now == "paused"
                    or command == "resume" and now == "running"
                    or command == "step" and progress.get("step", 0) > before
                    or command == "stop" and now in ENDED):
                break
            time.sleep(0.02)
        if command == "stop":
            deadline = time.monotonic() + ACK_TIMEOUT
            while pid_alive(meta.get("pid")) and time.monotonic() < deadline:
                time.sleep(0.02)
        return self.get(run_id)


def check_architecture(architecture: str | list[dict], dataset: str) -> dict[str, Any]:
    """Each layer's output shape and parameters for the dataset's images, and the full spec;
    422 if it cannot train on them."""
    from app.nn import to_spec

    info = dataset_info(dataset)
    spec = bundled_spec(architecture, info) if isinstance(architecture, str) else architecture
    network, layers = build_network(spec, info)
    return {
        "spec": to_spec(network),
        "input_shape": list(info.input_shape),
        "layers": [{"name": n, "kind": k, "output_shape": s, "parameters": p}
                   for n, k, s, p in layers],
        "parameters": network.parameter_count,
    }


def store_trained_model(path: Path, meta: dict, progress: dict) -> str:
    """Put the run's trained network into the model store; its id. The card records the
    run: its config, history and final held-out accuracy."""
    import numpy as np

    from app.nn import from_spec, load_params
    from app.services.model_store import model_store

    config = meta["config"]
    info = dataset_info(config["dataset"])
    network = from_spec(config["spec"], rng=config["seed"])
    with np.load(path / "final.npz") as arrays:
        load_params(network, dict(arrays))
    network.eval()
    history = progress.get("history", [])
    name = f"{config.get('architecture_id') or 'custom'} trained on {info.name} (run {meta['id']})"
    public = {k: v for k, v in config.items() if k != "spec"}
    card = model_store().put_network(
        network, name=name, classes=list(info.classes), input_shape=info.input_shape,
        extra={"training_run": {
            "id": meta["id"], "config": public, "history": history,
            "heldout_accuracy": history[-1]["heldout_accuracy"] if history else None,
        }},
    )
    return card["id"]
