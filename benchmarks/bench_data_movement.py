"""Benchmarks of nnbook.data_movement against naive course-handout versions.

1. The per-layer table of MobileNetV2 at 224x224: a handout measures it with
   forward hooks on a real forward pass (torchvision's module); nnbook counts
   it from Table 2.
2. Off-chip counts for 2000 capacities: a handout loops over capacities and
   layers in Python; nnbook sorts the working sets once and binary-searches.

Run with ``python -m benchmarks.bench_data_movement``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.timing import compare
from nnbook import data_movement, layer_hooks, mobilenet


def naive_counts(working_sets: list[int], capacities: np.ndarray) -> list[int]:
    """For each capacity, count the layers whose working set exceeds it, one comparison at a time."""
    counts = []
    for capacity in capacities:
        n = 0
        for ws in working_sets:
            if ws > capacity:
                n += 1
        counts.append(n)
    return counts


def main() -> dict[str, float]:
    model = mobilenet.mobilenet_v2()
    table = data_movement.layer_table(224, 4)
    measured = layer_hooks.measure_convs(model, 224)
    assert layer_hooks.compare_records(table, measured).mismatches == 0
    ratios = {
        "layer table, 224x224: hooks on a forward pass vs analytic": compare(
            "layer table 224: hooks vs analytic",
            lambda: layer_hooks.measure_convs(model, 224),
            lambda: data_movement.layer_table(224, 4),
        )
    }
    working_sets = [r.working_set_bytes for r in data_movement.layer_table(56, 4)]
    capacities = np.geomspace(1e3, 1e7, 2000)
    np.testing.assert_array_equal(
        naive_counts(working_sets, capacities), data_movement.off_chip_counts(np.array(working_sets), capacities)
    )
    ratios["off-chip counts, 2000 capacities: loops vs sort + search"] = compare(
        "off-chip counts, 2000 capacities: loops vs search",
        lambda: naive_counts(working_sets, capacities),
        lambda: data_movement.off_chip_counts(np.array(working_sets), capacities),
    )
    return ratios


if __name__ == "__main__":
    main()
