"""One error envelope for every 4xx/5xx: {"error": {"code", "message", ...}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.api.validation import bounded_problems, invalid_input
from app.services.errors import ApiError

__all__ = ["ApiError", "error_response", "install_error_handlers"]

_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "busy",
}


_MAX_MESSAGE = 1000
_MAX_DETAIL_TEXT = 200
_MAX_DETAIL_ITEMS = 20


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded(value: Any, depth: int = 0) -> Any:
    """A detail cut to size: strings to _MAX_DETAIL_TEXT, lists and objects to
    _MAX_DETAIL_ITEMS entries, three levels deep. Messages often quote what the client sent
    (a name, a preset, a list of parts), and that may be megabytes."""
    if isinstance(value, str):
        return _clip(value, _MAX_DETAIL_TEXT)
    if depth >= 3:
        return None if isinstance(value, (list, tuple, dict)) else value
    if isinstance(value, (list, tuple)):
        return [_bounded(item, depth + 1) for item in value[:_MAX_DETAIL_ITEMS]]
    if isinstance(value, dict):
        return {
            _clip(str(key), _MAX_DETAIL_TEXT): _bounded(item, depth + 1)
            for key, item in list(value.items())[:_MAX_DETAIL_ITEMS]
        }
    return value


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> JSONResponse:
    """The error envelope, bounded (at most about 16 KB, whatever the client sent)."""
    body = {"error": {
        "code": code, "message": _clip(message, _MAX_MESSAGE),
        **{key: _bounded(value) for key, value in details.items()},
    }}
    return JSONResponse(body, status_code=status, headers=headers)


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path (GET /models and POST /models are two
    routes)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the first route's methods only
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
        return error_response(exc.status_code, code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Bounded: the first MAX_PROBLEMS problems, short strings (a body of a million bad
        # items must not become a megabyte error).
        errors = exc.errors()
        error = invalid_input(bounded_problems(errors), len(errors))
        return error_response(error.status, error.code, error.message, **error.details)
