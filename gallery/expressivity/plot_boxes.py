"""
How many units does it take to approximate a function with boxes?
=================================================================

Two step units make a box; a sum of boxes approximates any continuous function
on an interval, which is the constructive core of the universal approximation
theorem. We build the boxes, let adjacent boxes share their edges, measure the
sup error against the number of hidden units in one dimension, compare with a
ReLU layer that interpolates linearly, and repeat the box construction in two
dimensions, where the same accuracy costs the square of the number of boxes.
"""

# sphinx_gallery_dummy_images = 3

# %%
# A box from two units, and boxes that share their edges
# ------------------------------------------------------
# With the Heaviside step :math:`H`, :math:`h H(x - a) - h H(x - a - \delta)`
# is a box of height :math:`h` on :math:`[a, a + \delta)`. ReLUs make a ramp
# :math:`(\sigma(x - a) - \sigma(x - a - \varepsilon))/\varepsilon` instead of
# a step, so a ReLU box (a trapezoid) takes four units. Adjacent boxes share
# an edge, where one box's step down and the next one's step up merge into a
# single step by the difference of the heights: :math:`n` boxes need
# :math:`n + 1` step units, not :math:`2n`
# (:meth:`nnbook.boxes.BoxSum.step_network`). The right panel spends the same
# 16 hidden units on 15 boxes and on a ReLU layer that interpolates the target
# linearly at 17 knots.
import numpy as np

from nnbook import book, boxes, plotting

BOUND = 2.0  # the interval [-B, B]
LIPSCHITZ = 4.0  # |f'| <= 2 + 0.4 * 5 for the target below


def target(x):
    """A smooth 1-D target on [-2, 2]."""
    return np.sin(2 * x) + 0.4 * np.cos(5 * x)


x = np.linspace(-BOUND, BOUND, 2001)
fig, axes = plotting.new_figure(1, 3, width=11.0, height=3.4)
axes[0].plot(x, boxes.step(x + 0.5), "--", lw=1, label=r"$h\,H(x-a)$")
axes[0].plot(x, -boxes.step(x - 0.5), "--", lw=1, label=r"$-h\,H(x-a-\delta)$")
axes[0].plot(x, boxes.box(x, 1.0, 1.0, start=-0.5), "k", lw=2, label="box")
axes[0].set(title="Two step units", xlabel="x")
axes[1].plot(x, (boxes.relu(x + 0.5) - boxes.relu(x + 0.2)) / 0.3, "--", lw=1, label="ramp up (2 ReLUs)")
axes[1].plot(x, -(boxes.relu(x - 0.5) - boxes.relu(x - 0.8)) / 0.3, "--", lw=1, label="ramp down (2 ReLUs)")
axes[1].plot(x, boxes.box(x, 1.0, 1.0, start=-0.5, ramp=0.3), "k", lw=2, label="ReLU box")
axes[1].set(title=r"Four ReLU units ($\varepsilon = 0.3$)", xlabel="x")
for ax in axes[:2]:
    ax.set_ylim(-1.3, 1.6)
    plotting.legend(ax, fontsize=8, loc="upper left")
axes[2].plot(x, target(x), "k", lw=2, label="target f")
staircase = boxes.fit_boxes(target, BOUND, 15)
axes[2].plot(x, staircase.step_network()(x), lw=1.4, label="15 boxes (16 step units)")
axes[2].plot(x, boxes.relu_interpolant(target, BOUND, 16)(x), lw=1.4, label="16 ReLU units")
axes[2].set(title="The same 16 units, two ways", xlabel="x")
plotting.legend(axes[2], fontsize=8, loc="lower left")

# %%
# Sup error against the number of units
# -------------------------------------
# With :math:`n` boxes of width :math:`\delta = 2B/n` and heights taken at
# the box centres, the error of an :math:`L`-Lipschitz function is at most
# :math:`L\delta/2 = LB/n`, with :math:`n + 1` units: halving the error
# doubles the units, so the units grow like :math:`B/\delta`. A ReLU layer
# with as many units interpolates at as many knots and errs by
# :math:`O(\delta^2)` on a smooth target. In two dimensions a grid of
# :math:`n \times n` boxes costs :math:`n^2 + 2(n+1)` units
# (:func:`nnbook.boxes.box_units`) for an error that still falls like
# :math:`1/n`. We measure the sup error on a grid of 20,001 points (801 x 801
# in 2-D).


def target_2d(X):
    """A smooth 2-D target on [-2, 2]^2."""
    return np.sin(2 * X[:, 0]) * np.cos(2 * X[:, 1])


n_boxes = 2 ** np.arange(2, 10)  # 4 ... 512 boxes
box_err = np.array([boxes.sup_error(boxes.fit_boxes(target, BOUND, int(n)), target, BOUND) for n in n_boxes])
units_1d = n_boxes + 1
relu_err = np.array([boxes.sup_error(boxes.relu_interpolant(target, BOUND, int(u)), target, BOUND) for u in units_1d])
n_axis = 2 ** np.arange(2, 8)  # 4 ... 128 boxes per axis
box2_err = np.array(
    [boxes.sup_error(boxes.fit_boxes_2d(target_2d, BOUND, int(n)), target_2d, BOUND, 801, dim=2) for n in n_axis]
)
units_2d = np.array([boxes.box_units(int(n), 2) for n in n_axis])
slope_box = boxes.power_law_exponent(units_1d[-5:], box_err[-5:])
slope_relu = boxes.power_law_exponent(units_1d[-5:], relu_err[-5:])
slope_2d = boxes.power_law_exponent(units_2d[-4:], box2_err[-4:])

fig, ax = plotting.new_figure()
ax.plot(units_1d, box_err, "o-", label=f"boxes, 1-D, shared edges (slope {slope_box:.2f})")
ax.plot(2 * n_boxes, box_err, "o:", color="C0", alpha=0.5, mfc="none", label="the same boxes built apart (2n units)")
ax.plot(units_1d, relu_err, "s-", label=f"ReLU interpolant, 1-D (slope {slope_relu:.2f})")
ax.plot(units_2d, box2_err, "^-", label=f"boxes, 2-D (slope {slope_2d:.2f})")
ax.plot(
    units_1d,
    LIPSCHITZ * BOUND / n_boxes,
    color="0.6",
    lw=5,
    alpha=0.5,
    zorder=0,
    label=r"bound $LB/n$ for 1-D boxes (the errors lie on it)",
)
ax.set(
    xscale="log",
    yscale="log",
    xlabel="hidden units",
    ylabel="sup error on the grid",
    title="Units needed for a given accuracy",
)
plotting.legend(ax, fontsize=8)

# %%
# The fitted slopes are the exponents :math:`p` in error :math:`\propto`
# units\ :sup:`p`, over the largest sizes; the numbers are checked at the end.

# %%
# Boxes in two dimensions
# -----------------------
# A 2-D box is the second-layer unit
# :math:`H(\mathbb{1}[x \in I_i] + \mathbb{1}[y \in I_j] - 3/2)`, which fires
# only when both coordinates are in their cells; each indicator is the
# difference of two first-layer step units, shared by all boxes of a row or a
# column.
X_grid = np.stack(np.meshgrid(np.linspace(-BOUND, BOUND, 301), np.linspace(-BOUND, BOUND, 301)), -1).reshape(-1, 2)
fig, axes = plotting.new_figure(1, 4, width=11.0, height=3.1)
axes[0].set_ylabel("y")
extent = (-BOUND, BOUND, -BOUND, BOUND)
panels = [("target", target_2d)] + [(f"{n} x {n} boxes", boxes.fit_boxes_2d(target_2d, BOUND, n)) for n in (4, 8, 16)]
for ax, (title, func) in zip(axes, panels, strict=True):
    image = ax.imshow(func(X_grid).reshape(301, 301), origin="lower", extent=extent, cmap="RdBu_r", vmin=-1, vmax=1)
    if title != "target":
        title += f"\n{func.n_units} units, sup error {boxes.sup_error(func, target_2d, BOUND, 801, dim=2):.2f}"
    ax.set(title=title, xlabel="x")
    ax.grid(False)
fig.colorbar(image, ax=axes, shrink=0.8).set_label("f(x, y)")

# %%
# The curse of dimensionality, in units
# -------------------------------------
# For an :math:`L`-Lipschitz function on :math:`[-B, B]^d` (in the max-norm),
# boxes of width :math:`\delta = 2\varepsilon/L` reach sup error
# :math:`\varepsilon`, i.e. :math:`n = \lceil BL/\varepsilon \rceil` cells per
# axis and about :math:`n^d` units. For :math:`B = L = 1` and
# :math:`\varepsilon = 0.01`:
n_per_axis = int(np.ceil(1.0 * 1.0 / 0.01))
rows = [
    {"input dimension d": d, "boxes n^d": n_per_axis**d, "hidden units": boxes.box_units(n_per_axis, d)}
    for d in (1, 2, 3, 5, 10)
]
table = book.save_table(
    "expressivity/box_units_by_dim", rows, formats={"boxes n^d": "{:.3g}", "hidden units": "{:.3g}"}
)

# %%
# The numbers, checked
# --------------------
ratio_2d_1d = box2_err[3] / box_err[-1]
worst_ratio = float(np.max(box_err / (LIPSCHITZ * BOUND / n_boxes)))
identical = float(np.max(np.abs(staircase.step_network()(x) - staircase(x))))
with book.numbers():
    book.record("expressivity/box_slope_1d", slope_box, fmt="{:.2f}", label="slope of the 1-D box error")
    book.record("expressivity/relu_slope_1d", slope_relu, fmt="{:.2f}", label="slope of the ReLU interpolant's error")
    book.record("expressivity/box_slope_2d", slope_2d, fmt="{:.2f}", label="slope of the 2-D box error")
    book.record("expressivity/box_n_max_1d", int(n_boxes[-1]), fmt="{:d}", label="most boxes in 1-D")
    book.record("expressivity/box_units_max_1d", int(units_1d[-1]), fmt="{:d}", label="their units, edges shared")
    book.record("expressivity/box_units_apart_1d", 2 * int(n_boxes[-1]), fmt="{:d}", label="their units, built apart")
    book.record("expressivity/box_err_max_1d", box_err[-1], fmt="{:.4f}", label="1-D box error with the most units")
    book.record("expressivity/relu_err_max_1d", relu_err[-1], fmt="{:.1e}", label="ReLU error with as many units")
    book.record("expressivity/box_units_2d_32", int(units_2d[3]), fmt="{:d}", label="units of 32 x 32 boxes")
    book.record("expressivity/box_err_2d_32", box2_err[3], fmt="{:.3f}", label="their 2-D error")
    book.record(
        "expressivity/box_units_d10",
        boxes.box_units(n_per_axis, 10),
        fmt="{:.0e}",
        label="units for accuracy 0.01 in 10 dimensions",
    )
    book.claim(
        "expressivity/box_rate_1d",
        "in 1-D the box error falls like units^-1 (fitted slope within 0.1 of -1)",
        value=slope_box,
        between=(-1.1, -0.9),
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/relu_rate_1d",
        "the ReLU interpolant's error falls like units^-2 (slope within 0.1 of -2)",
        value=slope_relu,
        between=(-2.1, -1.9),
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/box_rate_2d",
        "in 2-D the box error falls like units^-1/2 (slope within 0.1 of -0.5)",
        value=slope_2d,
        between=(-0.6, -0.4),
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/box_2d_costlier",
        f"the 2-D error with {units_2d[3]} units is more than 5 times the 1-D error with {units_1d[-1]} units",
        value=ratio_2d_1d,
        at_least=5,
        fmt="{:.1f}",
    )
    book.check(
        "expressivity/box_bound_holds",
        "every 1-D box sum is within the bound L B / n of the target (largest error / bound)",
        value=worst_ratio,
        at_most=1.0,
        fmt="{:.3f}",
    )
    book.check(
        "expressivity/shared_steps_identical",
        "15 boxes as 16 shared step units compute the same function as the sum of the boxes",
        value=identical,
        at_most=1e-12,
        fmt="{:.1g}",
    )

# %%
# Takeaways
# ---------
# - A box is the difference of two shifted steps, and adjacent boxes share
#   their steps: :math:`n` boxes cost :math:`n + 1` units. Sums of boxes
#   approximate any continuous function on a bounded interval, at a cost in
#   units that grows like :math:`B/\delta`.
# - ReLUs can do better per unit in 1-D by interpolating linearly (error
#   :math:`\propto` units\ :sup:`-2`), but the construction still tiles the
#   domain.
# - In :math:`d` dimensions the tiling costs :math:`(B/\delta)^d` units. No
#   construction does fundamentally better for *every* Lipschitz function:
#   the exponent :math:`d` belongs to the function class, as the chapter
#   explains.
plotting.show()
