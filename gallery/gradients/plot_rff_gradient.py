"""
Does the hand-derived gradient of the least-squares loss agree with autograd?
=============================================================================

The random Fourier feature model of the double-descent chapter is fitted by
minimising :math:`\\mathcal L(a) = \\frac1n \\lVert \\Phi a - y \\rVert^2`, whose gradient,
derived by hand, is :math:`\\nabla \\mathcal L(a) = \\frac2n \\Phi^\\top (\\Phi a - y)`. We
evaluate that formula on the digits task and compare every entry with the
gradient PyTorch's autograd computes from the loss alone, in double and in
single precision.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The features and a point to differentiate at
# --------------------------------------------
# The curvy-versus-angular digits task, 200 random frequencies (400 features
# :math:`\cos(v_k^\top x), \sin(v_k^\top x)`), and a random coefficient vector
# :math:`a`: the gradient is not zero there, so every entry is informative.
import numpy as np
import torch

from nnbook import book, data, gradcheck, gradients, plotting, rff

split = data.digits_curvy()
Phi = rff.fourier_features(split.X_train, rff.sample_frequencies(split.X_train.shape[1], 200, rng=0))
y = split.y_train
a = np.random.default_rng(1).standard_normal(Phi.shape[1]) / np.sqrt(Phi.shape[1])
n, p = Phi.shape
print(f"Phi: {n} x {p}")

# %%
# The analytic gradient and autograd's
# ------------------------------------
# Autograd never sees the formula: it records the operations of the loss
# and runs them backwards. We do this in float64 and in float32.
g_autograd, g_analytic = {}, {}
for dtype, torch_dtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
    a_t = torch.tensor(a, dtype=torch_dtype, requires_grad=True)
    loss = ((torch.tensor(Phi, dtype=torch_dtype) @ a_t - torch.tensor(y, dtype=torch_dtype)) ** 2).mean()
    loss.backward()
    g_autograd[dtype] = a_t.grad.numpy()
    g_analytic[dtype] = gradients.rff_loss_gradient(Phi.astype(dtype), y.astype(dtype), a.astype(dtype))

rel64 = gradcheck.relative_error(g_analytic[np.float64], g_autograd[np.float64])
rel32 = gradcheck.relative_error(g_analytic[np.float32], g_autograd[np.float32])

# %%
# Entry by entry
# --------------
# Left: each of the 400 entries, the formula against autograd; they lie on
# the diagonal. Right: how far apart they are, against the entry's size. The
# dashed lines are the unit round-off of each precision times the largest
# entry. The differences are small multiples of it, as expected when two
# programs add the same 898 products in different orders. Some entries agree
# exactly; a logarithmic axis has no zero, so they are drawn at
# :math:`10^{-20}`, below everything else.
zero_at = 1e-20
fig, (ax, ax_err) = plotting.new_figure(1, 2, width=9.6, height=4.0)
g = g_autograd[np.float64]
lim = 1.05 * np.abs(g).max()
ax.plot([-lim, lim], [-lim, lim], color="0.6", lw=1, label="diagonal")
ax.scatter(g, g_analytic[np.float64], s=10, alpha=0.7, label="float64 entries")
ax.set(
    xlabel="autograd entry of the gradient",
    ylabel=r"analytic entry $\frac{2}{n}\Phi^\top(\Phi a-y)$",
    title="Analytic vs autograd gradient (400 entries)",
    aspect="equal",
)
plotting.legend(ax, loc="upper left")
for dtype, name, color in ((np.float64, "float64", "C0"), (np.float32, "float32", "C1")):
    diff = np.abs(g_analytic[dtype].astype(float) - g_autograd[dtype])
    ax_err.scatter(np.abs(g_autograd[dtype]), np.maximum(diff, zero_at), s=8, alpha=0.6, color=color, label=name)
    ax_err.axhline(np.finfo(dtype).eps / 2 * np.abs(g_autograd[dtype]).max(), color=color, ls="--", lw=1)
ax_err.set(
    xscale="log",
    yscale="log",
    xlabel="|autograd entry|",
    ylabel="|analytic - autograd| (0 drawn at 1e-20)",
    title="Differences are at round-off level",
)
plotting.legend(ax_err, loc="center right")

# %%
# The numbers, checked
# --------------------
# The relative difference is the largest entry-wise difference divided by the
# largest entry. A finite-difference check (:func:`nnbook.gradcheck.check_gradient`,
# all :math:`2p` evaluations of the loss in one vectorised call) confirms the formula
# independently of PyTorch.
check = gradcheck.check_gradient(
    lambda A: np.mean((A @ Phi.T - y) ** 2, axis=-1),
    lambda v: gradients.rff_loss_gradient(Phi, y, v),
    a,
    batched=True,
)
exact_zeros = {
    name: int(np.sum(g_analytic[dt].astype(float) == g_autograd[dt]))
    for dt, name in ((np.float64, "64"), (np.float32, "32"))
}
with book.numbers():
    book.record("gradients/rff_n_train", n, fmt="{:d}", label="training images")
    book.record("gradients/rff_n_features", p, fmt="{:d}", label="features")
    book.record(
        "gradients/unit_roundoff_64", np.finfo(np.float64).eps / 2, fmt="{:.1e}", label="float64 unit round-off"
    )
    book.record(
        "gradients/unit_roundoff_32", np.finfo(np.float32).eps / 2, fmt="{:.1e}", label="float32 unit round-off"
    )
    book.record("gradients/rff_exact_zeros_64", exact_zeros["64"], fmt="{:d}", label="float64 entries equal exactly")
    book.record("gradients/rff_zero_drawn_at", zero_at, fmt="{:.0e}", label="where exact zeros are drawn")
    book.claim(
        "gradients/rff_rel_diff_float64",
        "in float64 the analytic RFF gradient equals autograd's to within 1e-13 relative",
        value=rel64,
        at_most=1e-13,
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/rff_rel_diff_float32",
        "in float32 the analytic RFF gradient equals autograd's to within 1e-5 relative",
        value=rel32,
        at_most=1e-5,
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/rff_fd_rel_error",
        "central differences agree with the analytic RFF gradient to within 1e-8 relative",
        value=check.rel_error,
        at_most=1e-8,
        fmt="{:.0e}",
    )

# %%
# Takeaways
# ---------
# - The hand-derived :math:`\frac2n\Phi^\top(\Phi a-y)` and autograd agree to
#   within a small multiple of the unit round-off of the precision used, in
#   double and in single precision alike.
# - The two computations add the same numbers in different orders, so exact
#   equality is not to be expected; agreement at the level of round-off is the
#   strongest evidence that both are right.
# - Finite differences agree too, but several orders of magnitude less
#   closely: they are a check, not a substitute.
plotting.show()
