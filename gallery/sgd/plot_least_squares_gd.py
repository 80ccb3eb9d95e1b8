"""
How large may a gradient step be, and how fast does gradient descent converge?
==============================================================================

Linear regression has a closed-form answer, :math:`w^\\star` from least
squares, so we can watch gradient descent approach it exactly. The loss
:math:`L(w) = \\|Xw - y\\|^2 / 2n` is a quadratic with the constant Hessian
:math:`H = X^\\top X / n`: along each eigenvector of :math:`H`, with eigenvalue
:math:`\\lambda`, a step of size :math:`\\eta` multiplies the error by
:math:`1 - \\eta\\lambda`. That single fact gives the largest stable step,
:math:`2/\\lambda_{\\max}`, and the speed of convergence, set by the condition
number :math:`\\kappa = \\lambda_{\\max}/\\lambda_{\\min}`.
"""

# %%
# Gradient descent finds the least-squares solution
# -------------------------------------------------
# A simulated problem with :math:`n = 200` points and :math:`p = 10` features
# whose Hessian has eigenvalues evenly spaced from 1 to :math:`\kappa = 10`,
# and noisy labels. Gradient descent from zero with the step
# :math:`\eta = 1/\lambda_{\max}` (half the bound) is compared with
# ``numpy.linalg.lstsq``.
import numpy as np

from nnbook import book, plotting, sgd

X, y = sgd.regression_problem(n=200, p=10, condition=10.0, noise=0.1, rng=4)
w_lstsq = np.linalg.lstsq(X, y, rcond=None)[0]
bound = sgd.max_stable_lr(X)
run = sgd.least_squares_gd(X, y, lr=bound / 2, n_steps=300)
loss_star = np.sum((X @ w_lstsq - y) ** 2) / (2 * len(y))

# %%
# Just below and just above the bound
# -----------------------------------
# Four step sizes, as multiples of :math:`2/\lambda_{\max}`. Below the bound
# the excess loss :math:`L(w_t) - L(w^\star)` shrinks; just above it the error
# along the top eigen-direction is multiplied by
# :math:`|1 - \eta\lambda_{\max}| > 1` per step and the loss explodes.
# Curiously, 0.5 and 0.95 of the bound converge at the same rate here
# (:math:`\kappa = 10`): at 0.5 the slowest direction limits the pace, with the
# factor :math:`1 - 1/\kappa = 0.9`; at 0.95 it is the stiffest one, with
# :math:`|1 - 1.9| = 0.9`, oscillating in sign. The best step,
# :math:`2/(\lambda_{\max} + \lambda_{\min})`, balances the two.
fractions = (0.25, 0.5, 0.95, 1.05)
runs = {f: sgd.least_squares_gd(X, y, lr=f * bound, n_steps=150) for f in fractions}
fig, ax = plotting.new_figure(height=3.8)
for f, r in runs.items():
    ax.plot(np.maximum(r.loss - loss_star, 1e-18), label=rf"$\eta$ = {f:g} $\times\, 2/\lambda_{{\max}}$")
ax.set(
    yscale="log",
    ylim=(1e-16, None),
    xlabel="step t",
    ylabel=r"$L(w_t) - L(w^\star)$ (floored at 1e-18)",
    title="Convergence and divergence on either side of the bound",
)
plotting.legend(ax, fontsize=8)

# %%
# The condition number sets the rate
# ----------------------------------
# The same problem with :math:`\kappa` = 10, 100 and 1000, each with the step
# :math:`1/\lambda_{\max}`. The slowest direction, :math:`\lambda_{\min}`, is
# then multiplied by :math:`1 - 1/\kappa` per step, so the excess loss (a
# square) falls like :math:`(1 - 1/\kappa)^{2t}` (dashed): ten times the
# condition number, ten times the steps. (The dashed lines are drawn a factor
# 10 above the curves so that both stay visible; round-off, near
# :math:`10^{-16}`, ends the curves.)
conditions = (10.0, 100.0, 1000.0)
problems = {k: sgd.regression_problem(n=200, p=10, condition=k, noise=0.1, rng=4) for k in conditions}
fig, ax = plotting.new_figure(height=3.8)
measured, predicted, steps_needed = {}, {}, {}
for k, (Xk, yk) in problems.items():
    r = sgd.least_squares_gd(Xk, yk, lr=sgd.max_stable_lr(Xk) / 2, n_steps=4000)
    wk = np.linalg.lstsq(Xk, yk, rcond=None)[0]
    excess = r.loss - np.sum((Xk @ wk - yk) ** 2) / (2 * len(yk))
    predicted[k] = sgd.gd_contraction(Xk, sgd.max_stable_lr(Xk) / 2) ** 2
    # The observed factor per step over a stretch where the excess is still far above round-off.
    usable = np.flatnonzero(excess > 1e-9 * excess[0])
    t1, t2 = usable[-1] // 2, usable[-1]
    measured[k] = (excess[t2] / excess[t1]) ** (1 / (t2 - t1))
    (line,) = ax.plot(np.where(excess > 1e-15, excess, np.nan), label=rf"$\kappa$ = {k:g}")
    t = np.arange(np.flatnonzero(excess > 1e-15)[-1] + 1)  # the stretch the curve is drawn over
    ax.plot(t, 10 * excess[t1] * predicted[k] ** (t - t1), ls="--", lw=1, color=line.get_color())
    steps_needed[k] = int(np.argmax(excess < 1e-6 * excess[0]))
ax.set(
    yscale="log",
    ylim=(1e-16, None),
    xlabel="step t",
    ylabel=r"$L(w_t) - L(w^\star)$",
    title=r"Step $1/\lambda_{\max}$: the rate is set by $\kappa$",
)
plotting.legend(ax, fontsize=8)

# %%
# The numbers, checked
# --------------------
rel = np.linalg.norm(run.w - w_lstsq) / np.linalg.norm(w_lstsq)
growth = (runs[1.05].loss[-1] - loss_star) / (runs[1.05].loss[0] - loss_star)
shrink = (runs[0.95].loss[-1] - loss_star) / (runs[0.95].loss[0] - loss_star)
with book.numbers():
    book.record("sgd/ls_max_lr", bound, fmt="{:.3f}", label="2 / lambda_max")
    book.record("sgd/ls_growth_above", growth, fmt="{:.0e}", label="excess-loss growth at 1.05 x the bound")
    for k in conditions:
        book.record(f"sgd/ls_steps_k{int(k)}", steps_needed[k], fmt="{:d}", label=f"steps to 1e-6 excess, kappa {k:g}")
    book.claim(
        "sgd/ls_reaches_lstsq",
        "300 steps of gradient descent with step 1/lambda_max reach the least-squares solution "
        "(relative distance to numpy.linalg.lstsq)",
        value=rel,
        at_most=1e-10,
        fmt="{:.0e}",
    )
    book.claim(
        "sgd/ls_below_bound_converges",
        "at 0.95 times the bound 2/lambda_max the excess loss shrinks (ratio after 150 steps)",
        value=shrink,
        at_most=1e-4,
        fmt="{:.0e}",
    )
    book.claim(
        "sgd/ls_above_bound_diverges",
        "at 1.05 times the bound the excess loss grows (ratio after 150 steps)",
        value=growth,
        at_least=1e6,
        fmt="{:.0e}",
    )
    for k in conditions:
        book.claim(
            f"sgd/ls_rate_k{int(k)}",
            f"with kappa = {k:g} the excess loss shrinks per step by the predicted (1 - 1/kappa)^2 "
            "(measured over predicted factor)",
            value=measured[k] / predicted[k],
            between=(0.99, 1.01),
            fmt="{:.4f}",
        )
    book.claim(
        "sgd/ls_steps_scale_with_kappa",
        "ten times the condition number takes ten times the steps: the steps needed to divide the excess loss "
        "by e, -1 / log(measured factor), for kappa 1000 over kappa 100",
        value=np.log(measured[100.0]) / np.log(measured[1000.0]),
        between=(9.0, 11.0),
        fmt="{:.1f}",
    )

# %%
# Takeaways
# ---------
# - On a quadratic, gradient descent is a linear iteration: each eigen-direction
#   of the Hessian evolves on its own, multiplied by :math:`1 - \eta\lambda`.
# - The step must stay below :math:`2/\lambda_{\max}`; just above it the
#   stiffest direction explodes geometrically.
# - With a stable step the slowest direction sets the pace: the number of
#   steps grows in proportion to :math:`\kappa`.
plotting.show()
