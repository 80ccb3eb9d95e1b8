"""Side-by-side timing of a naive reference and the book's implementation.

Each ``benchmarks/bench_*.py`` script calls :func:`compare` for its cases and
prints one line per case with the ratio; ``nox -s bench`` runs them all. The
timing itself lives in :mod:`nnbook.timing`, the one timing helper of the
project, which the book's cost figures use too.
"""

from __future__ import annotations

from nnbook.timing import best_time, compare, time_pair

__all__ = ["best_time", "compare", "time_pair"]
