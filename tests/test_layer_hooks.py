"""Tests of nnbook.layer_hooks: hook records against numbers worked out by hand, and the table comparison."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import data_movement, layer_hooks, mobilenet

VALID_CALLS = {
    "measure_convs": lambda: {"model": nn.Conv2d(3, 4, 3), "input_size": 8},
    "time_convs": lambda: {"model": nn.Conv2d(3, 4, 3), "input_size": 8, "repeats": 2, "seed": 0, "threads": 1},
    "compare_records": lambda: {"rows": [], "records": []},
    "group_costs": lambda: {
        "kinds": ["a", "b"],
        "macs": np.array([1.0, 2.0]),
        "seconds": np.array([1.0, 1.0]),
        "groups": {"a": ["a"]},
    },
}


def small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 5),
    )


def test_records_by_hand_for_conv_depthwise_and_linear():
    records = layer_hooks.measure_convs(small_net(), 16)
    stem, depthwise, linear = records
    assert [r.module for r in records] == ["Conv2d", "Conv2d", "Linear"]
    assert (stem.input_shape, stem.output_shape) == ((3, 16, 16), (8, 8, 8))
    assert (stem.input_bytes, stem.output_bytes, stem.weight_bytes) == (4 * 768, 4 * 512, 4 * (216 + 8))
    assert stem.macs == 512 * 27 and depthwise.macs == 512 * 9
    assert (linear.input_shape, linear.output_shape, linear.macs) == ((8, 1, 1), (5, 1, 1), 40)
    assert linear.weight_bytes == 4 * (40 + 5) and linear.moved_bytes == 4 * (8 + 5 + 45)


def test_float64_pass_doubles_the_bytes_and_leaves_the_model_alone():
    net = small_net().train()
    single, double = layer_hooks.measure_convs(net, 8), layer_hooks.measure_convs(net, 8, torch.float64)
    assert [2 * r.moved_bytes for r in single] == [r.moved_bytes for r in double]
    assert net.training and next(net.parameters()).dtype == torch.float32
    assert not any(m._forward_hooks for m in net.modules())


def test_compare_records_finds_no_difference_on_torchvision_and_counts_every_field():
    model = mobilenet.mobilenet_v2()
    for size in (56, 224):
        result = layer_hooks.compare_records(data_movement.layer_table(size), layer_hooks.measure_convs(model, size))
        assert (result.compared, result.mismatches, result.mismatched) == (53 * 6 + 4, 0, ())


def test_compare_records_reports_each_kind_of_difference():
    model = mobilenet.mobilenet_v2()
    rows, records = data_movement.layer_table(56), layer_hooks.measure_convs(model, 56)
    wrong = list(rows)
    wrong[3] = dataclasses.replace(rows[3], macs=rows[3].macs + 1, weight_bytes=0)
    assert layer_hooks.compare_records(wrong, records).mismatched == (
        ("block2.expand", "weight_bytes"),
        ("block2.expand", "macs"),
    )
    missing = layer_hooks.compare_records(rows, records[:-1])
    assert missing.mismatched[-1] == ("classifier", "missing record")
    extra = layer_hooks.compare_records(rows[:-1], records)
    assert extra.mismatched == (("classifier.1", "extra record"),)  # named by its module path
    no_neighbours = layer_hooks.compare_records([rows[-2]], [])
    assert no_neighbours.mismatches == 4


def test_time_convs_gives_one_positive_time_per_layer_and_pass():
    before = torch.get_num_threads()
    seconds = layer_hooks.time_convs(small_net(), 16, repeats=3, threads=1)
    assert seconds.shape == (3, 3) and np.all(seconds > 0)
    assert torch.get_num_threads() == before


def test_group_costs_by_hand():
    kinds = ["dw", "pw", "dw", "pw"]
    macs, seconds = np.array([10, 30, 10, 50]), np.array([2.0, 1.0, 3.0, 4.0])
    costs = layer_hooks.group_costs(kinds, macs, seconds, {"dw": ["dw"], "all": ["dw", "pw"]})
    assert (costs["dw"].mac_share, costs["dw"].time_share, costs["dw"].rate) == (0.2, 0.5, 4.0)
    assert (costs["all"].mac_share, costs["all"].time_share, costs["all"].rate) == (1.0, 1.0, 10.0)


def test_bad_input_raises():
    net = nn.Conv2d(3, 4, 1)
    with pytest.raises(ValueError, match="input_size"):
        layer_hooks.measure_convs(net, 0)
    with pytest.raises(ValueError, match="input_size"):
        layer_hooks.measure_convs(net, 1025)
    with pytest.raises(TypeError, match="input_size"):
        layer_hooks.measure_convs(net, 8.0)
    with pytest.raises(ValueError, match="repeats"):
        layer_hooks.time_convs(net, 8, repeats=0)
    with pytest.raises(ValueError, match="threads"):
        layer_hooks.time_convs(net, 8, threads=0)
    with pytest.raises(TypeError, match="model"):
        layer_hooks.measure_convs("mobilenet", 8)
    with pytest.raises(ValueError, match="dtype"):
        layer_hooks.measure_convs(net, 8, torch.int8)
    with pytest.raises(ValueError, match="fields"):
        layer_hooks.compare_records([], [], fields=("colour",))
    with pytest.raises(ValueError, match="seconds"):
        layer_hooks.group_costs(["a"], np.array([1.0]), np.array([0.0]), {"a": ["a"]})
    with pytest.raises(ValueError, match="groups"):
        layer_hooks.group_costs(["a"], np.array([1.0]), np.array([1.0]), {"b": ["b"]})
    with pytest.raises(ValueError):
        layer_hooks.group_costs(["a", "b"], np.array([1.0]), np.array([1.0]), {"a": ["a"]})
