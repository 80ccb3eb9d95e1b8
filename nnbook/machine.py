"""How fast this machine moves bytes and multiplies matrices: the roofs of a roofline, measured.

A roofline bounds the rate of a computation by two numbers of the machine:
its peak arithmetic rate ``P`` (multiply-adds per second) and the bandwidth
``B`` (bytes per second) of the memory that feeds it. A computation of
arithmetic intensity ``I`` (multiply-adds per byte moved) can run at most at
``min(P, I * B)``. This module measures both numbers quickly with torch on
the CPU: ``B`` from copying a float32 array (each byte read once and written
once), ``P`` from a square float32 matrix product. Small arrays stay in a
cache, large ones come from main memory, so measuring at several sizes shows
the memory hierarchy. The numbers vary from run to run and machine to machine.

Examples
--------
>>> attainable(np.array([0.5, 2.0, 8.0]), bandwidth=10.0, peak=40.0)
array([ 5., 20., 40.])
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from nnbook import _validation as v

MAX_ARRAY_BYTES = 2**30  # one array of a bandwidth measurement (two are allocated)
MAX_MATRIX_SIZE = 4096  # side of the matrices of a matmul measurement (3 x 64 MiB in float32)
MAX_REPEATS = 1000
MAX_THREADS = 1024
MAX_INTENSITY_ELEMENTS = 10**7  # attainable(): intensities evaluated at once
FLOAT32_BYTES = 4


def torch_threads(threads: int) -> contextlib.AbstractContextManager[None]:
    """A context in which torch runs on ``threads`` intra-op threads; torch's setting is restored afterwards.

    ``threads`` is checked when the context is made, between 1 and ``MAX_THREADS``.

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    return _threads(v.check_int(threads, "threads", min_value=1, max_value=MAX_THREADS))


@contextlib.contextmanager
def _threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def best_seconds(func: Callable[[], object], repeats: int = 5) -> float:
    """Fastest of ``repeats`` timed calls of ``func``, after one untimed warm-up call.

    The fastest call is the least disturbed by whatever else the machine is
    doing; ``repeats`` is between 1 and ``MAX_REPEATS``. Keep each call short
    (a millisecond or less): on a busy machine a long call is rarely left
    alone for its whole duration.

    Examples
    --------
    >>> best_seconds(lambda: sum(range(100)), repeats=3) > 0
    True
    """
    v.check_callable(func, "func")
    repeats = v.check_int(repeats, "repeats", min_value=1, max_value=MAX_REPEATS)
    func()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return float(best)


def memory_bandwidth(nbytes: int = 2**27, repeats: int = 5, threads: int = 1, chunk_bytes: int = 2**22) -> float:
    """Bytes per second that copying an ``nbytes`` float32 array moves (each byte read once and written once).

    The array is copied front to back in chunks of ``chunk_bytes`` and every
    chunk is timed on its own, so each timing is short; the fastest chunk
    counts. One untimed pass comes first, then ``repeats`` timed passes. An
    array that fits in a cache stays there between passes; one much larger
    than the last-level cache (the default, 128 MiB) evicts its own start
    before the next pass, so every chunk comes from main memory.

    Parameters
    ----------
    nbytes : int
        Size of the array, ``4 <= nbytes <= MAX_ARRAY_BYTES``, rounded down to
        whole chunks (or to whole float32 elements when smaller than a chunk).
    repeats : int
        Timed passes over the array, ``1 <= repeats <= MAX_REPEATS``.
    threads : int
        Intra-op torch threads.
    chunk_bytes : int
        Bytes copied per timed call, ``4 <= chunk_bytes <= MAX_ARRAY_BYTES``.

    Returns
    -------
    float
        ``2 * chunk / seconds`` for the fastest chunk.

    Examples
    --------
    >>> memory_bandwidth(2**16, repeats=2) > 0
    True
    """
    n = v.check_int(nbytes, "nbytes", min_value=FLOAT32_BYTES, max_value=MAX_ARRAY_BYTES) // FLOAT32_BYTES
    c = v.check_int(chunk_bytes, "chunk_bytes", min_value=FLOAT32_BYTES, max_value=MAX_ARRAY_BYTES) // FLOAT32_BYTES
    repeats = v.check_int(repeats, "repeats", min_value=1, max_value=MAX_REPEATS)
    c = min(c, n)
    with torch_threads(threads):
        source, target = torch.ones(n - n % c), torch.empty(n - n % c)
        chunks = [(target[i : i + c], source[i : i + c]) for i in range(0, n - n % c, c)]
        best = np.inf
        for timed in [False] + [True] * repeats:
            for out, src in chunks:
                start = time.perf_counter()
                out.copy_(src)
                if timed:
                    best = min(best, time.perf_counter() - start)
    return 2 * c * FLOAT32_BYTES / best


def peak_matmul_rate(size: int = 256, repeats: int = 20, threads: int = 1) -> float:
    """Multiply-adds per second of a ``size`` x ``size`` float32 matrix product: the arithmetic roof.

    Parameters
    ----------
    size : int
        Side of the square matrices, ``1 <= size <= MAX_MATRIX_SIZE``; the
        product does ``size**3`` multiply-adds on ``3 * size**2`` numbers, so
        all but small sizes are compute bound. The default takes well under a
        millisecond per product on a current core, short enough to time on a
        busy machine.
    repeats, threads
        Timed products (the fastest counts) and intra-op torch threads.

    Examples
    --------
    >>> peak_matmul_rate(64, repeats=2) > 0
    True
    """
    size = v.check_int(size, "size", min_value=1, max_value=MAX_MATRIX_SIZE)
    generator = torch.Generator().manual_seed(0)
    with torch_threads(threads):
        a, b = torch.randn(size, size, generator=generator), torch.randn(size, size, generator=generator)
        seconds = best_seconds(lambda: a @ b, repeats)
    return size**3 / seconds


def attainable(intensity: np.ndarray, bandwidth: float, peak: float) -> np.ndarray:
    """The roofline ``min(peak, intensity * bandwidth)``: the fastest rate a computation of this intensity can reach.

    Parameters
    ----------
    intensity : ndarray, shape (m,)
        Multiply-adds per byte moved, ``>= 0``.
    bandwidth : float
        Bytes per second, ``> 0``.
    peak : float
        Multiply-adds per second, ``> 0``.

    Returns
    -------
    ndarray, shape (m,)
        Multiply-adds per second.
    """
    i = v.check_array(intensity, "intensity", ndim=1, max_elements=MAX_INTENSITY_ELEMENTS)
    if np.any(i < 0):
        raise ValueError(f"intensity must be >= 0, got a minimum of {i.min()}")
    b = v.check_real(bandwidth, "bandwidth", min_value=0, min_inclusive=False)
    p = v.check_real(peak, "peak", min_value=0, min_inclusive=False)
    return np.minimum(p, i * b)


@dataclass(frozen=True)
class Roofs:
    """The measured roofs of this machine (one setting of threads)."""

    sizes: np.ndarray  # int (m,): array sizes of the bandwidth measurements, bytes, increasing
    bandwidths: np.ndarray  # (m,): copy bandwidth at each size, bytes/s
    cache_bandwidth: float  # the fastest of them: the upper memory roof, bytes/s
    dram_bandwidth: float  # at the largest size: main memory, bytes/s
    peak_rate: float  # matrix product, multiply-adds/s
    threads: int

    @property
    def ridge_dram(self) -> float:
        """Intensity (multiply-adds per byte) where the main-memory roof meets the arithmetic roof."""
        return self.peak_rate / self.dram_bandwidth

    @property
    def ridge_cache(self) -> float:
        """Intensity where the cache roof meets the arithmetic roof."""
        return self.peak_rate / self.cache_bandwidth


def measure_roofs(
    sizes: tuple[int, ...] = tuple(2**k for k in range(18, 28)),
    matmul_size: int = 256,
    repeats: int = 5,
    threads: int = 1,
) -> Roofs:
    """Copy bandwidth at each array size (256 KiB to 128 MiB by default) and the matmul peak, in about a second.

    Each size is measured by :func:`memory_bandwidth` (chunks of up to 4 MiB),
    the peak by :func:`peak_matmul_rate` with ``10 * repeats`` products.

    Examples
    --------
    >>> roofs = measure_roofs(sizes=(2**12, 2**14), matmul_size=32, repeats=1)
    >>> roofs.bandwidths.shape, bool(roofs.dram_bandwidth == roofs.bandwidths[-1])
    ((2,), True)
    """
    s = v.check_array(sizes, "sizes", ndim=1, dtype="integer", max_elements=64)
    if np.any(np.diff(s) <= 0) or s[0] < FLOAT32_BYTES or s[-1] > MAX_ARRAY_BYTES:
        raise ValueError(
            f"sizes must increase strictly from {FLOAT32_BYTES} to {MAX_ARRAY_BYTES} bytes, got {s.tolist()}"
        )
    repeats = v.check_int(repeats, "repeats", min_value=1, max_value=MAX_REPEATS // 10)
    threads = v.check_int(threads, "threads", min_value=1, max_value=MAX_THREADS)
    v.check_int(matmul_size, "matmul_size", min_value=1, max_value=MAX_MATRIX_SIZE)
    bandwidths = np.array([memory_bandwidth(int(n), repeats, threads) for n in s])
    peak = peak_matmul_rate(matmul_size, 10 * repeats, threads)
    return Roofs(s, bandwidths, float(bandwidths.max()), float(bandwidths[-1]), peak, threads)
