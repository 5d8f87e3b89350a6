"""Which tensors of a trace go into the inspect response: the layer budget and the response
budget.

Both count a tensor as float32 (4 bytes a value, batch axis dropped), whatever the encoding:
- the *layer budget*: a part (output, grad_output, ...) over it is left out of /inspect;
- the *response budget*: the total of the tensors sent. The network's input (and its
  gradient, when deltas are asked for) is always sent and counted first; so are the layers
  named in `include_layers`, whatever they weigh. The rest is filled SMALLEST LAYER FIRST (a
  layer's parts within the layer budget together, ties in graph order): the head, the pooled
  and the late, narrow layers come whole, and what no longer fits is left out whole, so a layer
  is either drawn from the response or fetched (GET /api/v1/traces/{id}/layers/{name}).

Every layer keeps its summary whatever the budgets: the page draws the strongest channels from
it before fetching them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from app.nn.trace import LayerTrace, Trace

LAYER_BUDGET = "layer_budget"
RESPONSE_BUDGET = "response_budget"
# The order parts are sent in (encode_trace's); a plan lists a layer's parts in it.
_PARTS = ("output", "grad_output", "pool_indices", "pool_mask", "params", "param_grads")


def part_bytes(lt: LayerTrace, part: str) -> int:
    """What one part of a layer weighs in a response, counted as float32 (4 bytes a value,
    batch axis dropped): the unit of both budgets."""
    if part in ("output", "grad_output", "pool_indices"):
        array = getattr(lt, part)
        return 0 if array is None else 4 * int(array[0].size)
    if part == "pool_mask":
        return 4 * int(np.prod(lt.input_shape[1:]))
    values = lt.params if part == "params" else lt.grads
    total = sum(int(v.size) for v in values.values())
    if part == "params":  # BatchNorm's buffers are sent with its params
        total += sum(int(v.size) for v in lt.buffers.values())
    return 4 * total


def has_part(lt: LayerTrace, part: str) -> bool:
    """Whether a layer has this part at all (a delta, pooling winners, parameters)."""
    if part == "grad_output":
        return lt.grad_output is not None
    if part in ("pool_indices", "pool_mask"):
        return lt.pool_indices is not None
    if part == "params":
        return bool(lt.params or lt.buffers)
    if part == "param_grads":
        return bool(lt.grads)
    return True


def input_bytes(trace: Trace, fields: Iterable[str]) -> int:
    """The network input (and its gradient when deltas are asked for), as float32."""
    one = 4 * int(trace.input[0].size)
    return one * (2 if "grad_output" in set(fields) else 1)


Plan = dict[str, tuple[tuple[str, ...], dict[str, str]]]


def response_plan(
    trace: Trace, fields: Iterable[str], layer_budget: int | None,
    response_budget: int | None, include_layers: Iterable[str] = (),
) -> Plan:
    """name -> (parts to send, {part left out: why}) for every layer: `fields` asked for,
    within `layer_budget` per part and `response_budget` in all (see the module doc); None
    means no limit."""
    wanted = [p for p in _PARTS if p in set(fields)]
    forced = set(include_layers)
    plan: Plan = {}
    candidates: list[tuple[int, int, str, tuple[str, ...]]] = []
    spent = input_bytes(trace, wanted)
    for lt in trace.layers:
        parts = [p for p in wanted if has_part(lt, p)]
        dropped: dict[str, str] = {}
        if lt.name not in forced and layer_budget is not None:
            for p in parts:
                if part_bytes(lt, p) > layer_budget:
                    dropped[p] = LAYER_BUDGET
        kept = tuple(p for p in parts if p not in dropped)
        plan[lt.name] = (kept, dropped)
        cost = sum(part_bytes(lt, p) for p in kept)
        if lt.name in forced or response_budget is None:
            spent += cost
        elif kept:
            candidates.append((cost, lt.index, lt.name, kept))
    for cost, _, name, kept in sorted(candidates):
        if spent + cost <= response_budget:
            spent += cost
            continue
        _, dropped = plan[name]
        plan[name] = ((), {**dropped, **dict.fromkeys(kept, RESPONSE_BUDGET)})
    return plan


def omitted_reason(dropped: dict[str, str]) -> str:
    """One word for a layer's left-out parts: the response budget if it dropped any."""
    return RESPONSE_BUDGET if RESPONSE_BUDGET in dropped.values() else LAYER_BUDGET
