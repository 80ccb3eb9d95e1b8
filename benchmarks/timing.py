"""Side-by-side timing of a naive reference and the book's implementation.

Each ``benchmarks/bench_*.py`` module has a ``main()`` that calls :func:`compare`
once per case; ``python -m benchmarks.run`` (``nox -s bench``) runs them all in
one process and collects every :class:`Result`. A case may declare the
operation counts of both sides (``ops=(naive, fast)``, floating-point
operations per call) and the dominant kernel of the fast side
(:class:`Kernel`): the runner prints the ratio of operation counts beside the
measured ratio (the speed-up possible at equal efficiency) and the fraction of
the machine's measured peak the kernel reaches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nnbook.timing import best_time  # the one timing helper of the project (also behind the book's cost figures)


@dataclass(frozen=True)
class Kernel:
    """The dominant kernel of an implementation and the work it must do per call.

    ``flops`` floating-point operations and ``bytes`` moved to or from memory
    at least; ``bound`` is ``"compute"`` (compared with the matmul peak of
    ``dtype``) or ``"memory"`` (compared with the memory bandwidth). ``note``
    says why the kernel cannot reach the peak, when it cannot.
    """

    name: str
    flops: float = 0.0
    bytes: float = 0.0
    bound: str = "compute"
    dtype: str = "float64"
    note: str = ""


@dataclass(frozen=True)
class Result:
    """One case: both timings (seconds per call), their ratio, and what the case declared."""

    case: str
    naive_seconds: float
    fast_seconds: float
    ratio: float
    ops: tuple[float, float] | None = None
    kernel: Kernel | None = None

    @property
    def ops_ratio(self) -> float | None:
        return self.ops[0] / self.ops[1] if self.ops else None


RESULTS: list[Result] = []  # every comparison made in this process, in order (read by benchmarks.run)


def compare(
    case: str,
    naive: Callable[[], object],
    fast: Callable[[], object],
    repeat: int = 5,
    *,
    ops: tuple[float, float] | None = None,
    kernel: Kernel | None = None,
) -> float:
    """Time ``naive`` and ``fast``, print both and the ratio, record a :class:`Result`, return the ratio."""
    t_naive = best_time(naive, repeat)
    t_fast = best_time(fast, repeat)
    ratio = t_naive / t_fast
    RESULTS.append(Result(case, t_naive, t_fast, ratio, ops, kernel))
    limit = f"   ops ratio {ops[0] / ops[1]:7.1f}x" if ops else ""
    print(f"{case:<48s} naive {t_naive * 1e3:10.3f} ms   nnbook {t_fast * 1e3:10.3f} ms   ratio {ratio:7.1f}x{limit}")
    return ratio
