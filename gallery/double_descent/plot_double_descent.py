"""
Does a bigger model always overfit more?
========================================

We fit random Fourier feature models of growing size to a digits task and
watch the test error. Classical intuition predicts a U: too few features
underfit, too many overfit. The measurement shows a second descent: the error
explodes exactly where the model can first interpolate the training set, then
falls again as the model grows, below the best small model.
"""

# sphinx_gallery_dummy_images = 3

# %%
# The task and the models
# -----------------------
# scikit-learn's 8x8 digits, "curvy" digits (0, 3, 6, 8, 9) labelled +1 and
# the others -1; the first half of the images is the training set. A model
# with :math:`N` frequencies has :math:`2N` features
# :math:`\cos(v_k\cdot x), \sin(v_k\cdot x)` and is fitted by least squares,
# taking the minimum-norm solution once :math:`2N > n`. The grid of sizes runs
# from :math:`N = 1` to :math:`2000` and is dense around the interpolation
# threshold :math:`2N = n`; each size is fitted for five draws of the
# frequencies, without a penalty and with two small ridge penalties.
import numpy as np

from nnbook import book, data, plotting, rff

split = data.digits_curvy()
n_train = split.X_train.shape[0]
grid = rff.threshold_grid(n_train, max_features=2000)
result = rff.sweep(split, grid, ridges=[0.0, 1e-4, 1e-2], n_draws=5, rng=2019)
print(f"{n_train} training points, {grid.size} model sizes, {result.test_mse.shape[1]} draws")

# %%
# Test error against model size
# -----------------------------
# The horizontal axis is the number of parameters per training point,
# :math:`2N/n`. Lines are the mean over draws; the shaded bands span the 10%
# to 90% quantiles of the draws.
labels = {0.0: "minimum norm (ridgeless)", 1e-4: r"ridge $\lambda=10^{-4}$", 1e-2: r"ridge $\lambda=10^{-2}$"}
fig, ax = plotting.new_figure()
for r, ridge in enumerate(result.ridges):
    plotting.band(ax, result.ratio, result.test_mse[r], label=labels[ridge])
plotting.mark_vertical(ax, 1.0, "interpolation threshold 2N = n")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="parameters per training point 2N/n",
    ylabel="test MSE",
    title="Double descent of random Fourier features on digits",
)
ax.legend(loc="upper left")

# %%
# Where is the peak, and how far does the error fall after it?
# ------------------------------------------------------------
mean_test = result.test_mse.mean(axis=1)  # (ridge, size)
ridgeless = mean_test[0]
peak = int(np.argmax(ridgeless))
under = result.ratio < 1.0
best_under = int(np.flatnonzero(under)[np.argmin(ridgeless[under])])
book.record("double_descent/n_train", n_train, fmt="{:d}")
book.record("double_descent/n_sizes", grid.size, fmt="{:d}")
book.record("double_descent/n_draws", result.test_mse.shape[1], fmt="{:d}")
book.record("double_descent/peak_mse", ridgeless[peak], fmt="{:.0f}")
book.record("double_descent/final_mse", ridgeless[-1], fmt="{:.3f}")
book.record("double_descent/best_under_mse", ridgeless[best_under], fmt="{:.3f}")
book.record("double_descent/best_under_ratio", result.ratio[best_under], fmt="{:.2f}")
book.record("double_descent/max_features", int(grid[-1]), fmt="{:d}")
book.record("double_descent/final_ratio", result.ratio[-1], fmt="{:.2f}")
book.record("double_descent/n_images", n_train + split.X_test.shape[0], fmt="{:d}")
book.claim(
    "double_descent/peak_ratio",
    "the ridgeless test error peaks where 2N/n lies within [0.8, 1.25]",
    0.8 <= result.ratio[peak] <= 1.25,
    result.ratio[peak],
    fmt="{:.2f}",
)
book.claim(
    "double_descent/peak_over_final",
    "the test error at the peak is more than 100 times the error of the largest model",
    ridgeless[peak] / ridgeless[-1] > 100,
    ridgeless[peak] / ridgeless[-1],
    fmt="{:.0f}",
)
book.claim(
    "double_descent/final_beats_classical",
    "the largest interpolating model has a lower test error than the best under-parameterised model",
    ridgeless[-1] < ridgeless[best_under],
    ridgeless[best_under] / ridgeless[-1],
    fmt="{:.2f}",
)

# %%
# What regularisation does to the peak
# ------------------------------------
# A ridge penalty caps how large the coefficients can grow to fit the
# training set, which is exactly what happens at the threshold.
at_peak = mean_test[:, peak]
for r, ridge in enumerate(result.ridges[1:], start=1):
    key = f"{ridge:.0e}".replace("-0", "m").replace("+0", "")
    book.record(f"double_descent/peak_mse_ridge_{key}", at_peak[r], fmt="{:.3f}")
book.claim(
    "double_descent/ridge_flattens_peak",
    "with lambda = 1e-4 the test error at the threshold is over 100 times smaller than without a penalty",
    at_peak[0] / at_peak[1] > 100,
    at_peak[0] / at_peak[1],
    fmt="{:.0f}",
)

# %%
# Training error and the size of the coefficients
# -----------------------------------------------
# Past the threshold the ridgeless model fits the training labels exactly, and
# its coefficient norm, which explodes at the threshold, shrinks again as more
# features share the work.
fig, (ax_train, ax_norm) = plotting.new_figure(1, 2, width=9.6, height=3.8, sharex=True)
for r, ridge in enumerate(result.ridges):
    plotting.band(ax_train, result.ratio, np.maximum(result.train_mse[r], 1e-32), label=labels[ridge])
    plotting.band(ax_norm, result.ratio, result.coef_norm[r], label=labels[ridge])
for ax in (ax_train, ax_norm):
    plotting.mark_vertical(ax, 1.0)
    ax.set(xscale="log", yscale="log", xlabel="2N/n")
ax_train.set(ylabel="training MSE", title="Training error (floored at 1e-32)")
ax_norm.set(ylabel=r"$\|a\|_2$", title="Norm of the fitted coefficients")
ax_norm.legend(loc="lower right", fontsize=8)

over = result.ratio >= 1.05
norm_mean = result.coef_norm.mean(axis=1)
norm_peak = int(np.argmax(norm_mean[0]))
book.record("double_descent/max_train_mse_over", result.train_mse[0][:, over].max(), fmt="{:.0e}")
book.claim(
    "double_descent/interpolates",
    "every ridgeless model with 2N/n >= 1.05 fits the training set to a training MSE below 1e-10",
    result.train_mse[0][:, over].max() < 1e-10,
    result.train_mse[0][:, over].max(),
    fmt="{:.0e}",
)
book.claim(
    "double_descent/norm_peak_ratio",
    "the coefficient norm of the ridgeless fit peaks where 2N/n lies within [0.8, 1.25]",
    0.8 <= result.ratio[norm_peak] <= 1.25,
    result.ratio[norm_peak],
    fmt="{:.2f}",
)
book.record("double_descent/norm_at_peak", norm_mean[0, norm_peak], fmt="{:.0f}")
book.record("double_descent/norm_final", norm_mean[0, -1], fmt="{:.1f}")

# %%
# The same story in classification error
# --------------------------------------
# Thresholding the output at zero gives a classifier; its error rate shows the
# same two descents, though bounded by 1.
fig, ax = plotting.new_figure(height=3.6)
for r, ridge in enumerate(result.ridges):
    plotting.band(ax, result.ratio, result.test_error[r], label=labels[ridge])
plotting.mark_vertical(ax, 1.0)
ax.set(xscale="log", xlabel="2N/n", ylabel="test zero-one error", title="Classification error of sign(f(x))")
ax.legend()
mean_err = result.test_error.mean(axis=1)
book.record("double_descent/err_peak", mean_err[0, peak], fmt="{:.1%}")
book.record("double_descent/err_final", mean_err[0, -1], fmt="{:.1%}")

# %%
# Takeaways
# ---------
# - The test error of the minimum-norm fit peaks at the interpolation
#   threshold :math:`2N = n`, where the training set can first be fitted exactly
#   and only by coefficients of enormous norm.
# - Beyond it, more features mean a smaller minimum norm and a lower test
#   error: the largest model beats the best under-parameterised one.
# - A small ridge penalty removes the peak: it trades a little training error
#   for bounded coefficients exactly where the unpenalised fit is unstable.
