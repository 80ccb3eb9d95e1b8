"""
What does the Jacobian of softmax look like?
============================================

Softmax turns a vector of logits :math:`z` into predicted probabilities
:math:`\\hat y_i = e^{z_i} / \\sum_j e^{z_j}`. Its Jacobian, derived by hand,
is :math:`\\partial \\hat y_i / \\partial z_j = \\hat y_i(\\delta_{ij} - \\hat y_j)`,
that is :math:`J = \\operatorname{diag}(\\hat y) - \\hat y \\hat y^\\top`. We
draw it for one input, check it against PyTorch on a whole batch, and check
the famous shortcut for cross-entropy on top of softmax: with a target
:math:`y`, the gradient with respect to the logits is :math:`\\hat y - y`.
"""

# sphinx_gallery_dummy_images = 1

# %%
# One input, ten classes
# ----------------------
# Ten logits, as a classifier of the ten digits would produce. Softmax is
# computed after subtracting the largest logit, which changes nothing
# mathematically and keeps every exponential at most 1.
import numpy as np
import torch

from nnbook import book, gradients, plotting

z = np.random.default_rng(2).normal(0.0, 1.2, 10)
y_hat = gradients.softmax(z)
J = gradients.softmax_jacobian(z)
J_torch = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), torch.tensor(z)).numpy()

# %%
# The picture
# -----------
# Left: the probabilities. Right: the Jacobian. The diagonal
# :math:`\hat y_i(1-\hat y_i)` is positive (raising a logit raises its own
# probability); every off-diagonal entry :math:`-\hat y_i\hat y_j` is negative
# (and takes probability from the others). The biggest effects involve the
# most probable classes.
fig, (ax_p, ax_j) = plotting.new_figure(1, 2, width=9.6, height=4.2, gridspec_kw={"width_ratios": [1, 1.25]})
classes = [str(k) for k in range(10)]
ax_p.bar(classes, y_hat, color="C0")
ax_p.set(xlabel="class i", ylabel=r"$\hat y_i = \mathrm{softmax}(z)_i$", title="Probabilities for one input")
image = plotting.heatmap(ax_j, J, labels=classes)
ax_j.set(xlabel="logit j", ylabel="probability i", title=r"Jacobian $J = \mathrm{diag}(\hat y) - \hat y\hat y^\top$")
fig.colorbar(image, ax=ax_j).set_label(r"$\partial \hat y_i / \partial z_j$")

# %%
# A whole batch against autograd
# ------------------------------
# 2000 inputs at once: the Jacobian formula is a broadcast, with no loop over
# inputs. Rows of a batch do not interact, so one backward pass per class
# :math:`i` gives row :math:`i` of all 2000 Jacobians from autograd.
Z = np.random.default_rng(4).normal(0.0, 3.0, (2000, 10))
J_batch = gradients.softmax_jacobian(Z)
Zt = torch.tensor(Z, requires_grad=True)
Yt = torch.softmax(Zt, -1)
rows = [torch.autograd.grad(Yt[:, i].sum(), Zt, retain_graph=True)[0] for i in range(10)]
J_autograd = torch.stack(rows, dim=1).numpy()
err_batch = np.abs(J_batch - J_autograd).max()
err_single = np.abs(J - J_torch).max()

# %%
# Cross-entropy on softmax
# ------------------------
# For a one-hot target :math:`y`, the loss :math:`-\sum_k y_k \log \hat y_k`
# has gradient :math:`J^\top(-y/\hat y) = \hat y - y` with respect to the
# logits. We check the shortcut against autograd and against the chain rule
# through the Jacobian.
labels = np.random.default_rng(5).integers(0, 10, Z.shape[0])
Y = np.eye(10)[labels]
Zt = torch.tensor(Z, requires_grad=True)
torch.nn.functional.cross_entropy(Zt, torch.tensor(labels), reduction="sum").backward()
grad_ce = gradients.softmax_cross_entropy_gradient(Z, Y)
err_ce = np.abs(grad_ce - Zt.grad.numpy()).max()
chain = np.einsum("bki,bk->bi", J_batch, -Y / gradients.softmax(Z))
err_chain = np.abs(chain - grad_ce).max()

# %%
# Large logits
# ------------
# Shifting every logit by 1000 changes no probability, but :math:`e^{1000}`
# overflows: the textbook formula returns ``nan``; the shifted one does not.
# (The two results differ by round-off only: adding 1000 to a logit rounds
# it to a multiple of about :math:`10^{-13}`.)
shift = 1000
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(z + shift) / np.exp(z + shift).sum()
err_shift = np.abs(gradients.softmax(z + shift) - y_hat).max()

# %%
# The numbers, checked
# --------------------
row_sums = np.abs(J_batch.sum(axis=-1)).max()
with book.numbers():
    book.record("gradients/softmax_max_prob", y_hat.max(), fmt="{:.2f}", label="largest probability")
    book.record("gradients/softmax_jac_max_diag", J.diagonal().max(), fmt="{:.3f}", label="largest diagonal entry")
    book.record("gradients/softmax_batch", Z.shape[0], fmt="{:d}", label="inputs in the batch")
    book.record("gradients/softmax_shift", shift, fmt="{:d}", label="shift of the logits")
    book.claim(
        "gradients/softmax_jac_vs_functional",
        "the softmax Jacobian formula equals torch.autograd.functional.jacobian to within 1e-15",
        value=err_single,
        at_most=1e-15,
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/softmax_jac_vs_autograd_batch",
        "on a batch of 2000 inputs the batched Jacobian equals autograd's to within 1e-14",
        value=err_batch,
        at_most=1e-14,
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/ce_grad_vs_autograd",
        "the cross-entropy gradient softmax(z) - y equals autograd's to within 1e-14",
        value=err_ce,
        at_most=1e-14,
        fmt="{:.0e}",
    )
    book.claim(
        "gradients/ce_grad_vs_chain_rule",
        "softmax(z) - y equals the chain rule through the Jacobian to within 1e-14",
        value=err_chain,
        at_most=1e-14,
        fmt="{:.0e}",
    )
    book.check(
        "gradients/softmax_jac_rows_sum_to_zero",
        "every row of every Jacobian sums to zero to within 1e-14 (J 1 = 0 is an identity)",
        value=row_sums,
        at_most=1e-14,
        fmt="{:.0e}",
    )
    book.check(
        "gradients/softmax_jac_asymmetry",
        "every Jacobian in the batch is exactly symmetric (the formula multiplies the same two numbers)",
        value=np.abs(J_batch - np.swapaxes(J_batch, 1, 2)).max(),
        at_most=0,
        fmt="{:g}",
    )
    book.check(
        "gradients/softmax_shift_invariant",
        "softmax(z + 1000) equals softmax(z) to within 1e-12 (the shifted form subtracts the largest logit)",
        value=err_shift,
        at_most=1e-12,
        fmt="{:.0e}",
    )
    book.check(
        "gradients/softmax_naive_nans",
        "the unshifted formula returns nan for every one of the ten outputs (IEEE: inf / inf)",
        value=int(np.isnan(naive).sum()),
        between=(10, 10),
        fmt="{:d}",
    )

# %%
# Takeaways
# ---------
# - :math:`J = \operatorname{diag}(\hat y) - \hat y\hat y^\top` is symmetric,
#   its rows sum to zero (adding a constant to all logits changes nothing),
#   and it is the covariance matrix of a one-hot sample from :math:`\hat y`.
# - Composed with cross-entropy, all of it collapses to :math:`\hat y - y`:
#   the error of the prediction is the gradient.
# - Subtracting the largest logit first costs nothing and removes overflow.
plotting.show()
