"""Tests of nnbook.data_movement and nnbook.off_chip: working sets, off-chip counts, traffic and fused tiling.

Oracles: torchvision's MobileNetV2 (an independent implementation) measured with hooks written here, numbers
worked out by hand from the paper's Table 2, and a tensor-by-tensor re-derivation of the traffic model.
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
from nnbook import off_chip

KiB = 1024
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


# --- fused tiling and traffic: the model re-derived tensor by tensor ------------------------------------------


def naive_fused(rows, b: int) -> list[tuple[int, int, int]]:
    """(fixed, per channel, channels) of each unit, written from the rows' tensors one at a time."""
    units: dict[int, list] = {}
    for r in rows:
        units.setdefault(r.block, []).append(r)
    out = []
    for members in units.values():
        if len(members) == 1:
            (r,) = members
            c = r.output_shape[0]
            out.append((r.input_bytes + r.output_bytes, r.weight_bytes // c, c))  # pool: weight_bytes = 0
            continue
        *inner, project = members
        hidden = project.input_shape[0]
        c_out = project.output_shape[0]
        per = sum(r.output_bytes // hidden + r.weight_bytes // hidden for r in inner)
        per += (project.weight_bytes - b * c_out) // hidden  # the chunk's column of the projection
        out.append((members[0].input_bytes + project.output_bytes + b * c_out, per, hidden))
    return out


def test_fused_working_set_written_out_by_hand_for_stem_head_and_classifier():
    u = off_chip.fused_working_set(56, 131_072, 4)
    names = list(u.names)
    stem, head, pool, classifier = (names.index(n) for n in ("stem", "head", "pool", "classifier"))
    assert (u.fixed[stem], u.per_channel[stem], u.channels[stem]) == (4 * (3 * 56**2 + 32 * 28**2), 4 * (27 + 1), 32)
    assert (u.fixed[head], u.per_channel[head], u.channels[head]) == (4 * (320 * 4 + 1280 * 4), 4 * (320 + 1), 1280)
    assert (u.fixed[pool], u.per_channel[pool]) == (4 * (1280 * 4 + 1280), 0)
    assert (u.fixed[classifier], u.per_channel[classifier]) == (4 * (1280 + 1000), 4 * (1280 + 1))
    # block 3 (24 -> 144 -> 24 channels at 14x14, residual): the block input is in the fixed term
    b3 = names.index("block3")
    assert u.fixed[b3] == 4 * (24 * 14**2 + 24 * 14**2 + 24)
    assert u.per_channel[b3] == 4 * (14**2 + (24 + 1) + 14**2 + (9 + 1) + 24) and u.channels[b3] == 144


@pytest.mark.parametrize(("size", "b"), [(56, 4), (56, 1), (224, 2), (33, 8)])
def test_fused_working_set_equals_the_tensor_by_tensor_model(size, b):
    expected = naive_fused(dm.layer_table(size, b), b)
    for capacity in CAPACITIES:
        u = off_chip.fused_working_set(size, capacity, b)
        assert list(zip(u.fixed.tolist(), u.per_channel.tolist(), u.channels.tolist(), strict=True)) == expected
        for i, (fixed, per, channels) in enumerate(expected):
            fitting = [g for g in range(1, channels + 1) if fixed + g * per <= capacity]
            largest = max(fitting, default=0)
            assert u.largest_chunk[i] == largest and u.fits[i] == (largest > 0)
            assert u.chunks[i] == (-(-channels // largest) if largest else 0)


def test_largest_chunk_reaches_its_boundaries():
    u = off_chip.fused_working_set(56, 10**9, 4)
    fixed, per = int(u.fixed[5]), int(u.per_channel[5])
    exact = off_chip.fused_working_set(56, fixed + 7 * per, 4)
    assert exact.largest_chunk[5] == 7 and exact.chunks[5] == -(-int(u.channels[5]) // 7)
    assert off_chip.fused_working_set(56, fixed + 7 * per - 1, 4).largest_chunk[5] == 6
    assert off_chip.fused_working_set(56, fixed + per - 1, 4).largest_chunk[5] == 0


def naive_traffic(size: int, capacity: float, b: int, schedule: str) -> tuple[int, int, int, list[int]]:
    """(spill, residual, total, spill by unit) bytes, following the model's rules one tensor at a time."""
    rows = dm.layer_table(size, b)
    n = len(rows)
    members: dict[int, list] = {}
    for r in rows:
        members.setdefault(r.block, []).append(r)
    with_residual = {r.block for r in rows if r.residual}
    fused_units = naive_fused(rows, b)
    fused = {u: schedule == "fused" and f + p <= capacity for u, (f, p, _) in zip(members, fused_units, strict=True)}

    def working_set(r) -> int:
        first = members[r.block][0]
        keeps_input = schedule != "layer" and r.block in with_residual and r is not first
        return r.working_set_bytes + (first.input_bytes if keeps_input else 0)

    fits = [working_set(r) <= capacity or fused[r.block] for r in rows]
    spill, spilled, by_unit = 0, [False] * (n + 1), {u: 0 for u in members}
    for k in range(1, n):  # activation k: output of layer k - 1, input of layer k; the last output is compulsory
        if rows[k].block == rows[k - 1].block and fused[rows[k].block]:
            continue  # never exists as a whole tensor
        if not (fits[k - 1] and fits[k]):
            spilled[k] = True
            spill += 2 * rows[k].input_bytes
            by_unit[rows[k].block] += 2 * rows[k].input_bytes
    residual = 0
    for u in with_residual:
        first = members[u][0]
        kept = schedule != "layer" and (all(working_set(r) <= capacity for r in members[u]) or fused[u])
        if not kept:
            residual += first.input_bytes * (1 if spilled[first.index] else 2)
    compulsory = sum(r.weight_bytes for r in rows) + rows[0].input_bytes + rows[-1].output_bytes
    return spill, residual, compulsory + spill + residual, list(by_unit.values())


@pytest.mark.parametrize("schedule", off_chip.SCHEDULES)
def test_traffic_equals_the_tensor_by_tensor_model(schedule):
    for size, b in [(56, 4), (56, 1), (224, 2), (128, 4)]:
        for capacity in CAPACITIES:
            t = off_chip.off_chip_traffic(size, capacity, b, schedule)
            spill, residual, total, by_unit = naive_traffic(size, capacity, b, schedule)
            assert (t.spill_bytes, t.residual_bytes, t.total_bytes) == (spill, residual, total)
            assert t.spill_by_unit.tolist() == by_unit and t.spill_by_unit.sum() == t.spill_bytes


def test_compulsory_bytes_equal_torchvision_parameters_image_and_logits(reference):
    conv_weights = sum(m.weight.numel() for m in reference.modules() if isinstance(m, nn.Conv2d))
    classifier = sum(p.numel() for p in reference.classifier.parameters())
    folded_biases = sum(m.num_features for m in reference.modules() if isinstance(m, nn.BatchNorm2d))
    folded = conv_weights + classifier + folded_biases
    for b in (1, 4):
        t = off_chip.off_chip_traffic(56, 131_072, b)
        assert t.weight_bytes == b * folded  # weights, one folded bias per channel, the classifier's bias
        assert (t.image_bytes, t.output_bytes) == (b * 3 * 56 * 56, b * 1000)
        assert t.compulsory_bytes == t.weight_bytes + t.image_bytes + t.output_bytes


def test_traffic_limits_huge_and_tiny_chips():
    rows = dm.layer_table(56, 4)
    parked = [r.input_bytes for r in rows if r.kind == "expand" and r.block in {x.block for x in rows if x.residual}]
    compulsory = sum(r.weight_bytes for r in rows) + 4 * 3 * 56 * 56 + 4 * 1000
    for schedule in ("block", "fused"):
        huge = off_chip.off_chip_traffic(56, 1e12, 4, schedule)
        assert (huge.spill_bytes, huge.residual_bytes, huge.total_bytes) == (0, 0, compulsory)
        assert (huge.layers_off_chip, huge.units_off_chip) == (0, 0)
    assert off_chip.off_chip_traffic(56, 1e12, 4, "layer").residual_bytes == 2 * sum(parked)
    every_inner_activation = sum(r.input_bytes for r in rows[1:])
    for schedule in off_chip.SCHEDULES:
        tiny = off_chip.off_chip_traffic(56, 1, 4, schedule)
        assert tiny.spill_bytes == 2 * every_inner_activation and tiny.residual_bytes == sum(parked)
        assert (tiny.layers_off_chip, tiny.units_off_chip) == (54, 21)
        assert tiny.spilled.shape == (55,) and not tiny.spilled[0] and not tiny.spilled[-1]


def test_layer_schedule_counts_agree_with_count_off_chip():
    for capacity in CAPACITIES:
        for b in (1, 2, 4):
            assert off_chip.off_chip_traffic(56, capacity, b).layers_off_chip == dm.count_off_chip(56, capacity, b)


def test_fusion_never_moves_more_bytes_than_the_block_schedule():
    for capacity in np.geomspace(1e3, 1e7, 25):
        for size, b in [(56, 4), (224, 1)]:
            fused, block = (off_chip.off_chip_traffic(size, capacity, b, s) for s in ("fused", "block"))
            assert fused.total_bytes <= block.total_bytes and fused.units_off_chip <= block.units_off_chip


def test_without_the_classifier_the_head_output_is_the_result():
    t = off_chip.off_chip_traffic(56, 131_072, 4, classifier=False)
    assert t.output_bytes == 4 * 1280 * 2 * 2 and t.spilled.shape == (53,)


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, -3, 16, 31, 16385])
def test_input_size_out_of_range_raises(size):
    with pytest.raises(ValueError, match="input_size"):
        dm.layer_table(size)
    with pytest.raises(ValueError, match="input_size"):
        dm.count_off_chip(size, 1000)
    with pytest.raises(ValueError, match="input_size"):
        off_chip.off_chip_traffic(size, 1000)


@pytest.mark.parametrize("bad", [56.0, True, None, 56 + 0j])
def test_non_int_input_size_raises(bad):
    with pytest.raises(TypeError, match="input_size"):
        dm.layer_table(bad)


@pytest.mark.parametrize("bad", ["float8", "int4", 3, 0, -4, 16])
def test_unknown_element_size_raises(bad):
    with pytest.raises(ValueError, match="bytes_per_element"):
        dm.layer_table(56, bad)
    with pytest.raises(ValueError, match="bytes_per_element"):
        off_chip.fused_working_set(56, 1000, bad)


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
    for func in (dm.count_off_chip, off_chip.off_chip_traffic, off_chip.fused_working_set):
        with pytest.raises(ValueError, match="capacity_bytes"):
            func(56, bad)


@pytest.mark.parametrize("bad", ["128KiB", True, None, 1 + 1j])
def test_non_number_capacity_raises(bad):
    with pytest.raises(TypeError, match="capacity_bytes"):
        dm.count_off_chip(56, bad)


def test_bad_schedule_unit_amount_and_element_raise():
    with pytest.raises(ValueError, match="schedule"):
        off_chip.off_chip_traffic(56, 1000, 4, "tiled")
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
