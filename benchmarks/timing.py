"""Side-by-side timing of a naive reference and the book's implementation.

Each ``benchmarks/bench_*.py`` script calls :func:`compare` for its cases and
prints one line per case with the ratio; ``nox -s bench`` runs them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(func: Callable[[], object], repeat: int = 5, min_time: float = 0.2) -> float:
    """Best-of-``repeat`` seconds per call, each round long enough to time."""
    func()  # warm-up
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or number >= 1 << 20:
            break
        number *= 2
    best = elapsed / number
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def compare(case: str, naive: Callable[[], object], fast: Callable[[], object], repeat: int = 5) -> float:
    """Time ``naive`` and ``fast``, print both and the ratio, return the ratio."""
    t_naive = best_time(naive, repeat)
    t_fast = best_time(fast, repeat)
    ratio = t_naive / t_fast
    print(f"{case:<48s} naive {t_naive * 1e3:10.3f} ms   nnbook {t_fast * 1e3:10.3f} ms   ratio {ratio:7.1f}x")
    return ratio
