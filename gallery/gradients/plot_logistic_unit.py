"""
Why does a logistic unit pair the sigmoid with cross-entropy?
=============================================================

A logistic unit predicts :math:`p = \\sigma(w^\\top x)` with
:math:`\\sigma(s) = 1/(1+e^{-s})`, whose derivative is
:math:`\\sigma'(s) = \\sigma(s)(1-\\sigma(s))`. Trained with the cross-entropy
loss, its gradient is :math:`-\\sum_i (y_i - p_i)\\, x_i`: the factor
:math:`\\sigma'` cancels. We look at the two functions, at what the
cancellation buys compared with a squared error, at how to evaluate
:math:`\\log\\sigma` without overflow, and we check the gradient against
autograd and train the unit on the digits task with it.
"""

# sphinx_gallery_dummy_images = 2

# %%
# The sigmoid and its derivative
# ------------------------------
# :math:`\sigma'` peaks at :math:`s = 0` with value :math:`1/4` and decays like
# :math:`e^{-|s|}`: a saturated unit passes almost no gradient through
# :math:`\sigma` itself.
#
# What reaches the score :math:`s` for a positive example (:math:`y = 1`)?
# With cross-entropy :math:`-\log\sigma(s)` it is :math:`-(1-\sigma(s))`,
# largest exactly when the unit is confidently wrong. With the squared error
# :math:`(1-\sigma(s))^2` it is :math:`-2(1-\sigma(s))\sigma'(s)`, which
# vanishes there.
import numpy as np
import torch

from nnbook import book, data, gradients, plotting

s = np.linspace(-10, 10, 801)
sig, dsig = gradients.sigmoid(s), gradients.sigmoid_derivative(s)
fig, (ax, ax_g) = plotting.new_figure(1, 2, width=9.6, height=3.8)
ax.plot(s, sig, label=r"$\sigma(s)$")
ax.plot(s, dsig, label=r"$\sigma'(s) = \sigma(s)(1-\sigma(s))$")
ax.annotate(r"$\sigma'(0) = 1/4$", (0, 0.25), xytext=(2.5, 0.45), arrowprops={"arrowstyle": "->", "color": "0.3"})
ax.set(xlabel="score s", title="The sigmoid and its derivative")
ax.legend(loc="upper left")
ax_g.plot(s, 1 - sig, label=r"cross-entropy: $1-\sigma(s)$")
ax_g.plot(s, 2 * (1 - sig) * dsig, label=r"squared error: $2(1-\sigma(s))\,\sigma'(s)$")
ax_g.set(
    xlabel="score s (label y = 1)",
    ylabel=r"$|\partial \mathrm{loss} / \partial s|$",
    title="Gradient reaching the score",
)
ax_g.legend(loc="upper right")

# %%
# Evaluating :math:`\log\sigma` safely
# ------------------------------------
# The textbook expression :math:`\log(1/(1+e^{-s}))` fails twice: for very
# negative :math:`s` the exponential overflows and the result is
# :math:`-\infty`; for large positive :math:`s`, :math:`1 + e^{-s}` rounds to
# 1 and the answer to 0, losing all relative accuracy. The stable form
# :math:`\log\sigma(s) = -\max(-s, 0) - \log(1 + e^{-|s|})` (with ``log1p``)
# has neither problem. Left: the loss :math:`-\log\sigma(s)` of a positive
# example; the textbook curves stop where they become infinite. Right: their
# relative error for positive scores, against the stable form evaluated in
# float64; it grows like :math:`u\,e^{s}` (:math:`u` the unit round-off)
# until it reaches 100%.
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
    ax_pos.plot(pos, np.maximum(rel, 1e-17), color=color, lw=1, label=f"textbook, {name}")
ax_neg.set(
    xlabel="score s of a positive example", ylabel=r"loss $-\log\sigma(s)$", title="Overflow for very negative scores"
)
ax_neg.legend(loc="upper right")
ax_pos.set(
    yscale="log",
    ylim=(1e-17, 3),
    xlabel="score s",
    ylabel="relative error (0 shown at 1e-17)",
    title="Lost accuracy for positive scores",
)
ax_pos.legend(loc="lower right")

with np.errstate(over="raise", divide="raise", invalid="raise"):
    extremes = np.array([-1000.0, 1000.0])
    stable_values = np.concatenate(
        [gradients.log_sigmoid(extremes), gradients.sigmoid(extremes), gradients.sigmoid_derivative(extremes)]
    )

# %%
# The gradient of the cross-entropy loss, checked
# -----------------------------------------------
# On the digits task (labels mapped to :math:`\{0, 1\}`, a constant feature
# appended for the bias) we compare :math:`-\sum_i (y_i - p_i) x_i` with
# autograd's gradient of PyTorch's own binary cross-entropy.
split = data.digits_curvy()
X = np.column_stack([split.X_train, np.ones(len(split.y_train))])
y = (split.y_train + 1) / 2
w = np.random.default_rng(6).normal(0.0, 1.0, X.shape[1])
w_t = torch.tensor(w, requires_grad=True)
torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X) @ w_t, torch.tensor(y), reduction="sum").backward()
rel_logistic = gradients.relative_error(gradients.logistic_loss_gradient(w, X, y), w_t.grad.numpy())

# %%
# Training the unit with it
# -------------------------
# Plain gradient descent on the mean loss, step 16, from zero weights.
X_test = np.column_stack([split.X_test, np.ones(len(split.y_test))])
y_test = (split.y_test + 1) / 2
w = np.zeros(X.shape[1])
for _ in range(500):
    w -= 16 / len(y) * gradients.logistic_loss_gradient(w, X, y)
train_acc = np.mean((X @ w > 0) == (y > 0.5))
test_acc = np.mean((X_test @ w > 0) == (y_test > 0.5))

# %%
# The numbers, checked
# --------------------
squared_at_minus8 = 2 * (1 - gradients.sigmoid(-8.0)) * gradients.sigmoid_derivative(-8.0)
ce_at_minus8 = 1 - gradients.sigmoid(-8.0)
book.record("gradients/logsig_breakdown_f64", breakdown["float64"], fmt="{:.1f}")
book.record("gradients/logsig_breakdown_f32", breakdown["float32"], fmt="{:.1f}")
book.record("gradients/ce_over_squared_at_minus8", ce_at_minus8 / squared_at_minus8, fmt="{:.0f}")
book.record("gradients/logistic_train_acc", train_acc, fmt="{:.1%}")
book.record("gradients/logistic_test_acc", test_acc, fmt="{:.1%}")
book.claim(
    "gradients/sigmoid_derivative_peak",
    "sigma'(s) = sigma(s)(1 - sigma(s)) is at most 1/4, with the maximum at s = 0",
    bool(np.isclose(dsig.max(), 0.25) and s[np.argmax(dsig)] == 0),
    dsig.max(),
    fmt="{:.4f}",
)
book.claim(
    "gradients/stable_log_sigmoid_finite",
    "the stable sigmoid, log-sigmoid and sigmoid derivative raise no floating-point error at |s| = 1000",
    bool(np.isfinite(stable_values).all()),
    float(np.abs(stable_values).max()),
    fmt="{:.0f}",
)
book.claim(
    "gradients/logistic_grad_vs_autograd",
    "the hand-derived logistic-loss gradient equals autograd's to within 1e-13 relative",
    rel_logistic < 1e-13,
    rel_logistic,
    fmt="{:.0e}",
)
book.claim(
    "gradients/logistic_unit_learns",
    "gradient descent with the hand-derived gradient reaches over 80% test accuracy",
    test_acc > 0.8,
    test_acc,
    fmt="{:.1%}",
)

# %%
# Takeaways
# ---------
# - :math:`\sigma' = \sigma(1-\sigma) \le 1/4`: every sigmoid a signal
#   passes through shrinks its gradient by at least a factor of 4.
# - Cross-entropy cancels that factor at the output: the gradient is the
#   prediction error times the input, and it is largest for confident
#   mistakes, where the squared error would give almost nothing.
# - Compute :math:`\log\sigma` and :math:`\sigma` from :math:`e^{-|s|}`;
#   the textbook expressions overflow in float32 long before float64.
