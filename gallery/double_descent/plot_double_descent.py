"""
Does a bigger model always overfit more?
========================================

We fit random Fourier feature models of growing size to a digits task and
watch the test error. Classical intuition predicts a U: too few features
underfit, too many overfit. The measurement shows the U and then a second
descent: the error explodes exactly where the model can first interpolate the
training set, then falls again as the model grows, towards the error of the
infinitely wide model, ridgeless regression with the Gaussian kernel.
"""

# sphinx_gallery_dummy_images = 3

# %%
# The task and the models
# -----------------------
# scikit-learn's 8x8 digits, "curvy" digits (0, 3, 6, 8, 9) labelled +1 and
# the others -1, scaled as the course assignment does: all pixels divided by
# their standard deviation and by :math:`\sqrt{64}`. The first half of the
# images is the training set. A model with :math:`N` frequencies has
# :math:`2N` features :math:`\cos(v_k^\top x), \sin(v_k^\top x)` and is fitted
# by least squares, taking the minimum-norm solution once :math:`2N > n`. The
# sizes run from :math:`N = 1` to :math:`2000`, densely around the
# interpolation threshold :math:`2N = n`; each size is fitted for five draws
# of the frequencies, without a penalty and with a small (:math:`\lambda =
# 10^{-4}`) and a large (:math:`\lambda = 1`) ridge penalty, on the same
# frequencies.
from nnbook import book, data, double_descent, plotting, rff

split = data.digits_curvy()
grid = double_descent.threshold_grid(split.X_train.shape[0], max_features=2000)
result = double_descent.sweep(split, grid, ridges=[0.0, 1e-4, 1.0], n_draws=5, rng=2019)

# %%
# The infinitely wide model
# -------------------------
# As :math:`N` grows, :math:`\Phi\Phi^\top/N` tends to the Gaussian kernel
# matrix :math:`K_{ij} = \exp(-\|x_i - x_j\|^2/2)`, and the minimum-norm fit
# to ridgeless kernel regression, :math:`f(x) = k(x)^\top K^{-1} y`. Its test
# error is the level the second descent heads for.
limit = rff.kernel_limit(split)
curves = {ridge: double_descent.curve(result, ridge) for ridge in result.ridges}
ridgeless, small, large = curves[0.0], curves[1e-4], curves[1.0]
print(f"kernel limit: test MSE {limit.test_mse:.4f}, test error {limit.test_error:.2%}")

# %%
# Test error against model size
# -----------------------------
# The horizontal axis is the number of parameters per training point,
# :math:`2N/n`. Lines are the mean over draws; the shaded bands span the 10%
# to 90% quantiles of the draws. The left panel shows the whole range on
# logarithmic axes; the right panel cuts the vertical axis at 1.2 and makes it
# linear, so the classical U below the threshold becomes visible.
labels = {0.0: "minimum norm (ridgeless)", 1e-4: r"ridge $\lambda=10^{-4}$", 1.0: r"ridge $\lambda=1$"}
colors = {0.0: "C0", 1e-4: "C1", 1.0: "C2"}
order = [2, 1, 0]  # the ridgeless curve on top: the small penalty coincides with it away from the threshold
fig, axes = plotting.new_figure(1, 2, width=9.6, height=4.0, sharex=True)
for ax in axes:
    for r in order:
        ridge = result.ridges[r]
        plotting.band(ax, result.ratio, result.test_mse[r], label=labels[ridge], color=colors[ridge])
    ax.axhline(limit.test_mse, color="k", ls=":", lw=1.2, label="kernel limit (N to infinity)")
    plotting.mark_vertical(ax, 1.0)
    ax.set(xscale="log", xlabel="parameters per training point 2N/n")
axes[0].set(yscale="log", ylabel="test MSE", title="The whole curve (log scale)")
top = 1.2  # the linear panel's vertical range: wide enough for the smallest models, the U and the descent
axes[1].set(ylim=(0, top), title=f"Below {top} (linear scale): the U, then the descent")
plotting.legend(axes[1], loc="upper left", fontsize=8)

# %%
# Training error and the size of the coefficients
# -----------------------------------------------
# Past the threshold the ridgeless model fits the training labels exactly, and
# its coefficient norm, which explodes at the threshold, shrinks again as more
# features share the work. Training errors below :math:`10^{-24}` (round-off)
# are drawn at :math:`10^{-24}`.
floor = 1e-24
fig, (ax_train, ax_norm) = plotting.new_figure(1, 2, width=9.6, height=3.8, sharex=True)
for r in order:
    ridge = result.ridges[r]
    plotting.band(ax_train, result.ratio, result.train_mse[r].clip(min=floor), label=labels[ridge], color=colors[ridge])
    plotting.band(ax_norm, result.ratio, result.coef_norm[r], label=labels[ridge], color=colors[ridge])
for ax in (ax_train, ax_norm):
    plotting.mark_vertical(ax, 1.0)
    ax.set(xscale="log", yscale="log", xlabel="2N/n")
ax_train.set(ylim=(floor / 3, 10), ylabel="training MSE", title="Training error")
ax_norm.set(ylabel=r"$\|a\|_2$", title="Norm of the fitted coefficients")
plotting.legend(ax_norm, loc="lower right", fontsize=8)

# %%
# The same story in classification error
# --------------------------------------
# Thresholding the output at zero gives a classifier; its error rate shows the
# same shape, though bounded by 1.
fig, ax = plotting.new_figure(height=3.6)
for r in order:
    ridge = result.ridges[r]
    plotting.band(ax, result.ratio, result.test_error[r], label=labels[ridge], color=colors[ridge])
ax.axhline(limit.test_error, color="k", ls=":", lw=1.2, label="kernel limit")
plotting.mark_vertical(ax, 1.0)
ax.set(xscale="log", xlabel="2N/n", ylabel="test error rate", title=r"Classification error of sign$(f(x))$")
plotting.legend(ax, fontsize=8)

# %%
# The numbers, checked
# --------------------
# Means over the draws. "Best small model": the lowest mean test error among
# the sizes with :math:`2N < n`. The threshold is the size with :math:`2N = n`.
peak, best, thr, last = ridgeless.peak, ridgeless.best_under, ridgeless.threshold, -1
with book.numbers():
    book.record("double_descent/n_train", split.X_train.shape[0], fmt="{:d}", label="training images")
    book.record("double_descent/n_images", split.X_train.shape[0] + split.X_test.shape[0], fmt="{:d}", label="images")
    book.record("double_descent/n_sizes", grid.size, fmt="{:d}", label="model sizes")
    book.record("double_descent/n_draws", result.test_mse.shape[1], fmt="{:d}", label="draws of the frequencies")
    book.record("double_descent/max_features", int(grid[-1]), fmt="{:d}", label="largest N")
    book.record("double_descent/final_ratio", result.ratio[last], fmt="{:.2f}", label="2N/n of the largest model")
    book.record("double_descent/mean_sq_norm", (split.X_train**2).sum(axis=1).mean(), fmt="{:.2f}", label="mean |x|^2")
    book.record("double_descent/max_over_std", 8 * split.X_train.max(), fmt="{:.2f}", label="largest pixel / pixel std")
    book.record(
        "double_descent/best_under_ratio", result.ratio[best], fmt="{:.2f}", label="2N/n of the best small model"
    )
    book.record("double_descent/best_under_mse", ridgeless.test_mse[best], fmt="{:.3f}", label="best small test MSE")
    book.record("double_descent/peak_mse", ridgeless.test_mse[peak], fmt="{:.0f}", label="peak test MSE")
    book.record("double_descent/final_mse", ridgeless.test_mse[last], fmt="{:.3f}", label="largest model's test MSE")
    book.record("double_descent/kernel_mse", limit.test_mse, fmt="{:.3f}", label="kernel limit test MSE")
    book.record("double_descent/kernel_err", limit.test_error, fmt="{:.1%}", label="kernel limit test error")
    book.record("double_descent/kernel_cond", limit.condition_number, fmt="{:.1e}", label="condition number of K")
    book.record("double_descent/err_best_under", ridgeless.test_error[best], fmt="{:.1%}", label="best small error")
    book.record("double_descent/err_peak", ridgeless.test_error[peak], fmt="{:.1%}", label="error rate at the peak")
    book.record("double_descent/mse_small_ridge_thr", small.test_mse[thr], fmt="{:.2f}", label="lambda=1e-4 at 2N=n")
    book.record("double_descent/mse_large_ridge_thr", large.test_mse[thr], fmt="{:.3f}", label="lambda=1 at 2N=n")
    book.record(
        "double_descent/mse_large_ridge_under",
        large.test_mse[large.best_under],
        fmt="{:.3f}",
        label="best small lambda=1",
    )
    book.record("double_descent/mse_large_ridge_final", large.test_mse[last], fmt="{:.3f}", label="largest, lambda=1")
    book.record(
        "double_descent/norm_at_peak", ridgeless.coef_norm[peak], fmt="{:.0f}", label="coefficient norm at the peak"
    )
    book.record("double_descent/norm_final", ridgeless.coef_norm[last], fmt="{:.1f}", label="coefficient norm, largest")
    book.record("double_descent/train_floor", floor, fmt="{:.0e}", label="training-error floor of figure 2")
    book.record("double_descent/linear_top", top, fmt="{:.1f}", label="top of the linear panel of figure 1")
    book.claim(
        "double_descent/peak_over_best_under",
        "at the threshold the ridgeless test MSE is more than 100 times that of the best small model",
        value=ridgeless.test_mse[peak] / ridgeless.test_mse[best],
        at_least=100,
        fmt="{:,.0f}",
    )
    book.claim(
        "double_descent/final_beats_classical",
        "the largest ridgeless model's test MSE is at least 1.2 times lower than the best small ridgeless model's",
        value=ridgeless.test_mse[best] / ridgeless.test_mse[last],
        at_least=1.2,
        fmt="{:.2f}",
    )
    book.claim(
        "double_descent/final_beats_ridge_under",
        "the largest ridgeless model also beats every small model with the penalty lambda = 1, by at least 2%",
        value=large.test_mse[large.best_under] / ridgeless.test_mse[last],
        at_least=1.02,
        fmt="{:.2f}",
    )
    book.claim(
        "double_descent/final_over_kernel",
        "the largest model's test MSE lies above the kernel limit, by a factor between 1.02 and 1.6",
        value=ridgeless.test_mse[last] / limit.test_mse,
        between=(1.02, 1.6),
        fmt="{:.2f}",
    )
    book.claim(
        "double_descent/err_final",
        "the largest ridgeless model misclassifies at most 6% of the test digits",
        value=ridgeless.test_error[last],
        at_most=0.06,
        fmt="{:.1%}",
    )
    book.claim(
        "double_descent/small_ridge_lowers_peak",
        "a penalty of lambda = 1e-4 lowers the test MSE at the threshold at least tenfold",
        value=ridgeless.test_mse[thr] / small.test_mse[thr],
        at_least=10,
        fmt="{:.0f}",
    )
    book.claim(
        "double_descent/small_ridge_keeps_bump",
        "with lambda = 1e-4 the test MSE at the threshold still exceeds the best small model's at least twofold",
        value=small.test_mse[thr] / small.test_mse[small.best_under],
        at_least=2,
        fmt="{:.0f}",
    )
    book.claim(
        "double_descent/large_ridge_no_peak",
        "with lambda = 1 the test MSE at the threshold is within 10% of the best small model's: no peak",
        value=large.test_mse[thr] / large.test_mse[large.best_under],
        at_most=1.1,
        fmt="{:.2f}",
    )
    book.claim(
        "double_descent/large_ridge_helps_final",
        "at the largest size the penalty lambda = 1 lowers the test MSE a little further, by at least 1%",
        value=ridgeless.test_mse[last] / large.test_mse[last],
        at_least=1.01,
        fmt="{:.2f}",
    )
    book.claim(
        "double_descent/norm_peak_over_final",
        "the ridgeless coefficient norm at the threshold is more than 30 times that of the largest model",
        value=ridgeless.coef_norm[peak] / ridgeless.coef_norm[last],
        at_least=30,
        fmt="{:.0f}",
    )
    book.check(
        "double_descent/peak_ratio",
        "the ridgeless test MSE peaks where 2N/n lies within [0.9, 1.1]",
        value=result.ratio[peak],
        between=(0.9, 1.1),
        fmt="{:.2f}",
    )
    over = result.ratio >= 1.05
    book.check(
        "double_descent/interpolates",
        "every ridgeless model with 2N/n >= 1.05 fits the training set to a training MSE below 1e-10",
        value=result.train_mse[0][:, over].max(),
        at_most=1e-10,
        fmt="{:.0e}",
    )
    book.check(
        "double_descent/kernel_interpolates",
        "the kernel limit fits the training labels to a training MSE below 1e-10",
        value=limit.train_mse,
        at_most=1e-10,
        fmt="{:.0e}",
    )

# %%
# Takeaways
# ---------
# - Below the threshold the test error follows the classical U; at the
#   interpolation threshold :math:`2N = n` the minimum-norm fit explodes,
#   because the training set can be fitted exactly only by coefficients of
#   enormous norm.
# - Beyond it, more features mean a smaller minimum norm and a lower test
#   error: the largest model beats the best under-parameterised one, with or
#   without a penalty, and approaches the kernel limit from above.
# - A small ridge penalty lowers the peak, a larger one removes it: the peak
#   belongs to unregularised interpolation.
plotting.show()
