"""Tests of nnbook.sgd: gradient descent on least squares against lstsq and the eigenvalue bound, the logistic unit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnbook import sgd
from nnbook.training import TrainConfig, train

_X = np.random.default_rng(0).standard_normal((12, 3))
_Y = np.random.default_rng(1).standard_normal(12)
_Xl, _yl = sgd.two_gaussians(6, rng=0)

VALID_CALLS = {
    "least_squares_gd": lambda: {"X": _X, "y": _Y, "lr": 0.1, "n_steps": 5},
    "hessian_eigenvalues": lambda: {"X": _X},
    "max_stable_lr": lambda: {"X": _X},
    "gd_contraction": lambda: {"X": _X, "lr": 0.1},
    "gd_closed_form": lambda: {"X": _X, "y": _Y, "lr": 0.1, "n_steps": 5},
    "null_space_norm": lambda: {"X": _X[:2], "v": np.ones(3)},
    "regression_problem": lambda: {"n": 20, "p": 3, "condition": 10.0, "rng": 0},
    "logistic_sgd": lambda: {"X": _Xl, "y": _yl, "lr": 0.1, "n_epochs": 2, "batch_size": 3, "rng": 0},
}


def lstsq(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def test_gd_converges_to_lstsq():
    X, y = sgd.regression_problem(100, 5, condition=5.0, noise=0.3, rng=2)
    run = sgd.least_squares_gd(X, y, lr=sgd.max_stable_lr(X) / 2, n_steps=400)
    np.testing.assert_allclose(run.w, lstsq(X, y), rtol=1e-10, atol=1e-12)
    assert run.loss.shape == (401,) and run.w.shape == (5,)


def test_loss_is_evaluated_before_each_step_and_after_the_last():
    w0 = np.array([0.5, -1.0, 2.0])
    run = sgd.least_squares_gd(_X, _Y, lr=0.05, n_steps=3, w0=w0)
    w, expected = w0.copy(), []
    for t in range(4):
        r = _X @ w - _Y
        expected.append(r @ r / (2 * len(_Y)))
        if t < 3:
            w = w - 0.05 * _X.T @ r / len(_Y)
    np.testing.assert_allclose(run.loss, expected, rtol=1e-14)
    np.testing.assert_allclose(run.w, w, rtol=1e-14)


def test_w0_defaults_to_zero_and_is_not_modified():
    w0 = np.ones(3)
    a = sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=4, w0=w0)
    assert np.array_equal(w0, np.ones(3))
    b = sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=4)
    c = sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=4, w0=np.zeros(3))
    assert not np.allclose(a.w, b.w)
    np.testing.assert_array_equal(b.w, c.w)
    assert sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=0).loss[0] == pytest.approx(_Y @ _Y / 24, rel=1e-14)


def test_max_stable_lr_is_two_over_the_top_eigenvalue():
    X = np.random.default_rng(3).standard_normal((30, 4)) * [1.0, 2.0, 3.0, 4.0]
    top = np.linalg.eigvalsh(X.T @ X / 30)[-1]
    assert sgd.max_stable_lr(X) == pytest.approx(2 / top, rel=1e-12)
    wide = np.random.default_rng(4).standard_normal((5, 40))  # p > n uses the n x n Gram matrix
    assert sgd.max_stable_lr(wide) == pytest.approx(2 / np.linalg.eigvalsh(wide.T @ wide / 5)[-1], rel=1e-10)


@pytest.mark.parametrize(("fraction", "converges"), [(0.98, True), (1.02, False)])
def test_the_bound_separates_convergence_from_divergence(fraction, converges):
    X, y = sgd.regression_problem(50, 4, condition=3.0, noise=0.1, rng=5)
    run = sgd.least_squares_gd(X, y, lr=fraction * sgd.max_stable_lr(X), n_steps=2000)
    excess = run.loss - np.sum((X @ lstsq(X, y) - y) ** 2) / 100
    assert (excess[-1] < 1e-8 * excess[0]) == converges
    if not converges:
        assert excess[-1] > 1e3 * excess[0]


def test_overflow_raises_a_named_error():
    with pytest.raises(ValueError, match="lr"):
        sgd.least_squares_gd(_X, _Y, lr=1e150, n_steps=50)


def test_hessian_eigenvalues_match_eigvalsh():
    np.testing.assert_allclose(sgd.hessian_eigenvalues(_X), np.linalg.eigvalsh(_X.T @ _X / 12), rtol=1e-12)
    wide = sgd.hessian_eigenvalues(_X.T)  # 3 x 12: nine zero eigenvalues
    assert wide.shape == (12,) and np.allclose(wide[:9], 0) and np.all(np.diff(wide) >= 0)


def test_contraction_predicts_the_measured_rate():
    X, y = sgd.regression_problem(80, 6, condition=20.0, noise=0.2, rng=6)
    lr = sgd.max_stable_lr(X) / 2
    rho = sgd.gd_contraction(X, lr)
    assert rho == pytest.approx(1 - 1 / 20, rel=1e-10)
    excess = sgd.least_squares_gd(X, y, lr, 300).loss - np.sum((X @ lstsq(X, y) - y) ** 2) / 160
    assert (excess[300] / excess[200]) ** (1 / 100) == pytest.approx(rho**2, rel=1e-4)
    lam = sgd.hessian_eigenvalues(X)
    best = 2 / (lam[0] + lam[-1])
    assert sgd.gd_contraction(X, best) == pytest.approx((20 - 1) / (20 + 1), rel=1e-10)


@pytest.mark.parametrize("shape", [(30, 5), (6, 20)])
def test_closed_form_equals_the_iteration(shape):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal(shape), rng.standard_normal(shape[0])
    lr = 0.7 * sgd.max_stable_lr(X)
    steps = np.array([0, 1, 5, 40])
    closed = sgd.gd_closed_form(X, y, lr, steps)
    for j, t in enumerate(steps):
        np.testing.assert_allclose(closed[:, j], sgd.least_squares_gd(X, y, lr, int(t)).w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sgd.gd_closed_form(X, y, lr, 40), closed[:, -1], rtol=1e-14)


def test_closed_form_tends_to_the_minimum_norm_solution():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((6, 20)), rng.standard_normal(6)
    w = sgd.gd_closed_form(X, y, 0.5 * sgd.max_stable_lr(X), 10**9)
    np.testing.assert_allclose(w, np.linalg.pinv(X) @ y, rtol=1e-8, atol=1e-10)


def test_closed_form_rejects_unstable_steps():
    with pytest.raises(ValueError, match="lr"):
        sgd.gd_closed_form(_X, _Y, 1.01 * sgd.max_stable_lr(_X), 3)


def test_null_space_norm_is_the_part_outside_the_row_span():
    rng = np.random.default_rng(9)
    X, v = rng.standard_normal((4, 10)), rng.standard_normal(10)
    projected = np.linalg.pinv(X) @ (X @ v)
    assert sgd.null_space_norm(X, v) == pytest.approx(np.linalg.norm(v - projected), rel=1e-10)
    assert sgd.null_space_norm(X, X.T @ rng.standard_normal(4)) < 1e-12
    assert sgd.null_space_norm(np.zeros((2, 3)), np.ones(3)) == pytest.approx(np.sqrt(3))


def test_gradient_descent_never_changes_the_null_space_component():
    rng = np.random.default_rng(10)
    X, y, w0 = rng.standard_normal((5, 12)), rng.standard_normal(5), rng.standard_normal(12)
    w = sgd.least_squares_gd(X, y, 0.5 * sgd.max_stable_lr(X), 200, w0=w0).w
    assert sgd.null_space_norm(X, w) == pytest.approx(sgd.null_space_norm(X, w0), rel=1e-10)


def test_regression_problem_has_the_requested_spectrum_and_is_seeded():
    X, y = sgd.regression_problem(40, 4, condition=7.0, rng=11)
    np.testing.assert_allclose(sgd.hessian_eigenvalues(X), [1.0, 3.0, 5.0, 7.0], rtol=1e-12)
    X2, y2 = sgd.regression_problem(40, 4, condition=7.0, rng=11)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_two_gaussians_layout_and_seed():
    X, y = sgd.two_gaussians(25, rng=3)
    assert X.shape == (50, 3) and np.all(X[:, 0] == 1) and set(y.tolist()) == {0.0, 1.0} and y.sum() == 25
    np.testing.assert_array_equal(X, sgd.two_gaussians(25, rng=3)[0])
    assert not np.array_equal(X, sgd.two_gaussians(25, rng=4)[0])


def mean_cross_entropy(w, X, y):
    p = 1 / (1 + np.exp(-X @ w))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_full_batch_logistic_by_hand():
    w0 = np.array([0.1, -0.2, 0.3])
    run = sgd.logistic_sgd(_Xl, _yl, lr=0.5, n_epochs=3, w0=w0)
    w = w0.copy()
    for _ in range(3):
        w = w - 0.5 * _Xl.T @ (1 / (1 + np.exp(-_Xl @ w)) - _yl) / len(_yl)
    np.testing.assert_allclose(run.w, w, rtol=1e-14)
    for k in range(4):
        assert run.loss[k] == pytest.approx(mean_cross_entropy(run.weights[k], _Xl, _yl), rel=1e-12)
    assert run.examples.tolist() == [0, 12, 24, 36] and run.batch_size == 12


def test_the_update_is_the_gradient_of_the_mean_cross_entropy():
    w0 = np.array([0.3, 0.1, -0.4])
    step = sgd.logistic_sgd(_Xl, _yl, lr=1.0, n_epochs=1, w0=w0).weights[1] - w0  # = -gradient
    eps = 1e-6
    numerical = [
        (mean_cross_entropy(w0 + eps * e, _Xl, _yl) - mean_cross_entropy(w0 - eps * e, _Xl, _yl)) / (2 * eps)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(-step, numerical, rtol=1e-7, atol=1e-10)


def test_mini_batches_visit_every_example_once_per_epoch():
    run = sgd.logistic_sgd(_Xl, _yl, lr=0.1, n_epochs=2, batch_size=5, rng=0)  # 12 = 5 + 5 + 2
    assert run.weights.shape == (7, 3)
    assert run.examples.tolist() == [0, 5, 10, 12, 17, 22, 24]


def test_single_sample_update_by_hand():
    run = sgd.logistic_sgd(_Xl, _yl, lr=0.3, n_epochs=1, batch_size=1, rng=5)
    order = np.random.default_rng(5).permutation(len(_yl))
    x, t = _Xl[order[0]], _yl[order[0]]
    p = 1 / (1 + np.exp(-x @ np.zeros(3)))
    np.testing.assert_allclose(run.weights[1], -0.3 * (p - t) * x, rtol=1e-14)


def test_logistic_sgd_same_seed_same_result():
    a = sgd.logistic_sgd(_Xl, _yl, lr=0.2, n_epochs=3, batch_size=2, rng=7)
    b = sgd.logistic_sgd(_Xl, _yl, lr=0.2, n_epochs=3, batch_size=2, rng=7)
    c = sgd.logistic_sgd(_Xl, _yl, lr=0.2, n_epochs=3, batch_size=2, rng=8)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


def test_logistic_unit_by_autograd_gives_the_same_weights():
    unit = torch.nn.Linear(3, 1, bias=False, dtype=torch.float64)
    torch.nn.init.zeros_(unit.weight)
    config = TrainConfig(lr=0.4, epochs=5, batch_size=None, loss="binary_cross_entropy", device="cpu")
    train(unit, config, (_Xl, _yl))
    run = sgd.logistic_sgd(_Xl, _yl, lr=0.4, n_epochs=5)
    np.testing.assert_allclose(unit.weight.detach().numpy()[0], run.w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: sgd.least_squares_gd(_X, _Y, lr=0.0, n_steps=3), ValueError, "lr"),
        (lambda: sgd.least_squares_gd(_X, _Y, lr=float("nan"), n_steps=3), ValueError, "lr"),
        (lambda: sgd.least_squares_gd(_X, _Y, lr=-0.1, n_steps=3), ValueError, "lr"),
        (lambda: sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=-1), ValueError, "n_steps"),
        (lambda: sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=2.5), TypeError, "n_steps"),
        (lambda: sgd.least_squares_gd(_X, _Y[:5], lr=0.1, n_steps=3), ValueError, "y"),
        (lambda: sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=3, w0=np.ones(4)), ValueError, "w0"),
        (lambda: sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=10**9), ValueError, "n_steps"),
        (lambda: sgd.max_stable_lr(np.zeros((3, 2))), ValueError, "X"),
        (lambda: sgd.gd_closed_form(_X, _Y, 0.1, [-1]), ValueError, "n_steps"),
        (lambda: sgd.logistic_sgd(_Xl, _yl * 3, lr=0.1, n_epochs=1), ValueError, "y"),
        (lambda: sgd.logistic_sgd(_Xl, _yl, lr=0.1, n_epochs=1, batch_size=13), ValueError, "batch_size"),
        (lambda: sgd.regression_problem(5, 6, condition=2.0), ValueError, "p"),
        (lambda: sgd.regression_problem(5, 2, condition=0.5), ValueError, "condition"),
    ],
)
def test_bad_inputs_raise_named_errors(call, error, name):
    with pytest.raises(error, match=name):
        call()


# The size limits are set by the work each function does: exactly at the limit it runs, one more and it refuses,
# naming the argument. The limits are lowered for the test so that the sizes stay small.
@pytest.mark.parametrize(
    ("call", "limit", "work", "name"),
    [
        (lambda: sgd.least_squares_gd(_X, _Y, lr=0.1, n_steps=5), "MAX_WORK", 5 * 12 * 3, "n_steps"),
        (lambda: sgd.hessian_eigenvalues(_X[:4]), "MAX_WORK_SVD", 4 * 3 * 3, "X"),
        (lambda: sgd.max_stable_lr(_X[:2]), "MAX_WORK_SVD", 2 * 3 * 2, "X"),
        (lambda: sgd.gd_closed_form(_X[:4], _Y[:4], 0.1, 3), "MAX_WORK_SVD", 4 * 3 * 3, "X"),
        (lambda: sgd.null_space_norm(_X[:2], np.ones(3)), "MAX_WORK_SVD", 2 * 3 * 2, "X"),
        (lambda: sgd.regression_problem(7, 3, condition=2.0, rng=0), "MAX_WORK_SVD", 7 * 3 * 3, "p"),
        (
            lambda: sgd.logistic_sgd(_Xl, _yl, lr=0.1, n_epochs=2, batch_size=5, rng=0),
            "MAX_WORK",
            2 * 3 * 12 * 3,
            "n_epochs",
        ),
    ],
)
def test_work_limits_are_exact_and_named(monkeypatch, call, limit, work, name):
    monkeypatch.setattr(sgd, limit, work)
    call()
    monkeypatch.setattr(sgd, limit, work - 1)
    with pytest.raises(ValueError, match=rf"^{name} asks for {work} "):
        call()


def test_argument_checks_name_the_argument_at_the_boundary():
    X, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 2.0])
    for call in (
        lambda lr: sgd.least_squares_gd(X, y, lr=lr, n_steps=1),
        lambda lr: sgd.gd_contraction(X, lr),
        lambda lr: sgd.gd_closed_form(X, y, lr, 1),
        lambda lr: sgd.logistic_sgd(X, np.array([0.0, 1.0]), lr=lr, n_epochs=1),
    ):
        with pytest.raises(ValueError, match=r"^lr must be a real number > 0\.0, got 0\.0$"):
            call(0.0)
        call(1e-300)  # any positive step is accepted
    for bad in (1.5, [[1, 2]]):
        with pytest.raises(ValueError, match=r"^n_steps must"):
            sgd.gd_closed_form(X, y, 0.1, bad)
    assert sgd.least_squares_gd(X, y, 0.1, n_steps=0).loss.shape == (1,)
    with pytest.raises(ValueError, match=r"^n_steps must be an integer >= 0, got -1$"):
        sgd.least_squares_gd(X, y, 0.1, n_steps=-1)
    with pytest.raises(ValueError, match=r"^X must have at least one column"):
        sgd.least_squares_gd(np.ones((2, 0)), y, 0.1, 1)
    with pytest.raises(ValueError, match=r"^X must have"):
        sgd.least_squares_gd(np.ones(2), y, 0.1, 1)
    with pytest.raises(ValueError, match=r"^y must have"):
        sgd.least_squares_gd(X, np.ones((2, 1)), 0.1, 1)
    with pytest.raises(ValueError, match=r"^w0 must have"):
        sgd.least_squares_gd(X, y, 0.1, 1, w0=np.ones(3))
    with pytest.raises(ValueError, match=r"^v must have"):
        sgd.null_space_norm(X, np.ones(3))
    with pytest.raises(ValueError, match=r"^X must have"):
        sgd.hessian_eigenvalues(np.ones(3))
    with pytest.raises(ValueError, match=r"^X must have"):
        sgd.max_stable_lr(np.ones(3))
    for bad in (-0.5, 1.5):
        with pytest.raises(ValueError, match=r"^y must hold labels in \[0, 1\]$"):
            sgd.logistic_sgd(X, np.array([0.0, bad]), lr=0.1, n_epochs=1)
    sgd.logistic_sgd(X, np.array([0.0, 1.0]), lr=0.1, n_epochs=0)  # labels 0 and 1 themselves are fine
    with pytest.raises(ValueError, match=r"^n_epochs must be an integer >= 0, got -1$"):
        sgd.logistic_sgd(X, np.array([0.0, 1.0]), lr=0.1, n_epochs=-1)
    for size in (0, 3):
        with pytest.raises(ValueError, match=rf"^batch_size must be an integer >= 1 and <= 2, got {size}$"):
            sgd.logistic_sgd(X, np.array([0.0, 1.0]), lr=0.1, n_epochs=1, batch_size=size)
    with pytest.raises(ValueError, match=r"^w0 must have"):
        sgd.logistic_sgd(X, np.array([0.0, 1.0]), lr=0.1, n_epochs=1, w0=np.ones(3))


def test_generator_checks_name_the_argument_at_the_boundary():
    X, _ = sgd.regression_problem(1, 1, condition=1.0, noise=0.0, rng=0)  # the smallest problem
    assert X.shape == (1, 1) and sgd.regression_problem(10**6, 1, condition=1.0, rng=0)[0].shape == (10**6, 1)
    for kwargs, message in [
        ({"n": 0, "p": 1}, r"^n must be an integer >= 1 and <= 1000000, got 0$"),
        ({"n": 10**6 + 1, "p": 1}, r"^n must be an integer >= 1 and <= 1000000, got 1000001$"),
        ({"n": 3, "p": 0}, r"^p must be an integer >= 1 and <= 3, got 0$"),
        ({"n": 3, "p": 1, "condition": 0.999}, r"^condition must be a real number >= 1"),
        ({"n": 3, "p": 1, "noise": -1e-9}, r"^noise must be a real number >= 0"),
        ({"n": 3, "p": 1, "rng": "seed"}, r"^rng must"),
    ]:
        with pytest.raises((TypeError, ValueError), match=message):
            sgd.regression_problem(**{"condition": 2.0, **kwargs})
    assert sgd.two_gaussians(1, rng=0)[0].shape == (2, 3)
    for size in (0, 10**6 + 1):
        with pytest.raises(ValueError, match=rf"^n_per_class must be an integer >= 1 and <= 1000000, got {size}$"):
            sgd.two_gaussians(size)
    with pytest.raises(ValueError, match=r"^means must have"):
        sgd.two_gaussians(3, means=((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))
    with pytest.raises(TypeError, match=r"^rng must"):
        sgd.two_gaussians(3, rng="seed")


def test_regression_problem_noise_is_the_residual_of_the_true_weights():
    # y = X w + noise * e: the residual of the least-squares fit has the size of the noise, and noise=0 fits exactly.
    X, y = sgd.regression_problem(4000, 3, condition=2.0, noise=0.5, rng=1)
    residual = y - X @ lstsq(X, y)
    assert np.std(residual) == pytest.approx(0.5, rel=0.05)
    X0, y0 = sgd.regression_problem(50, 3, condition=2.0, noise=0.0, rng=1)
    assert np.max(np.abs(y0 - X0 @ lstsq(X0, y0))) < 1e-12
    default = sgd.regression_problem(4000, 3, condition=2.0, rng=1)[1]
    assert np.std(default - X @ lstsq(X, default)) == pytest.approx(0.1, rel=0.05)


def test_two_gaussians_classes_have_the_requested_means():
    X, y = sgd.two_gaussians(20000, means=((3.0, -1.0), (-2.0, 0.5)), rng=0)
    np.testing.assert_allclose(X[y == 1, 1:].mean(axis=0), [3.0, -1.0], atol=0.05)
    np.testing.assert_allclose(X[y == 0, 1:].mean(axis=0), [-2.0, 0.5], atol=0.05)
    X, y = sgd.two_gaussians(20000, rng=0)  # the default means
    np.testing.assert_allclose(X[y == 1, 1:].mean(axis=0), [2.0, 1.0], atol=0.05)
    np.testing.assert_allclose(X[y == 0, 1:].mean(axis=0), [1.0, 0.0], atol=0.05)
    assert sgd.two_gaussians(rng=0)[0].shape == (80, 3)  # 40 per class by default
    assert not np.all(np.diff(y[:200]) >= 0) and not np.all(np.diff(y[:200]) <= 0)  # the rows are shuffled


def test_two_gaussians_covariances_are_random_and_positive_semidefinite():
    X, y = sgd.two_gaussians(20000, rng=2)
    covariances = [np.cov(X[y == label, 1:].T) for label in (1.0, 0.0)]
    for cov in covariances:
        assert np.all(np.linalg.eigvalsh(cov) >= -1e-9) and np.trace(cov) < 2 * 2.0 + 0.1  # S^T S, S uniform on [0, 1)
    assert not np.allclose(covariances[0], covariances[1], atol=0.05)  # one draw of S per class


def test_closed_form_on_exact_spectra():
    # X = diag(3, 2, 1): the eigenvalues of X^T X are 9, 4, 1 and the bound 2 n / 9 = 2 / 3 is exact.
    X, y = np.diag([3.0, 2.0, 1.0]), np.array([1.0, -2.0, 0.5])
    with pytest.raises(ValueError, match=r"^lr must be below max_stable_lr\(X\) = 0\.666667, got 0\.6666666666666666$"):
        sgd.gd_closed_form(X, y, 2.0 / 3.0, 5)
    lr, t = 0.6, 7
    expected = [(1 - (1 - lr * m / 3) ** t) / m * b for m, b in zip([9.0, 4.0, 1.0], X.T @ y, strict=True)]
    np.testing.assert_allclose(sgd.gd_closed_form(X, y, lr, t), expected, rtol=1e-12)
    small = 0.1 * X  # eigenvalues of X^T X below one
    iterated = sgd.least_squares_gd(small, y, 30.0, 9).w
    np.testing.assert_allclose(sgd.gd_closed_form(small, y, 30.0, 9), iterated, rtol=1e-10)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2)])
def test_closed_form_on_rank_deficient_inputs(shape):
    # Exactly zero eigenvalues: the iterate stays finite and equals the iteration; an all-zero X is refused.
    X = np.zeros(shape)
    X[0, 0] = 0.5  # one eigenvalue 0.25 of X^T X, the others exactly zero
    y = np.arange(1.0, shape[0] + 1)
    np.testing.assert_allclose(sgd.gd_closed_form(X, y, 1.0, [0, 3]), np.column_stack(
        [sgd.least_squares_gd(X, y, 1.0, t).w for t in (0, 3)]), rtol=1e-13, atol=1e-15)  # fmt: skip
    with pytest.raises(ValueError, match=r"^X must not be all zero"):
        sgd.gd_closed_form(np.zeros(shape), y, 0.1, 3)
    with pytest.raises(ValueError, match=r"^X must not be all zero"):
        sgd.gd_contraction(np.zeros(shape), 0.1)
    with pytest.raises(ValueError, match=r"^X must not be all zero"):
        sgd.max_stable_lr(np.zeros(shape))


def test_closed_form_is_accurate_for_tiny_steps_along_an_eigenvector():
    # lr mu / n = 2.5e-13 along the second axis: 1 - (1 - x)^t computed by powers would lose four digits.
    X, y = np.diag([1.0, 1e-6]), np.array([1.0, 1.0])
    w = sgd.gd_closed_form(X, y, 0.5, 1000)
    np.testing.assert_allclose(w, sgd.least_squares_gd(X, y, 0.5, 1000).w, rtol=1e-9)
    assert w[1] == pytest.approx(1000 * 0.5 / 2 * 1e-6, rel=1e-9)  # the limit lr t / n times X^T y


def test_contraction_uses_the_positive_eigenvalues_only():
    X = np.diag([2.0, 1.0, 0.0])  # H = diag(4/3, 1/3, 0): the zero is left out
    assert sgd.gd_contraction(X, 0.3) == pytest.approx(max(abs(1 - 0.3 * 4 / 3), abs(1 - 0.3 / 3)), rel=1e-14)
    assert sgd.gd_contraction(X, 1.4) == pytest.approx(abs(1 - 1.4 * 4 / 3), rel=1e-14)
    assert sgd.hessian_eigenvalues(X).tolist() == pytest.approx([0.0, 1 / 3, 4 / 3], abs=1e-15)
    assert sgd.hessian_eigenvalues(np.ones((1, 3))).tolist() == pytest.approx([0.0, 0.0, 3.0])  # p > n: zeros


def test_null_space_norm_rank_and_wide_inputs():
    X = np.array([[1.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0], [0.0, 1e-3, 0.0, 0.0]])  # rank 2, a small pivot
    v = np.array([5.0, 3.0, 5.0, 12.0])
    assert sgd.null_space_norm(X, v) == pytest.approx(13.0, rel=1e-14)
    assert sgd.null_space_norm(X.T[:, :1].T, v) == pytest.approx(np.sqrt(9 + 25 + 144), rel=1e-14)
    assert sgd.null_space_norm(np.eye(4), v) == pytest.approx(0.0, abs=1e-14)


def test_contraction_leaves_out_eigenvalues_below_a_trillionth_of_the_largest():
    # H = diag(1e-13, 1e-12, 100): only 100 counts, so lr = 1/100 contracts to 0; with two eigenvalues, 1e-13 of 1
    X = np.diag(np.sqrt(3 * np.array([1e-13, 1e-12, 100.0])))
    assert sgd.gd_contraction(X, 0.01) == pytest.approx(0.0, abs=1e-12)
    X2 = np.diag(np.sqrt(2 * np.array([1e-13, 1.0])))
    assert sgd.gd_contraction(X2, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_null_space_norm_rank_tolerance_scales_with_the_size():
    # A pivot 1e-16 of the largest is below max(n, p) * eps: it counts as zero, so e_2 is outside the row span.
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1e-16, 0.0]])
    assert sgd.null_space_norm(X, np.array([0.0, 1.0, 0.0])) == pytest.approx(1.0, rel=1e-14)
    X[1, 1] = 1e-14  # above the tolerance: part of the span
    assert sgd.null_space_norm(X, np.array([0.0, 1.0, 0.0])) == pytest.approx(0.0, abs=1e-14)


def test_two_gaussians_follows_its_documented_recipe():
    # Oracle: the recipe of the docstring written out with the same generator, one class after the other.
    rng = np.random.default_rng(5)
    points = []
    for mean in ((2.0, 1.0), (1.0, 0.0)):
        S = rng.uniform(size=(2, 2))
        points.append(rng.multivariate_normal(mean, S.T @ S, size=7, method="eigh"))
    X = np.column_stack([np.ones(14), np.concatenate(points)])
    y = np.r_[np.ones(7), np.zeros(7)]
    order = rng.permutation(14)
    got_X, got_y = sgd.two_gaussians(7, rng=5)
    np.testing.assert_array_equal(got_X, X[order])
    np.testing.assert_array_equal(got_y, y[order])


def test_regression_problem_follows_its_documented_recipe():
    # Oracle: X = sqrt(n) U diag(s) V^T, y = X w + noise e, drawn in that order from the same generator.
    rng = np.random.default_rng(4)
    U = np.linalg.qr(rng.standard_normal((30, 3)))[0]
    V = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    X = np.sqrt(30) * U @ np.diag(np.sqrt([1.0, 2.5, 4.0])) @ V.T
    y = X @ rng.standard_normal(3) + 0.7 * rng.standard_normal(30)
    got_X, got_y = sgd.regression_problem(30, 3, condition=4.0, noise=0.7, rng=4)
    np.testing.assert_allclose(got_X, X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_y, y, rtol=1e-12, atol=1e-12)
