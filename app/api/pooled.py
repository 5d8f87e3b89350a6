"""A route documented from its endpoint's signature but served on the CPU pool.

FastAPI parses a JSON body and validates it with pydantic on the event loop, where a large
hostile body blocks every other request (/healthz included). `pooled_json_route(work)` is a
route class whose handler only reads the raw body on the loop and awaits `work(raw) -> bytes`
(parse, bound, validate, compute, encode) on the bounded CPU pool; the endpoint function is
kept for the OpenAPI schema (its body and response models), never called.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from app.api.limits import run_cpu_bound


def pooled_json_route(work: Callable[[bytes], bytes]) -> type[APIRoute]:
    class PooledJsonRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            async def handler(request: Request) -> Response:
                raw = await request.body()
                payload = await run_cpu_bound(work, raw)
                return Response(payload, media_type="application/json")

            return handler

    return PooledJsonRoute
