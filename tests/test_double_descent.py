"""The double-descent sweep and its averaged curves, against oracles that do not call the code under test."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook import data, double_descent, rff


def _tiny_split() -> data.Split:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) / 2
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    return data.Split(X[:20], y[:20], X[20:], y[20:])


# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
VALID_CALLS = {
    "sweep": lambda: {"split": _tiny_split(), "n_features": [2, 10, 15], "ridges": [0.0, 0.1], "n_draws": 2, "rng": 0},
    "curve": lambda: {"result": double_descent.sweep(_tiny_split(), [2, 10, 15], n_draws=1, rng=0), "ridge": 0.0},
    "threshold_grid": lambda: {"n_train": 20, "max_features": 30, "n_log": 5, "n_near": 3},
}


@pytest.fixture(scope="module")
def split():
    return data.digits_curvy()


def test_every_sweep_field_against_pinv_and_augmented_lstsq(split):
    """Oracle: numpy's pinv (ridgeless) and lstsq on [Phi; sqrt(lam) I] (ridge), features built by hand."""
    split = data.Split(split.X_train[:120], split.y_train[:120], split.X_test[:100], split.y_test[:100])
    sizes, ridges, seed = [3, 40, 60, 61, 90], [0.0, 1e-3], 5
    result = double_descent.sweep(split, sizes, ridges=ridges, n_draws=2, rng=seed)
    gen = np.random.default_rng(seed)
    for d in range(2):
        V = gen.standard_normal((64, max(sizes)))
        Z, Z_test = split.X_train @ V, split.X_test @ V
        for k, size in enumerate(sizes):
            Phi = np.column_stack([f(Z[:, j]) for j in range(size) for f in (np.cos, np.sin)])
            Phi_test = np.column_stack([f(Z_test[:, j]) for j in range(size) for f in (np.cos, np.sin)])
            for r, ridge in enumerate(ridges):
                if ridge == 0:
                    a = np.linalg.pinv(Phi, rcond=1e-13) @ split.y_train
                else:
                    aug = np.vstack([Phi, np.sqrt(ridge) * np.eye(2 * size)])
                    a = np.linalg.lstsq(aug, np.concatenate([split.y_train, np.zeros(2 * size)]), rcond=None)[0]
                pred = Phi_test @ a
                at = (r, d, k)
                tol = 1e-5 if (ridge == 0 and size == 60) else 1e-8  # the square system is ill-conditioned
                np.testing.assert_allclose(result.test_mse[at], np.mean((pred - split.y_test) ** 2), rtol=tol)
                np.testing.assert_allclose(result.coef_norm[at], np.linalg.norm(a), rtol=tol)
                train = np.mean((Phi @ a - split.y_train) ** 2)
                np.testing.assert_allclose(result.train_mse[at], train, rtol=1e-4, atol=1e-18)
                wrong = np.count_nonzero(np.sign(pred) != split.y_test) / split.y_test.size
                assert result.test_error[at] == wrong
    np.testing.assert_allclose(result.ratio, 2 * np.array(sizes) / 120)
    np.testing.assert_array_equal(result.n_features, sizes)
    np.testing.assert_array_equal(result.ridges, ridges)
    # the largest model classifies most test digits correctly: an error rate, not an accuracy
    assert result.test_error[0, :, -1].max() < 0.5


def test_sweep_draws_differ_and_same_seed_same_numbers(split):
    a = double_descent.sweep(split, [5, 50], n_draws=2, rng=7)
    b = double_descent.sweep(split, [5, 50], n_draws=2, rng=7)
    np.testing.assert_array_equal(a.test_mse, b.test_mse)
    assert not np.array_equal(a.test_mse[0, 0], a.test_mse[0, 1])


def _hand_sweep() -> double_descent.Sweep:
    """A Sweep with known numbers: two penalties, three draws that differ, four sizes (ratios 0.2 to 2)."""
    test = np.array(
        [
            [[0.9, 0.5, 9.0, 0.4], [0.7, 0.3, 30.0, 0.2], [0.8, 0.7, 3.0, 0.3]],
            [[0.9, 0.5, 0.6, 0.4], [0.7, 0.3, 0.6, 0.2], [0.8, 0.4, 0.9, 0.3]],
        ]
    )
    error = np.array([[[0.1, 0.2, 0.5, 0.0], [0.3, 0.0, 0.4, 0.1], [0.2, 0.1, 0.3, 0.2]]] * 2)
    train = test / 10
    norm = test * 100
    return double_descent.Sweep(
        n_features=np.array([1, 2, 5, 10]),
        ratio=np.array([0.2, 0.4, 1.0, 2.0]),
        ridges=np.array([0.0, 0.5]),
        test_mse=test,
        train_mse=train,
        test_error=error,
        coef_norm=norm,
    )


def test_curve_averages_over_draws_that_differ():
    c = double_descent.curve(_hand_sweep(), ridge=0.0)
    np.testing.assert_allclose(c.test_mse, [0.8, 0.5, 14.0, 0.3])  # means of differing rows, not maxima
    np.testing.assert_allclose(c.test_error, [0.2, 0.1, 0.4, 0.1])
    np.testing.assert_allclose(c.train_mse, [0.08, 0.05, 1.4, 0.03])
    np.testing.assert_allclose(c.coef_norm, [80.0, 50.0, 1400.0, 30.0])
    assert (c.peak, c.best_under, c.threshold, c.ridge) == (2, 1, 2, 0.0)
    np.testing.assert_array_equal(c.ratio, [0.2, 0.4, 1.0, 2.0])
    penalised = double_descent.curve(_hand_sweep(), ridge=0.5)
    np.testing.assert_allclose(penalised.test_mse, [0.8, 0.4, 0.7, 0.3])
    assert (penalised.peak, penalised.best_under) == (0, 1)


def test_threshold_grid_is_dense_near_threshold():
    grid = double_descent.threshold_grid(898, max_features=2000)
    assert grid[0] == 1 and grid[-1] == 2000 and 449 in grid
    assert np.all(np.diff(grid) > 0)
    near = grid[(grid > 0.8 * 449) & (grid < 1.2 * 449)]
    assert near.size >= 20


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda s: double_descent.sweep(s, [0, 3]), ValueError, "n_features"),
        (lambda s: double_descent.sweep(s, [2.5]), ValueError, "n_features"),
        (lambda s: double_descent.sweep(s, [3], ridges=[-1.0]), ValueError, "ridges"),
        (lambda s: double_descent.sweep(s, [3], ridges=[np.nan]), ValueError, "ridges"),
        (lambda s: double_descent.sweep(s, [3], n_draws=0), ValueError, "n_draws"),
        (lambda s: double_descent.sweep(s, [3], n_draws=double_descent.MAX_DRAWS + 1), ValueError, "n_draws"),
        (lambda s: double_descent.sweep(s, [3], rng=1.5), TypeError, "rng"),
        (lambda s: double_descent.sweep("split", [3]), TypeError, "split"),
        (lambda s: double_descent.sweep(s, [rff.MAX_FEATURES]), ValueError, "limit"),
        (lambda s: double_descent.threshold_grid(1), ValueError, "n_train"),
        (lambda s: double_descent.threshold_grid(100, n_log=True), TypeError, "n_log"),
        (lambda s: double_descent.curve(s), TypeError, "result"),
        (lambda s: double_descent.curve(_hand_sweep(), ridge=0.1), ValueError, "ridge"),
    ],
)
def test_bad_inputs_name_the_argument(split, call, exc, match):
    with pytest.raises(exc, match=match):
        call(split)


def test_curve_needs_a_size_below_the_threshold():
    s = _hand_sweep()
    above = double_descent.Sweep(
        s.n_features, s.ratio + 1, s.ridges, s.test_mse, s.train_mse, s.test_error, s.coef_norm
    )
    with pytest.raises(ValueError, match="below the threshold"):
        double_descent.curve(above)
