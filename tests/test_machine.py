"""Tests of nnbook.machine: the arithmetic of each measurement checked on a fake clock, the roofline by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from nnbook import machine

VALID_CALLS = {
    "torch_threads": lambda: {"threads": 1},
    "best_seconds": lambda: {"func": lambda: None, "repeats": 2},
    "memory_bandwidth": lambda: {"nbytes": 2**16, "repeats": 2, "threads": 1, "chunk_bytes": 2**14},
    "peak_matmul_rate": lambda: {"size": 32, "repeats": 2, "threads": 1},
    "attainable": lambda: {"intensity": np.array([0.5, 2.0]), "bandwidth": 1e10, "peak": 4e10},
    "measure_roofs": lambda: {"sizes": (2**12, 2**14), "matmul_size": 32, "repeats": 1, "threads": 1},
}


@pytest.fixture
def fake_clock(monkeypatch):
    """Each call of perf_counter advances 0.25 s: every timed call then lasts exactly 0.25 s."""
    ticks = itertools.count()
    monkeypatch.setattr(machine.time, "perf_counter", lambda: 0.25 * next(ticks))


def test_best_seconds_warms_up_once_and_keeps_the_fastest(monkeypatch):
    calls, times = [], iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # calls of 3 s, 1 s, 2 s
    monkeypatch.setattr(machine.time, "perf_counter", lambda: next(times))
    assert machine.best_seconds(lambda: calls.append(1), repeats=3) == 1.0
    assert len(calls) == 4


def test_bandwidth_times_each_chunk_and_keeps_the_fastest(monkeypatch):
    # two chunks of 1024 bytes; the untimed pass reads the clock once per chunk, timed passes twice
    times = iter([0.0, 0.0, 0.0, 4.0, 10.0, 12.0, 20.0, 21.0, 30.0, 35.0])
    monkeypatch.setattr(machine.time, "perf_counter", lambda: next(times))
    assert machine.memory_bandwidth(2048, repeats=2, chunk_bytes=1024) == 2 * 1024 / 1.0


def test_bandwidth_counts_a_read_and_a_write_of_every_byte(fake_clock):
    assert machine.memory_bandwidth(4096, repeats=2) == 2 * 4096 / 0.25
    assert machine.memory_bandwidth(4099, repeats=1) == 2 * 4096 / 0.25  # whole float32 elements
    assert machine.memory_bandwidth(4 * 4096 + 100, repeats=1, chunk_bytes=4096) == 2 * 4096 / 0.25  # whole chunks


def test_peak_rate_counts_size_cubed_multiply_adds(fake_clock):
    assert machine.peak_matmul_rate(16, repeats=2) == 16**3 / 0.25


def test_measure_roofs_assembles_the_measurements(fake_clock):
    roofs = machine.measure_roofs(sizes=(1024, 4096), matmul_size=8, repeats=1)
    np.testing.assert_array_equal(roofs.bandwidths, [2 * 1024 / 0.25, 2 * 4096 / 0.25])
    assert roofs.cache_bandwidth == 2 * 4096 / 0.25 and roofs.dram_bandwidth == roofs.bandwidths[-1]
    assert roofs.peak_rate == 8**3 / 0.25 and roofs.threads == 1
    assert roofs.ridge_dram == roofs.peak_rate / roofs.dram_bandwidth
    assert roofs.ridge_cache == roofs.peak_rate / roofs.cache_bandwidth


def test_real_measurements_are_physically_plausible():
    roofs = machine.measure_roofs(sizes=(2**16, 2**20), matmul_size=64, repeats=2)
    assert np.all((roofs.bandwidths > 1e7) & (roofs.bandwidths < 1e13))
    assert 1e6 < roofs.peak_rate < 1e14


def test_attainable_by_hand():
    rates = machine.attainable(np.array([0.0, 0.25, 1.0, 4.0, 100.0]), bandwidth=8.0, peak=16.0)
    np.testing.assert_array_equal(rates, [0.0, 2.0, 8.0, 16.0, 16.0])


def test_torch_threads_restores_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), machine.torch_threads(1):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before


def test_bad_input_raises():
    with pytest.raises(ValueError, match="nbytes"):
        machine.memory_bandwidth(2**31)
    with pytest.raises(ValueError, match="nbytes"):
        machine.memory_bandwidth(2)
    with pytest.raises(TypeError, match="nbytes"):
        machine.memory_bandwidth(1e6)
    with pytest.raises(ValueError, match="size"):
        machine.peak_matmul_rate(4097)
    with pytest.raises(ValueError, match="repeats"):
        machine.peak_matmul_rate(8, repeats=0)
    with pytest.raises(ValueError, match="threads"):
        machine.memory_bandwidth(1024, threads=0)
    with pytest.raises(TypeError, match="func"):
        machine.best_seconds(3)
    with pytest.raises(ValueError, match="sizes"):
        machine.measure_roofs(sizes=(4096, 1024))
    with pytest.raises(ValueError, match="sizes"):
        machine.measure_roofs(sizes=(1024, 2**31))
    with pytest.raises(ValueError, match="matmul_size"):
        machine.measure_roofs(sizes=(1024,), matmul_size=0)
    with pytest.raises(ValueError, match="chunk_bytes"):
        machine.memory_bandwidth(1024, chunk_bytes=0)
    with pytest.raises(ValueError, match="intensity"):
        machine.attainable(np.array([-1.0]), 1.0, 1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        machine.attainable(np.array([1.0]), 0.0, 1.0)
    with pytest.raises(ValueError, match="peak"):
        machine.attainable(np.array([1.0]), 1.0, float("inf"))
