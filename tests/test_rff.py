"""Random Fourier features, minimum-norm least squares and the kernel limit, against numpy oracles."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook import data, rff


def _tiny_split() -> data.Split:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3)) / 2
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    return data.Split(X[:8], y[:8], X[8:], y[8:])


# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
VALID_CALLS = {
    "sample_frequencies": lambda: {"n_inputs": 3, "n_features": 4, "rng": 0},
    "fourier_features": lambda: {"X": np.ones((4, 3)), "V": np.ones((3, 2))},
    "fit_min_norm": lambda: {"Phi": np.eye(3)[:, :2], "y": np.ones(3), "ridge": 0.1},
    "gaussian_kernel": lambda: {"A": np.zeros((2, 3)), "B": np.ones((4, 3))},
    "kernel_limit": lambda: {"split": _tiny_split()},
    "smallest_singular_values": lambda: {"Phi": np.eye(4), "widths": [1, 3]},
}


def _problem(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)), rng.standard_normal(n)


def test_fourier_features_interleaves_cos_and_sin():
    rng = np.random.default_rng(1)
    X, V = rng.standard_normal((7, 3)), rng.standard_normal((3, 5))
    Phi = rff.fourier_features(X, V)
    assert Phi.shape == (7, 10)
    for i in range(7):  # oracle: one entry at a time
        for k in range(5):
            assert Phi[i, 2 * k] == pytest.approx(np.cos(sum(X[i, j] * V[j, k] for j in range(3))), abs=1e-14)
            assert Phi[i, 2 * k + 1] == pytest.approx(np.sin(sum(X[i, j] * V[j, k] for j in range(3))), abs=1e-14)
    np.testing.assert_array_equal(rff.fourier_features(X, V[:, :2]), Phi[:, :4])  # nested models share columns


def test_sample_frequencies_seeded_and_standard_normal():
    a = rff.sample_frequencies(64, 500, rng=3)
    np.testing.assert_array_equal(a, rff.sample_frequencies(64, 500, rng=3))
    np.testing.assert_array_equal(a, np.random.default_rng(3).standard_normal((64, 500)))
    assert a.shape == (64, 500)
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02
    assert not np.array_equal(a, rff.sample_frequencies(64, 500, rng=4))


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
    z = np.linalg.svd(Phi)[2][-1]  # any other interpolant a + z with z in the null space is longer
    assert np.linalg.norm(a) < np.linalg.norm(a + 0.1 * z)
    coeffs = np.linalg.lstsq(Phi.T, a, rcond=None)[0]
    np.testing.assert_allclose(Phi.T @ coeffs, a, atol=1e-10)


def test_rank_deficient_falls_back_to_pinv():
    Phi, y = _problem(20, 6)
    Phi = np.hstack([Phi, Phi[:, :2]])  # duplicated columns: rank 6 of 8
    np.testing.assert_allclose(rff.fit_min_norm(Phi, y), np.linalg.pinv(Phi) @ y, atol=1e-10)


@pytest.mark.parametrize(("n", "p"), [(40, 10), (20, 60)])
@pytest.mark.parametrize("ridge", [1e-4, 1e-2, 3.0])
@pytest.mark.parametrize("order", ["C", "F"])  # both memory layouts reach BLAS without a copy, by different routes
def test_ridge_matches_closed_form_primal_and_dual(n, p, ridge, order):
    Phi, y = _problem(n, p, seed=2)
    Phi = np.asarray(Phi, order=order)
    # oracle: ordinary least squares on the augmented system [Phi; sqrt(ridge) I] a = [y; 0]
    augmented = np.vstack([Phi, np.sqrt(ridge) * np.eye(p)])
    expected = np.linalg.lstsq(augmented, np.concatenate([y, np.zeros(p)]), rcond=None)[0]
    np.testing.assert_allclose(rff.fit_min_norm(Phi, y, ridge=ridge), expected, rtol=1e-8, atol=1e-10)


def test_small_ridge_approaches_min_norm():
    Phi, y = _problem(10, 30, seed=4)
    np.testing.assert_allclose(rff.fit_min_norm(Phi, y, ridge=1e-10), rff.fit_min_norm(Phi, y), rtol=1e-6)


def test_smallest_singular_values_against_numpy():
    Phi, _ = _problem(6, 10, seed=8)
    expected = [np.linalg.svd(Phi[:, :p], compute_uv=False)[min(6, p) - 1] for p in (2, 6, 10)]
    np.testing.assert_allclose(rff.smallest_singular_values(Phi, [2, 6, 10]), expected, rtol=1e-12)


def test_gaussian_kernel_entry_by_entry():
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    K = rff.gaussian_kernel(A, B)
    expected = [[np.exp(-np.sum((a - b) ** 2) / 2) for b in B] for a in A]
    np.testing.assert_allclose(K, expected, rtol=1e-13)
    np.testing.assert_allclose(np.diag(rff.gaussian_kernel(A, A)), 1.0, rtol=1e-15)


def test_features_approach_the_kernel_as_n_grows():
    """Bochner: Phi Phi^T / N -> K; the Monte Carlo error shrinks like 1 / sqrt(N)."""
    X = np.random.default_rng(6).standard_normal((6, 4)) / 2
    K = rff.gaussian_kernel(X, X)
    errors = []
    for n_features in (1000, 100_000):
        Phi = rff.fourier_features(X, rff.sample_frequencies(4, n_features, rng=7))
        errors.append(np.abs(Phi @ Phi.T / n_features - K).max())
    assert errors[1] < 0.02 and errors[1] < errors[0] / 3


def _small_split(seed: int = 9, n: int = 30, d: int = 5) -> data.Split:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2 * n, d)) / np.sqrt(d)
    y = np.sign(X[:, 0] + 0.3 * rng.standard_normal(2 * n))
    y[y == 0] = 1.0
    return data.Split(X[:n], y[:n], X[n:], y[n:])


def test_kernel_limit_against_a_direct_solve():
    split = _small_split()
    K = np.array([[np.exp(-np.sum((a - b) ** 2) / 2) for b in split.X_train] for a in split.X_train])
    c = np.linalg.solve(K, split.y_train)
    pred = np.array([[np.exp(-np.sum((a - b) ** 2) / 2) for b in split.X_train] for a in split.X_test]) @ c
    fit = rff.kernel_limit(split)
    np.testing.assert_allclose(fit.test_mse, np.mean((pred - split.y_test) ** 2), rtol=1e-8)
    assert fit.test_error == np.mean(np.sign(pred) != split.y_test)
    assert 0 < fit.test_error < 0.5  # informative labels: neither perfect nor chance on this seed
    assert fit.train_mse < 1e-20  # interpolates
    eig = np.linalg.eigvalsh(K)
    np.testing.assert_allclose(fit.condition_number, eig[-1] / eig[0], rtol=1e-6)


def test_min_norm_rff_predictions_approach_the_kernel_limit():
    split = _small_split(n=12)
    V = rff.sample_frequencies(5, 100_000, rng=10)
    Phi, Phi_test = rff.fourier_features(split.X_train, V), rff.fourier_features(split.X_test, V)
    pred = Phi_test @ rff.fit_min_norm(Phi, split.y_train)
    fit = rff.kernel_limit(split)
    np.testing.assert_allclose(np.mean((pred - split.y_test) ** 2), fit.test_mse, rtol=0.05)


def test_kernel_limit_rejects_repeated_inputs():
    split = _small_split()
    X = split.X_train.copy()
    X[1] = X[0]
    with pytest.raises(ValueError, match="repeated"):
        rff.kernel_limit(data.Split(X, split.y_train, split.X_test, split.y_test))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"Phi": np.ones(3), "y": np.ones(3)}, ValueError, "Phi"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(4)}, ValueError, "y"),
        ({"Phi": np.ones((3, 2)), "y": np.ones((3, 1))}, ValueError, "y"),
        ({"Phi": np.array([[1.0, np.nan]]), "y": np.ones(1)}, ValueError, "Phi"),
        ({"Phi": np.ones((1, 2)), "y": np.array([np.inf])}, ValueError, "y"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(3), "ridge": -1.0}, ValueError, "ridge"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(3), "ridge": np.nan}, ValueError, "ridge"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(3), "ridge": "0"}, TypeError, "ridge"),
        ({"Phi": np.ones((3, 2)), "y": np.ones(3), "ridge": 1j}, TypeError, "ridge"),
        ({"Phi": [["a"]], "y": np.ones(1)}, TypeError, "Phi"),
        ({"Phi": np.ones((3, 0)), "y": np.ones(3)}, ValueError, "Phi"),
    ],
)
def test_fit_min_norm_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rff.fit_min_norm(**kwargs)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: rff.fourier_features(np.ones((3, 2)), np.ones((3, 4))), ValueError, "V must have shape"),
        (lambda: rff.fourier_features(np.ones(3), np.ones((3, 4))), ValueError, "X"),
        (lambda: rff.sample_frequencies(3, 0), ValueError, "n_features"),
        (lambda: rff.sample_frequencies(3, rff.MAX_FEATURES + 1), ValueError, "n_features"),
        (lambda: rff.sample_frequencies(2.5, 3), TypeError, "n_inputs"),
        (lambda: rff.sample_frequencies(True, 3), TypeError, "n_inputs"),
        (lambda: rff.sample_frequencies(10**6, 10**4), ValueError, "limit"),
        (lambda: rff.sample_frequencies(3, 3, rng="x"), TypeError, "rng"),
        (lambda: rff.smallest_singular_values(np.ones((6, 10)), [11]), ValueError, "widths"),
        (lambda: rff.smallest_singular_values(np.ones((6, 10)), []), ValueError, "widths"),
        (lambda: rff.smallest_singular_values(np.ones((6, 10)), [1.5]), ValueError, "widths"),
        (lambda: rff.gaussian_kernel(np.ones((2, 3)), np.ones((2, 4))), ValueError, "B"),
        (lambda: rff.kernel_limit((1, 2, 3, 4)), TypeError, "split"),
        (
            lambda: rff.kernel_limit(data.Split(np.ones((2, 2)), np.array([1.0, 0.5]), np.ones((1, 2)), np.ones(1))),
            ValueError,
            "split.y_train",
        ),
    ],
)
def test_bad_inputs_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_smallest_singular_values_takes_a_flat_list_of_widths():
    with pytest.raises(ValueError, match=r"^widths must"):
        rff.smallest_singular_values(np.eye(4), [[1, 2], [3, 4]])
