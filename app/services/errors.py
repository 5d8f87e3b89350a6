"""ApiError: a problem a service reports to its caller, with the HTTP status and the error
code the API answers with (`{"error": {"code", "message", ...details}}`)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised by services and routers; rendered as the error envelope (the CLI prints it)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **details: Any,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details
