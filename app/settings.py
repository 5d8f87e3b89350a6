"""Limits and options, read from CONVSCOPE_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _default_model_dir() -> Path:
    """Where uploaded and trained models are kept unless CONVSCOPE_MODEL_DIR says otherwise:
    the user's data directory ($XDG_DATA_HOME, else ~/.local/share)/convscope/models; never
    inside the source tree."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "convscope" / "models"


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


def pool_threads(workers: int, cpus: int | None = None) -> int:
    """CPU-pool threads per worker process so that all `workers` processes together run about
    as many jobs at once as there are CPUs: max(1, cpus // workers)."""
    cpus = available_cpus() if cpus is None else cpus
    return max(1, cpus // max(1, workers))


@dataclass(frozen=True)
class Settings:
    """Every field can be overridden by the environment variable CONVSCOPE_<FIELD>."""

    static_dir: Path = ROOT / "static"
    templates_dir: Path = ROOT / "templates"
    max_body_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 16_777_216
    max_canvas_side: int = 1024
    # uvicorn worker processes (`convscope serve` starts this many).
    workers: int = _default_workers()
    # CPU-pool threads per worker process; 0: max(1, CPUs // workers), so that the whole
    # machine runs about one CPU-bound job per CPU, whatever the number of processes.
    threads: int = 0
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
    # Held-open connections: seconds to send a request's headers (from the connection's start
    # or the previous response), to send its whole body, and to idle between requests.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    # Traces: a layer part over this many bytes (as float32) is summarised, not sent, in
    # /inspect; the store of recent traces holds this many bytes, each trace this many seconds.
    trace_layer_budget: int = 2 * 1024 * 1024
    # The whole /inspect response's tensors (float32 bytes; input first, then the smallest
    # layers, see app.services.trace_budget): over it, layers are left out whole and fetched
    # one at a time. 3 MiB: every bundled model's response stays whole (the largest, the MLP
    # with every part, is 2.1 MB); a ResNet-18 at 224x224 sends about 5 MB of JSON.
    trace_response_budget: int = 3 * 1024 * 1024
    trace_cache_bytes: int = 256 * 1024 * 1024
    trace_ttl: float = 600.0
    # The model store (uploaded ONNX files, trained models): its directory (a shared volume
    # in Docker and Kubernetes), the caps of one upload (file bytes, parameters, ONNX nodes),
    # the bytes the whole store may hold before the least recently used models are evicted,
    # and the parameter bytes of loaded models kept in memory.
    model_dir: Path = _default_model_dir()
    max_model_bytes: int = 100 * 1024 * 1024
    max_model_parameters: int = 30_000_000
    max_model_nodes: int = 500
    model_store_bytes: int = 2 * 1024 * 1024 * 1024
    model_cache_bytes: int = 512 * 1024 * 1024

    @property
    def pool_threads(self) -> int:
        """Threads of this process's CPU pool (`threads`, else CPUs // workers)."""
        return self.threads if self.threads > 0 else pool_threads(self.workers)

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
