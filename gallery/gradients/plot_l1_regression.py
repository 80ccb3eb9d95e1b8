"""
What if setting the gradient to zero cannot be solved?
======================================================

Least squares has a closed-form minimiser because its gradient
:math:`\\frac2n X^\\top(Xw - y)` is linear in :math:`w`. The mean absolute
deviation :math:`\\mathcal L_1(w) = \\frac1n\\sum_i |x_i^\\top w - y_i|` is more
robust to outliers, but its (sub)gradient
:math:`\\frac1n X^\\top \\operatorname{sign}(Xw - y)` depends on :math:`w` only
through signs, and "set it to zero" gives no formula. We solve it exactly as
a linear program and approximately by subgradient descent, and compare it
with least squares on lines with outliers.
"""

# sphinx_gallery_dummy_images = 2

# %%
# A line with outliers
# --------------------
# 100 points on :math:`y = 1 + 0.5x`, :math:`x` uniform on [0, 10], with
# Gaussian noise of standard deviation 0.5; 20% of the targets are pushed up
# by 10 to 30.
import numpy as np

from nnbook import book, plotting, robust_regression

n_points, fraction = 100, 0.2
line = robust_regression.line_with_outliers(n_points, outlier_fraction=fraction, rng=0)

# %%
# Three fits
# ----------
# Least squares in closed form; L1 exactly, as the linear program
# :math:`\min \sum_i s_i` subject to :math:`-s_i \le x_i^\top w - y_i \le s_i`;
# and L1 by subgradient descent with steps :math:`\eta_k = 0.3/\sqrt{k+1}`.
# The true line is drawn last, in black, so the lines that coincide with it
# show as colour on either side of it.
steps, lr = 3000, 0.3
w_ls = robust_regression.least_squares(line.X, line.y)
w_lp = robust_regression.l1_regression_lp(line.X, line.y)
run = robust_regression.l1_subgradient_descent(line.X, line.y, steps=steps, lr=lr)

fig, ax = plotting.new_figure(height=4.0)
ax.scatter(line.X[~line.is_outlier, 1], line.y[~line.is_outlier], s=12, color="0.6", label="data")
ax.scatter(line.X[line.is_outlier, 1], line.y[line.is_outlier], s=16, color="C3", marker="x", label="outliers")
grid = np.linspace(0, 10, 2)
for w, label, style, color, width in (
    (w_ls, "least squares", "-", "C0", 2.0),
    (w_lp, "L1, linear program", "-", "C1", 5.0),
    (run.w, "L1, subgradient descent", "--", "C2", 2.5),
    (line.w_true, "true line", "-", "k", 1.0),
):
    ax.plot(grid, w[0] + w[1] * grid, ls=style, color=color, lw=width, label=f"{label}: {w[0]:.2f} + {w[1]:.2f} x")
ax.set(xlabel="x", ylabel="y", ylim=(-2, 48), title="Least squares follows the outliers; L1 does not")
plotting.legend(ax, loc="upper left", fontsize=8)

# %%
# How subgradient descent converges, and how robust each fit is
# -------------------------------------------------------------
# Left: the loss minus the optimum of the linear program. The subgradient
# does not shrink near the optimum (it is a sum of signs), so the iterates
# keep jumping around it by about the step size, which shrinks like
# :math:`1/\sqrt{k}`; the loss is not even monotone. With these steps the
# general guarantee for the best iterate is :math:`O(\log k/\sqrt{k})` (the
# dotted line); this problem does much better because its minimum is sharp:
# the loss grows linearly in every direction away from it. Right: the error
# of the fitted coefficients as the fraction of outliers grows, over five
# data sets per fraction (both fits on the same data; mean and 10–90% band).
optimum = robust_regression.l1_loss(w_lp, line.X, line.y)
fractions = np.arange(0.0, 0.46, 0.05)
robust = robust_regression.robustness(fractions, np.arange(5), n=n_points)

fig, (ax_c, ax_r) = plotting.new_figure(1, 2, width=9.6, height=3.8)
k = np.arange(1, run.best_losses.size)
ax_c.plot(k, run.losses[1:] - optimum, lw=0.6, alpha=0.6, label="loss of iterate k - optimum")
ax_c.plot(k, run.best_losses[1:] - optimum, lw=2, label="best loss so far - optimum")
guarantee = (run.best_losses[1] - optimum) * (1 + np.log(k)) / np.sqrt(k)
ax_c.plot(k, guarantee, ls=":", color="0.3", label=r"$\propto (1 + \log k)/\sqrt{k}$")
ax_c.set(xscale="log", yscale="log", xlabel="step k", ylabel="L1 loss gap", title="Subgradient descent")
plotting.legend(ax_c, fontsize=8)
plotting.band(ax_r, 100 * fractions, robust.error_ls.T, label="least squares")
plotting.band(ax_r, 100 * fractions, robust.error_l1.T, label="L1 (linear program)")
ax_r.set(xlabel="outliers (% of targets)", ylabel=r"$\|\hat w - w_{\mathrm{true}}\|$", title="Error of the fitted line")
plotting.legend(ax_r)

# %%
# The numbers, checked
# --------------------
# Ratios of the least-squares error to the L1 error are paired: both fits see
# the same data set.
err_ls, err_l1 = np.linalg.norm(w_ls - line.w_true), np.linalg.norm(w_lp - line.w_true)
gap = (run.best_losses[-1] - optimum) / optimum
ratio = robust.error_ls / robust.error_l1  # (fraction, seed)
at_40, at_20 = int(np.argmin(np.abs(fractions - 0.4))), int(np.argmin(np.abs(fractions - fraction)))
with book.numbers():
    book.record("gradients/l1_n_points", n_points, fmt="{:d}", label="points")
    book.record("gradients/l1_fraction", fraction, fmt="{:.0%}", label="outliers")
    book.record("gradients/l1_max_fraction", fractions[-1], fmt="{:.0%}", label="largest outlier fraction")
    book.record("gradients/l1_n_seeds", robust.seeds.size, fmt="{:d}", label="data sets per fraction")
    book.record("gradients/l1_lr", lr, fmt="{:.1f}", label="initial step")
    book.record("gradients/l1_err_ls", err_ls, fmt="{:.2f}", label="least-squares error")
    book.record("gradients/l1_err_l1", err_l1, fmt="{:.2f}", label="L1 error")
    book.record("gradients/l1_ratio_example", err_ls / err_l1, fmt="{:.0f}", label="ratio on the example")
    book.record("gradients/l1_subgradient_steps", steps, fmt="{:d}", label="subgradient steps")
    book.record("gradients/l1_fraction_40", fractions[at_40], fmt="{:.0%}", label="fraction for the averages")
    book.record("gradients/l1_err_ls_40", robust.error_ls[at_40].mean(), fmt="{:.2f}", label="LS error at 40%")
    book.record("gradients/l1_err_l1_40", robust.error_l1[at_40].mean(), fmt="{:.2f}", label="L1 error at 40%")
    book.claim(
        "gradients/l1_more_robust",
        "with 20% outliers least squares lands more than 5 times further from the truth than L1, in every data set",
        value=ratio[at_20].min(),
        at_least=5,
        fmt="{:.0f}",
    )
    book.claim(
        "gradients/l1_robust_all_fractions",
        "at every non-zero outlier fraction and in every data set, L1 is at least 1.2 times closer to the truth",
        value=ratio[1:].min(),
        at_least=1.2,
        fmt="{:.1f}",
    )
    book.claim(
        "gradients/l1_subgradient_near_lp",
        "after 3000 steps subgradient descent is within 1e-5 (relative) of the linear program's optimal loss",
        value=gap,
        between=(0, 1e-5),
        fmt="{:.0e}",
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
#   the minimum, and its general guarantee, :math:`O(\log k/\sqrt{k})` with
#   these steps, is far weaker than gradient descent's on a smooth loss; an
#   exact solver, where one exists, is the better tool.
plotting.show()
