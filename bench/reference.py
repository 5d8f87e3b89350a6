"""The reference protocol (bench/reference.md): an external command, named by the user, times
the same workloads in a framework of its choice. The bench writes one JSON request to its
stdin and reads one JSON reply from its stdout; its stderr passes through. No framework is
imported here: the command runs in its own process, from its own environment.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass

from app.nn import to_spec

PROTOCOL = 1
ENV_REFERENCE = "CONVSCOPE_BENCH_REFERENCE"
DEFAULT_TIMEOUT_S = 900.0  # per round: ResNet-18 at batch 64 and a framework's import
WARMUP = 2


@dataclass(frozen=True)
class Workload:
    """One timed pass: forward, mean softmax cross-entropy against integer targets in
    [0, classes), backward with the input gradient, on float32 inputs of input_shape
    (N, C, H, W). budget_s, min_repeats and warmup override the request's defaults."""

    id: str
    network: object  # a Graph (Sequential for a chain), BatchNorm in inference mode
    input_shape: tuple[int, int, int, int]
    classes: int
    budget_s: float
    min_repeats: int
    warmup: int = WARMUP

    @property
    def batch(self) -> int:
        return self.input_shape[0]

    def entry(self, budget_s: float, min_repeats: int) -> dict:
        """This workload as the request lists it; the timing fields only where they differ
        from the request's defaults."""
        entry = {
            "id": self.id, "network": to_spec(self.network), "input_shape": list(self.input_shape),
            "classes": self.classes, "dtype": "float32", "loss": "softmax_cross_entropy",
            "input_grad": True, "mode": "eval",
        }
        for key, value, default in (("budget_s", self.budget_s, budget_s),
                                    ("min_repeats", self.min_repeats, min_repeats),
                                    ("warmup", self.warmup, WARMUP)):
            if value != default:
                entry[key] = value
        return entry


def build_request(workloads: list[Workload], threads: int, budget_s: float,
                  min_repeats: int) -> dict:
    """The JSON request of bench/reference.md for these workloads."""
    return {
        "protocol": PROTOCOL, "threads": threads, "budget_s": budget_s,
        "min_repeats": min_repeats, "warmup": WARMUP,
        "workloads": [w.entry(budget_s, min_repeats) for w in workloads],
    }


@dataclass(frozen=True)
class ReferenceResult:
    median_ms: float
    min_ms: float
    cpu_ms: float | None
    repeats: int


@dataclass(frozen=True)
class ReferenceReply:
    framework: str
    threads: int
    results: dict[str, ReferenceResult]


class ReferenceFailed(Exception):
    """The reference gave no usable reply; str(exc) is the reason, for the table."""


def _positive(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value > 0
    ):
        raise ReferenceFailed(f"{what} must be a positive number, got {value!r}")
    return float(value)


def parse_reply(text: str) -> ReferenceReply:
    """The reply on the command's stdout -> ReferenceReply, or ReferenceFailed naming the
    first problem."""
    try:
        reply = json.loads(text)
    except json.JSONDecodeError as exc:
        head = text.strip()[:60]
        raise ReferenceFailed(
            f"stdout is not one JSON document ({exc.msg}; starts {head!r})"
        ) from None
    if not isinstance(reply, dict):
        raise ReferenceFailed("the reply is not a JSON object")
    framework, threads, items = reply.get("framework"), reply.get("threads"), reply.get("results")
    if not isinstance(framework, str) or not framework.strip():
        raise ReferenceFailed("the reply has no \"framework\" string")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ReferenceFailed(f"\"threads\" must be an integer >= 1, got {threads!r}")
    if not isinstance(items, list):
        raise ReferenceFailed("the reply has no \"results\" list")
    results = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ReferenceFailed(f"results[{i}] is not an object with an \"id\" string")
        name = item["id"]
        repeats = item.get("repeats")
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ReferenceFailed(f"{name}: \"repeats\" must be an integer >= 1, got {repeats!r}")
        cpu = item.get("cpu_ms")
        results[name] = ReferenceResult(
            _positive(item.get("median_ms"), f"{name}: median_ms"),
            _positive(item.get("min_ms"), f"{name}: min_ms"),
            None if cpu is None else _positive(cpu, f"{name}: cpu_ms"), repeats,
        )
    return ReferenceReply(framework.strip(), threads, results)


def call_reference(command: str, request: dict, timeout_s: float = DEFAULT_TIMEOUT_S
                   ) -> ReferenceReply:
    """Run `command` (split like a shell would, no shell), send it `request`, return its
    parsed reply. Any failure -- not found, timeout, non-zero exit, bad JSON -- raises
    ReferenceFailed with the reason. On a timeout the command's whole process group is
    killed (it runs in a session of its own)."""
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise ReferenceFailed(f"cannot split the command ({exc})") from None
    if not args:
        raise ReferenceFailed("the command is empty")
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        raise ReferenceFailed(f"cannot start {args[0]!r} ({exc.strerror or exc})") from None
    try:
        out, _ = proc.communicate(json.dumps(request).encode(), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ReferenceFailed(f"no reply within {timeout_s:g} s (killed)") from None
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise ReferenceFailed(f"exit status {proc.returncode}")
    return parse_reply(out.decode("utf-8", errors="replace"))
