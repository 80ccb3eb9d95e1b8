"""Tests of nnbook.boxes: boxes from step and ReLU units, and their approximation errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnbook import boxes
from nnbook.expressivity import count_linear_pieces

# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
    "step": lambda: {"x": np.linspace(-1, 1, 5)},
    "relu": lambda: {"x": np.linspace(-1, 1, 5)},
    "box": lambda: {"x": np.linspace(-1, 2, 7), "height": 1.0, "width": 1.0, "start": 0.0, "ramp": 0.1},
    "fit_boxes": lambda: {"f": np.sin, "bound": 1.0, "n_boxes": 4},
    "relu_interpolant": lambda: {"f": np.sin, "bound": 1.0, "n_units": 4},
    "fit_boxes_2d": lambda: {"f": lambda X: X[:, 0] * X[:, 1], "bound": 1.0, "n_per_axis": 3},
    "box_units": lambda: {"n_per_axis": 10, "dim": 2},
    "sup_error": lambda: {"approx": boxes.fit_boxes(np.sin, 1.0, 4), "f": np.sin, "bound": 1.0, "num_points": 101},
    "power_law_exponent": lambda: {"units": np.array([10.0, 100.0]), "errors": np.array([1.0, 0.1])},
}


def test_step_box_is_an_indicator():
    x = np.linspace(-2, 3, 5001)
    expected = np.where((x >= 0.25) & (x < 1.75), 1.5, 0.0)
    np.testing.assert_array_equal(boxes.box(x, 1.5, 1.5, start=0.25), expected)


def test_relu_box_is_a_trapezoid_that_tends_to_the_box():
    x = np.linspace(-1, 2, 30001)
    trapezoid = boxes.box(x, 2.0, 1.0, ramp=0.2)
    np.testing.assert_allclose(trapezoid[(x >= 0.2) & (x <= 1.0)], 2.0, rtol=1e-12)
    np.testing.assert_allclose(trapezoid[(x <= 0) | (x >= 1.2)], 0.0, atol=1e-12)
    np.testing.assert_allclose(boxes.box(np.array([0.1, 1.1]), 2.0, 1.0, ramp=0.2), [1.0, 1.0], rtol=1e-12)
    dx = x[1] - x[0]
    l1 = [np.abs(boxes.box(x, 2.0, 1.0, ramp=r) - boxes.box(x, 2.0, 1.0)).sum() * dx for r in (0.2, 0.1, 0.05)]
    np.testing.assert_allclose(l1, [0.4, 0.2, 0.1], rtol=2e-3)  # two triangles of area h r / 2


def test_box_sum_equals_the_explicit_sum_of_boxes():
    approx = boxes.fit_boxes(np.cos, 2.0, 7)
    x = np.random.default_rng(0).uniform(-2, 2, 1000)
    delta = approx.edges[1] - approx.edges[0]
    explicit = sum(boxes.box(x, h, delta, start=a) for h, a in zip(approx.heights, approx.edges[:-1], strict=True))
    np.testing.assert_allclose(approx(x), explicit, rtol=1e-12, atol=1e-12)
    assert approx.n_units == 8 and approx.n_units_separate == 14  # shared edges: n + 1 steps, not 2 n
    np.testing.assert_array_equal(approx(np.array([-2.5, 2.5])), [0.0, 0.0])
    assert approx(np.array([2.0]))[0] == approx.heights[-1]  # right end belongs to the last box


@pytest.mark.parametrize("n", [3, 10, 50, 200])
def test_box_error_is_within_the_lipschitz_bound(n):
    # sin is 1-Lipschitz: boxes of width 2B/n with centre heights err by at most B/n
    err = boxes.sup_error(boxes.fit_boxes(np.sin, 3.0, n), np.sin, 3.0)
    assert err <= 3.0 / n + 1e-12
    if n >= 10:
        assert err >= 0.9 * 3.0 / n  # and it is nearly attained, next to x = 0 where |sin'| = 1


def test_relu_interpolant_as_a_network():
    g = boxes.relu_interpolant(np.square, 1.5, 9)
    net = g.to_torch()
    x = np.linspace(-1.5, 1.5, 1001)
    with torch.no_grad():
        y = net(torch.from_numpy(x)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(y, g(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g(g.knots), g.knots**2, rtol=1e-12)
    assert g.n_units == 9
    assert count_linear_pieces(net, -1.5, 1.5) == 9  # a convex target: every knot is a kink


@pytest.mark.parametrize("n", [4, 16, 64])
def test_relu_interpolation_error_bound(n):
    # linear interpolation error <= h^2 max|f''| / 8 with h = 2B/n; |sin''| <= 1
    h = 2 * 3.0 / n
    assert boxes.sup_error(boxes.relu_interpolant(np.sin, 3.0, n), np.sin, 3.0) <= h**2 / 8 + 1e-12


def test_box_grid_2d_equals_the_two_layer_step_network():
    def f(X):
        return np.sin(X[:, 0]) + X[:, 1] ** 2

    approx = boxes.fit_boxes_2d(f, 1.0, 5)
    X = np.random.default_rng(1).uniform(-1.2, 1.2, (2000, 2))
    e = approx.edges
    H = lambda z: (z >= 0).astype(float)  # noqa: E731  (the step unit, written out: the oracle)
    ind_x = H(X[:, :1] - e[:-1]) - H(X[:, :1] - e[1:])  # first layer, (m, n) per axis
    ind_y = H(X[:, 1:] - e[:-1]) - H(X[:, 1:] - e[1:])
    second = H(ind_x[:, :, None] + ind_y[:, None, :] - 1.5)  # (m, n, n) box units
    explicit = np.einsum("mij,ij->m", second, approx.heights)
    np.testing.assert_allclose(approx(X), explicit, rtol=1e-12, atol=1e-12)
    assert approx.n_units == 2 * 6 + 25


def test_box_grid_2d_error_bound():
    def f(X):
        return np.sin(X[:, 0]) * np.cos(X[:, 1])  # |df/dx| + |df/dy| <= 2 in the max-norm sense

    for n in (4, 8, 16):
        err = boxes.sup_error(boxes.fit_boxes_2d(f, 2.0, n), f, 2.0, num_points=201, dim=2)
        assert err <= 2 * (2.0 / n) + 1e-12


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_n_plus_one_shared_steps_make_the_same_function(n):
    approx = boxes.fit_boxes(lambda x: np.cos(3 * x) + x, 1.5, n)
    net = approx.step_network()
    assert net.n_units == approx.n_units == n + 1
    # oracle: the explicit sum of n separate boxes, the last closed on the right; at the edges, outside, in between
    x = np.concatenate(
        [approx.edges, [-3.0, -1.5 - 1e-9, 1.5 + 1e-9, 3.0], np.random.default_rng(n).uniform(-2, 2, 500)]
    )
    e, h = approx.edges, approx.heights
    separate = sum(h[k] * ((x >= e[k]) & ((x < e[k + 1]) | ((k == n - 1) & (x == e[-1])))) for k in range(n))
    np.testing.assert_allclose(net(x), separate, rtol=0, atol=1e-12)
    np.testing.assert_allclose(approx(x), separate, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(net.signs, np.r_[np.ones(n), -1.0])


def test_step_network_evaluates_its_definition():
    net = boxes.StepNetwork(
        thresholds=np.array([0.0, 1.0]), signs=np.array([1.0, -1.0]), weights=np.array([2.0, 3.0]), bias=-1.0
    )
    # -1 + 2 H(x) + 3 H(1 - x)
    np.testing.assert_array_equal(net(np.array([-1.0, 0.0, 0.5, 1.0, 2.0])), [2.0, 4.0, 4.0, 4.0, 1.0])


def test_box_units():
    assert boxes.box_units(10, 1) == 11
    assert [boxes.box_units(4, d) for d in (2, 3)] == [2 * 5 + 16, 3 * 5 + 64]
    assert boxes.box_units(100, 10) == 10 * 101 + 100**10
    assert boxes.box_units(10, 10**5) == 10**5 * 11 + 10 ** (10**5)  # exact, a 332,193-bit integer


def test_power_law_exponent_recovers_the_exponent():
    units = np.array([8.0, 16, 32, 64, 128])
    np.testing.assert_allclose(boxes.power_law_exponent(units, 3.0 * units**-1.5), -1.5, rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: boxes.box(np.zeros(3), 1.0, 0.0), ValueError, "width"),
        (lambda: boxes.box(np.zeros(3), 1j, 1.0), TypeError, "height"),
        (lambda: boxes.box(np.array([0.0, np.nan]), 1.0, 1.0), ValueError, "x"),
        (lambda: boxes.box(np.zeros(3), 1.0, 1.0, ramp=-0.1), ValueError, "ramp"),
        (lambda: boxes.fit_boxes("sin", 1.0, 4), TypeError, "f"),
        (lambda: boxes.fit_boxes(np.sin, 0.0, 4), ValueError, "bound"),
        (lambda: boxes.fit_boxes(np.sin, 1.0, 0), ValueError, "n_boxes"),
        (lambda: boxes.fit_boxes(np.sin, 1.0, True), TypeError, "n_boxes"),
        (lambda: boxes.relu_interpolant(np.sin, 1.0, 2.5), TypeError, "n_units"),
        (lambda: boxes.fit_boxes(lambda x: x[:2], 1.0, 4), ValueError, "one value per point"),
        (lambda: boxes.fit_boxes(lambda x: np.full_like(x, np.inf), 1.0, 4), ValueError, "finite"),
        (lambda: boxes.fit_boxes(np.sin, 1.0, 10**8), ValueError, "limit"),
        (lambda: boxes.fit_boxes_2d(np.sin, 1.0, 10**4), ValueError, "limit"),
        (lambda: boxes.box_units(10, 10**9), ValueError, "dim"),
        (lambda: boxes.box_units(10**6, 10**5), ValueError, "limit"),
        (lambda: boxes.sup_error(np.sin, np.sin, 1.0, num_points=10**4, dim=2), ValueError, "limit"),
        (lambda: boxes.fit_boxes_2d(np.sin, float("inf"), 4), ValueError, "bound"),
        (lambda: boxes.fit_boxes_2d(np.sin, 1.0, -2), ValueError, "n_per_axis"),
        (lambda: boxes.box_units(0, 2), ValueError, "n_per_axis"),
        (lambda: boxes.box_units(3, 0), ValueError, "dim"),
        (lambda: boxes.sup_error(np.sin, np.sin, 1.0, dim=3), ValueError, "dim"),
        (lambda: boxes.sup_error(np.sin, np.sin, 1.0, dim=True), TypeError, "dim"),
        (lambda: boxes.sup_error(np.sin, np.sin, 1.0, num_points=0), ValueError, "num_points"),
        (lambda: boxes.power_law_exponent(np.ones(3), np.ones(2)), ValueError, "errors"),
        (lambda: boxes.power_law_exponent(np.ones(3), -np.ones(3)), ValueError, "errors"),
        (lambda: boxes.power_law_exponent(np.ones(3), np.ones(3)), ValueError, "units"),
    ],
)
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_networks_evaluate_empty_inputs_and_name_a_wrong_shape():
    approx = boxes.fit_boxes(np.sin, 1.0, 3)
    approx_2d = boxes.fit_boxes_2d(lambda X: X[:, 0], 1.0, 2)
    for network, empty, wrong, name in [
        (approx.step_network(), np.zeros(0), np.zeros((2, 2)), "x"),
        (approx, np.zeros(0), np.array([["a"]]), "x"),
        (approx_2d, np.zeros((0, 2)), np.zeros((3, 3)), "X"),
        (boxes.relu_interpolant(np.sin, 1.0, 3), np.zeros(0), np.array([["a"]]), "x"),
    ]:
        assert network(empty).shape == (0,)
        with pytest.raises((TypeError, ValueError), match=rf"^{name} must"):
            network(wrong)


def test_box_grid_2d_at_the_grid_lines():
    # A point on an inner grid line belongs to the cell on its right (or above), like the steps H(x - a) >= 0.
    approx = boxes.fit_boxes_2d(lambda X: 10 * X[:, 0] + X[:, 1], 1.0, 2)  # edges -1, 0, 1; centres -1/2, 1/2
    X = np.array([[0.0, 0.0], [0.0, -0.5], [-0.5, 0.0], [1.0, 1.0], [-1.0, -1.0], [1.0 + 1e-9, 0.0]])
    np.testing.assert_array_equal(approx(X), [5.5, 4.5, -4.5, 5.5, -5.5, 0.0])


def test_fit_limits_are_exact_and_named(monkeypatch):
    monkeypatch.setattr(boxes, "MAX_BOXES", 27)
    assert boxes.fit_boxes(np.sin, 1.0, 27).heights.shape == (27,)
    assert boxes.relu_interpolant(np.sin, 1.0, 27).n_units == 27
    assert boxes.fit_boxes_2d(lambda X: X[:, 0], 1.0, 5).heights.shape == (5, 5)  # 25 cells of at most 27
    for call, message in [
        (lambda: boxes.fit_boxes(np.sin, 1.0, 28), r"^n_boxes asks for 28 boxes, more than the limit of 27$"),
        (lambda: boxes.relu_interpolant(np.sin, 1.0, 28), r"^n_units asks for 28 boxes"),
        (lambda: boxes.fit_boxes_2d(lambda X: X[:, 0], 1.0, 6), r"^n_per_axis asks for 36 grid cells"),
    ]:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=r"^bound must be a real number > 0 and <= 1000000.0, got 1000000.5$"):
        boxes.fit_boxes(np.sin, 1e6 + 0.5, 3)
    assert boxes.fit_boxes(np.sin, 1e6, 3).edges[-1] == 1e6


def test_power_law_exponent_boundaries():
    assert boxes.power_law_exponent(np.array([0.5, 1.0]), np.array([4.0, 2.0])) == pytest.approx(-1.0, rel=1e-12)
    for units, errors in [([0.0, 1.0], [1.0, 1.0]), ([1.0, 2.0], [0.0, 1.0]), ([-1.0, 2.0], [1.0, 1.0])]:
        with pytest.raises(ValueError, match=r"^units and errors must be positive$"):
            boxes.power_law_exponent(np.array(units), np.array(errors))
    with pytest.raises(ValueError, match=r"^units must not all be equal$"):
        boxes.power_law_exponent(np.array([3.0, 3.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"^units must"):
        boxes.power_law_exponent(np.array([3.0]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"^units must"):
        boxes.power_law_exponent(np.ones((2, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"^errors must"):
        boxes.power_law_exponent(np.array([1.0, 2.0]), np.ones((2, 1)))


def test_relu_box_away_from_the_origin():
    # Oracle: the trapezoid written out, rising on [a, a + r], flat to a + w, falling on [a + w, a + w + r].
    a, w, r, h = 1.5, 2.0, 0.5, 3.0
    x = np.linspace(-1.0, 5.0, 601)
    expected = h * np.clip(np.minimum((x - a) / r, (a + w + r - x) / r), 0.0, 1.0)
    np.testing.assert_allclose(boxes.box(x, h, w, start=a, ramp=r), expected, rtol=1e-12, atol=1e-12)
    assert boxes.box(np.array([1.5, 3.4]), h, w, start=a).tolist() == [3.0, 3.0]  # steps, also away from 0


def test_sup_error_and_box_units_boundaries():
    assert boxes.sup_error(np.zeros_like, np.ones_like, 1.0, num_points=2) == 1.0  # two points are enough
    assert boxes.sup_error(np.zeros_like, np.abs, 1e6) == 1e6  # the largest bound
    for bad, error in [(0.0, ValueError), (-1.0, ValueError), (1e6 + 1, ValueError)]:
        with pytest.raises(error, match=r"^bound must"):
            boxes.sup_error(np.zeros_like, np.sin, bad)
    with pytest.raises(ValueError, match=r"^dim must"):
        boxes.sup_error(np.zeros_like, np.sin, 1.0, dim=0)
    with pytest.raises(ValueError, match=r"^num_points must"):
        boxes.sup_error(np.zeros_like, np.sin, 1.0, num_points=1)
    # dim = 2: the grid covers the square, corners included (the oracle's maximum of |x| + |y| is at a corner)
    assert boxes.sup_error(lambda X: np.zeros(len(X)), lambda X: X[:, 0] - 2 * X[:, 1], 1.0, 5, dim=2) == 3.0
    assert boxes.box_units(1, 3) == 3 * 2 + 1  # one cell per axis
    with pytest.raises(ValueError, match=r"^dim must be an integer >= 1 and <= 1000000, got 1000001$"):
        boxes.box_units(1, 10**6 + 1)
    assert boxes.box_units(1, 10**6) == 2 * 10**6 + 1
