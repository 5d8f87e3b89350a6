"""Repeat a callable within a time budget and summarise its wall-clock times."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of `repeats` calls after the warm-up."""

    median: float
    minimum: float
    maximum: float
    repeats: int

    @property
    def median_ms(self) -> float:
        return self.median * 1e3

    @property
    def min_ms(self) -> float:
        return self.minimum * 1e3

    @property
    def max_ms(self) -> float:
        return self.maximum * 1e3


def summarise(samples: list[float]) -> Timing:
    if not samples:
        raise ValueError("no samples to summarise")
    return Timing(statistics.median(samples), min(samples), max(samples), len(samples))


def measure(
    fn: Callable[[], object], budget_s: float, warmup: int = 2, min_repeats: int = 3,
    max_repeats: int = 2000,
) -> Timing:
    """Call fn `warmup` times, then repeatedly until budget_s has passed (at least
    min_repeats, at most max_repeats calls), timing each call with perf_counter."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < max_repeats:
        start = time.perf_counter()
        fn()
        end = time.perf_counter()
        samples.append(end - start)
        if len(samples) >= min_repeats and end >= deadline:
            break
    return summarise(samples)


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
