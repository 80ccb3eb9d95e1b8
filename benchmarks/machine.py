"""The machine's roofs, measured with the threads the book's examples get: matmul peak and memory bandwidth.

- matmul peak: a square ``n x n`` matrix product with numpy (``2 n^3``
  floating-point operations), in float64 and float32: the benchmarks' kernels
  are numpy kernels, so their peak is numpy's;
- memory bandwidth: :func:`nnbook.machine.memory_bandwidth`, the same
  measurement the data-movement chapter draws its roofline with (copying an
  array far larger than the caches, each byte read once and written once).

Both are the best of a few runs timed with the project's one timing helper
(:func:`nnbook.timing.best_time`), so they are what the machine reaches when
the benchmark gets a core to itself; on a shared machine the kernels compared
with them see the same disturbance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from nnbook.machine import memory_bandwidth
from nnbook.timing import best_time


@dataclass(frozen=True)
class Machine:
    """Measured roofs: GFLOP/s of a float64 and a float32 matmul, GB/s of a large copy."""

    matmul_gflops_float64: float
    matmul_gflops_float32: float
    copy_gbytes_per_s: float
    matmul_size: int
    copy_bytes: int

    def peak(self, dtype: str) -> float:
        """Peak floating-point operations per second for ``dtype`` ("float64" or "float32")."""
        return 1e9 * (self.matmul_gflops_float32 if dtype == "float32" else self.matmul_gflops_float64)

    def bandwidth(self) -> float:
        """Bytes per second."""
        return 1e9 * self.copy_gbytes_per_s

    def to_dict(self) -> dict:
        return asdict(self)


def matmul_gflops(n: int = 1024, dtype: str = "float64", repeats: int = 7) -> float:
    """GFLOP/s of ``A @ B`` for ``n x n`` numpy matrices of ``dtype``."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    out = np.empty((n, n), dtype=dtype)
    return 2 * n**3 / best_time(lambda: np.matmul(a, b, out=out), repeats, min_time=0.05) / 1e9


def copy_gbytes(nbytes: int = 256 * 2**20, repeats: int = 7) -> float:
    """GB/s of copying ``nbytes`` from main memory (counted once read, once written), with one thread."""
    return memory_bandwidth(nbytes, repeats, threads=1) / 1e9


def measure(n: int = 1024, nbytes: int = 256 * 2**20) -> Machine:
    """Measure both roofs (a few seconds)."""
    return Machine(matmul_gflops(n, "float64"), matmul_gflops(n, "float32"), copy_gbytes(nbytes), n, nbytes)


if __name__ == "__main__":
    print(measure())
