"""What an ended run says about its learning rate: too small, good, too large or diverging.

The rule, on the run's recorded train losses (L_start: the mean of the first three, L_end:
of the last three) and its layers' update/weight ratios (the norm of a step's change of a
layer's weights over the norm of the weights):

1. The loss became NaN or infinite, or L_end > 1.5 L_start: **diverging**. Each step
   overshoots the minimum by more than it corrects, so the loss grows.
2. Else L_end <= 0.6 L_start: **good**. The loss fell by 40% or more.
3. Else the largest update/weight ratio reached 1e-2 or more: **too large**. The steps moved
   the weights by 1% or more at a time, and still the loss did not fall: they jump across
   the valley or knock units dead (stuck near chance), instead of descending.
4. Else: **too small**. Each step moved the weights by less than 1%; the loss has barely
   started to fall (a healthy ratio is around 1e-3).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

GROWTH = 1.5
GOOD_DROP = 0.6
LARGE_RATIO = 1e-2


def classify(losses: list[float | None], ratios: list[float], diverged: bool) -> dict[str, str]:
    """The verdict {label, reason} from the train losses in order and the update/weight
    ratios seen."""
    finite = [x for x in losses if x is not None and math.isfinite(x)]
    if diverged or len(finite) < len(losses):
        return {"label": "diverging",
                "reason": "the loss became NaN or infinite: each step overshot by more than "
                          "it corrected, until the numbers overflowed"}
    if len(finite) < 2:
        return {"label": "too small", "reason": "too few steps to judge"}
    start = sum(finite[:3]) / len(finite[:3])
    end = sum(finite[-3:]) / len(finite[-3:])
    ratio = max(ratios, default=0.0)
    if end > GROWTH * start:
        return {"label": "diverging",
                "reason": f"the loss grew from {start:.3g} to {end:.3g} (more than {GROWTH}x): "
                          "each step overshoots the minimum by more than it corrects"}
    if end <= GOOD_DROP * start:
        return {"label": "good",
                "reason": f"the loss fell from {start:.3g} to {end:.3g} (by 40% or more); the "
                          f"largest step changed a layer's weights by {ratio:.1e} of their size"}
    if ratio >= LARGE_RATIO:
        return {"label": "too large",
                "reason": f"steps changed a layer's weights by up to {ratio:.1e} of their size, "
                          f"yet the loss went from {start:.3g} to {end:.3g} only: the steps "
                          "jump across the valley (or kill units) instead of descending"}
    return {"label": "too small",
            "reason": f"each step changed the weights by at most {ratio:.1e} of their size, "
                      f"so the loss only went from {start:.3g} to {end:.3g}: it would get "
                      "there, slowly"}


def lr_verdict_of(events_path: Path, status: str) -> dict[str, str] | None:
    """The verdict of a run from its event log; None for a run stopped or failed early."""
    losses: list[float | None] = []
    ratios: list[float] = []
    try:
        lines = events_path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        event: dict[str, Any] = json.loads(line)
        data = event["data"]
        if event["event"] == "step":
            losses.append(data["loss"])
        elif event["event"] == "layers":
            ratios.extend(r for layer in data["layers"]
                          if (r := layer.get("update_ratio")) is not None)
    if status not in ("done", "diverged"):
        return None
    return classify(losses, ratios, status == "diverged")
