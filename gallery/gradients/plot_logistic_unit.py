"""
Why does a logistic unit pair the sigmoid with cross-entropy?
=============================================================

A logistic unit predicts :math:`\\hat y = \\sigma(z)` from the logit
:math:`z = w^\\top x`, with :math:`\\sigma(z) = 1/(1+e^{-z})`, whose derivative
is :math:`\\sigma'(z) = \\sigma(z)(1-\\sigma(z))`. Trained with the mean
cross-entropy loss, its gradient is
:math:`\\frac1n\\sum_i (\\hat y_i - y_i)\\, x_i`: the factor :math:`\\sigma'`
cancels. We look at the two functions, at what the cancellation buys compared
with a squared error, at how to evaluate :math:`\\log\\sigma` without
overflow, and we check the gradient against autograd and train the unit on
the digits task with it.
"""

# sphinx_gallery_dummy_images = 2

# %%
# The sigmoid and its derivative
# ------------------------------
# :math:`\sigma'` peaks at :math:`z = 0` with value :math:`1/4` and decays like
# :math:`e^{-|z|}`: a saturated unit passes almost no gradient through
# :math:`\sigma` itself.
#
# What reaches the logit :math:`z` for a positive example (:math:`y = 1`)?
# With cross-entropy :math:`-\log\sigma(z)` it is :math:`-(1-\sigma(z))`,
# largest exactly when the unit is confidently wrong. With the squared error
# :math:`(1-\sigma(z))^2` it is :math:`-2(1-\sigma(z))\sigma'(z)`, which
# vanishes there. The right panel uses a logarithmic axis, so the gap between
# the two is visible wherever it is large.
import numpy as np
import torch

from nnbook import book, data, gradcheck, gradients, plotting

z = np.linspace(-10, 10, 801)
sig, dsig = gradients.sigmoid(z), gradients.sigmoid_derivative(z)
fig, (ax, ax_g) = plotting.new_figure(1, 2, width=9.6, height=3.8)
ax.plot(z, sig, label=r"$\sigma(z)$")
ax.plot(z, dsig, label=r"$\sigma'(z) = \sigma(z)(1-\sigma(z))$")
ax.annotate(r"$\sigma'(0) = 1/4$", (0, 0.25), xytext=(2.5, 0.45), arrowprops={"arrowstyle": "->", "color": "0.3"})
ax.set(xlabel="logit z", title="The sigmoid and its derivative")
plotting.legend(ax, loc="upper left")
z_wrong = -8.0  # a confidently wrong positive example
ce_grad, sq_grad = 1 - sig, 2 * (1 - sig) * dsig
ax_g.plot(z, ce_grad, label=r"cross-entropy: $1-\sigma(z)$")
ax_g.plot(z, sq_grad, label=r"squared error: $2(1-\sigma(z))\,\sigma'(z)$")
ax_g.axvline(z_wrong, color="0.5", ls=":", lw=1)
ax_g.set(
    yscale="log",
    ylim=(1e-5, 2),
    xlabel="logit z (label y = 1)",
    ylabel=r"$|\partial \mathrm{loss} / \partial z|$",
    title="Gradient reaching the logit",
)
plotting.legend(ax_g, loc="lower center")

# %%
# Evaluating :math:`\log\sigma` safely
# ------------------------------------
# The textbook expression :math:`\log(1/(1+e^{-z}))` fails twice: for very
# negative :math:`z` the exponential overflows and the result is
# :math:`-\infty`; for large positive :math:`z`, :math:`1 + e^{-z}` rounds to
# 1 and the answer to 0, losing all relative accuracy. The stable form
# :math:`\log\sigma(z) = -\max(-z, 0) - \log(1 + e^{-|z|})` (with ``log1p``)
# has neither problem. Left: the loss :math:`-\log\sigma(z)` of a positive
# example; the textbook curves stop where they become infinite. Right: their
# relative error for positive logits, against the stable form evaluated in
# float64; it grows like :math:`\varepsilon_{\mathrm{mach}}\,e^{z}` until it
# reaches 100%. Exact agreement (a relative error of 0) is drawn at
# :math:`10^{-17}`.
zero_at = 1e-17
fig, (ax_neg, ax_pos) = plotting.new_figure(1, 2, width=9.6, height=3.8)
neg, pos = np.linspace(-1000, 0, 20001), np.linspace(0, 45, 4501)
ax_neg.plot(neg, -gradients.log_sigmoid(neg), color="0.2", lw=3, alpha=0.4, label="stable form")
breakdown = {}
for dtype, name, color in ((np.float64, "float64", "C0"), (np.float32, "float32", "C1")):
    with np.errstate(over="ignore", divide="ignore"):
        naive_neg = -np.log(1 / (1 + np.exp(-neg.astype(dtype))))
        naive_pos = np.log(1 / (1 + np.exp(-pos.astype(dtype))))
    finite = np.isfinite(naive_neg)
    breakdown[name] = float(neg[finite].min())
    ax_neg.plot(neg[finite], naive_neg[finite], color=color, ls="--", label=f"textbook, {name}")
    ax_neg.plot(breakdown[name], naive_neg[finite][0], "x", color=color, ms=9)
    exact = gradients.log_sigmoid(pos.astype(dtype).astype(np.float64))
    rel = np.abs(naive_pos - exact) / np.abs(exact)
    ax_pos.plot(pos, np.maximum(rel, zero_at), color=color, lw=1, label=f"textbook, {name}")
ax_neg.set(
    xlabel="logit z of a positive example", ylabel=r"loss $-\log\sigma(z)$", title="Overflow for very negative logits"
)
plotting.legend(ax_neg, loc="upper right")
ax_pos.set(
    yscale="log",
    ylim=(zero_at / 3, 3),
    xlabel="logit z",
    ylabel="relative error (0 drawn at 1e-17)",
    title="Lost accuracy for positive logits",
)
plotting.legend(ax_pos, loc="lower right")

extreme = 1000.0
with np.errstate(over="raise", divide="raise", invalid="raise"):
    extremes = np.array([-extreme, extreme])
    stable_values = np.concatenate(
        [gradients.log_sigmoid(extremes), gradients.sigmoid(extremes), gradients.sigmoid_derivative(extremes)]
    )

# %%
# The gradient of the cross-entropy loss, checked
# -----------------------------------------------
# On the digits task (labels mapped to :math:`\{0, 1\}`, a constant feature
# appended for the bias) we compare
# :math:`\frac1n\sum_i (\hat y_i - y_i) x_i` with autograd's gradient of
# PyTorch's own binary cross-entropy, averaged over the examples.
split = data.digits_curvy()
X = np.column_stack([split.X_train, np.ones(len(split.y_train))])
y = (split.y_train + 1) / 2
w = np.random.default_rng(6).normal(0.0, 1.0, X.shape[1])
w_t = torch.tensor(w, requires_grad=True)
torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X) @ w_t, torch.tensor(y)).backward()
rel_logistic = gradcheck.relative_error(gradients.logistic_loss_gradient(w, X, y), w_t.grad.numpy())

# %%
# Training the unit with it
# -------------------------
# Plain gradient descent on the mean loss from zero weights. Since
# :math:`\sigma' \le 1/4`, the Hessian of the mean loss is at most
# :math:`X^\top X/(4n)`; with :math:`\beta` its largest eigenvalue (the smoothness constant), the step
# :math:`1/\beta` guarantees that the loss decreases at every step.
X_test = np.column_stack([split.X_test, np.ones(len(split.y_test))])
y_test = (split.y_test + 1) / 2
smoothness = np.linalg.eigvalsh(X.T @ X / len(y)).max() / 4
steps, lr = 2000, 1 / smoothness
w, losses = np.zeros(X.shape[1]), []
for _ in range(steps):
    losses.append(gradients.logistic_loss(w, X, y))
    w -= lr * gradients.logistic_loss_gradient(w, X, y)
train_acc = np.mean((X @ w > 0) == (y > 0.5))
test_acc = np.mean((X_test @ w > 0) == (y_test > 0.5))

# %%
# The numbers, checked
# --------------------
ce_at, sq_at = (
    1 - gradients.sigmoid(z_wrong),
    2 * (1 - gradients.sigmoid(z_wrong)) * gradients.sigmoid_derivative(z_wrong),
)
with book.numbers():
    book.record("gradients/logsig_breakdown_f64", breakdown["float64"], fmt="{:.1f}", label="float64 overflow below z")
    book.record("gradients/logsig_breakdown_f32", breakdown["float32"], fmt="{:.1f}", label="float32 overflow below z")
    book.record("gradients/logsig_zero_drawn_at", zero_at, fmt="{:.0e}", label="where a zero error is drawn")
    book.record("gradients/ce_squared_at", z_wrong, fmt="{:.0f}", label="logit of the wrong example")
    book.record("gradients/ce_over_squared_at_minus8", ce_at / sq_at, fmt="{:,.0f}", label="cross-entropy / squared")
    book.record("gradients/logistic_n_params", X.shape[1], fmt="{:d}", label="weights of the unit")
    book.record("gradients/logistic_steps", steps, fmt="{:d}", label="gradient steps")
    book.record("gradients/logistic_lr", lr, fmt="{:.2f}", label="step size 1/beta")
    book.record("gradients/logistic_train_acc", train_acc, fmt="{:.1%}", label="training accuracy")
    book.record("gradients/stable_extreme", extreme, fmt="{:.0f}", label="|z| of the overflow test")
    book.claim(
        "gradients/logistic_grad_vs_autograd",
        "the hand-derived logistic-loss gradient equals autograd's to within 1e-13 relative",
        value=rel_logistic,
        at_most=1e-13,
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/logistic_test_acc",
        "gradient descent with the hand-derived gradient reaches over 85% test accuracy",
        value=test_acc,
        at_least=0.85,
        fmt="{:.1%}",
    )
    book.check(
        "gradients/logistic_loss_monotone",
        "with the step 1/beta the training loss never increases (guaranteed for a beta-smooth loss)",
        value=float(np.diff(losses).max()),
        at_most=0,
        fmt="{:.1e}",
    )
    book.check(
        "gradients/sigmoid_derivative_peak",
        "sigma'(z) = sigma(z)(1 - sigma(z)) is at most 1/4, with the maximum at z = 0 (an identity)",
        value=float(dsig.max()),
        between=(0.25, 0.25),
        fmt="{:.4f}",
    )
    book.check(
        "gradients/stable_log_sigmoid_finite",
        "the stable sigmoid, log-sigmoid and sigmoid derivative raise no floating-point error at |z| = 1000",
        value=float(np.abs(stable_values).max()),
        between=(extreme, extreme),
        fmt="{:.0f}",
    )

# %%
# Takeaways
# ---------
# - :math:`\sigma' = \sigma(1-\sigma) \le 1/4`: every sigmoid a signal
#   passes through shrinks its gradient by at least a factor of 4.
# - Cross-entropy cancels that factor at the output: the gradient is the
#   prediction error times the input, and it is largest for confident
#   mistakes, where the squared error would give almost nothing.
# - Compute :math:`\log\sigma` and :math:`\sigma` from :math:`e^{-|z|}`;
#   the textbook expressions overflow in float32 long before float64.
plotting.show()
