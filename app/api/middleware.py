"""The outermost middleware: a request id, security headers, and the last-resort 500.

- Every response carries `X-Request-ID`: the client's own when it sent a short, plain one
  (letters, digits, `.`, `_`, `-`; at most 64), else a fresh random one.
- Every response gets `X-Content-Type-Options: nosniff`; HTML pages also get the
  Content-Security-Policy below (self only, no inline script), `X-Frame-Options: DENY` and
  `Referrer-Policy: no-referrer`.
- Any exception no handler turned into a response becomes a JSON 500
  `{"error": {"code": "internal_error", "message", "request_id"}}`, logged with its traceback
  and the request id. The exception is not re-raised, so the server keeps the connection open
  for the client's next request (re-raising makes uvicorn close it).
"""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response

log = logging.getLogger("convscope.errors")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(scope: Scope) -> str:
    """The id of this request: set by RequestContextMiddleware (scope["state"])."""
    return scope.get("state", {}).get("request_id", "")


def _new_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _CLIENT_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Pure ASGI; install it last (outermost of the app's own middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _new_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers.update(HTML_HEADERS)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception(
                "unhandled error, request id %s: %s %s",
                request_id, scope.get("method"), scope.get("path"),
            )
            if started:  # half a response is out: only closing the connection can end it
                raise
            response = error_response(
                500, "internal_error",
                "the server failed to handle this request; quote the request id when "
                "reporting it",
                request_id=request_id,
            )
            await response(scope, receive, send_with_headers)
