"""A training run's directory: the files its process and the server's workers share.

    run.json       written by the server: id, created, config, pid, and once it ended the
                   final fields (model_id, finalized); replaced atomically
    progress.json  written by the run's process: status, step, epoch, history,
                   diverged_at_step, reason; replaced atomically
    events.jsonl   the event log, one JSON object a line ({"id", "event", "data"}), ids
                   1, 2, 3, ...; appended by the run's process, then by the server's final
                   `end` event (the process has exited by then, so one writer at a time)
    control        commands to the run's process (pause, resume, step, stop), one a line
    seen           touched whenever a client listens (a GET, an event stream): its mtime
                   tells the run's process whether anybody still watches

Files, not memory, because the server may run several worker processes: any of them
answers any run's requests.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (created if missing), across processes."""
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EventWriter:
    """Appends events with increasing ids; at most `limit` events (then only `end`)."""

    def __init__(self, path: Path, limit: int = 5000):
        self.path, self.limit = path, limit
        self.last_id = last_event_id(path)
        self.dropped = 0

    def write(self, event: str, data: dict[str, Any]) -> int | None:
        if self.last_id >= self.limit and event not in ("status", "end"):
            self.dropped += 1
            return None
        self.last_id += 1
        line = json.dumps({"id": self.last_id, "event": event, "data": data},
                          allow_nan=False, separators=(",", ":"))
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        return self.last_id


def last_event_id(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            lines = handle.read().splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line)["id"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0


class LineTail:
    """The whole new lines appended to a file since the last read (a partial last line waits
    for its newline)."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0

    def read_lines(self) -> list[bytes]:
        try:
            if os.path.getsize(self.path) <= self.offset:
                return []
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return chunk[: end + 1].splitlines()


class EventReader(LineTail):
    """Reads new events of an event log, those after event id `after`."""

    def __init__(self, path: Path, after: int = 0):
        super().__init__(path)
        self.after = after

    def read(self) -> list[dict[str, Any]]:
        events = []
        for line in self.read_lines():
            event = json.loads(line)
            if event["id"] > self.after:
                events.append(event)
                self.after = event["id"]
        return events


class ControlReader(LineTail):
    """The run's process: new commands since the last read."""

    def read(self) -> list[str]:
        return [word for line in self.read_lines() for word in line.decode().split()]


def send_command(run_dir: Path, command: str) -> None:
    with open(run_dir / "control", "a", encoding="utf-8") as handle:
        handle.write(command + "\n")


def touch_seen(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(run_dir / "seen")


def seen_age(run_dir: Path, now: float) -> float:
    try:
        return now - os.path.getmtime(run_dir / "seen")
    except OSError:
        return float("inf")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
