"""Same-run A/B of the core's speed switches, interleaved so that a shared machine's load
falls on every variant alike: median and min of each variant, in ms.

    python -m bench.ab threads      # networks: all CPUs' threads vs 1 thread vs baseline
    python -m bench.ab depthwise    # depthwise convs: gradients tap by tap vs im2col
    python -m bench.ab training     # lenet5 training epochs, all CPUs' threads vs 1 thread

BLAS is pinned to 1 thread, as in `make bench` and the server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np

from app.nn import Conv2d, softmax_cross_entropy
from app.nn import functional as F
from app.nn import threads as T
from bench.baseline import baseline_network
from bench.core import build


@contextlib.contextmanager
def config(threads: int | None = None, tapwise: bool = True) -> Iterator[None]:
    saved = (T.get_num_threads(), F.TAPWISE)
    T.set_num_threads(threads or T.available_cpus())
    F.TAPWISE = tapwise
    try:
        yield
    finally:
        T.set_num_threads(saved[0])
        F.TAPWISE = saved[1]


def interleave(variants: dict[str, tuple[dict, Callable[[], object]]], rounds: int, inner: int):
    """Each round times every variant (inner calls, best per-call time kept), in reverse
    order every other round; returns
    {name: (median ms, min ms, median CPU ms)} over the rounds, the CPU time being the
    process's (all threads) per call: on a loaded machine it shows what threading costs in
    work, which the wall clock hides under other processes' time slices."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for cfg, fn in variants.values():  # warm-up
        with config(**cfg):
            fn()
            fn()
    for round_ in range(rounds):
        # Every other round runs the variants in reverse, so none always follows another.
        order = list(variants.items())[:: 1 if round_ % 2 == 0 else -1]
        for name, (cfg, fn) in order:
            with config(**cfg):
                best = float("inf")
                cpu_start = time.process_time()
                for _ in range(inner):
                    start = time.perf_counter()
                    fn()
                    best = min(best, time.perf_counter() - start)
                times[name].append(best * 1e3)
                cpu[name].append((time.process_time() - cpu_start) / inner * 1e3)
    return {
        name: (statistics.median(t), min(t), statistics.median(cpu[name]))
        for name, t in times.items()
    }


def report(title: str, result: dict[str, tuple[float, float, float]]) -> None:
    first = next(iter(result.values()))
    cells = ", ".join(
        f"{name} {med:.3g} / {low:.3g} ms ({first[0] / med:.2f}x median, {first[1] / low:.2f}x"
        f" min; CPU {cpu:.3g} ms)"
        for name, (med, low, cpu) in result.items()
    )
    print(f"{title}: {cells}", flush=True)


def fwd_bwd(network, x, targets) -> Callable[[], object]:
    def run():
        out, caches = network.forward(x)
        _, dlogits, _ = softmax_cross_entropy(out, targets)
        return network.backward(dlogits, caches)
    return run


def ab_threads(rounds: int) -> None:
    for name in ("lenet5", "tinyvgg"):
        for batch in (1, 64):
            network, shape = build(name, "float32", "current")
            rng = np.random.default_rng(0)
            x = rng.random((batch, *shape)).astype(np.float32)
            targets = rng.integers(0, 10, batch)
            run = fwd_bwd(network, x, targets)
            base = fwd_bwd(baseline_network(network), x, targets)
            inner = 20 if batch == 1 else 3
            report(f"{name} b{batch} fwd+bwd float32 (median / min of rounds)", interleave({
                "1 thread": ({"threads": 1}, run),
                "all CPUs": ({}, run),
                "baseline": ({"threads": 1}, base),
            }, rounds, inner))


def layer_pass(layer, x) -> Callable[[], object]:
    def run():
        y, cache = layer.forward(x)
        return layer.backward(y, cache)
    return run


def ab_depthwise(rounds: int) -> None:
    cases = [
        ("depthwise 32ch 3x3 p1, (64,32,56,56)", Conv2d(32, 32, 3, padding=1, groups=32, rng=0),
         (64, 32, 56, 56)),
        ("depthwise 64ch 3x3 s2 p1, (16,64,56,56)",
         Conv2d(64, 64, 3, stride=2, padding=1, groups=64, rng=0), (16, 64, 56, 56)),
        ("depthwise 10ch 3x3, (64,10,62,62)", Conv2d(10, 10, 3, groups=10, rng=0),
         (64, 10, 62, 62)),
        ("depthwise 10ch 3x3, (1,10,62,62)", Conv2d(10, 10, 3, groups=10, rng=0),
         (1, 10, 62, 62)),
    ]
    for title, layer, shape in cases:
        x = np.random.default_rng(0).random(shape).astype(np.float32)
        run = layer_pass(layer, x)
        inner = 3 if shape[0] > 1 else 20
        report(f"{title} fwd+bwd float32 (median / min of rounds)", interleave({
            "im2col, 1 thread": ({"threads": 1, "tapwise": False}, run),
            "tap-by-tap grads, 1 thread": ({"threads": 1}, run),
            "tap-by-tap grads, all CPUs": ({}, run),
        }, rounds, inner))


def ab_training(rounds: int) -> None:
    from bench.training import run_training

    results: dict[str, list[float]] = {"1 thread": [], "all CPUs": []}
    for _ in range(rounds):
        for name, cfg in (("1 thread", {"threads": 1}), ("all CPUs", {})):
            with config(**cfg):
                results[name].append(run_training(epochs=1).images_per_s)
    for name, values in results.items():
        epochs = ", ".join(f"{v:,.0f}" for v in values)
        print(f"lenet5 training b64 {name}: median {statistics.median(values):,.0f} digits/s, "
              f"best {max(values):,.0f} digits/s (epochs: {epochs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["threads", "depthwise", "training"])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    print(f"load average at start: {os.getloadavg()[0]:.2f}; CPUs {T.available_cpus()}", flush=True)
    {"threads": ab_threads, "depthwise": ab_depthwise,
     "training": ab_training}[args.what](args.rounds)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
