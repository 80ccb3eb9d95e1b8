"""Tests of nnbook.region_bounds: the exact region bounds against closed forms and brute-force enumeration."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook import expressivity, region_bounds

# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
    "max_regions_one_layer": lambda: {"n_inputs": 2, "width": 16},
    "max_regions": lambda: {"n_inputs": 2, "widths": [16, 16]},
}


def test_one_layer_bound_closed_forms():
    assert region_bounds.max_regions_one_layer(2, 16) == 137
    for n1 in range(0, 12):
        assert region_bounds.max_regions_one_layer(1, n1) == n1 + 1
        assert region_bounds.max_regions_one_layer(2, n1) == 1 + n1 + n1 * (n1 - 1) // 2
        assert region_bounds.max_regions_one_layer(n1 + 3, n1) == 2**n1  # n0 >= n1: every pattern


def brute_force_serra(n0: int, widths: list[int]) -> int:
    total = 0
    for js in itertools.product(*[range(n + 1) for n in widths]):
        ok, cap = True, n0
        for n, j in zip(widths, js, strict=True):
            if j > min(cap, n):
                ok = False
                break
            cap = min(cap, n - j)
        if ok:
            total += math.prod(math.comb(n, j) for n, j in zip(widths, js, strict=True))
    return total


@settings(max_examples=60, deadline=None)
@given(n0=st.integers(1, 4), widths=st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_deep_bound_matches_brute_force_enumeration(n0, widths):
    bound = region_bounds.max_regions(n0, widths)
    assert bound == brute_force_serra(n0, widths)
    # never above Montufar's product bound prod_l sum_{j <= min(n0..nl)} C(nl, j)
    product, d = 1, n0
    for n in widths:
        d = min(d, n)
        product *= sum(math.comb(n, j) for j in range(d + 1))
    assert bound <= product


def test_deep_bound_special_cases():
    for n0, n1 in itertools.product(range(1, 5), range(1, 20)):
        assert region_bounds.max_regions(n0, [n1]) == region_bounds.max_regions_one_layer(n0, n1)
    assert [region_bounds.max_regions(1, [2] * L) for L in range(1, 6)] == [3**L for L in range(1, 6)]


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: region_bounds.max_regions_one_layer(0, 3), ValueError, "n_inputs"),
        (lambda: region_bounds.max_regions_one_layer(2, -1), ValueError, "width"),
        (lambda: region_bounds.max_regions_one_layer(2.0, 3), TypeError, "n_inputs"),
        (lambda: region_bounds.max_regions_one_layer(True, 3), TypeError, "n_inputs"),
        (lambda: region_bounds.max_regions(2, []), ValueError, "widths"),
        (lambda: region_bounds.max_regions(2, "16"), TypeError, "widths"),
        (lambda: region_bounds.max_regions(2, [16, 0]), ValueError, r"widths\[1\]"),
        (lambda: region_bounds.max_regions(0, [16]), ValueError, "n_inputs"),
    ],
)
def test_bounds_reject_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_one_layer_bound_is_exact_and_fast_for_huge_layers():
    # n0 >= n1: all 2^n1 patterns, an exact integer of a million bits
    assert region_bounds.max_regions_one_layer(10**6, 10**6) == 2 ** (10**6)
    # few terms, or few through the complement: sum_{k <= m} C(n, k) = 2^n - sum_{k < n - m} C(n, k)
    n = 10**6
    assert region_bounds.max_regions_one_layer(2, n) == 1 + n + n * (n - 1) // 2
    assert region_bounds.max_regions_one_layer(n - 2, n) == 2**n - 1 - n
    assert region_bounds.max_regions_one_layer(n - 1, n) == 2**n - 1
    # the oracle for a moderate case: math.comb term by term
    assert region_bounds.max_regions_one_layer(60, 300) == sum(math.comb(300, k) for k in range(61))
    assert region_bounds.max_regions_one_layer(250, 300) == sum(math.comb(300, k) for k in range(251))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: region_bounds.max_regions_one_layer(5 * 10**5, 10**6), "limit"),
        (lambda: region_bounds.max_regions_one_layer(2, 10**7), "<= 1000000"),
        (lambda: region_bounds.max_regions(10**4, [10**4] * 3), "limit"),
        (lambda: region_bounds.max_regions(2, [2] * (10**6)), "limit"),
    ],
)
def test_huge_bounds_fail_fast_naming_the_limit(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_former_import_paths_give_the_same_objects():
    """The names moved out of nnbook.expressivity are still importable from it, as the same objects."""
    from nnbook.expressivity import max_regions, max_regions_one_layer

    assert max_regions is region_bounds.max_regions and max_regions_one_layer is region_bounds.max_regions_one_layer
    for name in ("MAX_UNITS", "MAX_BINOMIAL_TERMS", "MAX_BOUND_WORK"):
        assert getattr(expressivity, name) is getattr(region_bounds, name)
