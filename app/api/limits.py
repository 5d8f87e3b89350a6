"""Load controls: the request-body cap and the bounded CPU pool.

- `BodyLimitMiddleware` (pure ASGI) rejects a body larger than `settings.max_body_bytes` with
  413 before anything parses it: at once when Content-Length declares too much, and while
  streaming (chunked uploads, lying Content-Length) by counting the bytes received.
- `CpuLimiter` runs CPU-bound work on `settings.workers` threads (one per CPU) with at most
  `settings.queue_size` more requests waiting; beyond that a request gets 503 `busy` with
  Retry-After instead of piling up, and one not answered within `settings.processing_timeout`
  seconds gets 503 `processing_timeout`. BLAS is pinned to one thread per worker so the workers
  do not oversubscribe the cores.
- `run_cpu_bound(fn, *args)` is what an endpoint awaits; it uses the limiter of the app
  serving the request (set by the middleware), so /healthz and static files never wait on it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import ApiError, error_response
from app.settings import Settings

T = TypeVar("T")


def _bytes(n: int) -> str:
    """12345678 -> "12,345,678 bytes (11.7737 MiB)"."""
    mib = n / (1024 * 1024)
    return f"{n:,} bytes" + (f" ({mib:g} MiB)" if mib >= 1 else "")


class BodyTooLarge(HTTPException):
    """The body grew past the cap while streaming. An HTTPException, so that body parsers
    (FastAPI's and Starlette's form parser) re-raise it instead of wrapping it in a 400."""

    def __init__(self, limit: int):
        super().__init__(
            status_code=413,
            detail=f"the request body exceeds the limit of {_bytes(limit)}",
        )
        self.limit = limit


def _too_large_response(limit: int, declared: int | None = None):
    size = (
        "the request body is too large"
        if declared is None
        else f"the request body is {declared:,} bytes"
    )
    return error_response(
        413,
        "payload_too_large",
        f"{size}; the limit is {_bytes(limit)}",
        max_bytes=limit,
    )


class CpuLimiter:
    """A bounded pool for CPU-bound work: `workers` threads, `queue_size` waiting slots."""

    def __init__(self, workers: int, queue_size: int, timeout: float, retry_after: int = 2) -> None:
        self.workers = max(1, workers)
        self.capacity = self.workers + max(0, queue_size)
        self.timeout = timeout
        self.retry_after = retry_after
        self._admitted = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CpuLimiter:
        return cls(
            settings.workers,
            settings.queue_size,
            settings.processing_timeout,
            settings.retry_after,
        )

    @property
    def admitted(self) -> int:
        """Requests running or waiting for a worker now."""
        return self._admitted

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, "convscope-cpu")
            return self._executor

    def _release(self, _future: object) -> None:
        with self._lock:
            self._admitted -= 1

    def _busy(self, code: str, message: str) -> ApiError:
        return ApiError(
            503,
            code,
            message,
            headers={"Retry-After": str(self.retry_after)},
            retry_after=self.retry_after,
        )

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) on a worker thread; 503 when full or too slow."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise self._busy(
                    "busy",
                    f"the server is busy ({self.capacity} requests running or queued, its "
                    f"limit); retry in {self.retry_after} s",
                )
            self._admitted += 1
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        try:
            job = self._pool().submit(call)
        except BaseException:
            self._release(None)
            raise
        # The slot is freed when the work really ends, not when the waiter gives up: a thread
        # cannot be stopped, and freeing its slot early would oversubscribe the CPUs.
        job.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), self.timeout)
        except TimeoutError:
            job.cancel()  # drops it if it is still queued; a running job finishes unobserved
            raise self._busy(
                "processing_timeout",
                f"processing took longer than {self.timeout:g} s (the limit); retry later",
            ) from None
        except asyncio.CancelledError:
            job.cancel()
            raise

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


_current_limiter: contextvars.ContextVar[CpuLimiter | None] = contextvars.ContextVar(
    "convscope_cpu_limiter", default=None
)
_fallback_lock = threading.Lock()
_fallback: CpuLimiter | None = None


def current_limiter() -> CpuLimiter:
    """The limiter of the app serving this request; outside a request, a process-wide one
    built from the environment's settings."""
    limiter = _current_limiter.get()
    if limiter is not None:
        return limiter
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            _fallback = CpuLimiter.from_settings(Settings.from_env())
        return _fallback


async def run_cpu_bound(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Await fn(*args, **kwargs) on the bounded CPU pool. Raises ApiError 503 `busy` (queue
    full) or 503 `processing_timeout`, both with a Retry-After header; fn's own exceptions
    propagate unchanged."""
    return await current_limiter().run(fn, *args, **kwargs)


class BodyLimitMiddleware:
    """Pure ASGI: cap the request body at `max_body_bytes` (413 envelope) and make `limiter`
    the one `run_cpu_bound` uses for requests to this app."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, limiter: CpuLimiter) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    response = error_response(
                        400, "bad_request", "the Content-Length header is not a number"
                    )
                    await response(scope, receive, send)
                    return
        if declared is not None and declared > limit:
            await _too_large_response(limit, declared)(scope, receive, send)
            return

        received = 0
        started = False

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        token = _current_limiter.set(self.limiter)
        try:
            await self.app(scope, receive_limited, send_tracked)
        except BodyTooLarge:
            if started:
                raise
            await _too_large_response(limit)(scope, receive, send)
        finally:
            _current_limiter.reset(token)


def pin_blas_threads() -> None:
    """One BLAS thread per worker: `workers` threads each running a multi-threaded BLAS
    would oversubscribe the cores. No-op when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a runtime dependency, but never fatal
        return
    threadpool_limits(limits=1, user_api="blas")


def install_limits(app: Any, settings: Settings) -> CpuLimiter:
    """Register the body cap and the CPU pool on a FastAPI/Starlette app; returns the pool
    (also at app.state.cpu_limiter)."""
    limiter = CpuLimiter.from_settings(settings)
    app.state.cpu_limiter = limiter
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, limiter=limiter)
    # Keep uploads in memory (they are already capped by the body limit) instead of letting
    # the form parser spill files over 1 MiB to a temporary file on disk: uploaded bytes are
    # never stored.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_body_bytes)
    pin_blas_threads()
    return limiter
