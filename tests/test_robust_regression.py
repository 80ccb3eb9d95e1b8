"""Tests of nnbook.robust_regression: the LP against brute force, subgradient descent against the LP."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from nnbook import gradients
from nnbook import robust_regression as rr


def brute_force_l1_line(X, y):
    """Some L1-optimal line passes through two data points: try every pair."""
    best = np.inf
    for i, j in combinations(range(len(y)), 2):
        A = X[[i, j]]
        if abs(np.linalg.det(A)) > 1e-12:
            best = min(best, rr.l1_loss(np.linalg.solve(A, y[[i, j]]), X, y))
    return best


def test_lp_is_optimal_against_brute_force():
    data = rr.line_with_outliers(25, outlier_fraction=0.2, rng=1)
    w = rr.l1_regression_lp(data.X, data.y)
    np.testing.assert_allclose(rr.l1_loss(w, data.X, data.y), brute_force_l1_line(data.X, data.y), rtol=1e-9)


def test_lp_with_a_constant_column_is_the_median():
    y = np.random.default_rng(2).standard_normal(31)
    np.testing.assert_allclose(rr.l1_regression_lp(np.ones((31, 1)), y), [np.median(y)], rtol=1e-9)


def test_least_squares_solves_the_normal_equations():
    data = rr.line_with_outliers(40, rng=3)
    w = rr.least_squares(data.X, data.y)
    np.testing.assert_allclose(data.X.T @ data.X @ w, data.X.T @ data.y, rtol=1e-10)


def test_subgradient_is_the_gradient_away_from_kinks():
    data = rr.line_with_outliers(30, rng=4)
    w = np.array([0.3, 0.7])  # no residual is zero here
    assert np.abs(data.X @ w - data.y).min() > 1e-3
    numerical = gradients.numerical_gradient(lambda v: rr.l1_loss(v, data.X, data.y), w, eps=1e-7)
    np.testing.assert_allclose(rr.l1_subgradient(w, data.X, data.y), numerical, rtol=1e-6, atol=1e-9)


def test_subgradient_descent_approaches_the_lp_optimum():
    data = rr.line_with_outliers(100, outlier_fraction=0.2, rng=0)
    optimum = rr.l1_loss(rr.l1_regression_lp(data.X, data.y), data.X, data.y)
    run = rr.l1_subgradient_descent(data.X, data.y, steps=3000, lr=0.3)
    assert run.losses.shape == run.best_losses.shape == (3001,)
    np.testing.assert_allclose(run.best_losses[-1], rr.l1_loss(run.w, data.X, data.y), rtol=1e-15)
    assert np.all(np.diff(run.best_losses) <= 0)
    assert 0 <= run.best_losses[-1] - optimum < 1e-5 * optimum
    start = rr.l1_subgradient_descent(data.X, data.y, steps=1, w0=run.w)
    assert start.losses[0] == run.best_losses[-1]


def test_l1_is_more_robust_than_least_squares():
    data = rr.line_with_outliers(100, outlier_fraction=0.2, rng=0)
    err_l1 = np.linalg.norm(rr.l1_regression_lp(data.X, data.y) - data.w_true)
    err_ls = np.linalg.norm(rr.least_squares(data.X, data.y) - data.w_true)
    assert err_ls > 5 * err_l1


def test_line_with_outliers_same_seed_same_data():
    a, b = rr.line_with_outliers(50, 0.3, rng=7), rr.line_with_outliers(50, 0.3, rng=7)
    for field in ("X", "y", "w_true", "is_outlier"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.is_outlier.sum() == 15
    assert not np.array_equal(a.y, rr.line_with_outliers(50, 0.3, rng=8).y)
    np.testing.assert_array_equal(a.X[:, 0], 1.0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: rr.line_with_outliers(1), "n"),
        (lambda: rr.line_with_outliers(10, outlier_fraction=1.0), "outlier_fraction"),
        (lambda: rr.line_with_outliers(10, noise=-1.0), "noise"),
        (lambda: rr.line_with_outliers(10, outlier_shift=np.nan), "outlier_shift"),
        (lambda: rr.l1_loss(np.ones(3), np.ones((4, 2)), np.ones(4)), "w"),
        (lambda: rr.l1_subgradient(np.ones(2), np.ones(4), np.ones(4)), "X"),
        (lambda: rr.least_squares(np.ones((4, 2)), np.ones(3)), "y"),
        (lambda: rr.l1_regression_lp(np.full((4, 2), np.inf), np.ones(4)), "X"),
        (lambda: rr.l1_subgradient_descent(np.ones((4, 2)), np.ones(4), steps=0), "steps"),
        (lambda: rr.l1_subgradient_descent(np.ones((4, 2)), np.ones(4), lr=0.0), "lr"),
        (lambda: rr.l1_subgradient_descent(np.ones((4, 2)), np.ones(4), w0=np.ones(3)), "w0"),
    ],
)
def test_bad_input_names_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
