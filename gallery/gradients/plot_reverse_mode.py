"""
How does reverse mode compute a derivative?
===========================================

We write :math:`f(x) = \\exp(e^x + e^{2x}) + \\sin(e^x + e^{2x})` as a chain of
elementary operations, one intermediate variable per operation, and
differentiate it the way backpropagation does: one forward pass that stores
every intermediate value, then one backward sweep that computes each
variable's *adjoint* :math:`\\bar t = \\partial f / \\partial t` from the
adjoints of the variables that use it. The result is compared with the
derivative written out by hand and with PyTorch's autograd; then the same is
done for :math:`f(x) = \\sqrt{x^2 + e^{x^2}} + \\cos(x^2 + e^{x^2})`.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The computational graph
# -----------------------
# With :math:`t_1 = e^x` we have :math:`e^{2x} = t_1^2`, so the function needs
# six operations: :math:`t_1 = e^x`, :math:`t_2 = t_1^2`,
# :math:`t_3 = t_1 + t_2`, :math:`t_4 = \exp(t_3)`, :math:`t_5 = \sin t_3`,
# :math:`f = t_4 + t_5`. The second function has the same shape:
# :math:`t_1 = x^2`, :math:`t_2 = \exp(t_1)`, :math:`t_3 = t_1 + t_2`,
# :math:`t_4 = \sqrt{t_3}`, :math:`t_5 = \cos t_3`, :math:`f = t_4 + t_5`.
import numpy as np

from nnbook import book, compgraph, plotting

graphs = {"exp_sin": compgraph.exp_sin_graph(), "sqrt_cos": compgraph.sqrt_cos_graph()}
closed_forms = {"exp_sin": compgraph.exp_sin_derivative, "sqrt_cos": compgraph.sqrt_cos_derivative}
for graph in graphs.values():
    print("  ".join(compgraph.node_label(node) for node in graph.nodes[1:]))

# %%
# The backward sweep
# ------------------
# Visit the variables from the output back to the input. A variable's adjoint
# is the sum, over the variables that use it, of their adjoint times the local
# derivative. :math:`t_1` is used twice in the first graph (by :math:`t_2` and
# by :math:`t_3`), so two terms meet there.
for name, graph in graphs.items():
    print(f"{name}:")
    for line in compgraph.backward_equations(graph):
        print("   ", line)

# %%
# The graphs, annotated at :math:`x = 0.5`
# ----------------------------------------
# Arrows point along the forward computation; each box shows the operation,
# the value from the forward pass and the adjoint from the backward sweep.
x0 = 0.5
fig, axes = plotting.new_figure(2, 1, width=9.6, height=6.2)
for ax, (name, graph) in zip(axes, graphs.items(), strict=True):
    sweep = compgraph.reverse_sweep(graph, np.array(x0))
    pos = compgraph.layout(graph)
    boxes = {}
    for node in graph.nodes:
        v, adj = sweep.values[node.name], sweep.adjoints[node.name]
        text = f"{compgraph.node_label(node)}\nvalue {v:.4g}\nadjoint {adj:.4g}"
        boxes[node.name] = ax.text(
            *pos[node.name],
            text,
            ha="center",
            va="center",
            fontsize=8.5,
            bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": "C1" if node.op == "input" else "C0"},
        )
    for node in graph.nodes:
        for parent in node.inputs:
            skip = pos[node.name][0] - pos[parent][0] > 1  # an edge jumping over a column bends
            ax.annotate(
                "",
                xy=pos[node.name],
                xytext=pos[parent],
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "0.45",
                    "shrinkA": 1,
                    "shrinkB": 1,
                    "patchA": boxes[parent].get_bbox_patch(),
                    "patchB": boxes[node.name].get_bbox_patch(),
                    "connectionstyle": f"arc3,rad={-0.45 if skip else 0}",
                },
            )
    ax.set(xlim=(-0.5, 5.5), ylim=(-1.0, 1.0), title=f"{name.replace('_', '-')} at x = {x0}: values and adjoints")
    ax.axis("off")

# %%
# Three derivatives, one answer
# -----------------------------
# At several points we compare the backward sweep, the closed-form
# derivative obtained by the chain rule on paper, and autograd running on the
# same graph.
xs = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
rows, worst = [], {}


def rel_diff(u, v):
    """Entry-wise relative difference (0 where both are 0)."""
    return np.abs(u - v) / np.maximum(np.maximum(np.abs(u), np.abs(v)), 1e-300)


for name, graph in graphs.items():
    hand = compgraph.reverse_sweep(graph, xs)
    closed, auto = closed_forms[name](xs), compgraph.autograd_derivative(graph, xs)
    diff = np.maximum(rel_diff(hand.derivative, closed), rel_diff(hand.derivative, auto))
    worst[name] = diff.max()
    rows += [
        {
            "function": name.replace("_", "-"),
            "x": x,
            "f(x)": hand.values["f"][i],
            "reverse sweep": hand.derivative[i] + 0.0,
            "closed form": closed[i] + 0.0,
            "autograd": auto[i] + 0.0,
            "largest rel. diff.": diff[i],
        }
        for i, x in enumerate(xs)
    ]
table = book.save_table(
    "gradients/reverse_mode_table",
    rows,
    formats={
        "x": "{:.1f}",
        "f(x)": "{:.6g}",
        "reverse sweep": "{:.12g}",
        "closed form": "{:.12g}",
        "autograd": "{:.12g}",
        "largest rel. diff.": "{:.1g}",
    },
)

# %%
# The numbers, checked
# --------------------
# The worst relative disagreement over the points, between the sweep and the
# other two. At :math:`x = 0` the derivative of the second function is exactly
# zero (the factor :math:`2x`), and all three return exactly zero.
sweep = compgraph.reverse_sweep(graphs["exp_sin"], np.array(x0))
with book.numbers():
    book.record("gradients/reverse_x0", x0, fmt="{:.1f}", label="point of the figure")
    book.record("gradients/reverse_forward_ops", sweep.forward_ops, fmt="{:d}", label="forward operations")
    book.record("gradients/reverse_backward_ops", sweep.backward_ops, fmt="{:d}", label="backward multiply-adds")
    book.record("gradients/exp_sin_derivative_at_half", float(sweep.derivative), fmt="{:.6g}", label="f'(0.5)")
    book.claim(
        "gradients/exp_sin_three_agree",
        "for exp(exp(x) + exp(2x)) + sin(exp(x) + exp(2x)), reverse sweep, closed form and autograd agree to 1e-13",
        value=worst["exp_sin"],
        at_most=1e-13,
        fmt="{:.1g}",
    )
    book.claim(
        "gradients/sqrt_cos_three_agree",
        "for sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2)), reverse sweep, closed form and autograd agree to 1e-13",
        value=worst["sqrt_cos"],
        at_most=1e-13,
        fmt="{:.1g}",
    )

# %%
# Takeaways
# ---------
# - Reverse mode needs the values of the forward pass, then one sweep that
#   touches every edge of the graph once: a shared intermediate
#   (:math:`t_1`, or :math:`t_3`) sums the contributions of its users.
# - The sweep never forms the derivative as a formula; it evaluates the
#   chain rule numerically, in the order that reuses every partial product.
# - Hand sweep, closed form and autograd agree to round-off.
plotting.show()
