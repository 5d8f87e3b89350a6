"""Routes documented from their endpoint's signature but served on the CPU pool.

FastAPI parses a JSON body and validates it with pydantic on the event loop, where a large
hostile body blocks every other request (/healthz included). On a router built with
`route_class=PooledJsonRoute`, an endpoint marked `@pooled(work)` is served by a handler that
only reads the raw body on the loop and awaits `work(raw) -> bytes` (parse, bound, validate,
compute, encode) on the bounded CPU pool; the endpoint function itself documents the route
(its body and response models) and is never called. Unmarked endpoints are served as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from app.api.limits import run_cpu_bound

F = TypeVar("F", bound=Callable)


def pooled(work: Callable[[bytes], bytes]) -> Callable[[F], F]:
    """Mark an endpoint to be served by `work(raw body) -> JSON bytes` on the CPU pool."""

    def mark(endpoint: F) -> F:
        endpoint.pooled_work = work  # type: ignore[attr-defined]
        return endpoint

    return mark


class PooledJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable:
        work = getattr(self.endpoint, "pooled_work", None)
        if work is None:
            return super().get_route_handler()

        async def handler(request: Request) -> Response:
            raw = await request.body()
            payload = await run_cpu_bound(work, raw)
            return Response(payload, media_type="application/json")

        return handler
