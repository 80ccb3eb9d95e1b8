"""Tests of nnbook.robust_regression: the LP against brute force, subgradient descent against the LP."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from nnbook import gradients
from nnbook import robust_regression as rr

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
_LINE = {"X": np.column_stack([np.ones(5), np.arange(5.0)]), "y": np.array([0.0, 1.0, 1.5, 3.2, 4.0])}
VALID_CALLS = {
    "line_with_outliers": lambda: {"n": 20, "outlier_fraction": 0.1, "noise": 0.5, "outlier_shift": 20.0, "rng": 0},
    "l1_loss": lambda: {"w": np.zeros(2), **_LINE},
    "l1_subgradient": lambda: {"w": np.zeros(2), **_LINE},
    "least_squares": lambda: dict(_LINE),
    "l1_regression_lp": lambda: dict(_LINE),
    "l1_subgradient_descent": lambda: {**_LINE, "steps": 20, "lr": 0.5, "w0": np.zeros(2)},
    "robustness": lambda: {"fractions": np.array([0.0, 0.2]), "seeds": np.array([0, 1]), "n": 20},
}


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


def test_line_with_outliers_fields_without_noise():
    data = rr.line_with_outliers(40, outlier_fraction=0.25, noise=0.0, outlier_shift=20.0, rng=3)
    np.testing.assert_array_equal(data.w_true, [1.0, 0.5])
    assert data.is_outlier.sum() == 10 and data.X.shape == (40, 2)
    assert 0 <= data.X[:, 1].min() and data.X[:, 1].max() <= 10
    residual = data.y - (1.0 + 0.5 * data.X[:, 1])
    np.testing.assert_allclose(residual[~data.is_outlier], 0.0, atol=1e-14)
    assert residual[data.is_outlier].min() >= 10.0 and residual[data.is_outlier].max() <= 30.0


def test_subgradient_descent_matches_a_loop_written_here():
    """Oracle: the update w <- w - lr / sqrt(k + 1) * X^T sign(X w - y) / n, written out with numpy."""
    data = rr.line_with_outliers(30, outlier_fraction=0.1, rng=5)
    steps, lr = 60, 0.5
    w, losses, iterates = np.zeros(2), [], []
    for k in range(steps + 1):
        residual = data.X @ w - data.y
        losses.append(np.mean(np.abs(residual)))
        iterates.append(w)
        w = w - lr / np.sqrt(k + 1) * (data.X.T @ np.sign(residual)) / len(data.y)
    run = rr.l1_subgradient_descent(data.X, data.y, steps=steps, lr=lr)
    np.testing.assert_allclose(run.losses, losses, rtol=1e-14)
    np.testing.assert_allclose(run.best_losses, np.minimum.accumulate(losses), rtol=1e-14)
    np.testing.assert_allclose(run.w, iterates[int(np.argmin(losses))], rtol=1e-14)
    assert not np.all(np.diff(run.losses) <= 0)  # the iterates are not monotone: the best one is kept


def test_subgradient_matches_the_definition_with_sign_zero():
    X = np.array([[1.0, 2.0], [1.0, -1.0], [1.0, 0.0]])
    y = np.array([3.0, 0.0, 5.0])
    w = np.array([1.0, 1.0])  # residuals 0, 0, -4
    np.testing.assert_array_equal(rr.l1_subgradient(w, X, y), np.array([-1.0, 0.0]) / 3)
    assert rr.l1_loss(w, X, y) == 4.0 / 3


def test_wrong_kinds_raise_type_errors():
    with pytest.raises(TypeError, match="n"):
        rr.line_with_outliers(10.0)
    with pytest.raises(TypeError, match="steps"):
        rr.l1_subgradient_descent(np.ones((4, 2)), np.ones(4), steps=True)
    with pytest.raises(TypeError, match="X"):
        rr.least_squares(np.array([["a"]]), np.ones(1))
    with pytest.raises(ValueError, match="n must be an integer >= 2 and <= "):
        rr.line_with_outliers(rr.MAX_POINTS + 1)


def test_robustness_fields_against_direct_fits():
    """Oracle: numpy's lstsq and the brute-force L1 line (every pair of points), on the same data sets."""
    fractions, seeds = np.array([0.0, 0.2]), np.array([3, 4, 5])
    result = rr.robustness(fractions, seeds, n=20)
    np.testing.assert_array_equal(result.fractions, fractions)
    np.testing.assert_array_equal(result.seeds, seeds)
    assert result.error_ls.shape == result.error_l1.shape == (2, 3)
    for f, fraction in enumerate(fractions):
        for s, seed in enumerate(seeds):
            data = rr.line_with_outliers(20, fraction, rng=int(seed))
            w_ls = np.linalg.lstsq(data.X, data.y, rcond=None)[0]
            np.testing.assert_allclose(result.error_ls[f, s], np.linalg.norm(w_ls - data.w_true), rtol=1e-10)
            best, best_w = np.inf, None
            for i, j in combinations(range(20), 2):
                w = np.linalg.solve(data.X[[i, j]], data.y[[i, j]])
                loss = np.mean(np.abs(data.X @ w - data.y))
                if loss < best - 1e-12:
                    best, best_w = loss, w
            np.testing.assert_allclose(result.error_l1[f, s], np.linalg.norm(best_w - data.w_true), rtol=1e-6)
    assert not np.allclose(result.error_ls[1], result.error_ls[1, 0])  # the seeds give different data sets


def test_robustness_bad_inputs():
    with pytest.raises(ValueError, match="fractions"):
        rr.robustness([0.5, 1.0], [0])
    with pytest.raises(ValueError, match="seeds"):
        rr.robustness([0.5], [-1])
    with pytest.raises(ValueError, match="limit"):
        rr.robustness(np.zeros(200), np.arange(100))
