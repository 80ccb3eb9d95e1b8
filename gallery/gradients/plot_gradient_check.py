"""
How do we know a gradient is right?
===================================

Every gradient in this chapter was derived by hand and could hide a slip: a
sign, a missing factor, a stray derivative. The habit that catches them is
the *gradient check*: compare the gradient with finite differences of the
loss at a random point. We measure how accurate finite differences are as a
function of the step, then use :func:`nnbook.gradcheck.check_gradient` to
catch typical bugs in the gradient of the logistic unit.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The loss and its gradient
# -------------------------
# The logistic unit on the digits task, with the loss averaged over the
# :math:`n` training points: :math:`\mathcal L(w) = \frac1n\sum_i \ell_i(w)`
# and :math:`\nabla \mathcal L(w) = \frac1n\sum_i (\hat y_i - y_i)\,x_i`, at a
# random point :math:`w` with 65 coordinates (64 pixels and a bias).
import numpy as np

from nnbook import book, data, gradcheck, gradients, plotting

split = data.digits_curvy()
X = np.column_stack([split.X_train, np.ones(len(split.y_train))])
y = (split.y_train + 1) / 2
n = len(y)
w = np.random.default_rng(7).normal(0.0, 1.0, X.shape[1])


def grad(v):
    return gradients.logistic_loss_gradient(v, X, y)


def loss_batched(W):
    """The same loss for a stack of weight vectors W (b, 65) -> (b,): one call checks all coordinates."""
    S = W @ X.T
    return -(y * gradients.log_sigmoid(S) + (1 - y) * gradients.log_sigmoid(-S)).sum(axis=-1) / n


exact = grad(w)

# %%
# Accuracy of finite differences against the step
# -----------------------------------------------
# A forward difference :math:`(f(w + h e_k) - f(w))/h` has truncation error
# :math:`\frac h2 f''`; a central difference
# :math:`(f(w + h e_k) - f(w - h e_k))/2h` has :math:`\frac{h^2}{6} f'''`.
# Both suffer round-off: :math:`f` is known only to about
# :math:`\varepsilon_{\mathrm{mach}}|f|` (the unit round-off), and dividing by
# :math:`h` amplifies that to :math:`\varepsilon_{\mathrm{mach}}|f|/h`. The
# best step balances the two.
steps = np.logspace(-13, -1, 37)
errors = {
    scheme: np.array(
        [
            gradcheck.relative_error(
                gradcheck.numerical_gradient(loss_batched, w, eps=h, central=c, batched=True), exact
            )
            for h in steps
        ]
    )
    for scheme, c in (("central", True), ("forward", False))
}
best = {scheme: int(np.argmin(err)) for scheme, err in errors.items()}

fig, ax = plotting.new_figure(height=4.0)
for scheme, err in errors.items():
    ax.plot(steps, err, "o-", ms=3, label=f"{scheme} differences")
    ax.plot(steps[best[scheme]], err[best[scheme]], "k*", ms=10)
unit_roundoff = np.finfo(float).eps / 2
ax.plot(steps, unit_roundoff / steps, ":", color="0.4", label=r"round-off $\propto \varepsilon_{\mathrm{mach}}/h$")
ax.set(
    xscale="log",
    yscale="log",
    ylim=(1e-12, 1),
    xlabel="step h",
    ylabel="relative error of the gradient",
    title="Finite differences: truncation against round-off",
)
plotting.legend(ax, loc="upper center")

# %%
# Catching bugs
# -------------
# Six plausible mistakes in the gradient, and the correct one, each checked
# by central differences with :math:`h = 10^{-6}` and a tolerance of
# :math:`10^{-6}` on the relative error.
h_check, rtol = 1e-6, 1e-6
candidates = {
    "correct": grad,
    "sign flipped": lambda v: -grad(v),
    "summed over examples instead of averaged": lambda v: grad(v) * n,
    "divided by n - 1 instead of n": lambda v: grad(v) * n / (n - 1),
    "extra factor sigma'(z) (squared-error habit)": lambda v: (
        -X.T @ ((y - gradients.sigmoid(X @ v)) * gradients.sigmoid_derivative(X @ v)) / n
    ),
    "labels in {-1, +1} instead of {0, 1}": lambda v: -X.T @ ((2 * y - 1) - gradients.sigmoid(X @ v)) / n,
    "bias entry left out": lambda v: grad(v) * (np.arange(v.size) < v.size - 1),
}
rows, checks = [], {}
for name, candidate in candidates.items():
    checks[name] = gradcheck.check_gradient(loss_batched, candidate, w, eps=h_check, rtol=rtol, batched=True)
    rows.append(
        {
            "gradient": name,
            "relative error": checks[name].rel_error,
            "verdict": "passes" if checks[name].passed else "FAILS",
        }
    )
table = book.save_table("gradients/gradient_check_bugs", rows, formats={"relative error": "{:.1e}"})

# %%
# The numbers, checked
# --------------------
bugs = [name for name in candidates if name != "correct"]
smallest_bug = min(checks[name].rel_error for name in bugs)
best_error = {scheme: errors[scheme][best[scheme]] for scheme in errors}
with book.numbers():
    book.record("gradients/fd_n_params", w.size, fmt="{:d}", label="coordinates of w")
    book.record("gradients/fd_roundoff", unit_roundoff, fmt="{:.1e}", label="unit round-off")
    book.record("gradients/fd_predicted_forward", unit_roundoff ** (1 / 2), fmt="{:.0e}", label="u^(1/2)")
    book.record("gradients/fd_predicted_central", unit_roundoff ** (1 / 3), fmt="{:.0e}", label="u^(1/3)")
    book.record("gradients/fd_best_step_forward", steps[best["forward"]], fmt="{:.0e}", label="best forward step")
    book.record("gradients/fd_best_error_central", best_error["central"], fmt="{:.0e}", label="best central error")
    book.record("gradients/fd_best_error_forward", best_error["forward"], fmt="{:.0e}", label="best forward error")
    book.record("gradients/check_step", h_check, fmt="{:.0e}", label="step of the check")
    book.record("gradients/check_rtol", rtol, fmt="{:.0e}", label="tolerance of the check")
    book.record("gradients/check_smallest_bug_error", smallest_bug, fmt="{:.1e}", label="subtlest bug's error")
    book.claim(
        "gradients/fd_central_beats_forward",
        "at its best step, central differences are over 100 times more accurate than forward differences",
        value=best_error["forward"] / best_error["central"],
        at_least=100,
        fmt="{:,.0f}",
    )
    book.claim(
        "gradients/fd_best_step_central",
        "the best central-difference step lies between 1e-7 and 1e-3, around u^(1/3)",
        value=steps[best["central"]],
        between=(1e-7, 1e-3),
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/check_passes_correct",
        "the correct logistic gradient passes the check, with relative error below 1e-8",
        value=checks["correct"].rel_error,
        at_most=1e-8,
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/check_catches_bugs",
        "every buggy gradient fails the check, the subtlest with an error over 1000 times the correct one's",
        value=smallest_bug / checks["correct"].rel_error,
        at_least=1000,
        fmt="{:.0e}",
    )
    book.check(
        "gradients/check_bug_verdicts",
        "the number of buggy gradients that pass the check is zero",
        value=sum(checks[name].passed for name in bugs),
        at_most=0,
        fmt="{:d}",
    )

# %%
# Takeaways
# ---------
# - Use central differences with a step near :math:`10^{-5}` to
#   :math:`10^{-6}` in double precision; the relative error of a correct
#   gradient is then tiny, and a bug shows up many orders of magnitude above it.
# - Compare relative to the size of the gradient, not entry by entry: tiny
#   entries make entry-wise ratios meaningless.
# - Finite differences cost two evaluations per parameter: check on small
#   problems or a few coordinates, not in the training loop.
plotting.show()
