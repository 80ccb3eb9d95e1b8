"""
Why does the error explode at the interpolation threshold?
==========================================================

The minimum-norm fit divides the labels by the singular values of the feature
matrix. We measure the smallest of them as the model grows: it collapses when
the matrix becomes square, and a ridge penalty caps the damage.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The smallest singular value along the model size
# ------------------------------------------------
# One draw of 1400 frequencies; the model with :math:`N` frequencies uses the
# first :math:`2N` columns. For each size we compute the smallest non-zero
# singular value :math:`\sigma_{\min}` of :math:`\Phi`, the
# :math:`\min(n, 2N)`-th one.
import numpy as np

from nnbook import book, data, plotting, rff

split = data.digits_curvy()
n = split.X_train.shape[0]
ratios = np.concatenate([np.geomspace(0.05, 3.0, 30), np.linspace(0.85, 1.15, 13), [0.5, 1.0, 2.0]])
n_features = np.unique(np.round(ratios * n / 2).astype(int))
V = rff.sample_frequencies(split.X_train.shape[1], int(n_features.max()), rng=7)
Phi = rff.fourier_features(split.X_train, V)
sigma_min = rff.smallest_singular_values(Phi, 2 * n_features)
ratio = 2 * n_features / n

# %%
# Amplification with and without a penalty
# -----------------------------------------
# With the singular value decomposition
# :math:`\Phi = \sum_i \sigma_i u_i q_i^\top`, the minimum-norm coefficients
# are :math:`\sum_i (u_i^\top y/\sigma_i)\, q_i`: the component of the labels
# along each direction is multiplied by :math:`1/\sigma_i`. Ridge regression
# multiplies it by :math:`\sigma_i/(\sigma_i^2+\lambda)` instead, which never
# exceeds :math:`1/(2\sqrt\lambda)`. The penalties are those of the
# double-descent example.
fig, (ax_s, ax_f) = plotting.new_figure(1, 2, width=9.6, height=3.8)
ax_s.plot(ratio, sigma_min, "o-", ms=3)
plotting.mark_vertical(ax_s, 1.0)
ax_s.set(
    xscale="log",
    yscale="log",
    xlabel="2N/n",
    ylabel=r"$\sigma_{\min}(\Phi)$",
    title="Smallest singular value of the features",
)
sigma = np.geomspace(1e-5, 10, 400)
ax_f.plot(sigma, 1 / sigma, color="C0", label=r"minimum norm: $1/\sigma$")
for lam, colour in ((1e-4, "C1"), (1.0, "C2")):
    ax_f.plot(sigma, sigma / (sigma**2 + lam), color=colour, label=rf"ridge $\lambda={lam:g}$")
ax_f.axvline(sigma_min.min(), color="0.4", ls="--", lw=1, label=r"smallest $\sigma_{\min}$ on the left")
ax_f.set(
    xscale="log",
    yscale="log",
    xlabel=r"singular value $\sigma$",
    ylabel="amplification of the labels",
    title="What the fit does to each direction",
)
plotting.legend(ax_f, fontsize=8)

# %%
# The numbers, checked
# --------------------
# The condition number :math:`\kappa(\Phi) = \sigma_{\max}/\sigma_{\min}`
# measures how much the solution of the square system can amplify relative
# errors in the labels.
at = {r: sigma_min[int(np.argmin(np.abs(ratio - r)))] for r in (0.5, 1.0, 2.0)}
sigma_max = np.linalg.norm(Phi[:, :n], 2)  # largest singular value of the square model
drop = min(at[0.5], at[2.0]) / at[1.0]
with book.numbers():
    book.record("double_descent/sigma_min_threshold", at[1.0], fmt="{:.1e}", label="sigma_min at 2N = n")
    book.record("double_descent/sigma_min_half", at[0.5], fmt="{:.2f}", label="sigma_min at 2N/n = 0.5")
    book.record("double_descent/sigma_min_two", at[2.0], fmt="{:.2f}", label="sigma_min at 2N/n = 2")
    book.record("double_descent/amplification_threshold", 1 / at[1.0], fmt="{:,.0f}", label="1/sigma_min at 2N = n")
    book.record("double_descent/sigma_max_threshold", sigma_max, fmt="{:.0f}", label="sigma_max at 2N = n")
    book.record("double_descent/cond_threshold", sigma_max / at[1.0], fmt="{:.1e}", label="condition number at 2N = n")
    book.record("double_descent/ridge_cap_small", 1 / (2 * np.sqrt(1e-4)), fmt="{:.0f}", label="1/(2 sqrt(1e-4))")
    book.claim(
        "double_descent/sigma_min_drop",
        "at the threshold the smallest singular value is over 50 times smaller than at 2N/n = 0.5 or 2",
        value=drop,
        at_least=50,
        fmt="{:.0f}",
    )
    book.check(
        "double_descent/sigma_min_at_threshold",
        "the smallest singular value of the features is smallest where 2N/n lies within [0.95, 1.05]",
        value=ratio[int(np.argmin(sigma_min))],
        between=(0.95, 1.05),
        fmt="{:.2f}",
    )

# %%
# Takeaways
# ---------
# - The smallest singular value of the feature matrix collapses when the
#   matrix is square; the minimum-norm fit divides by it, which is the peak.
# - On either side it recovers: below the threshold there are more equations
#   than unknowns, above it more unknowns than equations.
# - A ridge penalty bounds the amplification at :math:`1/(2\sqrt\lambda)`,
#   whatever the spectrum.
plotting.show()
