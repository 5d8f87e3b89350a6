"""gzip for JSON responses, done on the worker thread as one buffer (not streamed by a
middleware): level 1 costs about 2 ms for a 180 KB trace and makes it 3.5x smaller (base64
floats compress well)."""

from __future__ import annotations

import gzip

from fastapi import Request


def accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding lists gzip (or *) without q=0."""
    for item in request.headers.get("accept-encoding", "").lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in {"gzip", "*"}:
            q = params.strip().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return False
    return False


def gzip_bytes(data: bytes) -> bytes:
    """Level 1, mtime 0 (the same input always gives the same bytes)."""
    return gzip.compress(data, compresslevel=1, mtime=0)


def encoding_headers(compressed: bool) -> dict[str, str]:
    """The headers of a response that may be gzip-compressed."""
    headers = {"Vary": "Accept-Encoding"}
    if compressed:
        headers["Content-Encoding"] = "gzip"
    return headers
