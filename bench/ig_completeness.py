"""Integrated gradients' completeness gap per rule at a fixed budget, on gallery digits.

    .venv/bin/python -m bench.ig_completeness [digits=40] [steps=64]

Prints, per model and rule, the median and worst gap |sum - (f(x) - f(x'))| / |f(x) - f(x')|
(float64, baseline 0, target = the prediction) and the most gradient evaluations spent.
"""

from __future__ import annotations

import sys

import numpy as np

from app.models import load_model
from app.nn import attribution as attr
from app.services.samples import sample_digit


def main(digits: int = 40, steps: int = 64) -> None:
    for model_id in ("lenet5", "resnet-mini"):
        model = load_model(model_id)
        graph = model.network.astype(np.float64)
        for rule in attr.IG_RULES:
            gaps, evaluations = [], 0
            for sample in range(digits):
                x = model.prepare(sample_digit(sample)[0][None]).astype(np.float64)
                target = int(graph.predict(x)[0].argmax())
                ig = attr.integrated_gradients(graph, x, target, steps, 0.0, rule=rule)
                gaps.append(ig.gap)
                evaluations = max(evaluations, ig.evaluations)
            gaps = np.array(gaps)
            print(f"{model_id:12s} {rule:8s} median {np.median(gaps):.3%} worst {gaps.max():.3%}"
                  f" over 1%: {(gaps > 0.01).sum()}/{digits}  evaluations <= {evaluations}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
