"""Limits and options, read from CONVSCOPE_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (what a
    container limit such as `docker run --cpus 2` sets), since os.cpu_count() sees the host's."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _default_workers() -> int:
    return available_cpus()


@dataclass(frozen=True)
class Settings:
    """Every field can be overridden by the environment variable CONVSCOPE_<FIELD>."""

    static_dir: Path = ROOT / "static"
    templates_dir: Path = ROOT / "templates"
    max_body_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 16_777_216
    max_canvas_side: int = 1024
    workers: int = _default_workers()
    # Images more elongated than this (longest side / shortest side) are rejected: not digits.
    max_aspect_ratio: float = 50.0
    # Multipart shape: the `image` file and a handful of small form fields (target, encoding).
    max_multipart_files: int = 1
    max_multipart_fields: int = 8
    max_multipart_field_bytes: int = 64 * 1024
    # CPU work: `workers` run at once, at most `queue_size` more wait; beyond that -> 503.
    queue_size: int = 16
    # Seconds from admission to answer (waiting included) before a request gets 503.
    processing_timeout: float = 20.0
    # Seconds a client is told to wait (Retry-After) when the queue is full.
    retry_after: int = 2

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(f"CONVSCOPE_{field.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls, field.name))
            try:
                values[field.name] = Path(raw) if issubclass(kind, Path) else kind(raw)
            except ValueError as exc:
                raise ValueError(f"CONVSCOPE_{field.name.upper()}={raw!r}: {exc}") from exc
        return cls(**values)
