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

# One valid call of each public callable, for the catalogue test of bad inputs (tests/test_bad_inputs.py).
VALID_CALLS = {
    "Value": lambda: {"data": 1.5, "label": "x"},
    "total": lambda: {"values": [Value(1.0), 2.0]},
    "topological_order": lambda: {"root": Value(2.0).exp()},
    "layout": lambda: {"root": Value(2.0) * Value(3.0)},
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
