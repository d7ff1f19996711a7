"""The one way the benchmarks time something: the median of repeated runs after a warm-up."""

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def median_ms(action: Callable[[], T], *, warmup: int, runs: int) -> tuple[float, T]:
    """Median wall time of ``action()`` in milliseconds over ``runs`` runs (after ``warmup``), and its last result.

    The median, not the mean: one run slowed by the machine's other work does not move the figure.
    """
    for _ in range(warmup):
        action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1_000, result
