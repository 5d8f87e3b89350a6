"""The bench's networks in PyTorch, as a reference column -- never a dependency.

Runs only where torch is importable: in the bench's own interpreter, or in another one named
by CONVSCOPE_BENCH_TORCH_PYTHON (e.g. a throwaway venv outside the repo), which runs
`python -m bench.torch_reference` from the repo root and prints JSON rows. Uses only
torch, numpy and bench.timing (standard library), so any venv with torch can run it.
"""

from __future__ import annotations

import json
import sys

from bench.timing import measure

SHAPES = {"lenet5": (1, 28, 28), "tinyvgg": (3, 64, 64)}


def torch_network(name: str):
    import torch.nn as tnn

    if name == "lenet5":
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10),
        )
    return tnn.Sequential(
        tnn.Conv2d(3, 10, 3), tnn.ReLU(), tnn.Conv2d(10, 10, 3), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(10, 10, 3), tnn.ReLU(), tnn.Conv2d(10, 10, 3), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Linear(1690, 10),
    )


def run(
    budget_s: float, batches=(1, 64), dtypes=("float32", "float64"), networks=tuple(SHAPES)
) -> list[dict]:
    """Forward, and forward+backward with input gradients (as the trace computes them), at
    torch's default thread count and at 1 thread (as each ConvScope worker runs BLAS)."""
    import torch

    default_threads = torch.get_num_threads()
    rows = []
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        rows += _run_at(budget_s, batches, dtypes, networks)
    torch.set_num_threads(default_threads)
    return rows


def _run_at(budget_s: float, batches, dtypes, networks) -> list[dict]:
    import torch
    import torch.nn.functional as tf

    torch.manual_seed(0)
    rows = []
    for name in networks:
        shape = SHAPES[name]
        for dtype in dtypes:
            net = torch_network(name).to(getattr(torch, dtype))
            for batch in batches:
                x = torch.rand(batch, *shape, dtype=getattr(torch, dtype), requires_grad=True)
                targets = torch.randint(0, 10, (batch,))

                def forward(net=net, x=x):
                    with torch.no_grad():
                        return net(x)

                def forward_backward(net=net, x=x, targets=targets):
                    net.zero_grad(set_to_none=True)
                    x.grad = None
                    tf.cross_entropy(net(x), targets).backward()

                for phase, fn in (("forward", forward), ("forward+backward", forward_backward)):
                    timing = measure(fn, budget_s)
                    rows.append({
                        "network": name, "batch": batch, "dtype": dtype, "phase": phase,
                        "median": timing.median, "minimum": timing.minimum,
                        "maximum": timing.maximum, "repeats": timing.repeats,
                        "torch": torch.__version__, "threads": torch.get_num_threads(),
                    })
    return rows


if __name__ == "__main__":
    # python -m bench.torch_reference [BUDGET [NETWORK BATCH]]
    args = sys.argv[1:]
    budget = float(args[0]) if args else 0.5
    selection = {"networks": (args[1],), "batches": (int(args[2]),)} if len(args) == 3 else {}
    print(json.dumps(run(budget, **selection)))
