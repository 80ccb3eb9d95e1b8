"""Wall-clock timing: the one helper behind the benchmarks and the book's cost figures.

Two ways to time, for two questions:

- :func:`best_time` answers "how fast can this run?": the best of several
  rounds, each long enough to time, so a burst of load from elsewhere only
  slows the rounds it hits. :func:`compare` puts a naive reference and the
  book's implementation side by side with it (the ``benchmarks/`` scripts).
- :func:`time_pair` answers "how much slower is ``g`` than ``f``?": it
  interleaves the two in every round, so the ratio of a round compares
  times measured under the same load (the cost-of-a-gradient figure).

Examples
--------
>>> seconds = best_time(lambda: sum(range(100)), repeat=2, min_time=1e-3)
>>> 0 < seconds < 1
True
>>> t_f, t_g = time_pair(lambda: None, lambda: sum(range(100)), repeat=3, min_time=1e-3)
>>> t_f.shape, t_g.shape
((3,), (3,))
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from nnbook import _validation as v

# Upper limits that bound how long a call can run: rounds, and calls in one round.
MAX_REPEAT = 1000
MAX_NUMBER = 1 << 20
MAX_MIN_TIME = 60.0
_clock = time.perf_counter  # the clock every measurement reads (tests replace it with a fake one)


def _calls_per_round(func: Callable[[], object], min_time: float) -> int:
    """The number of calls (a power of two, at most ``MAX_NUMBER``) that last at least ``min_time``."""
    number = 1
    while True:
        start = _clock()
        for _ in range(number):
            func()
        if _clock() - start >= min_time or number >= MAX_NUMBER:
            return number
        number *= 2


def _round(func: Callable[[], object], number: int) -> float:
    """Seconds per call over ``number`` back-to-back calls."""
    start = _clock()
    for _ in range(number):
        func()
    return (_clock() - start) / number


def best_time(func: Callable[[], object], repeat: int = 5, min_time: float = 0.2) -> float:
    """Best-of-``repeat`` seconds per call of ``func``, each round at least ``min_time`` long.

    Parameters
    ----------
    func : callable
        Called with no arguments; its result is discarded. It is called once
        first as a warm-up.
    repeat : int
        Number of timed rounds, in ``[1, MAX_REPEAT]``.
    min_time : float
        Shortest duration of a round in seconds, in ``(0, MAX_MIN_TIME]``;
        the number of calls per round doubles until a round lasts this long
        (at most ``MAX_NUMBER`` calls).

    Returns
    -------
    float
        Seconds per call in the fastest round.
    """
    func = v.check_callable(func, "func")
    repeat = v.check_int(repeat, "repeat", min_value=1, max_value=MAX_REPEAT)
    min_time = v.check_real(min_time, "min_time", min_value=0, max_value=MAX_MIN_TIME, min_inclusive=False)
    func()  # warm-up
    number = _calls_per_round(func, min_time)
    return min(_round(func, number) for _ in range(repeat))


def time_pair(
    f: Callable[[], object], g: Callable[[], object], repeat: int = 5, min_time: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds per call of ``f`` and of ``g`` in ``repeat`` interleaved rounds.

    Each round times ``f`` and then ``g``, each for at least ``min_time``, so
    a burst of load from elsewhere slows both of a round's times; the ratio
    ``g / f`` of a round is therefore steadier than the ratio of two
    separately taken best times.

    Parameters
    ----------
    f, g : callable
        Called with no arguments (each once first as a warm-up).
    repeat : int
        Number of rounds, in ``[1, MAX_REPEAT]``.
    min_time : float
        Shortest time spent on each function per round, in ``(0, MAX_MIN_TIME]`` seconds.

    Returns
    -------
    t_f, t_g : ndarray, shape (repeat,)
        Seconds per call in each round.
    """
    f, g = v.check_callable(f, "f"), v.check_callable(g, "g")
    repeat = v.check_int(repeat, "repeat", min_value=1, max_value=MAX_REPEAT)
    min_time = v.check_real(min_time, "min_time", min_value=0, max_value=MAX_MIN_TIME, min_inclusive=False)
    numbers = []
    for func in (f, g):
        func()  # warm-up
        numbers.append(_calls_per_round(func, min_time))
    rounds = np.array(
        [[_round(func, number) for func, number in zip((f, g), numbers, strict=True)] for _ in range(repeat)]
    )
    return rounds[:, 0], rounds[:, 1]


def compare(case: str, naive: Callable[[], object], fast: Callable[[], object], repeat: int = 5) -> float:
    """Time ``naive`` and ``fast`` with :func:`best_time`, print both and their ratio, return the ratio.

    Parameters
    ----------
    case : str
        What is compared, printed at the start of the line.
    naive, fast : callable
        The reference and the book's implementation (called with no arguments).
    repeat : int
        Rounds for each, in ``[1, MAX_REPEAT]``.

    Returns
    -------
    float
        ``time(naive) / time(fast)``.
    """
    if not isinstance(case, str):
        raise TypeError(f"case must be a str, got {type(case).__name__}")
    naive, fast = v.check_callable(naive, "naive"), v.check_callable(fast, "fast")
    t_naive = best_time(naive, repeat)
    t_fast = best_time(fast, repeat)
    ratio = t_naive / t_fast
    print(f"{case:<48s} naive {t_naive * 1e3:10.3f} ms   nnbook {t_fast * 1e3:10.3f} ms   ratio {ratio:7.1f}x")
    return ratio
