"""Tests of nnbook.data_movement: the working set of each layer, off-chip counts, dominance, energy.

Oracles: torchvision's MobileNetV2 (an independent implementation) measured with hooks written here, and numbers
worked out by hand from the paper's Table 2.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nnbook import data_movement as dm

KiB = 1024
VALID_CALLS = {
    "element_bytes": lambda: {"bytes_per_element": 4},
    "in_bytes": lambda: {"amount": 128, "unit": "KiB"},
    "off_chip_counts": lambda: {"working_set_bytes": np.array([5.0, 1.0, 3.0]), "capacities": np.array([2.0, 4.0])},
    "count_off_chip": lambda: {"input_size": 56, "capacity_bytes": 131_072},
    "dominance": lambda: {"rows": dm.layer_table(56)},
    "memory_energy_ratio": lambda: {"bytes_moved": 1e6, "macs": 1e6, "element": "float32"},
}
CAPACITIES = (1, 16_000, 16_384, 40_000, 128_000, 131_072, 500_000, 10**6, 10**9)


@pytest.fixture(scope="module")
def reference() -> nn.Module:
    return torchvision.models.mobilenet_v2(weights=None).eval()


def tensors_of(model: nn.Module, size: int) -> list[tuple[int, int, int]]:
    """(input numel, output numel, weight numel + out channels) of every conv/linear of a forward pass."""
    found = []

    def hook(module, inputs, output):
        channels = module.out_channels if isinstance(module, nn.Conv2d) else module.out_features
        found.append((inputs[0].numel(), output.numel(), module.weight.numel() + channels))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return found


# --- the default working-set model ------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "b"), [(224, 4), (56, 1), (57, 2)])
def test_layer_table_equals_torchvision_tensors(reference, size, b):
    rows = dm.layer_table(size, b)
    convs = [r for r in rows if r.kind != "pool"]
    expected = tensors_of(reference, size)
    assert [(r.input_bytes, r.output_bytes, r.weight_bytes) for r in convs] == [
        (b * i, b * o, b * w) for i, o, w in expected
    ]
    pool = rows[-2]
    assert pool.input_bytes == rows[-3].output_bytes and pool.output_bytes == b * 1280 and pool.weight_bytes == 0


def test_hand_computed_rows():
    rows = {r.name: r for r in dm.layer_table(56, 4)}
    # the expansion of block 2 at 56x56: 16 x 28 x 28 in, 96 x 28 x 28 out, 16 x 96 weights + 96 biases
    assert (rows["block2.expand"].input_bytes, rows["block2.expand"].output_bytes) == (4 * 12544, 4 * 75264)
    assert rows["block2.expand"].weight_bytes == 4 * 1632
    assert rows["pool"].working_set_bytes == 4 * (1280 * 2 * 2 + 1280)
    assert rows["classifier"].working_set_bytes == 4 * (1280 + 1000 + 1280 * 1000 + 1000)
    assert rows["classifier"].macs == 1_280_000 and rows["pool"].macs == 0
    assert rows["stem"].input_shape == (3, 56, 56) and rows["stem"].output_shape == (32, 28, 28)


def test_rows_behave_like_mappings_and_sum_their_terms():
    for row in dm.layer_table(56, 2, num_classes=10):
        assert row.working_set_bytes == row.input_bytes + row.output_bytes + row.weight_bytes
        assert row["working_set_bytes"] == row.working_set_bytes and dict(row)["name"] == row.name
        c, h, w = row.input_shape
        assert row.input_bytes == 2 * c * h * w
    assert len(dm.layer_table(56, classifier=False)) == 52


def test_bytes_scale_linearly_with_the_element_size():
    ws = {b: np.array([r.working_set_bytes for r in dm.layer_table(64, b)]) for b in (1, 2, 4, 8)}
    for b in (2, 4, 8):
        np.testing.assert_array_equal(ws[b], b * ws[1])
    assert dm.layer_table(64, "float16") == dm.layer_table(64, 2)


@pytest.mark.parametrize(("size", "b"), [(56, 4), (56, 1), (224, 2), (96, 4)])
def test_count_off_chip_equals_a_loop_over_hand_summed_working_sets(reference, size, b):
    sums = [b * (i + o + w) for i, o, w in tensors_of(reference, size)]
    head_out = dm.layer_table(size, 1)[-3].output_bytes
    sums.append(b * (head_out + 1280))  # the pool
    for capacity in (*CAPACITIES, sums[0], sums[0] - 1):  # a working set equal to the capacity fits
        assert dm.count_off_chip(size, capacity, b) == sum(s > capacity for s in sums)


def test_the_chapter_question_for_every_reading_of_128_kb():
    assert [dm.in_bytes(128, u) for u in ("KiB", "kB", "Kibit", "kbit")] == [131_072, 128_000, 16_384, 16_000]
    counts = {u: dm.count_off_chip(56, dm.in_bytes(128, u), 4) for u in ("KiB", "kB", "kbit")}
    assert counts["KiB"] <= counts["kB"] <= counts["kbit"]
    assert counts["kbit"] == 54  # every layer, even the pool (25,600 bytes), overflows 16,000 bytes


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=60),
    st.lists(st.floats(0.5, 2e6, allow_nan=False), min_size=1, max_size=20),
)
def test_vectorised_counts_equal_a_loop(ws, capacities):
    capacities = [*capacities, float(ws[0])] if ws[0] > 0 else capacities  # reach the boundary
    expected = [sum(w > c for w in ws) for c in capacities]
    np.testing.assert_array_equal(dm.off_chip_counts(np.array(ws), np.array(capacities)), expected)


def test_dominance_against_a_loop():
    for size in (56, 224):
        rows = dm.layer_table(size, 4)
        heavy = [r.weight_bytes > r.input_bytes + r.output_bytes for r in rows]
        d = dm.dominance(rows)
        assert d.weight_heavy.tolist() == heavy
        assert d.crossover == heavy.index(True) and d.weight_dominated == sum(heavy)
        sizes = [r.working_set_bytes for r in rows]
        assert (d.peak_bytes, d.min_bytes) == (max(sizes), min(sizes))
        assert (d.peak_index, d.min_index) == (sizes.index(max(sizes)), sizes.index(min(sizes)))
        tail = zip(rows[d.crossover :], heavy[d.crossover :], strict=True)
        after = [h for r, h in tail if r.kind not in ("depthwise", "pool")]  # the 1x1 convolutions
        assert d.split_violations == sum(heavy[: d.crossover]) + after.count(False) == 0


def test_dominance_counts_the_layers_that_break_the_split():
    rows = dm.layer_table(224, 4)
    rows[5] = dataclasses.replace(rows[5], weight_bytes=10**9)  # one early layer made weight-heavy
    rows[45] = dataclasses.replace(rows[45], weight_bytes=0)  # one late 1x1 convolution made light
    d = dm.dominance(rows)
    late_light = [r.kind for r in rows[6:] if r.weight_bytes <= r.input_bytes + r.output_bytes]
    assert d.crossover == 5
    assert d.split_violations == sum(k in ("expand", "project", "head", "classifier") for k in late_light)
    assert d.split_violations > 1


def test_dominance_with_no_weight_heavy_layer_points_past_the_end():
    rows = [r for r in dm.layer_table(224, 4) if r.block < 3]
    d = dm.dominance(rows)
    assert d.weight_dominated == 0 and d.crossover == len(rows)


def test_memory_energy_ratio_by_hand():
    assert dm.memory_energy_ratio(46.0, 10.0, "float32") == pytest.approx(46 * 160 / (10 * 4.6), rel=1e-12)
    assert dm.memory_energy_ratio(1.0, 1.0, "int8") == pytest.approx(160 / 0.23, rel=1e-12)


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, -3, 16, 31, 16385])
def test_input_size_out_of_range_raises(size):
    with pytest.raises(ValueError, match="input_size"):
        dm.layer_table(size)
    with pytest.raises(ValueError, match="input_size"):
        dm.count_off_chip(size, 1000)


@pytest.mark.parametrize("bad", [56.0, True, None, 56 + 0j])
def test_non_int_input_size_raises(bad):
    with pytest.raises(TypeError, match="input_size"):
        dm.layer_table(bad)


@pytest.mark.parametrize("bad", ["float8", "int4", 3, 0, -4, 16])
def test_unknown_element_size_raises(bad):
    with pytest.raises(ValueError, match="bytes_per_element"):
        dm.layer_table(56, bad)
    with pytest.raises(ValueError, match="bytes_per_element"):
        dm.count_off_chip(56, 1000, bad)


def test_dtypes_are_accepted_by_name_or_object():
    dtypes = ("float32", torch.float16, np.dtype("int8"), np.float64, np.int64(2))
    assert [dm.element_bytes(d) for d in dtypes] == [4, 2, 1, 8, 2]
    assert dm.layer_table(56, torch.bfloat16) == dm.layer_table(56, 2)


@pytest.mark.parametrize("bad", [np.dtype("complex64"), torch.complex64])
def test_complex_dtype_raises(bad):
    with pytest.raises(ValueError, match="bytes_per_element"):
        dm.layer_table(56, bad)


@pytest.mark.parametrize("bad", [4.0, True, None, 4 + 0j])
def test_non_int_bytes_per_element_raises(bad):
    with pytest.raises(TypeError, match="bytes_per_element"):
        dm.element_bytes(bad)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_bad_capacity_raises(bad):
    with pytest.raises(ValueError, match="capacity_bytes"):
        dm.count_off_chip(56, bad)


@pytest.mark.parametrize("bad", ["128KiB", True, None, 1 + 1j])
def test_non_number_capacity_raises(bad):
    with pytest.raises(TypeError, match="capacity_bytes"):
        dm.count_off_chip(56, bad)


def test_bad_unit_amount_and_element_raise():
    with pytest.raises(ValueError, match="unit"):
        dm.in_bytes(128, "KB")
    for amount in (-1, 0, float("nan"), 2.0**60):
        with pytest.raises(ValueError, match="amount"):
            dm.in_bytes(amount, "KiB")
    with pytest.raises(ValueError, match="element"):
        dm.memory_energy_ratio(1.0, 1.0, "float64")
    with pytest.raises(ValueError, match="macs"):
        dm.memory_energy_ratio(1.0, 0.0, "int8")


def test_bad_arrays_for_the_vectorised_count_raise():
    with pytest.raises(ValueError, match="working_set_bytes"):
        dm.off_chip_counts(np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="working_set_bytes"):
        dm.off_chip_counts(np.array([-1.0, 2.0]), np.ones(3))
    with pytest.raises(ValueError, match="capacities"):
        dm.off_chip_counts(np.ones(3), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="capacities"):
        dm.off_chip_counts(np.ones(3), np.array([1.0, np.nan]))


def test_dominance_rejects_what_is_not_a_layer_table():
    with pytest.raises(TypeError, match="rows"):
        dm.dominance([])
    with pytest.raises(TypeError, match="rows"):
        dm.dominance([{"input_bytes": 1}])
