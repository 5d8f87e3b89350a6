"""Load controls: the request-body cap and deadline, and the bounded CPU pool.

- `BodyLimitMiddleware` (pure ASGI) rejects a body larger than `settings.max_body_bytes` with
  413 before anything parses it: at once when Content-Length declares too much, and while
  streaming (chunked uploads, lying Content-Length) by counting the bytes received. A body not
  received within `settings.body_timeout` seconds gets 408 `request_timeout`. Routes listed in
  `route_limits` ((method, path) -> bytes: the model upload) have their own cap.
- `CpuLimiter` runs CPU-bound work on `settings.pool_threads` threads (CPUs // worker
  processes, so the machine runs about one job per CPU) with at most `settings.queue_size` more
  requests waiting; beyond that a request gets 503 `busy` with Retry-After instead of piling
  up, and one not answered within `settings.processing_timeout` seconds gets 503
  `processing_timeout`. A job whose client disconnects is dropped from the queue (or, already
  running, its result discarded), and a queued job that reaches a worker after its deadline is
  skipped. BLAS is pinned to one thread per pool thread so they do not oversubscribe the cores.
- `run_cpu_bound(fn, *args)` is what an endpoint awaits once it has read the body; it uses the
  limiter of the app serving the request (set by the middleware), so /healthz and static files
  never wait on it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import ApiError, error_response
from app.settings import Settings

T = TypeVar("T")
log = logging.getLogger("convscope.limits")


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


class BodyTimeout(HTTPException):
    """The body did not arrive within the deadline (a client holding the request open)."""

    def __init__(self, seconds: float):
        super().__init__(
            status_code=408,
            detail=f"the request body did not arrive within {seconds:g} s (the limit)",
        )


class ClientDisconnected(Exception):
    """The client went away while its job waited or ran: nobody is left to answer."""


class JobExpired(Exception):
    """A queued job reached a worker after its waiter had given up: skipped, never run."""


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
        self.dropped = 0  # jobs removed from the queue or discarded: their client left
        self._admitted = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CpuLimiter:
        return cls(
            settings.pool_threads,
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

    @staticmethod
    def _call(deadline: float, context: contextvars.Context, fn, args, kwargs):
        if time.monotonic() > deadline:  # its waiter already answered 503: do not run it
            raise JobExpired
        return context.run(fn, *args, **kwargs)

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        disconnected: Callable[[], Awaitable[Any]] | None = None,
        **kwargs: Any,
    ) -> T:
        """fn(*args, **kwargs) on a worker thread; 503 when full or too slow. When the
        `disconnected` awaitable ends first (the client left), the job is dropped from the
        queue, or its result discarded if it already runs, and ClientDisconnected is raised."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise self._busy(
                    "busy",
                    f"the server is busy ({self.capacity} requests running or queued, its "
                    f"limit); retry in {self.retry_after} s",
                )
            self._admitted += 1
        deadline = time.monotonic() + self.timeout
        try:
            job = self._pool().submit(
                self._call, deadline, contextvars.copy_context(), fn, args, kwargs
            )
        except BaseException:
            self._release(None)
            raise
        # The slot is freed when the work really ends (or is dropped from the queue), not when
        # the waiter gives up: a running thread cannot be stopped, and freeing its slot early
        # would oversubscribe the CPUs.
        job.add_done_callback(self._release)
        waiter = asyncio.wrap_future(job)
        # A result or error nobody awaits any more is discarded without a warning.
        waiter.add_done_callback(lambda f: f.cancelled() or f.exception())
        watch = None if disconnected is None else asyncio.ensure_future(disconnected())
        try:
            done, _ = await asyncio.wait(
                [waiter] if watch is None else [waiter, watch],
                timeout=self.timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except asyncio.CancelledError:
            job.cancel()
            raise
        finally:
            if watch is not None:
                watch.cancel()
        if waiter in done:
            return waiter.result()
        queued = job.cancel()  # True: it never started and never will
        if watch is not None and watch in done:
            self.dropped += 1
            log.warning(
                "client disconnected: %s", "queued job dropped" if queued
                else "running job's result discarded",
            )
            raise ClientDisconnected
        raise self._busy(
            "processing_timeout",
            f"processing took longer than {self.timeout:g} s (the limit); retry later",
        )

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


_current_limiter: contextvars.ContextVar[CpuLimiter | None] = contextvars.ContextVar(
    "convscope_cpu_limiter", default=None
)
_current_disconnect: contextvars.ContextVar[Callable[[], Awaitable[Any]] | None] = (
    contextvars.ContextVar("convscope_disconnect", default=None)
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
    full) or 503 `processing_timeout`, both with a Retry-After header, and ClientDisconnected
    when the client leaves first (call it once the body is read); fn's own exceptions
    propagate unchanged."""
    return await current_limiter().run(
        fn, *args, disconnected=_current_disconnect.get(), **kwargs
    )


class BodyLimitMiddleware:
    """Pure ASGI: cap the request body at `max_body_bytes` (413 envelope) and its arrival at
    `body_timeout` seconds (408 envelope), and make `limiter` the one `run_cpu_bound` uses for
    requests to this app."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, limiter: CpuLimiter, body_timeout: float = 30.0,
        route_limits: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.route_limits = route_limits or {}
        self.limiter = limiter
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.route_limits.get((scope.get("method"), scope.get("path")),
                                      self.max_body_bytes)
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
        body_done = False
        body_deadline = time.monotonic() + self.body_timeout

        async def receive_limited() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), body_deadline - time.monotonic())
            except TimeoutError:
                raise BodyTimeout(self.body_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                body_done = not message.get("more_body", False)
            return message

        async def wait_disconnect() -> None:
            """Ends when the client disconnects; only awaited once the body is read."""
            while (await receive_limited())["type"] != "http.disconnect":
                pass

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        token = _current_limiter.set(self.limiter)
        watch_token = _current_disconnect.set(wait_disconnect)
        try:
            await self.app(scope, receive_limited, send_tracked)
        except BodyTooLarge:
            if started:
                raise
            await _too_large_response(limit)(scope, receive, send)
        except BodyTimeout as exc:
            if started:
                raise
            await error_response(
                408, "request_timeout", exc.detail, headers={"Connection": "close"}
            )(scope, receive, send)
        except (ClientDisconnected, ClientDisconnect):
            if started:
                raise
            # The client left before its answer (even before its body arrived): nobody to
            # answer, and not an error of ours.
        finally:
            _current_disconnect.reset(watch_token)
            _current_limiter.reset(token)


def pin_blas_threads() -> None:
    """One BLAS thread and one core thread per pool thread: pool threads each running a
    multi-threaded BLAS, or the core's own thread pool, would oversubscribe the cores.
    The BLAS pin is a no-op when threadpoolctl is missing."""
    from app.nn import set_num_threads

    set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a runtime dependency, but never fatal
        return
    threadpool_limits(limits=1, user_api="blas")


def install_limits(app: Any, settings: Settings) -> CpuLimiter:
    """Register the body cap and the CPU pool on a FastAPI/Starlette app; returns the pool
    (also at app.state.cpu_limiter)."""
    from app.api.model_forms import upload_body_limit

    limiter = CpuLimiter.from_settings(settings)
    app.state.cpu_limiter = limiter
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, limiter=limiter,
        body_timeout=settings.body_timeout,
        route_limits={("POST", "/api/v1/models"): upload_body_limit(settings)},
    )
    # Keep uploads in memory (they are already capped by the body limit) instead of letting
    # the form parser spill files over 1 MiB to a temporary file on disk: uploaded bytes are
    # never stored.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_body_bytes)
    pin_blas_threads()
    return limiter
