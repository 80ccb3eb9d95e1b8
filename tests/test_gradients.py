"""Tests of nnbook.gradients: hand-derived gradients against autograd and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnbook import gradients as G
from nnbook import rff

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
# The element-wise functions take any shape, so their valid argument is a scalar (extra dimensions are legitimate).
VALID_CALLS = {
    "rff_loss": lambda: {"Phi": np.ones((3, 2)), "y": np.zeros(3), "a": np.ones(2)},
    "rff_loss_gradient": lambda: {"Phi": np.ones((3, 2)), "y": np.zeros(3), "a": np.ones(2)},
    "softmax": lambda: {"z": np.array([1.0, 2.0, 3.0]), "axis": -1},
    "log_softmax": lambda: {"z": np.array([1.0, 2.0, 3.0]), "axis": -1},
    "softmax_jacobian": lambda: {"z": np.array([1.0, 2.0, 3.0])},
    "softmax_cross_entropy": lambda: {"z": np.array([1.0, 2.0]), "y": np.array([0.0, 1.0])},
    "softmax_cross_entropy_gradient": lambda: {"z": np.array([1.0, 2.0]), "y": np.array([0.0, 1.0])},
    "sigmoid": lambda: {"z": 0.5},
    "sigmoid_derivative": lambda: {"z": 0.5},
    "log_sigmoid": lambda: {"z": 0.5},
    "logistic_loss": lambda: {"w": np.ones(2), "X": np.eye(2), "y": np.array([1.0, 0.0])},
    "logistic_loss_gradient": lambda: {"w": np.ones(2), "X": np.eye(2), "y": np.array([1.0, 0.0])},
}


def rff_problem(n=40, p=12, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    Phi = rff.fourier_features(rng.uniform(-1, 1, (n, 3)), rff.sample_frequencies(3, p // 2, rng=rng))
    return Phi.astype(dtype), rng.standard_normal(n).astype(dtype), rng.standard_normal(p).astype(dtype)


def torch_rff_gradient(Phi, y, a):
    at = torch.tensor(a, requires_grad=True)
    loss = ((torch.tensor(Phi) @ at - torch.tensor(y)) ** 2).mean()
    (grad,) = torch.autograd.grad(loss, at)
    return grad.numpy()


# --- the RFF least-squares objective -------------------------------------------------------------


def test_rff_gradient_matches_autograd_float64():
    Phi, y, a = rff_problem()
    g = G.rff_loss_gradient(Phi, y, a)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, torch_rff_gradient(Phi, y, a), rtol=0, atol=1e-13 * np.abs(g).max())


def test_rff_gradient_keeps_float32_and_matches_autograd_to_round_off():
    Phi, y, a = rff_problem(dtype=np.float32)
    g = G.rff_loss_gradient(Phi, y, a)
    assert g.dtype == np.float32
    assert G.relative_error(g, torch_rff_gradient(Phi, y, a)) < 1e-5


def test_rff_gradient_matches_finite_differences_and_loss_matches_definition():
    Phi, y, a = rff_problem()
    np.testing.assert_allclose(G.rff_loss(Phi, y, a), np.mean((Phi @ a - y) ** 2), rtol=1e-14)
    check = G.check_gradient(lambda v: G.rff_loss(Phi, y, v), lambda v: G.rff_loss_gradient(Phi, y, v), a)
    assert check.passed and check.rel_error < 1e-8


def test_rff_gradient_vanishes_at_least_squares_solution():
    Phi, y, _ = rff_problem(n=50, p=10)
    a_star = np.linalg.lstsq(Phi, y, rcond=None)[0]
    np.testing.assert_allclose(G.rff_loss_gradient(Phi, y, a_star), 0, atol=1e-12)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((np.ones(3), np.ones(3), np.ones(1)), "Phi"),
        ((np.ones((0, 2)), np.ones(0), np.ones(2)), "Phi"),
        ((np.ones((3, 2)), np.ones(4), np.ones(2)), "y"),
        ((np.ones((3, 2)), np.ones(3), np.ones(3)), "a"),
        ((np.full((3, 2), np.nan), np.ones(3), np.ones(2)), "Phi must hold finite"),
        ((np.ones((3, 2)), np.array([1.0, np.nan, 1.0]), np.ones(2)), "y must hold finite"),
        ((np.ones((3, 2)), np.ones(3), np.array([0.0, np.inf])), "a must hold finite"),
    ],
)
def test_rff_bad_input_names_argument(args, name):
    with pytest.raises(ValueError, match=name):
        G.rff_loss_gradient(*args)
    with pytest.raises(ValueError, match=name):
        G.rff_loss(*args)


def test_rff_rejects_non_numeric():
    with pytest.raises(TypeError, match="Phi"):
        G.rff_loss_gradient(np.array([["a"]]), np.ones(1), np.ones(1))


# --- softmax, its Jacobian and cross-entropy -----------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_matches_torch_along_any_axis(axis):
    z = np.random.default_rng(1).normal(0, 3, (4, 5))
    np.testing.assert_allclose(G.softmax(z, axis), torch.softmax(torch.tensor(z), dim=axis).numpy(), rtol=1e-14)
    np.testing.assert_allclose(G.softmax(z, axis).sum(axis=axis), 1, rtol=1e-14)


def test_softmax_is_stable_and_shift_invariant():
    z = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -3000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = G.softmax(z)
    expected = torch.softmax(torch.tensor(z), -1).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-14)
    np.testing.assert_allclose(G.softmax(z - 1000), y, rtol=1e-14)
    assert G.softmax(z.astype(np.float32)).dtype == np.float32


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=6),
        elements=st.floats(-30, 30, allow_nan=False),
    )
)
def test_softmax_jacobian_matches_autograd_for_any_shape(z):
    J = G.softmax_jacobian(z)
    m = z.shape[-1]
    assert J.shape == (*z.shape, m)
    zt = torch.tensor(z, requires_grad=True)
    yt = torch.softmax(zt, -1)
    # rows are independent, so one backward pass per output index i gives row i of every Jacobian
    rows = [torch.autograd.grad(yt[..., i].sum(), zt, retain_graph=True)[0] for i in range(m)]
    expected = torch.stack(rows, dim=-2).numpy()
    np.testing.assert_allclose(J, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(J, np.swapaxes(J, -1, -2), rtol=0, atol=0)  # symmetric
    np.testing.assert_allclose(J.sum(axis=-1), 0, atol=1e-15)  # J @ 1 = 0: shifting z changes nothing


def test_softmax_jacobian_matches_torch_functional_jacobian_and_is_psd():
    z = np.random.default_rng(2).normal(0, 2, 7)
    expected = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), torch.tensor(z)).numpy()
    J = G.softmax_jacobian(z)
    np.testing.assert_allclose(J, expected, rtol=0, atol=1e-16)
    assert np.linalg.eigvalsh(J).min() > -1e-15  # a covariance matrix: diag(y) - y y^T


def test_log_softmax_matches_torch_at_extreme_logits():
    z = np.array([[0.0, 800.0, -800.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(G.log_softmax(z), torch.log_softmax(torch.tensor(z), -1).numpy(), rtol=1e-14)


def test_cross_entropy_and_its_gradient_match_torch():
    rng = np.random.default_rng(3)
    z, labels = rng.normal(0, 2, (6, 4)), rng.integers(0, 4, 6)
    y = np.eye(4)[labels]
    zt = torch.tensor(z, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(zt, torch.tensor(labels), reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), zt)
    np.testing.assert_allclose(G.softmax_cross_entropy(z, y), loss.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(G.softmax_cross_entropy_gradient(z, y), grad.numpy(), rtol=0, atol=1e-15)


def test_cross_entropy_gradient_with_soft_targets_matches_finite_differences():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=5), G.softmax(rng.normal(size=5))
    check = G.check_gradient(
        lambda v: G.softmax_cross_entropy(v, y), lambda v: G.softmax_cross_entropy_gradient(v, y), z
    )
    assert check.rel_error < 1e-8


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: G.softmax(np.array(1.0)), "z"),
        (lambda: G.softmax(np.ones((2, 0))), "z"),
        (lambda: G.softmax(np.array([1.0, np.inf])), "z"),
        (lambda: G.softmax(np.ones(3), axis=1), "axis"),
        (lambda: G.softmax_jacobian(np.array([np.nan])), "z"),
        (lambda: G.softmax_cross_entropy(np.ones(3), np.ones(2) / 2), "y"),
        (lambda: G.softmax_cross_entropy(np.ones(2), np.array([0.7, 0.7])), "y"),
        (lambda: G.softmax_cross_entropy_gradient(np.ones(2), np.array([1.5, -0.5])), "y"),
    ],
)
def test_softmax_bad_input_names_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_softmax_wrong_kinds_raise_type_errors():
    with pytest.raises(TypeError, match="axis"):
        G.softmax(np.ones(3), axis=0.5)
    with pytest.raises(TypeError, match="z"):
        G.softmax(np.array([1 + 1j, 0]))


# --- the logistic unit ---------------------------------------------------------------------------


def test_sigmoid_family_matches_torch_without_overflow():
    x = np.array([-1000.0, -50.0, -1.0, 0.0, 1e-3, 2.0, 50.0, 1000.0])
    xt = torch.tensor(x, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, ls, ds = G.sigmoid(x), G.log_sigmoid(x), G.sigmoid_derivative(x)
    np.testing.assert_allclose(s, torch.sigmoid(xt).detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(ls, torch.nn.functional.logsigmoid(xt).detach().numpy(), rtol=1e-15)
    (grad,) = torch.autograd.grad(torch.sigmoid(xt).sum(), xt)
    small = np.abs(x) < 30  # beyond, 1 - sigma(x) rounds to 0 while the exp(-|x|) form stays exact
    np.testing.assert_allclose(ds[small], grad.numpy()[small], rtol=1e-14, atol=0)
    np.testing.assert_allclose(ds[small], (s * (1 - s))[small], rtol=1e-12)
    np.testing.assert_allclose(ds[x == 50], np.exp(-50.0), rtol=1e-12)
    assert G.sigmoid_derivative(0.0) == 0.25


def test_sigmoid_keeps_float32_and_stays_finite():
    x = np.array([-1000, -100, 0, 100, 1000], dtype=np.float32)
    for f in (G.sigmoid, G.log_sigmoid, G.sigmoid_derivative):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = f(x)
        assert out.dtype == np.float32 and np.isfinite(out).all()


def logistic_problem(n=30, d=4, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return rng.normal(size=d), X, (rng.random(n) < 0.5).astype(float)


def test_logistic_loss_and_gradient_match_torch():
    w, X, y = logistic_problem()
    wt = torch.tensor(w, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X) @ wt, torch.tensor(y), reduction="mean")
    (grad,) = torch.autograd.grad(loss, wt)
    np.testing.assert_allclose(G.logistic_loss(w, X, y), loss.item(), rtol=1e-13)
    np.testing.assert_allclose(G.logistic_loss_gradient(w, X, y), grad.numpy(), rtol=1e-13)


def test_logistic_loss_is_finite_for_huge_scores():
    w, X, y = logistic_problem()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = G.logistic_loss(1e4 * w, X, y)
        grad = G.logistic_loss_gradient(1e4 * w, X, y)
    assert np.isfinite(loss) and np.isfinite(grad).all()


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((np.ones(2), np.ones(3), np.ones(3)), "X"),
        ((np.ones(3), np.ones((4, 2)), np.zeros(4)), "w"),
        ((np.ones(2), np.ones((4, 2)), np.zeros(3)), "y"),
        ((np.ones(2), np.ones((4, 2)), np.full(4, 2.0)), "y"),
    ],
)
def test_logistic_bad_input_names_argument(args, name):
    with pytest.raises(ValueError, match=name):
        G.logistic_loss_gradient(*args)


def test_sigmoid_bad_input():
    with pytest.raises(ValueError, match="z"):
        G.sigmoid(np.array([np.nan]))
    with pytest.raises(TypeError, match="z"):
        G.log_sigmoid(np.array(["1"]))
    with pytest.raises(TypeError, match="z"):
        G.sigmoid_derivative(np.array([1 + 1j]))


def test_logistic_loss_is_the_mean_of_the_per_example_losses():
    """Oracle: the definition written out with plain numpy, one example at a time."""
    w, X, y = logistic_problem(n=7, d=3, seed=8)
    per_example = []
    for x_i, y_i in zip(X, y, strict=True):
        p_i = 1 / (1 + np.exp(-x_i @ w))
        per_example.append(-(y_i * np.log(p_i) + (1 - y_i) * np.log(1 - p_i)))
    np.testing.assert_allclose(G.logistic_loss(w, X, y), np.mean(per_example), rtol=1e-14)
    grad = np.mean([(1 / (1 + np.exp(-x_i @ w)) - y_i) * x_i for x_i, y_i in zip(X, y, strict=True)], axis=0)
    np.testing.assert_allclose(G.logistic_loss_gradient(w, X, y), grad, rtol=1e-13)
    # a mean: repeating every example changes neither the loss nor the gradient
    np.testing.assert_allclose(G.logistic_loss(w, np.vstack([X, X]), np.concatenate([y, y])), np.mean(per_example))


def test_logistic_gradient_matches_central_differences():
    w, X, y = logistic_problem(n=40, d=5, seed=9)
    h = 1e-6
    numerical = [
        (G.logistic_loss(w + h * e, X, y) - G.logistic_loss(w - h * e, X, y)) / (2 * h) for e in np.eye(w.size)
    ]
    np.testing.assert_allclose(G.logistic_loss_gradient(w, X, y), numerical, rtol=1e-7, atol=1e-10)


def test_sigmoid_derivative_peak_and_symmetry():
    z = np.linspace(-8, 8, 161)
    d = G.sigmoid_derivative(z)
    assert d.max() == 0.25 and z[np.argmax(d)] == 0
    np.testing.assert_allclose(d, G.sigmoid_derivative(-z), rtol=0, atol=0)  # sigma'(-z) = sigma'(z)
    np.testing.assert_allclose(G.sigmoid(-z), 1 - G.sigmoid(z), rtol=1e-12, atol=1e-16)


def test_gradients_reexports_the_checker():
    from nnbook import gradcheck

    assert G.check_gradient is gradcheck.check_gradient and G.GradientCheck is gradcheck.GradientCheck
    assert G.numerical_gradient is gradcheck.numerical_gradient and G.relative_error is gradcheck.relative_error


@pytest.mark.parametrize("position", [0, 1, 2])
def test_rff_float64_in_any_argument_makes_the_computation_float64(position):
    args = [np.full((3, 2), 0.25, dtype=np.float32), np.full(3, 0.375, dtype=np.float32), np.ones(2, dtype=np.float32)]
    args[position] = args[position].astype(np.float64)
    assert G.rff_loss_gradient(*args).dtype == np.float64
    np.testing.assert_array_equal(G.rff_loss_gradient(*args), [0.0625, 0.0625])  # 2/3 * 3 * 0.25 * (0.5 - 0.375)


def test_rff_overflow_of_finite_inputs_is_a_named_error_without_warnings():
    # Every entry is finite but Phi a overflows: the residual is checked, and the message says so.
    Phi, y, a = np.full((2, 2), 1e200), np.zeros(2), np.full(2, 1e200)
    for function in (G.rff_loss, G.rff_loss_gradient):
        with pytest.raises(ValueError, match=r"^Phi a - y must be finite, got an overflow$"):
            function(Phi, y, a)
    for bad, name in ((Phi * np.inf, "Phi"), (np.array([np.nan, 0.0]), "y"), (np.array([np.inf, 0.0]), "a")):
        args = {"Phi": np.ones((2, 2)), "y": np.zeros(2), "a": np.ones(2), name: bad}
        with pytest.raises(ValueError, match=rf"^{name} must"):
            G.rff_loss(**args)


def test_targets_must_sum_to_one_within_one_millionth():
    z = np.zeros((2, 3))
    near = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5 + 9e-7]])  # off by less than 1e-6: accepted
    np.testing.assert_allclose(G.softmax_cross_entropy(z, near), np.log(3) * near.sum(axis=1), rtol=1e-12)
    far = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5 + 5e-6]])  # off by 5e-6: refused (no relative slack)
    for function in (G.softmax_cross_entropy, G.softmax_cross_entropy_gradient):
        with pytest.raises(ValueError, match=r"^y must hold target distributions"):
            function(z, far)
        with pytest.raises(ValueError, match=r"^y must hold target distributions"):
            function(z, np.array([[1.5, -0.5, 0.0], [0.0, 0.0, 1.0]]))  # sums to one, one entry negative


def test_softmax_jacobian_size_limit_is_exact_and_keeps_float32(monkeypatch):
    import nnbook._validation

    z = np.zeros((2, 3), dtype=np.float32)  # 2 Jacobians of 3 x 3: 18 entries
    monkeypatch.setattr(nnbook._validation, "MAX_ELEMENTS", 18)
    J = G.softmax_jacobian(z)
    assert J.shape == (2, 3, 3) and J.dtype == np.float32
    np.testing.assert_allclose(J[0], np.diag(np.full(3, 1 / 3)) - 1 / 9, rtol=1e-6)
    monkeypatch.setattr(nnbook._validation, "MAX_ELEMENTS", 17)
    with pytest.raises(ValueError, match=r"^z asks for 18 Jacobian entries, more than the limit of 17$"):
        G.softmax_jacobian(z)


def test_logits_dimensions_and_axis_bounds():
    assert G.softmax(np.zeros((1,) * 31 + (2,))).shape == (1,) * 31 + (2,)  # 32 dimensions are accepted
    with pytest.raises(ValueError, match=r"^z must have"):
        G.softmax(np.zeros((1,) * 32 + (2,)))  # 33 are not
    z = np.zeros((2, 3))
    np.testing.assert_allclose(G.softmax(z, axis=-2), 0.5)  # the most negative axis
    for axis in (-3, 2):
        with pytest.raises(ValueError, match=r"^axis must be an integer >= -2 and <= 1, got "):
            G.softmax(z, axis=axis)
