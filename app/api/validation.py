"""Bounded request validation: the work done on a hostile body, and the error it gets, are
capped before pydantic builds anything.

A 10 MB JSON body can hold millions of items. Validated as is, every bad item becomes an
error object (seconds of CPU with the GIL held, gigabytes of memory) and every error a line
of the response. So a JSON body is parsed by `load_json` (on the CPU pool, never on the event
loop), its shape is checked by `check_shape` (list lengths, object sizes, depth: O(1) per
container, stopping at the first problem), and only then validated; `bounded_problems` keeps
at most MAX_PROBLEMS problems with short strings, so an error body stays under
MAX_ERROR_BYTES.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from app.services.errors import ApiError

MAX_PROBLEMS = 20
MAX_ERROR_BYTES = 16 * 1024
_MAX_TEXT = 200
_MAX_LOC_PARTS = 8


def load_json(raw: bytes) -> Any:
    """The body as Python values; 400 `invalid_json` when it is not UTF-8 JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        problem = "it is not UTF-8 text"
    except RecursionError:
        problem = "it is nested too deeply"
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        problem = str(exc)[:_MAX_TEXT] or "it is empty"
    raise ApiError(400, "invalid_json", f"the body is not valid JSON: {problem}")


def _clip(text: Any) -> str:
    text = str(text)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def bounded_problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The first MAX_PROBLEMS errors as {"loc", "msg", "type"}, every string clipped."""
    problems = []
    for err in errors:
        if len(problems) == MAX_PROBLEMS:
            break
        loc = [_clip(part) for part in tuple(err.get("loc", ()))[:_MAX_LOC_PARTS]]
        problems.append({
            "loc": loc, "msg": _clip(err.get("msg", "")), "type": _clip(err.get("type", "")),
        })
    return problems


def invalid_input(problems: list[dict[str, Any]], problem_count: int | None = None) -> ApiError:
    """422 `invalid_input` naming the first problem, with the (bounded) list."""
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"]) or "body"
    details: dict[str, Any] = {"problems": problems}
    if problem_count is not None:
        details["problem_count"] = problem_count
    return ApiError(422, "invalid_input", f"{where}: {first['msg']}", **details)


def validation_error(exc: ValidationError) -> ApiError:
    """A pydantic ValidationError as a bounded 422 `invalid_input`."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return invalid_input(bounded_problems(errors), exc.error_count())


def check_shape(
    value: Any, *, max_items: int, max_keys: int = 16, max_depth: int = 6,
    loc: tuple[str | int, ...] = (),
) -> None:
    """Refuse (422 `invalid_input`) JSON with a list longer than max_items, an object with more
    than max_keys keys, or nesting deeper than max_depth, before any validation. Visits each
    container once and stops at the first problem."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, loc)]
    while stack:
        node, where = stack.pop()
        if len(where) - len(loc) > max_depth:
            raise invalid_input([{"loc": [str(p) for p in where],
                                  "msg": f"nested deeper than {max_depth} levels",
                                  "type": "too_deep"}])
        if isinstance(node, list):
            if len(node) > max_items:
                raise invalid_input([{"loc": [str(p) for p in where],
                                      "msg": f"{len(node):,} items; at most {max_items:,}",
                                      "type": "too_long"}])
            stack.extend((item, (*where, i)) for i, item in enumerate(node)
                         if isinstance(item, (list, dict)))
        elif isinstance(node, dict):
            if len(node) > max_keys:
                raise invalid_input([{"loc": [str(p) for p in where],
                                      "msg": f"{len(node):,} fields; at most {max_keys}",
                                      "type": "too_many_fields"}])
            stack.extend((item, (*where, key)) for key, item in node.items()
                         if isinstance(item, (list, dict)))
