"""The one error type of app.imaging: an input that cannot become a model input."""

from __future__ import annotations

from typing import Any


class ImageRejected(Exception):
    """An input that cannot become a model input: `status` (413/415/422), a stable `code`,
    a human `message` naming the problem and the limit, and JSON-able `details`."""

    def __init__(self, status: int, code: str, message: str, **details: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
