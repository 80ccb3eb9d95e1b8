"""The machine's roofs, measured with the threads the book's examples get: matmul peak and memory bandwidth.

- matmul peak: a square ``n x n`` matrix product with numpy (``2 n^3``
  floating-point operations), best of several, in float64 and float32;
- memory bandwidth: copying an array far larger than the caches
  (``np.copyto``: each byte read once and written once), best of several.

Both are the best of a few runs, so they are what the machine reaches when
the benchmark gets a core to itself; on a shared machine the kernels compared
with them see the same disturbance.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np


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


def _best(func, repeats: int) -> float:
    func()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(n: int = 1024, dtype: str = "float64", repeats: int = 7) -> float:
    """GFLOP/s of ``A @ B`` for ``n x n`` matrices of ``dtype``."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    out = np.empty((n, n), dtype=dtype)
    return 2 * n**3 / _best(lambda: np.matmul(a, b, out=out), repeats) / 1e9


def copy_gbytes(nbytes: int = 256 * 2**20, repeats: int = 7) -> float:
    """GB/s of copying ``nbytes`` (counted once read, once written)."""
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    return 2 * src.nbytes / _best(lambda: np.copyto(dst, src), repeats) / 1e9


def measure(n: int = 1024, nbytes: int = 256 * 2**20) -> Machine:
    """Measure both roofs (a few seconds)."""
    return Machine(matmul_gflops(n, "float64"), matmul_gflops(n, "float32"), copy_gbytes(nbytes), n, nbytes)


if __name__ == "__main__":
    print(measure())
