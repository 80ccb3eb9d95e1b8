"""Random Fourier features and minimum-norm least squares against numpy's lstsq and pinv."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook import data, rff


def _problem(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)), rng.standard_normal(n)


def test_fourier_features_interleaves_cos_and_sin():
    rng = np.random.default_rng(1)
    X, V = rng.standard_normal((7, 3)), rng.standard_normal((3, 5))
    Phi = rff.fourier_features(X, V)
    assert Phi.shape == (7, 10)
    np.testing.assert_allclose(Phi[:, 0::2], np.cos(X @ V), rtol=0, atol=1e-15)
    np.testing.assert_allclose(Phi[:, 1::2], np.sin(X @ V), rtol=0, atol=1e-15)
    # nested models share columns
    np.testing.assert_array_equal(rff.fourier_features(X, V[:, :2]), Phi[:, :4])


def test_sample_frequencies_seeded_and_standard_normal():
    a = rff.sample_frequencies(64, 500, rng=3)
    np.testing.assert_array_equal(a, rff.sample_frequencies(64, 500, rng=3))
    assert a.shape == (64, 500)
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02


@pytest.mark.parametrize(("n", "p"), [(40, 10), (30, 30), (20, 60)])
def test_min_norm_matches_lstsq_and_pinv(n, p):
    Phi, y = _problem(n, p)
    a = rff.fit_min_norm(Phi, y)
    np.testing.assert_allclose(a, np.linalg.lstsq(Phi, y, rcond=None)[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a, np.linalg.pinv(Phi) @ y, rtol=1e-8, atol=1e-9)


def test_min_norm_interpolates_and_lies_in_row_space():
    Phi, y = _problem(15, 50)
    a = rff.fit_min_norm(Phi, y)
    np.testing.assert_allclose(Phi @ a, y, atol=1e-10)
    # any other interpolant a + z with z in the null space is longer
    z = np.linalg.svd(Phi)[2][-1]
    assert np.linalg.norm(a) < np.linalg.norm(a + 0.1 * z)
    coeffs = np.linalg.lstsq(Phi.T, a, rcond=None)[0]
    np.testing.assert_allclose(Phi.T @ coeffs, a, atol=1e-10)


def test_rank_deficient_falls_back_to_pinv():
    Phi, y = _problem(20, 6)
    Phi = np.hstack([Phi, Phi[:, :2]])  # duplicated columns: rank 6 of 8
    np.testing.assert_allclose(rff.fit_min_norm(Phi, y), np.linalg.pinv(Phi) @ y, atol=1e-10)


@pytest.mark.parametrize(("n", "p"), [(40, 10), (20, 60)])
@pytest.mark.parametrize("ridge", [1e-4, 1e-2, 3.0])
def test_ridge_matches_closed_form_primal_and_dual(n, p, ridge):
    Phi, y = _problem(n, p, seed=2)
    # oracle: ordinary least squares on the augmented system [Phi; sqrt(ridge) I] a = [y; 0]
    augmented = np.vstack([Phi, np.sqrt(ridge) * np.eye(p)])
    expected = np.linalg.lstsq(augmented, np.concatenate([y, np.zeros(p)]), rcond=None)[0]
    np.testing.assert_allclose(rff.fit_min_norm(Phi, y, ridge=ridge), expected, rtol=1e-8, atol=1e-10)


def test_small_ridge_approaches_min_norm():
    Phi, y = _problem(10, 30, seed=4)
    np.testing.assert_allclose(rff.fit_min_norm(Phi, y, ridge=1e-10), rff.fit_min_norm(Phi, y), rtol=1e-6)


def test_sweep_matches_fit_min_norm_per_size():
    split = data.digits_curvy()
    sizes = [3, 100, 449, 455, 600]
    result = rff.sweep(split, sizes, ridges=[0.0, 1e-3], n_draws=1, rng=5)
    V = rff.sample_frequencies(64, max(sizes), np.random.default_rng(5))
    Phi, Phi_test = rff.fourier_features(split.X_train, V), rff.fourier_features(split.X_test, V)
    for k, size in enumerate(sizes):
        for r, ridge in enumerate([0.0, 1e-3]):
            a = rff.fit_min_norm(Phi[:, : 2 * size], split.y_train, ridge=ridge)
            mse = np.mean((Phi_test[:, : 2 * size] @ a - split.y_test) ** 2)
            np.testing.assert_allclose(result.test_mse[r, 0, k], mse, rtol=1e-6)
            np.testing.assert_allclose(result.coef_norm[r, 0, k], np.linalg.norm(a), rtol=1e-6)
    np.testing.assert_allclose(result.ratio, 2 * np.array(sizes) / 898)


def test_sweep_same_seed_same_numbers():
    split = data.digits_curvy()
    a = rff.sweep(split, [5, 50], n_draws=2, rng=7)
    b = rff.sweep(split, [5, 50], n_draws=2, rng=7)
    np.testing.assert_array_equal(a.test_mse, b.test_mse)


def test_threshold_grid_is_dense_near_threshold():
    grid = rff.threshold_grid(898, max_features=2000)
    assert grid[0] == 1 and grid[-1] == 2000 and 449 in grid
    assert np.all(np.diff(grid) > 0)
    near = grid[(grid > 0.8 * 449) & (grid < 1.2 * 449)]
    assert near.size >= 20


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"Phi": np.ones(3), "y": np.ones(3)}, "Phi"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(4)}, "y"),
        ({"Phi": np.ones((3, 2)), "y": np.ones((3, 1))}, "y"),
        ({"Phi": np.array([[1.0, np.nan]]), "y": np.ones(1)}, "Phi"),
        ({"Phi": np.ones((1, 2)), "y": np.array([np.inf])}, "y"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(3), "ridge": -1.0}, "ridge"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(3), "ridge": np.nan}, "ridge"),
    ],
)
def test_fit_min_norm_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rff.fit_min_norm(**kwargs)


def test_bad_input_errors_name_the_argument():
    with pytest.raises(TypeError, match="ridge"):
        rff.fit_min_norm(np.ones((2, 2)), np.ones(2), ridge="0")
    with pytest.raises(TypeError, match="Phi"):
        rff.fit_min_norm([["a"]], np.ones(1))
    with pytest.raises(ValueError, match="V must have shape"):
        rff.fourier_features(np.ones((3, 2)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="X"):
        rff.fourier_features(np.ones(3), np.ones((3, 4)))
    with pytest.raises(ValueError, match="n_features"):
        rff.sample_frequencies(3, 0)
    with pytest.raises(ValueError, match="n_inputs"):
        rff.sample_frequencies(2.5, 3)
    split = data.digits_curvy()
    with pytest.raises(ValueError, match="n_features"):
        rff.sweep(split, [0, 3])
    with pytest.raises(ValueError, match="ridges"):
        rff.sweep(split, [3], ridges=[-1.0])
    with pytest.raises(ValueError, match="n_draws"):
        rff.sweep(split, [3], n_draws=0)
    with pytest.raises(ValueError, match="n_train"):
        rff.threshold_grid(1)


def test_smallest_singular_values_against_numpy():
    Phi, _ = _problem(6, 10, seed=8)
    expected = [np.linalg.svd(Phi[:, :p], compute_uv=False)[min(6, p) - 1] for p in (2, 6, 10)]
    np.testing.assert_allclose(rff.smallest_singular_values(Phi, [2, 6, 10]), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="widths"):
        rff.smallest_singular_values(Phi, [11])
    with pytest.raises(ValueError, match="widths"):
        rff.smallest_singular_values(Phi, [])
