"""Tests of nnbook.autodiff: every operation and random expressions against torch autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nnbook import autodiff
from nnbook.autodiff import Value

_RNG = np.random.default_rng(0)
_X2, _Y2 = _RNG.normal(size=(6, 2)), np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])

# One valid call of each public callable, for the catalogue test of bad inputs (tests/test_bad_inputs.py).
VALID_CALLS = {
    "Value": lambda: {"data": 1.5, "label": "x"},
    "total": lambda: {"values": [Value(1.0), 2.0]},
    "topological_order": lambda: {"root": Value(2.0).exp()},
    "layout": lambda: {"root": Value(2.0) * Value(3.0)},
    "ScalarMLP": lambda: {"sizes": [2, 3, 1], "activation": "tanh", "rng": 0},
    "hinge_loss": lambda: {"model": autodiff.ScalarMLP([2, 3, 1], rng=0), "X": _X2, "y": _Y2},
    "fit_scalar_mlp": lambda: {"X": _X2, "y": _Y2, "sizes": [2, 3, 1], "steps": 3, "lr": 0.1, "rng": 0},
}

UNARY = ("exp", "log", "relu", "tanh", "sigmoid", "square", "cube", "reciprocal")
BINARY = ("+", "*", "-", "/")


def apply(op: str, a, b):
    """One step of a random expression, written once for Value and for torch tensors (same method names).

    Every operation is kept inside its domain: exp and the powers of a squashed
    operand, log and the reciprocal of ``b^2 + 1 > 0``, so no random program
    overflows or leaves the domain of the operation.
    """
    if op == "+":
        return a + b
    if op == "*":
        return a * b
    if op == "-":
        return a - b
    if op == "/":
        return a / (b * b + 1.0)
    if op == "exp":
        return a.tanh().exp()
    if op == "log":
        return (a * a + 1.0).log()
    if op == "square":
        return a.tanh() ** 2
    if op == "cube":
        return a.sigmoid() ** 3
    if op == "reciprocal":
        return (a * a + 0.5) ** -1
    return getattr(a, op)()


@st.composite
def programs(draw):
    leaves = draw(st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=1, max_size=4))
    steps = draw(
        st.lists(
            st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 10**6), st.integers(0, 10**6)),
            min_size=1,
            max_size=12,
        )
    )
    return leaves, steps


def run(program, lift):
    leaves, steps = program
    stack = [lift(v) for v in leaves]
    inputs = list(stack)
    for op, i, j in steps:
        stack.append(apply(op, stack[i % len(stack)], stack[j % len(stack)]))
    out = stack[-1]
    for v in stack[:-1]:  # the output depends on every value computed: sum them in
        out = out + v * 0.5
    return inputs, out


@settings(max_examples=200, deadline=None)
@given(programs())
def test_random_expressions_match_torch(program):
    inputs, out = run(program, Value)
    out.backward()
    t_inputs, t_out = run(program, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    assume(math.isfinite(t_out.item()))
    grads = torch.autograd.grad(t_out, t_inputs, allow_unused=True)
    expected = np.array([0.0 if g is None else g.item() for g in grads])
    got = np.array([v.grad for v in inputs])
    assert out.data == pytest.approx(t_out.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("x", [-1.7, -0.2, 0.3, 2.5])
def test_each_operation_against_central_differences(op, x):
    a = Value(x)
    out = apply(op, a, a)
    out.backward()
    h = 1e-6
    numerical = (apply(op, Value(x + h), None).data - apply(op, Value(x - h), None).data) / (2 * h)
    assert a.grad == pytest.approx(numerical, rel=1e-7, abs=1e-9)


def test_local_derivatives_sit_beside_the_forward_values():
    x = Value(0.5)
    assert x.exp().local_grads == (math.exp(0.5),)
    assert x.log().local_grads == (2.0,)
    assert x.tanh().local_grads == (1 - math.tanh(0.5) ** 2,)
    assert (x**3).local_grads == (3 * 0.25,)
    y = Value(-2.0)
    assert (x * y).local_grads == (-2.0, 0.5)
    assert y.relu().data == 0.0 and y.relu().local_grads == (0.0,)


def test_a_node_used_twice_collects_both_contributions():
    x = Value(3.0)
    f = x * x + x  # df/dx = 2x + 1
    f.backward()
    assert x.grad == 7.0


def test_backward_twice_gives_the_same_gradients():
    x, y = Value(1.5), Value(-0.5)
    f = (x * y).sigmoid() + x.exp()
    f.backward()
    first = (x.grad, y.grad)
    f.backward()
    assert (x.grad, y.grad) == first


def test_sigmoid_is_stable_and_exact_at_the_extremes():
    assert Value(-800.0).sigmoid().data == 0.0
    assert Value(800.0).sigmoid().data == 1.0
    assert Value(0.0).sigmoid().data == 0.5


def test_reflected_operators():
    x = Value(2.0)
    assert (1.0 + x).data == 3.0 and (3.0 * x).data == 6.0
    assert (1.0 - x).data == -1.0 and (1.0 / x).data == 0.5 and (-x).data == -2.0
    f = 1.0 / x
    f.backward()
    assert x.grad == -0.25


def test_deep_graph_needs_no_recursion():
    x = Value(1.0)
    f = x
    for _ in range(20_000):
        f = f * 1.0
    f.backward()
    assert x.grad == 1.0
    assert len(autodiff.topological_order(f)) == 40_001  # x, 20,000 constants and 20,000 products


def test_topological_order_puts_parents_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    order = autodiff.topological_order(d.tanh())
    pos = {id(n): i for i, n in enumerate(order)}
    for node in order:
        assert all(pos[id(p)] < pos[id(node)] for p in node.parents)


def test_total_is_one_node_with_unit_local_derivatives():
    xs = [Value(float(i)) for i in range(5)]
    s = autodiff.total(xs)
    s.backward()
    assert s.data == 10.0 and [x.grad for x in xs] == [1.0] * 5
    assert len(autodiff.topological_order(s)) == 6


def test_layout_puts_leaves_in_column_zero_and_the_output_last():
    x = Value(1.0)
    f = (x * 2.0).exp()
    pos = autodiff.layout(f)
    assert pos[x][0] == 0.0 and pos[f][0] == 2.0


def test_scalar_mlp_matches_its_numpy_forward_and_torch_gradients():
    net = autodiff.ScalarMLP([3, 4, 2], "tanh", rng=1)
    x = [0.3, -1.2, 0.7]
    out = net(x)
    np.testing.assert_allclose([o.data for o in out], net.numpy_forward(np.array([x]))[0], rtol=1e-13)
    loss = out[0] * out[1] + out[0].sigmoid()
    loss.backward()
    (W1, b1), (W2, b2) = ((np.array([[w.data for w in row] for row in W]), [v.data for v in b]) for W, b in net.layers)
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W1, b1, W2, b2)]
    h = torch.tanh(params[0] @ torch.tensor(x, dtype=torch.float64) + params[1])
    o = params[2] @ h + params[3]
    (o[0] * o[1] + torch.sigmoid(o[0])).backward()
    expected = np.concatenate([p.grad.numpy().ravel() for p in params])  # parameters(): W row by row, then b
    np.testing.assert_allclose([p.grad for p in net.parameters()], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", autodiff.ACTIVATIONS)
def test_numpy_forward_for_every_activation(activation):
    net = autodiff.ScalarMLP([2, 3, 3, 1], activation, rng=0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_allclose([net(list(x))[0].data for x in X], net.numpy_forward(X)[:, 0], rtol=1e-12, atol=1e-15)


def test_fit_learns_a_separable_problem_and_is_reproducible():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, 1.0, -1.0)
    fit = autodiff.fit_scalar_mlp(X, y, [2, 4, 1], steps=30, lr=0.2, rng=0)
    again = autodiff.fit_scalar_mlp(X, y, [2, 4, 1], steps=30, lr=0.2, rng=0)
    assert fit.loss.shape == (31,) and fit.accuracy.shape == (31,)
    assert fit.loss[-1] < 0.5 * fit.loss[0] and fit.accuracy[-1] >= 0.9
    np.testing.assert_array_equal(fit.loss, again.loss)
    assert fit.num_nodes > 20 * 4


def test_bad_inputs_raise_named_errors():
    with pytest.raises(TypeError, match="data"):
        Value("1.0")
    with pytest.raises(ValueError, match="data"):
        Value(float("nan"))
    with pytest.raises(ValueError, match="log"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="exp"):
        Value(1000.0).exp()
    with pytest.raises(ValueError, match=r"x\*\*k"):
        Value(-2.0) ** 0.5
    with pytest.raises(ValueError, match=r"x\*\*k"):
        Value(0.0) ** -1
    with pytest.raises(TypeError, match="k"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="values"):
        autodiff.total([])
    with pytest.raises(TypeError, match="root"):
        autodiff.topological_order(1.0)
    with pytest.raises(ValueError, match="sizes"):
        autodiff.ScalarMLP([2])
    with pytest.raises(ValueError, match="activation"):
        autodiff.ScalarMLP([2, 1], "gelu")
    with pytest.raises(ValueError, match="x must have 2"):
        autodiff.ScalarMLP([2, 1], rng=0)([1.0])
    X, y = np.zeros((3, 2)), np.array([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="y must hold"):
        autodiff.fit_scalar_mlp(X, np.array([1.0, 0.0, 1.0]), [2, 1], steps=1, lr=0.1)
    with pytest.raises(ValueError, match="sizes must start"):
        autodiff.fit_scalar_mlp(X, y, [3, 1], steps=1, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        autodiff.fit_scalar_mlp(X, y, [2, 1], steps=1, lr=0.0)
    with pytest.raises(ValueError, match="steps"):
        autodiff.fit_scalar_mlp(X, y, [2, 1], steps=10**7, lr=0.1)


def test_hinge_loss_and_a_diverging_fit():
    net = autodiff.ScalarMLP([2, 1], rng=0)
    X, y = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([1.0, -1.0])
    loss, accuracy = autodiff.hinge_loss(net, X, y)
    scores = net.numpy_forward(X)[:, 0]
    assert loss.data == pytest.approx(np.mean(np.maximum(0, 1 - y * scores)), rel=1e-14)
    assert accuracy == np.mean(np.sign(scores) == y)
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)
    with pytest.raises(ValueError, match="lr"):
        autodiff.fit_scalar_mlp(X, y, [2, 3, 1], steps=5, lr=1e300, activation="relu", rng=0)
