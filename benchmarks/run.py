"""Run every benchmark in one process, beside the machine's measured peaks: ``python -m benchmarks.run``.

How a benchmark module plugs in
-------------------------------
A module ``benchmarks/bench_<topic>.py`` defines ``main()``, which calls
:func:`benchmarks.timing.compare` once per case::

    compare("RFF ridge fit, N=2000: primal vs dual", naive, fast,
            ops=(naive_flops, fast_flops),                    # optional
            kernel=Kernel("dsyrk Phi Phi^T", flops=..., note=...))  # optional

``naive`` and ``fast`` are callables doing the same work the naive way (as a
course handout would) and the book's way. Nothing else is needed: this
runner imports every ``bench_*.py`` module, calls its ``main()`` and collects
each case. Declaring ``ops`` (floating-point operations per call of each
side) adds the ratio of operation counts, the speed-up possible at equal
efficiency; declaring the fast side's dominant ``kernel`` adds the fraction
of the machine's measured matmul peak (compute-bound) or memory bandwidth
(memory-bound) it reaches, and its ``note`` explains a kernel that cannot
get near the peak.

Output: one table with every case (naive and nnbook times, measured ratio,
ratio of operation counts, how much of that limit the measured ratio reaches,
the kernel's rate and fraction of the peak), after the machine's measured
roofs (:mod:`benchmarks.machine`); ``--json FILE`` writes it all as JSON.
Arguments select modules by name (``python -m benchmarks.run rff``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

from benchmarks import machine, timing

HERE = Path(__file__).parent


def _kernel_rate(result: timing.Result, roofs: machine.Machine) -> tuple[str, float | None]:
    kernel = result.kernel
    if kernel is None:
        return "", None
    if kernel.bound == "memory":
        rate = kernel.bytes / result.fast_seconds
        return f"{rate / 1e9:6.1f} GB/s", rate / roofs.bandwidth()
    rate = kernel.flops / result.fast_seconds
    return f"{rate / 1e9:6.1f} GFLOP/s", rate / roofs.peak(kernel.dtype)


def rows(results: list[tuple[str, timing.Result]], roofs: machine.Machine) -> list[dict]:
    """One row per case, with the derived columns."""
    table = []
    for module, result in results:
        rate, fraction = _kernel_rate(result, roofs)
        ops_ratio = result.ops_ratio
        table.append(
            {
                "module": module,
                "case": result.case,
                "naive_ms": 1e3 * result.naive_seconds,
                "nnbook_ms": 1e3 * result.fast_seconds,
                "ratio": result.ratio,
                "ops_ratio": ops_ratio,
                "of_ops_ratio": result.ratio / ops_ratio if ops_ratio else None,
                "kernel": asdict(result.kernel) if result.kernel else None,
                "kernel_rate": rate,
                "fraction_of_peak": fraction,
            }
        )
    return table


def _print_table(table: list[dict]) -> None:
    head = f"{'case':<50} {'naive ms':>10} {'nnbook ms':>10} {'ratio':>7} {'ops':>7} {'of ops':>6}  kernel"
    print(head)
    print("-" * len(head))
    for row in table:
        ops = f"{row['ops_ratio']:6.1f}x" if row["ops_ratio"] else "      -"
        of_ops = f"{100 * row['of_ops_ratio']:5.0f}%" if row["of_ops_ratio"] else "     -"
        kernel = ""
        if row["kernel"]:
            kernel = f"{row['kernel']['name']}: {row['kernel_rate']}, {100 * row['fraction_of_peak']:.0f}% of peak"
        print(
            f"{row['case'][:50]:<50} {row['naive_ms']:10.2f} {row['nnbook_ms']:10.2f} "
            f"{row['ratio']:6.1f}x {ops} {of_ops}  {kernel}"
        )
        if row["kernel"] and row["kernel"]["note"]:
            print(f"{'':>50}   note: {row['kernel']['note']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("select", nargs="*", help="run only modules whose name contains one of these")
    parser.add_argument("--json", help="write the machine's roofs and every case to this file")
    args = parser.parse_args(argv)
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    modules = [m for m in modules if not args.select or any(s in m for s in args.select)]
    print("measuring the machine (matmul peak, copy bandwidth) ...")
    roofs = machine.measure()
    print(
        f"matmul peak: {roofs.matmul_gflops_float64:.1f} GFLOP/s float64, {roofs.matmul_gflops_float32:.1f} float32 "
        f"({roofs.matmul_size}^2); copy bandwidth {roofs.copy_gbytes_per_s:.1f} GB/s"
    )
    collected: list[tuple[str, timing.Result]] = []
    failed = []
    for name in modules:
        print(f"\n== {name}")
        start = len(timing.RESULTS)
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception:  # one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
        collected += [(name, r) for r in timing.RESULTS[start:]]
    table = rows(collected, roofs)
    print("\n== all cases, side by side (ops: ratio of operation counts = the speed-up at equal efficiency)")
    _print_table(table)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        data = {"machine": roofs.to_dict(), "platform": platform.platform(), "cases": table, "failed": failed}
        Path(args.json).write_text(json.dumps(data, indent=1))
        print(f"\nresults written to {args.json}")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
