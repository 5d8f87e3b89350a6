"""Reading POST /api/v1/models's multipart body: the ONNX file and its optional fields
(`name`, `classes` as a JSON list or one label a line, `input` as JSON), every problem a
4xx envelope. Parsing the ONNX file itself is the store's job (app.services.model_store)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.services.errors import ApiError
from app.settings import Settings

UPLOAD_FIELDS = ("file", "name", "classes", "input")
MAX_CLASSES_BYTES = 1024 * 1024
# The multipart body may exceed the file cap by this much (boundaries, the small fields).
FORM_OVERHEAD = 2 * 1024 * 1024


def upload_body_limit(settings: Settings) -> int:
    """The largest POST /api/v1/models body: the file cap plus the form's overhead."""
    return settings.max_model_bytes + FORM_OVERHEAD


@dataclass
class ModelUpload:
    data: bytes
    name: str | None = None
    classes: list[str] | None = None
    input_spec: dict[str, Any] | None = None


def _text(value, field: str, limit: int) -> str:
    if isinstance(value, UploadFile):
        raw = value.file.read(limit + 1)
    else:
        raw = value
    if isinstance(raw, bytes):
        if len(raw) > limit:
            raise ApiError(422, "invalid_input", f"`{field}` has more than {limit:,} bytes",
                           field=field)
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError(422, "invalid_input", f"`{field}` is not UTF-8 text",
                           field=field) from None
    return raw


def parse_classes(text: str) -> list[str]:
    """A JSON list of strings, else one label a line (blank lines skipped)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            labels = json.loads(stripped)
        except (ValueError, RecursionError):
            raise ApiError(422, "invalid_classes", "classes starts with '[' but is not a "
                           "JSON list", field="classes") from None
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ApiError(422, "invalid_classes", "classes must be a JSON list of strings",
                           field="classes")
        return labels
    return [line.strip() for line in stripped.splitlines() if line.strip()]


def parse_input_spec(text: str) -> dict[str, Any]:
    try:
        spec = json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(422, "invalid_input_spec", "input must be a JSON object",
                       field="input") from None
    if not isinstance(spec, dict):
        raise ApiError(422, "invalid_input_spec", "input must be a JSON object", field="input")
    return spec


async def parse_model_upload(request: Request, settings: Settings) -> ModelUpload:
    """multipart/form-data with a file field `file` and optional `name`, `classes` (text or
    a text file), `input` (JSON text) -> ModelUpload."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type",
                       f"send multipart/form-data with a file field `file`, not "
                       f"{media_type or 'a body without a Content-Type'}",
                       supported=["multipart/form-data"])
    try:
        form = await request.form(max_files=2, max_fields=len(UPLOAD_FIELDS),
                                  max_part_size=settings.max_multipart_field_bytes)
    except StarletteHTTPException as exc:
        if exc.status_code != 400:
            raise  # 413 from the body cap, 408 from its deadline
        raise ApiError(400, "invalid_multipart",
                       f"could not read the multipart body: {exc.detail}") from None
    try:
        unknown = sorted(set(form.keys()) - set(UPLOAD_FIELDS))
        if unknown:
            raise ApiError(422, "invalid_input", f"unknown form field(s) {', '.join(unknown)}; "
                           f"known: {', '.join(UPLOAD_FIELDS)}")
        for key in UPLOAD_FIELDS:
            if len(form.getlist(key)) > 1:
                raise ApiError(422, "invalid_input", f"`{key}` is given more than once",
                               field=key)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "missing_file", "the multipart body needs a file field "
                           "`file` (the .onnx model)", field="file")
        data = await upload.read()
        name = form.get("name")
        if name is not None and not isinstance(name, str):
            raise ApiError(422, "invalid_name", "`name` must be a text field", field="name")
        classes = form.get("classes")
        spec = form.get("input")
        if spec is not None and not isinstance(spec, str):
            raise ApiError(422, "invalid_input_spec", "`input` must be a JSON text field",
                           field="input")
        return ModelUpload(
            data=data, name=name or None,
            classes=None if classes in (None, "") else parse_classes(
                _text(classes, "classes", MAX_CLASSES_BYTES)),
            input_spec=None if spec in (None, "") else parse_input_spec(spec),
        )
    finally:
        await form.close()
