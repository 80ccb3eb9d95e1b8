"""Tests of nnbook.gradcheck: finite differences against closed forms, the checker against torch's gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnbook import gradcheck as G
from nnbook import gradients, rff


def rff_problem(n=40, p=12, seed=0):
    rng = np.random.default_rng(seed)
    Phi = rff.fourier_features(rng.uniform(-1, 1, (n, 3)), rff.sample_frequencies(3, p // 2, rng=rng))
    return Phi, rng.standard_normal(n), rng.standard_normal(p)


# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
# The point x may have any shape, so its valid value is a scalar (extra dimensions are legitimate).
VALID_CALLS = {
    "relative_error": lambda: {"a": np.array([1.0, 2.0]), "b": np.array([1.0, 2.5])},
    "numerical_gradient": lambda: {"f": np.sum, "x": 0.5, "eps": 1e-6, "batched": False, "central": True},
    "check_gradient": lambda: {
        "f": np.sum,
        "grad": np.ones_like,
        "x": 0.5,
        "eps": 1e-6,
        "rtol": 1e-6,
        "batched": False,
    },
}


def test_numerical_gradient_batched_equals_loop_on_a_matrix_argument():
    A = np.random.default_rng(6).normal(size=(3, 4))

    def f(W):
        return np.sum(np.sin(W) * A)

    def f_batched(Ws):
        return np.sum(np.sin(Ws) * A, axis=(1, 2))

    loop = G.numerical_gradient(f, A)
    assert loop.shape == A.shape
    np.testing.assert_allclose(G.numerical_gradient(f_batched, A, batched=True), loop, rtol=0, atol=1e-15)
    np.testing.assert_allclose(loop, np.cos(A) * A, rtol=0, atol=1e-9)


def test_numerical_gradient_error_is_second_order_in_eps():
    x = np.array([0.3])
    err = [abs(G.numerical_gradient(lambda v: np.exp(v[0]), x, eps=h)[0] - np.exp(0.3)) for h in (1e-2, 1e-3)]
    np.testing.assert_allclose(err[0] / err[1], 100, rtol=0.01)


def wrap_for_gradcheck(f, grad):
    """A torch function whose backward is ``grad``, so gradcheck judges ``grad`` against finite differences."""

    class Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.tensor(f(x.detach().numpy()), dtype=torch.float64)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * torch.from_numpy(np.asarray(grad(x.detach().numpy()), dtype=np.float64))

    return Wrapped.apply


@pytest.mark.parametrize("bug", [None, "missing_factor_2", "sign", "one_entry"])
def test_check_gradient_agrees_with_torch_gradcheck(bug):
    Phi, y, a = rff_problem(n=20, p=6, seed=7)

    def f(v):
        return gradients.rff_loss(Phi, y, v)

    def grad(v):
        g = gradients.rff_loss_gradient(Phi, y, v)
        if bug == "missing_factor_2":
            return g / 2
        if bug == "sign":
            return -g
        if bug == "one_entry":
            return g + np.eye(len(g))[2] * 0.05 * np.abs(g).max()
        return g

    ours = G.check_gradient(f, grad, a, rtol=1e-6).passed
    oracle = torch.autograd.gradcheck(
        wrap_for_gradcheck(f, grad), (torch.tensor(a, requires_grad=True),), raise_exception=False
    )
    assert ours == oracle == (bug is None)


def test_relative_error_edge_cases():
    assert G.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert G.relative_error(np.array([2.0]), np.array([1.0])) == 0.5
    with pytest.raises(ValueError, match=r"^a and b must have the same shape, got \(2,\) and \(3,\)$"):
        G.relative_error(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize(
    ("call", "exc", "name"),
    [
        (lambda: G.numerical_gradient(3.0, np.ones(2)), TypeError, "f"),
        (lambda: G.numerical_gradient(np.sum, np.ones(2), eps=0.0), ValueError, "eps"),
        (lambda: G.numerical_gradient(np.sum, np.ones(2), eps=np.inf), ValueError, "eps"),
        (lambda: G.numerical_gradient(np.sum, np.array([np.nan])), ValueError, "x"),
        (lambda: G.numerical_gradient(np.sum, np.ones(2), batched=True), ValueError, "f must return"),
        (lambda: G.check_gradient(np.sum, None, np.ones(2)), TypeError, "grad"),
        (lambda: G.check_gradient(np.sum, np.ones_like, np.ones(2), rtol=-1.0), ValueError, "rtol"),
        (lambda: G.check_gradient(np.sum, lambda x: np.ones(3), np.ones(2)), ValueError, "grad"),
    ],
)
def test_checker_bad_input_names_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


def test_numerical_gradient_rejects_non_scalar_f():
    with pytest.raises(ValueError, match="f must return a real scalar"):
        G.numerical_gradient(lambda v: v, np.ones(2))


def test_forward_differences_are_first_order_and_batched_equals_loop():
    calls = []

    def f(v):
        calls.append(1)
        return np.exp(v).sum()

    x = np.array([0.3, -0.2, 0.1])
    loop = G.numerical_gradient(f, x, eps=1e-3, central=False)
    assert len(calls) == x.size + 1
    batched = G.numerical_gradient(lambda V: np.exp(V).sum(axis=1), x, eps=1e-3, central=False, batched=True)
    np.testing.assert_allclose(batched, loop, rtol=1e-12)
    np.testing.assert_allclose(loop - np.exp(x), 0.5e-3 * np.exp(x), rtol=1e-2)  # error ~ eps f''/2


def test_check_gradient_fields_against_hand_computed_differences():
    """Every field of GradientCheck, from numbers computed here: f(x) = x0^2 + 3 x1, exact gradient (2 x0, 3)."""
    x = np.array([1.5, -2.0])
    h = 1e-4
    by_hand = np.array([((1.5 + h) ** 2 - (1.5 - h) ** 2) / (2 * h), ((3 * (-2.0 + h)) - 3 * (-2.0 - h)) / (2 * h)])
    wrong = np.array([3.0, 3.3])  # second entry off by 0.3
    c = G.check_gradient(lambda v: v[0] ** 2 + 3 * v[1], lambda v: wrong, x, eps=h, rtol=0.05)
    np.testing.assert_allclose(c.numerical, by_hand, rtol=1e-10)
    np.testing.assert_array_equal(c.analytic, wrong)
    np.testing.assert_allclose(c.max_abs_error, 0.3, rtol=1e-8)
    np.testing.assert_allclose(c.rel_error, 0.3 / 3.3, rtol=1e-8)
    assert c.passed is False
    assert G.check_gradient(lambda v: v[0] ** 2 + 3 * v[1], lambda v: wrong, x, eps=h, rtol=0.1).passed is True


def test_relative_error_is_scaled_by_the_largest_entry_of_either():
    a, b = np.array([[1.0, -4.0], [0.5, 0.0]]), np.array([[1.0, -3.0], [0.5, 0.25]])
    assert G.relative_error(a, b) == 1.0 / 4.0
    assert G.relative_error(b, a) == 1.0 / 4.0


def test_numerical_gradient_accepts_one_element_results_and_bounds_its_work():
    np.testing.assert_allclose(G.numerical_gradient(lambda v: np.array([v @ v]), np.array([1.0, 2.0])), [2, 4])
    with pytest.raises(ValueError, match="limit"):
        G.numerical_gradient(np.sum, np.zeros(G.MAX_COORDINATES + 1))
    with pytest.raises(ValueError, match="limit"):
        G.numerical_gradient(lambda V: V.sum(axis=1), np.zeros(3000), batched=True)
    with pytest.raises(ValueError, match="finite"):
        G.numerical_gradient(lambda v: np.inf, np.ones(2))
