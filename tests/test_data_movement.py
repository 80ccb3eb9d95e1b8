"""Tests of nnbook.mobilenet, nnbook.data_movement and nnbook.layer_hooks (the data-movement chapter)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook import data_movement as dm
from nnbook import layer_hooks, mobilenet

PAPER_PARAMETERS = 3_504_872  # Sandler et al. (2018), Table 4 / torchvision's count
KiB, KBIT = 1024, 125


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return dm.mobilenet_v2()


@pytest.fixture(scope="module")
def measured_224(model) -> list[layer_hooks.ConvRecord]:
    return layer_hooks.measure_convs(model, 224)


# --- the architecture -------------------------------------------------------------------------------------------


def test_parameter_count_matches_the_paper_analytically_and_in_the_module(model):
    assert mobilenet.parameter_count() == PAPER_PARAMETERS
    assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMETERS
    other = dm.mobilenet_v2(num_classes=10)
    assert sum(p.numel() for p in other.parameters()) == mobilenet.parameter_count(10)


def test_multiply_adds_are_about_300_million_and_hooks_agree(measured_224):
    macs = mobilenet.mac_count(224)
    assert abs(macs - 300e6) / 300e6 < 0.01
    assert sum(r.macs for r in measured_224) + 1280 * 1000 == macs


def test_structure_of_the_52_convolutions(model):
    layers = mobilenet.conv_layers(224)
    assert len(layers) == 52
    assert Counter(c.kind for c in layers) == {"stem": 1, "expand": 16, "depthwise": 17, "project": 17, "head": 1}
    assert [c.index for c in layers] == list(range(52))
    assert layers[-1].out_size == 7 and layers[-1].out_channels == 1280
    residual_blocks = sorted(c.block for c in layers if c.residual)
    assert residual_blocks == [3, 5, 6, 8, 9, 10, 12, 13, 15, 16]
    module_blocks = [m for m in model.modules() if isinstance(m, mobilenet.InvertedResidual)]
    assert [i + 1 for i, m in enumerate(module_blocks) if m.use_residual] == residual_blocks
    assert model(torch.zeros(1, 3, 57, 57)).shape == (1, 1000)


def test_depthwise_convolutions_have_one_group_per_channel():
    for c in mobilenet.conv_layers(224):
        assert (c.groups == c.in_channels == c.out_channels) == (c.kind == "depthwise")


def test_same_seed_same_weights_different_seed_different_weights():
    a, b, c = (dm.mobilenet_v2(10, seed=s).state_dict() for s in (3, 3, 4))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert not torch.equal(a["features.0.0.weight"], c["features.0.0.weight"])


def test_model_is_returned_in_evaluation_mode(model):
    assert not model.training


@pytest.mark.parametrize("size", [57, 224])
def test_conv_layers_match_the_shapes_a_forward_pass_produces(model, measured_224, size):
    analytic = mobilenet.conv_layers(size)
    measured = measured_224 if size == 224 else layer_hooks.measure_convs(model, size)
    assert [(c.in_channels, c.in_size, c.in_size) for c in analytic] == [r.input_shape for r in measured]
    assert [(c.out_channels, c.out_size, c.out_size) for c in analytic] == [r.output_shape for r in measured]


def test_torchvision_cross_check(model):
    try:
        import torchvision
    except Exception as err:  # a CUDA torchvision next to a CPU torch raises RuntimeError, not ImportError
        pytest.skip(f"torchvision does not import here ({type(err).__name__}: {err})")
    reference = torchvision.models.mobilenet_v2(weights=None)
    assert sum(p.numel() for p in reference.parameters()) == PAPER_PARAMETERS
    ours, theirs = layer_hooks.measure_convs(model, 224), layer_hooks.measure_convs(reference, 224)
    assert [(r.input_shape, r.output_shape, r.weight_bytes) for r in ours] == [
        (r.input_shape, r.output_shape, r.weight_bytes) for r in theirs
    ]


def test_torchinfo_cross_check(model):
    torchinfo = pytest.importorskip("torchinfo", reason="torchinfo is not installed (optional cross-check)")
    stats = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
    assert stats.total_params == PAPER_PARAMETERS
    assert abs(stats.total_mult_adds - mobilenet.mac_count(224)) / mobilenet.mac_count(224) < 0.01


# --- the default working-set model ------------------------------------------------------------------------------


def test_layer_table_equals_the_hooks_exactly(measured_224):
    rows = dm.layer_table(224, 4)
    assert len(rows) == len(measured_224) == 52
    for row, rec in zip(rows, measured_224, strict=True):
        assert (row.input_shape, row.output_shape) == (rec.input_shape, rec.output_shape)
        assert (row.input_bytes, row.output_bytes, row.weight_bytes, row.macs) == (
            rec.input_bytes,
            rec.output_bytes,
            rec.weight_bytes,
            rec.macs,
        )


def test_layer_table_in_eight_bytes_equals_a_float64_pass(model):
    rows, measured = dm.layer_table(32, "float64"), layer_hooks.measure_convs(model, 32, torch.float64)
    assert [(r.input_bytes, r.output_bytes, r.weight_bytes) for r in rows] == [
        (m.input_bytes, m.output_bytes, m.weight_bytes) for m in measured
    ]
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is untouched


def test_working_set_is_the_sum_of_its_terms_and_rows_behave_like_mappings():
    for row in dm.layer_table(56, 2):
        assert row.working_set_bytes == row.input_bytes + row.output_bytes + row.weight_bytes
        assert row["working_set_bytes"] == row.working_set_bytes
        assert dict(row)["name"] == row.name
        c_in, h, w = row.input_shape
        assert row.input_bytes == 2 * c_in * h * w


def test_weights_of_the_table_plus_classifier_and_batchnorm_give_the_parameter_count():
    rows = dm.layer_table(224, 1)
    folded = sum(r.weight_bytes for r in rows)  # weights + one bias per output channel
    batchnorm_extra = sum(r.output_shape[0] for r in rows)  # BatchNorm has two parameters per channel, not one
    assert folded + batchnorm_extra + 1281 * 1000 == PAPER_PARAMETERS


def test_bytes_scale_linearly_with_the_element_size():
    ws = {b: np.array([r.working_set_bytes for r in dm.layer_table(64, b)]) for b in (1, 2, 4)}
    np.testing.assert_array_equal(ws[2], 2 * ws[1])
    np.testing.assert_array_equal(ws[4], 4 * ws[1])
    assert dm.layer_table(64, "float16") == dm.layer_table(64, 2)


def test_count_off_chip_equals_a_brute_force_count():
    for size, b in [(56, 4), (56, 1), (224, 2), (96, 4)]:
        rows = dm.layer_table(size, b)
        for capacity in (1, 16_000, 16_384, 128_000, 131_072, 10**6, 10**8):
            brute = sum(1 for r in rows if r.working_set_bytes > capacity)
            assert dm.count_off_chip(size, capacity, b) == brute


def test_the_chapter_question_for_every_reading_of_128_kb():
    assert [dm.in_bytes(128, u) for u in ("KiB", "kB", "Kibit", "kbit")] == [128 * KiB, 128_000, 16 * KiB, 128 * KBIT]
    counts = {u: dm.count_off_chip(56, dm.in_bytes(128, u), 4) for u in ("KiB", "kB", "kbit")}
    assert counts["KiB"] <= counts["kB"] <= counts["kbit"] == 52


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(1, 10**6), min_size=1, max_size=60),
    st.lists(st.floats(0.5, 2e6, allow_nan=False), min_size=1, max_size=20),
)
def test_vectorised_counts_equal_a_loop(ws, capacities):
    expected = [sum(w > c for w in ws) for c in capacities]
    np.testing.assert_array_equal(dm.off_chip_counts(np.array(ws), np.array(capacities)), expected)


def test_counts_fall_with_capacity_and_rise_with_element_size():
    capacities = np.geomspace(1e3, 1e7, 50)
    counts = {b: dm.off_chip_counts([r.working_set_bytes for r in dm.layer_table(56, b)], capacities) for b in (1, 4)}
    assert np.all(np.diff(counts[4]) <= 0) and np.all(counts[4] >= counts[1])


# --- refinements: residual liveness, bytes moved, fusion --------------------------------------------------------


def naive_traffic(size: int, capacity: float, b: int, schedule: str) -> tuple[int, int, int]:
    """The traffic model written out tensor by tensor: (spill, residual, total) bytes."""
    rows = dm.layer_table(size, b)
    members: dict[int, list] = {}
    for r in rows:
        members.setdefault(r.block, []).append(r)
    with_residual = {r.block for r in rows if r.residual}

    def working_set(r) -> int:
        head = members[r.block][0]
        keeps_input = schedule != "layer" and r.block in with_residual and r is not head
        return r.working_set_bytes + (head.input_bytes if keeps_input else 0)

    fixed, per_channel, _ = dm.fused_working_set(size, b)
    fused = {u: schedule == "fused" and fixed[i] + per_channel[i] <= capacity for i, u in enumerate(members)}
    fits = [working_set(r) <= capacity or fused[r.block] for r in rows]
    spill, spilled = 0, [False] * 53
    for k in range(1, 53):
        if k < 52 and rows[k].block == rows[k - 1].block and fused[rows[k].block]:
            continue  # never exists as a whole tensor
        if not (fits[k - 1] and (fits[k] if k < 52 else True)):
            spilled[k] = True
            spill += 2 * (rows[k].input_bytes if k < 52 else rows[51].output_bytes)
    residual = 0
    for u in with_residual:
        head = members[u][0]
        kept = schedule != "layer" and (all(working_set(r) <= capacity for r in members[u]) or fused[u])
        if not kept:
            residual += head.input_bytes * (1 if spilled[head.index] else 2)
    total = sum(r.weight_bytes for r in rows) + b * 1281 * 1000 + rows[0].input_bytes + spill + residual
    return spill, residual, total


@pytest.mark.parametrize("schedule", ["layer", "block", "fused"])
def test_traffic_equals_the_tensor_by_tensor_model(schedule):
    for size, b in [(56, 4), (56, 1), (224, 2), (128, 4)]:
        for capacity in (1, 16_000, 40_000, 131_072, 500_000, 10**6, 10**9):
            t = dm.off_chip_traffic(size, capacity, b, schedule)
            assert (t.spill_bytes, t.residual_bytes, t.total_bytes) == naive_traffic(size, capacity, b, schedule)
            assert (
                t.total_bytes == t.weight_bytes + t.classifier_bytes + t.image_bytes + t.spill_bytes + t.residual_bytes
            )


def test_traffic_limits_huge_and_tiny_chips():
    rows = dm.layer_table(56, 4)
    residual_inputs = sum(rows[i].input_bytes for i in range(52) if rows[i].kind == "expand" and _has_skip(rows, i))
    compulsory = sum(r.weight_bytes for r in rows) + 4 * 1281 * 1000 + rows[0].input_bytes
    for schedule in ("block", "fused"):
        huge = dm.off_chip_traffic(56, 1e12, 4, schedule)
        assert (huge.spill_bytes, huge.residual_bytes, huge.total_bytes) == (0, 0, compulsory)
    layer = dm.off_chip_traffic(56, 1e12, 4, "layer")
    assert layer.residual_bytes == 2 * residual_inputs  # parked: written once, read once
    every_activation = sum(r.input_bytes for r in rows[1:]) + rows[-1].output_bytes
    for schedule in ("layer", "block", "fused"):
        tiny = dm.off_chip_traffic(56, 1, 4, schedule)
        assert tiny.spill_bytes == 2 * every_activation and tiny.residual_bytes == residual_inputs
        assert tiny.convs_off_chip == 52 and tiny.units_off_chip == 19


def _has_skip(rows, i) -> bool:
    return any(r.residual and r.block == rows[i].block for r in rows)


def test_layer_schedule_counts_agree_with_count_off_chip():
    for capacity in (16_000, 131_072, 10**6):
        for b in (1, 2, 4):
            t = dm.off_chip_traffic(56, capacity, b, "layer")
            assert t.convs_off_chip == dm.count_off_chip(56, capacity, b)
            assert t.spilled.shape == (53,) and not t.spilled[0]


def test_fusion_never_moves_more_bytes_than_the_block_schedule():
    for capacity in np.geomspace(1e3, 1e7, 25):
        for size, b in [(56, 4), (224, 1)]:
            fused, block = (dm.off_chip_traffic(size, capacity, b, s) for s in ("fused", "block"))
            assert fused.total_bytes <= block.total_bytes
            assert fused.units_off_chip <= block.units_off_chip


def test_fused_working_set_of_one_block_written_out_by_hand():
    layers = mobilenet.conv_layers(56)
    expand, dw, project = (c for c in layers if c.block == 3)
    fixed, per_channel, channels = dm.fused_working_set(56, 4)
    h_in, h_out = expand.in_size, dw.out_size
    assert fixed[3] == 4 * (expand.in_channels * h_in**2 + project.out_channels * h_out**2 + project.out_channels)
    # per expanded channel: its expanded map, its filtered map, its expansion weights + bias,
    # its 3x3 filter + bias, and its column of the projection
    expected = h_in**2 + h_out**2 + (expand.in_channels + 1) + (9 + 1) + project.out_channels
    assert per_channel[3] == 4 * expected and channels[3] == dw.out_channels == 6 * expand.in_channels
    full = fixed[3] + channels[3] * per_channel[3]
    layer_sum = sum(r.working_set_bytes for r in dm.layer_table(56, 4) if r.block == 3)
    assert full < layer_sum  # even unchunked, the fused block holds less than its three layers one after another


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, -3, 16, 31])
def test_too_small_input_size_raises(size):
    with pytest.raises(ValueError, match="input_size"):
        dm.layer_table(size)
    with pytest.raises(ValueError, match="input_size"):
        dm.count_off_chip(size, 1000)


def test_non_int_input_size_raises():
    with pytest.raises(TypeError, match="input_size"):
        dm.layer_table(56.0)


@pytest.mark.parametrize("bad", ["float8", "int4", 3, 0, -4, 16])
def test_unknown_dtype_raises(bad):
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


@pytest.mark.parametrize("bad", [4.0, True, None])
def test_non_int_bytes_per_element_raises(bad):
    with pytest.raises(TypeError, match="bytes_per_element"):
        dm.element_bytes(bad)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_bad_capacity_raises(bad):
    with pytest.raises(ValueError, match="capacity_bytes"):
        dm.count_off_chip(56, bad)
    with pytest.raises(ValueError, match="capacity_bytes"):
        dm.off_chip_traffic(56, bad)


@pytest.mark.parametrize("bad", ["128KiB", True, None])
def test_non_number_capacity_raises(bad):
    with pytest.raises(TypeError, match="capacity_bytes"):
        dm.count_off_chip(56, bad)


def test_bad_schedule_unit_and_amount_raise():
    with pytest.raises(ValueError, match="schedule"):
        dm.off_chip_traffic(56, 1000, 4, "tiled")
    with pytest.raises(ValueError, match="unit"):
        dm.in_bytes(128, "KB")
    with pytest.raises(ValueError, match="amount"):
        dm.in_bytes(-1, "KiB")


def test_bad_arrays_for_the_vectorised_count_raise():
    with pytest.raises(ValueError, match="working_set_bytes"):
        dm.off_chip_counts(np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="capacities"):
        dm.off_chip_counts(np.ones(3), np.array([1.0, 0.0]))


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_num_classes_raises(bad):
    with pytest.raises(ValueError, match="num_classes"):
        dm.mobilenet_v2(bad)
    with pytest.raises(ValueError, match="num_classes"):
        mobilenet.parameter_count(bad)


def test_bad_seed_and_classes_types_raise():
    with pytest.raises(TypeError, match="seed"):
        dm.mobilenet_v2(10, seed=1.5)
    with pytest.raises(TypeError, match="num_classes"):
        dm.mobilenet_v2(10.0)


# --- the hooks --------------------------------------------------------------------------------------------------


def test_measure_convs_leaves_the_model_and_its_mode_alone():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    net.train()
    records = layer_hooks.measure_convs(net, 8, torch.float64)
    assert records[0].input_bytes == 3 * 8 * 8 * 8 and records[0].output_shape == (4, 6, 6)
    assert net.training and next(net.parameters()).dtype == torch.float32
    assert not net[0]._forward_hooks  # hooks removed


def test_time_convs_gives_one_positive_time_per_conv_and_pass():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3, padding=1))
    before = torch.get_num_threads()
    seconds = layer_hooks.time_convs(net, 16, repeats=3, threads=1)
    assert seconds.shape == (3, 2) and np.all(seconds > 0)
    assert torch.get_num_threads() == before
    assert not net[0]._forward_pre_hooks and not net[2]._forward_hooks


def test_hook_functions_reject_bad_input():
    net = torch.nn.Conv2d(3, 4, 1)
    with pytest.raises(ValueError, match="input_size"):
        layer_hooks.measure_convs(net, 0)
    with pytest.raises(ValueError, match="repeats"):
        layer_hooks.time_convs(net, 8, repeats=0)
    with pytest.raises(ValueError, match="threads"):
        layer_hooks.time_convs(net, 8, threads=0)
    with pytest.raises(TypeError, match="model"):
        layer_hooks.measure_convs("mobilenet", 8)
    with pytest.raises(ValueError, match="dtype"):
        layer_hooks.measure_convs(net, 8, torch.int8)
