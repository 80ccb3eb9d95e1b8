"""
What if setting the gradient to zero cannot be solved?
======================================================

Least squares has a closed-form minimiser because its gradient
:math:`\\frac2n X^\\top(Xw - y)` is linear in :math:`w`. The mean absolute
deviation :math:`L_1(w) = \\frac1n\\sum_i |x_i^\\top w - y_i|` is more robust to
outliers, but its (sub)gradient :math:`\\frac1n X^\\top \\operatorname{sign}(Xw - y)`
depends on :math:`w` only through signs, and "set it to zero" gives no
formula. We solve it exactly as a linear program and approximately by
subgradient descent, and compare it with least squares on a line with
outliers.
"""

# sphinx_gallery_dummy_images = 2

# %%
# A line with outliers
# --------------------
# 100 points on :math:`y = 1 + 0.5x` with Gaussian noise of standard
# deviation 0.5; 20% of the targets are pushed up by 10 to 30.
import numpy as np

from nnbook import book, plotting, robust_regression

line = robust_regression.line_with_outliers(100, outlier_fraction=0.2, rng=0)

# %%
# Three fits
# ----------
# Least squares in closed form; L1 exactly, as the linear program
# :math:`\min \sum_i t_i` subject to :math:`-t_i \le x_i^\top w - y_i \le t_i`;
# and L1 by subgradient descent with steps :math:`0.3/\sqrt{k+1}`.
w_ls = robust_regression.least_squares(line.X, line.y)
w_lp = robust_regression.l1_regression_lp(line.X, line.y)
run = robust_regression.l1_subgradient_descent(line.X, line.y, steps=3000, lr=0.3)

fig, ax = plotting.new_figure(height=4.0)
ax.scatter(line.X[~line.is_outlier, 1], line.y[~line.is_outlier], s=12, color="0.5", label="data")
ax.scatter(line.X[line.is_outlier, 1], line.y[line.is_outlier], s=16, color="C3", marker="x", label="outliers")
grid = np.linspace(0, 10, 2)
for w, label, style in (
    (line.w_true, "true line", ":"),
    (w_ls, "least squares", "-"),
    (w_lp, "L1, linear program", "-"),
    (run.w, "L1, subgradient descent", "--"),
):
    ax.plot(grid, w[0] + w[1] * grid, ls=style, lw=2, label=f"{label}: {w[0]:.2f} + {w[1]:.2f} x")
ax.set(xlabel="x", ylabel="y", ylim=(-2, 48), title="Least squares follows the outliers; L1 does not")
ax.legend(loc="upper left", fontsize=8)

# %%
# How subgradient descent converges, and how robust each fit is
# -------------------------------------------------------------
# Left: the loss minus the optimum of the linear program. The subgradient
# does not shrink near the optimum (it is a sum of signs), so the iterates
# keep jumping around it by about the step size, which shrinks like
# :math:`1/\sqrt{k}`; the loss is not even monotone. The best iterate so far
# does much better than the general guarantee :math:`O(1/\sqrt{k})`
# because this minimum is sharp: the loss grows linearly in every direction
# away from it. Right: the
# error of the fitted coefficients as the fraction of outliers grows, for
# fresh data at each fraction.
optimum = robust_regression.l1_loss(w_lp, line.X, line.y)
fractions = np.arange(0.0, 0.46, 0.05)
errors = np.array(
    [
        [
            np.linalg.norm(fit(d.X, d.y) - d.w_true)
            for fit in (robust_regression.least_squares, robust_regression.l1_regression_lp)
        ]
        for d in (robust_regression.line_with_outliers(100, f, rng=1) for f in fractions)
    ]
)
fig, (ax_c, ax_r) = plotting.new_figure(1, 2, width=9.6, height=3.8)
steps = np.arange(1, run.best_losses.size)
ax_c.plot(steps, run.losses[1:] - optimum, lw=0.6, alpha=0.6, label="loss of iterate k - optimum")
ax_c.plot(steps, run.best_losses[1:] - optimum, lw=2, label="best loss so far - optimum")
ax_c.plot(steps, (run.best_losses[1] - optimum) / np.sqrt(steps), ls=":", color="0.3", label=r"$\propto 1/\sqrt{k}$")
ax_c.set(xscale="log", yscale="log", xlabel="step k", ylabel="L1 loss gap", title="Subgradient descent")
ax_c.legend()
ax_r.plot(100 * fractions, errors[:, 0], "o-", label="least squares")
ax_r.plot(100 * fractions, errors[:, 1], "s-", label="L1 (linear program)")
ax_r.set(xlabel="outliers (% of targets)", ylabel=r"$\|\hat w - w_{true}\|$", title="Error of the fitted line")
ax_r.legend()

# %%
# The numbers, checked
# --------------------
err_ls = np.linalg.norm(w_ls - line.w_true)
err_l1 = np.linalg.norm(w_lp - line.w_true)
gap = (run.best_losses[-1] - optimum) / optimum
book.record("gradients/l1_err_ls", err_ls, fmt="{:.2f}")
book.record("gradients/l1_err_l1", err_l1, fmt="{:.2f}")
book.record("gradients/l1_slope_ls", w_ls[1], fmt="{:.2f}")
book.record("gradients/l1_slope_lp", w_lp[1], fmt="{:.2f}")
book.record("gradients/l1_subgradient_steps", run.losses.size - 1, fmt="{:d}")
book.record("gradients/l1_err_ls_40", errors[fractions.round(2) == 0.4, 0][0], fmt="{:.2f}")
book.record("gradients/l1_err_l1_40", errors[fractions.round(2) == 0.4, 1][0], fmt="{:.2f}")
book.claim(
    "gradients/l1_more_robust",
    "with 20% outliers the least-squares coefficients are more than 5 times further from the truth than L1's",
    err_ls > 5 * err_l1,
    err_ls / err_l1,
    fmt="{:.0f}",
)
book.claim(
    "gradients/l1_subgradient_near_lp",
    "after 3000 steps subgradient descent is within 1e-5 (relative) of the linear program's optimal loss",
    0 <= gap < 1e-5,
    gap,
    fmt="{:.0e}",
)
book.claim(
    "gradients/l1_robust_all_fractions",
    "up to 45% outliers the L1 fit is always closer to the true line than least squares",
    bool((errors[1:, 1] < errors[1:, 0]).all()),
    float((errors[1:, 0] / errors[1:, 1]).min()),
    fmt="{:.1f}",
)

# %%
# Takeaways
# ---------
# - The L1 loss has no closed-form minimiser, but it is still easy: as a
#   linear program it is solved exactly, and its subgradient gives a simple,
#   if slow, iterative method.
# - Each residual enters the L1 gradient only through its sign, so a far
#   outlier pulls no harder than a near one; in least squares it pulls in
#   proportion to its distance, and drags the line.
# - Subgradient descent needs a decreasing step, its iterates jitter around
#   the minimum, and its general guarantee, :math:`O(1/\sqrt{k})`, is far
#   weaker than gradient descent's on a smooth loss; an exact solver, where
#   one exists, is the better tool.
