"""Serving the app with uvicorn, with deadlines for connections held open.

What closes a held-open ("slowloris") connection, measured on uvicorn 0.54 with h11:

- `timeout_keep_alive` closes a connection idle *between* requests, but it is only armed after
  a response: a connection that sends nothing, or half a request line or headers, is never
  timed out by uvicorn (h11 just waits for more bytes; one was seen open after 70 s).
- `TimedH11Protocol` adds that deadline: the request's headers must be complete within
  `header_timeout` seconds of the connection opening or of the previous response, or the
  connection is closed.
- A body that trickles in is the app's business: `BodyLimitMiddleware` answers 408 after
  `body_timeout` seconds; the header deadline, re-armed by that response, then closes the
  connection if the client keeps it hanging.

In production a reverse proxy (nginx, a cloud load balancer) fronts the app and buffers whole
requests before passing them on; these deadlines are the app's own last line.
"""

from __future__ import annotations

import asyncio
import os
from functools import cache
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import Settings


@cache
def _header_timeout() -> float:
    return Settings.from_env().header_timeout


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for receiving each request's headers."""

    _head_timer: asyncio.TimerHandle | None = None

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_timer = self.loop.call_later(_header_timeout(), self._head_deadline_passed)

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers arrived: its cycle has begun
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()


def uvicorn_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run / uvicorn.Config: the protocol with the header
    deadline and the keep-alive timeout from the settings."""
    settings = settings or Settings.from_env()
    return {
        "http": "app.server:TimedH11Protocol",
        "timeout_keep_alive": settings.keep_alive_timeout,
    }


def serve(host: str, port: int, workers: int | None = None, log_level: str = "info") -> int:
    """Run the app with uvicorn: `workers` processes (default: CONVSCOPE_WORKERS, else the
    CPUs), each sizing its CPU pool to CPUs // workers."""
    import uvicorn

    settings = Settings.from_env()
    workers = settings.workers if workers is None else workers
    # The worker processes read the settings from the environment: tell them how many they
    # are, so that their pools together use about one thread per CPU.
    os.environ["CONVSCOPE_WORKERS"] = str(workers)
    uvicorn.run(
        "app.main:app", host=host, port=port, workers=workers, log_level=log_level,
        **uvicorn_options(settings),
    )
    return 0
