"""Tests of nnbook.compgraph: the hand reverse sweep against closed forms and PyTorch's autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnbook import compgraph as cg

X = np.linspace(-2.0, 1.0, 13)

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
# The inputs x may have any shape (each entry is differentiated independently), so their valid value is a scalar.
VALID_CALLS = {
    "build_graph": lambda: {"nodes": [("t1", "exp", ["x"])], "input_name": "x"},
    "exp_sin_derivative": lambda: {"x": 0.5},
    "sqrt_cos_derivative": lambda: {"x": 0.5},
    "node_label": lambda: {"node": cg.Node("t1", "exp", ("x",))},
    "backward_equations": lambda: {"graph": cg.exp_sin_graph()},
    "forward": lambda: {"graph": cg.exp_sin_graph(), "x": 0.5},
    "reverse_sweep": lambda: {"graph": cg.exp_sin_graph(), "x": 0.5},
    "autograd_derivative": lambda: {"graph": cg.exp_sin_graph(), "x": 0.5},
    "layout": lambda: {"graph": cg.sqrt_cos_graph()},
}


def exp_sin(x):
    return np.exp(np.exp(x) + np.exp(2 * x)) + np.sin(np.exp(x) + np.exp(2 * x))


def sqrt_cos(x):
    return np.sqrt(x**2 + np.exp(x**2)) + np.cos(x**2 + np.exp(x**2))


EXAMPLES = [(cg.exp_sin_graph, cg.exp_sin_derivative, exp_sin), (cg.sqrt_cos_graph, cg.sqrt_cos_derivative, sqrt_cos)]


@pytest.mark.parametrize(("make", "closed_form", "f"), EXAMPLES)
def test_forward_evaluates_the_formula(make, closed_form, f):
    np.testing.assert_allclose(cg.forward(make(), X)["f"], f(X), rtol=1e-14)


@pytest.mark.parametrize(("make", "closed_form", "f"), EXAMPLES)
def test_reverse_sweep_matches_closed_form_and_autograd(make, closed_form, f):
    sweep = cg.reverse_sweep(make(), X)
    np.testing.assert_allclose(sweep.derivative, closed_form(X), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sweep.derivative, cg.autograd_derivative(make(), X), rtol=1e-14, atol=0)


@pytest.mark.parametrize(("make", "closed_form", "f"), EXAMPLES)
def test_every_adjoint_matches_autograd(make, closed_form, f):
    graph = make()
    xt = torch.tensor(X, requires_grad=True)
    values = cg.forward(graph, xt)
    for v in values.values():
        v.retain_grad()
    values["f"].sum().backward()
    sweep = cg.reverse_sweep(graph, X)
    for name, v in values.items():
        np.testing.assert_allclose(sweep.adjoints[name], v.grad.numpy(), rtol=1e-14, err_msg=name)
        np.testing.assert_allclose(sweep.values[name], v.detach().numpy(), rtol=1e-15, err_msg=name)


@pytest.mark.parametrize(("make", "closed_form", "f"), EXAMPLES)
def test_closed_form_matches_finite_differences(make, closed_form, f):
    h = 1e-6
    np.testing.assert_allclose(closed_form(X), (f(X + h) - f(X - h)) / (2 * h), rtol=1e-6, atol=1e-8)


def test_sweep_counts_one_multiply_add_per_edge():
    sweep = cg.reverse_sweep(cg.exp_sin_graph(), np.array(0.5))
    assert (sweep.forward_ops, sweep.backward_ops) == (6, 8)
    assert sweep.derivative.shape == ()


def test_repeated_input_accumulates_twice():
    graph = cg.build_graph([("t1", "square", ["x"]), ("f", "add", ["t1", "t1"])])  # f = 2 x^2
    np.testing.assert_allclose(cg.reverse_sweep(graph, X).derivative, 4 * X, rtol=1e-15)
    assert cg.backward_equations(graph)[1] == "t\u03041 = f\u0304 + f\u0304"


def test_backward_equations_of_both_examples():
    bar = "\u0304"
    lines = cg.backward_equations(cg.exp_sin_graph())
    assert lines[0] == f"f{bar} = 1"
    assert lines[5] == f"t{bar}1 = t{bar}2 · 2 t1 + t{bar}3"
    assert lines[6] == f"x{bar} = t{bar}1 · exp(x)"
    lines = cg.backward_equations(cg.sqrt_cos_graph())
    assert lines[3] == f"t{bar}3 = t{bar}4 · 1/(2 sqrt(t3)) + t{bar}5 · (-sin(t3))"


def test_labels_and_layout():
    graph = cg.sqrt_cos_graph()
    assert [cg.node_label(n) for n in graph.nodes] == [
        "x",
        "t1 = x^2",
        "t2 = exp(t1)",
        "t3 = t1 + t2",
        "t4 = sqrt(t3)",
        "t5 = cos(t3)",
        "f = t4 + t5",
    ]
    pos = cg.layout(graph)
    assert set(pos) == {n.name for n in graph.nodes}
    for node in graph.nodes:
        for name in node.inputs:
            assert pos[name][0] < pos[node.name][0]  # every edge points to a later column
    assert pos["t4"][0] == pos["t5"][0] and pos["t4"][1] != pos["t5"][1]


@pytest.mark.parametrize(
    ("nodes", "match"),
    [
        ([], "nodes"),
        ([("a", "tan", ["x"])], "nodes: unknown op"),
        ([("a", "exp", ["y"])], "nodes"),
        ([("a", "add", ["x"])], "nodes"),
        ([("a", "exp", ["x"]), ("a", "sin", ["x"])], "nodes"),
        ([("x", "exp", ["x"])], "nodes"),
    ],
)
def test_build_graph_bad_nodes(nodes, match):
    with pytest.raises(ValueError, match=match):
        cg.build_graph(nodes)


def test_build_graph_wrong_kinds():
    with pytest.raises(TypeError, match="nodes"):
        cg.build_graph("abc")
    with pytest.raises(TypeError, match="input_name"):
        cg.build_graph([("t1", "exp", ["x"])], input_name=3)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="input_name"):
        cg.build_graph([("a", "exp", ["x"])], input_name="")
    with pytest.raises(TypeError, match="graph"):
        cg.reverse_sweep("f", X)
    with pytest.raises(ValueError, match="x"):
        cg.reverse_sweep(cg.exp_sin_graph(), np.array([np.nan]))
    with pytest.raises(TypeError, match="x"):
        cg.exp_sin_derivative(np.array(["a"]))
    with pytest.raises(ValueError, match="x"):
        cg.forward(cg.exp_sin_graph(), torch.tensor([float("inf")]))
    with pytest.raises(TypeError, match="node"):
        cg.node_label("t1")
