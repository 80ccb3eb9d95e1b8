"""Tests of nnbook.off_chip: off-chip traffic under three schedules and fused channel tiling.

Oracles: the traffic and the fused working sets re-derived tensor by tensor from the layer table, numbers worked
out by hand from the paper's Table 2, and torchvision's MobileNetV2 for the compulsory bytes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torchvision
from torch import nn

from nnbook import data_movement as dm
from nnbook import off_chip

CAPACITIES = (1, 16_000, 16_384, 40_000, 128_000, 131_072, 500_000, 10**6, 10**9)

VALID_CALLS = {
    "fused_working_set": lambda: {"input_size": 56, "capacity_bytes": 131_072},
    "off_chip_traffic": lambda: {"input_size": 56, "capacity_bytes": 131_072},
}


@pytest.fixture(scope="module")
def reference() -> nn.Module:
    return torchvision.models.mobilenet_v2(weights=None).eval()


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


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_bad_capacity_raises(bad):
    for func in (off_chip.off_chip_traffic, off_chip.fused_working_set):
        with pytest.raises(ValueError, match="capacity_bytes"):
            func(56, bad)


def test_bad_schedule_and_sizes_raise():
    with pytest.raises(ValueError, match="schedule"):
        off_chip.off_chip_traffic(56, 1000, 4, "tiled")
    with pytest.raises(ValueError, match="input_size"):
        off_chip.off_chip_traffic(16, 1000)
    with pytest.raises(ValueError, match="bytes_per_element"):
        off_chip.fused_working_set(56, 1000, 3)
