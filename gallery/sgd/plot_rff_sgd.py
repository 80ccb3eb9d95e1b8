"""
How should SGD be tuned for random Fourier features of different sizes?
=======================================================================

The double-descent chapter fitted random Fourier feature models in closed
form. Here the same models, on the same digits task, are trained the way
networks are: ``torch.optim.SGD`` over a ``DataLoader`` of mini-batches of the
mean squared error, recording the training and test error after every epoch.
We train models with :math:`N` = 5, 100, 400 and 1000 frequencies, find the
step size, batch size and number of epochs that make each converge fast, and
see what too small and too large steps do. The answer has a simple form once
the step is measured in the right unit.
"""

# %%
# The models and the unit of step size
# ------------------------------------
# A model with :math:`N` frequencies has :math:`2N` features
# :math:`\phi(x) = (\cos v_k^\top x, \sin v_k^\top x)_k` and is linear in them:
# a fixed feature map followed by a bias-free ``nn.Linear(2N, 1)`` whose
# weights start at :math:`\mathcal N(0, 0.001^2)`, the assignment's
# initialisation. Its loss :math:`\frac1n\|\Phi a - y\|^2` is a quadratic with
# Hessian :math:`2\Phi^\top\Phi/n`, so full-batch gradient descent is stable
# exactly for steps below :math:`1/\lambda_{\max}(\Phi^\top\Phi/n)`, half of
# :func:`nnbook.sgd.max_stable_lr` (which is for the loss with a factor 1/2).
# Because :math:`\|\phi(x)\|^2 = N` for every input, :math:`\lambda_{\max}`
# grows in proportion to :math:`N` and the bound shrinks like :math:`1/N`.
import dataclasses

import numpy as np

from nnbook import book, data, plotting, rff, rff_sgd, sgd
from nnbook.training import TrainConfig

split = data.digits_curvy()
n = split.X_train.shape[0]
sizes, draws = (5, 100, 400, 1000), range(5)
bounds = {(N, d): sgd.max_stable_lr(rff_sgd.features(split, N, draw=d)[0]) / 2 for N in sizes for d in draws}
for N in sizes:
    print(
        f"N = {N:4d}   2N/n = {2 * N / n:.2f}   stable steps below {bounds[N, 0]:.3g}   "
        f"N x bound = {N * bounds[N, 0]:.2f}"
    )

# %%
# Sweeping the step size
# ----------------------
# For each size, ten epochs of mini-batches of 64 with constant steps from 1%
# to twice the bound (draw 0 of the frequencies), and one run whose step starts
# at the bound and decays to zero along a half cosine. A run whose loss
# overflows stops; crosses at the top of the plot mark runs that diverged or
# ended above a training MSE of 3. On the left the step
# is in absolute units, on the right in units of each model's own bound. The
# dotted line marks :math:`\eta = 0.001`, the step hard-coded in the
# assignment's ``sgd_fit``.
fractions = (0.01, 0.1, 0.3, 1.0, 2.0)
base = TrainConfig(epochs=10, batch_size=64, loss="mse", on_divergence="stop", device="cpu")
sweep = {
    (N, f): rff_sgd.run(split, N, dataclasses.replace(base, lr=f * bounds[N, 0])) for N in sizes for f in fractions
}
cosine = {N: rff_sgd.run(split, N, dataclasses.replace(base, lr=bounds[N, 0], lr_schedule="cosine")) for N in sizes}
final = {key: (run.history.train_loss[-1] if not run.history.diverged else np.inf) for key, run in sweep.items()}

fig, (ax_abs, ax_rel) = plotting.new_figure(1, 2, width=10.0, height=3.9, sharey=True)
ceiling = 3.0
for N in sizes:
    values = np.array([final[N, f] for f in fractions])
    shown = np.minimum(values, ceiling)
    for ax, x in ((ax_abs, np.array(fractions) * bounds[N, 0]), (ax_rel, np.array(fractions))):
        (line,) = ax.plot(x, shown, "o-", label=f"N = {N}")
        ax.plot(x[values >= ceiling], shown[values >= ceiling], "x", ms=10, color=line.get_color())
    ax_rel.plot(1.0, cosine[N].history.train_loss[-1], "*", ms=11, color=line.get_color())
ax_abs.axvline(0.001, color="k", ls=":", lw=1.2)
ax_abs.annotate("sgd_fit's lr", (0.001, ceiling), xytext=(4, -12), textcoords="offset points", fontsize=8)
ax_abs.set(
    xscale="log",
    yscale="log",
    xlabel=r"step size $\eta$",
    ylabel="training MSE after 10 epochs",
    title="Constant steps, absolute units",
)
ax_rel.set(
    xscale="log",
    xlabel=r"$\eta$ / stability bound $1/\lambda_{\max}$",
    title="In units of the bound (stars: cosine decay from 1)",
)
plotting.legend(ax_rel, fontsize=8)

# %%
# Sweeping the batch size
# -----------------------
# At a constant 0.3 of the bound, mini-batches of 16, 64 and 256 for ten
# epochs. Smaller batches take more steps per epoch; their gradients are
# noisier, but at this step size the noise costs little, so per epoch (per
# example processed) they are ahead, by a wide margin for the large models.
# Not so for :math:`N = 5`: a model that cannot fit its training set keeps
# large residuals, its mini-batch gradients stay noisy at the minimum, and
# only the largest batch settles.
batch_sizes = (16, 64, 256)
by_batch = {
    (N, b): (
        sweep[N, 0.3]
        if b == base.batch_size
        else rff_sgd.run(split, N, dataclasses.replace(base, lr=0.3 * bounds[N, 0], batch_size=b))
    )
    for N in sizes
    for b in batch_sizes
}
fig, axes = plotting.new_figure(1, len(sizes), width=12.0, height=3.3, sharey=True)
axes[0].set(ylabel="training MSE")
for ax, N in zip(axes, sizes, strict=True):
    for b in batch_sizes:
        h = by_batch[N, b].history
        ax.plot(h.epoch, h.train_loss, "o-", ms=3, label=f"batch {b}: {h.steps // h.epoch[-1]} steps/epoch")
    ax.set(yscale="log", xlabel="epoch", title=f"N = {N}")
    plotting.legend(ax, fontsize=7)

# %%
# The tuned runs, over five draws
# -------------------------------
# What the sweeps point to: a step that starts at the bound of the model's own
# features and decays along a half cosine, batches of 64, and 20 epochs. The
# large early steps make fast progress along the stiff directions; the small
# late ones remove the noise floor that a constant step leaves. Each run draws
# its own frequencies, initial weights and batch order; the five draws are
# drawn as thin lines, so the spread is visible, including the violent first
# epochs, when steps near the bound throw the stiffest direction back and
# forth before the schedule calms them. The dashed line is the test error of the least-squares
# (minimum-norm) fit with the same features, the point gradient descent would
# reach with an unlimited budget (mean over the draws).
tuned = {
    N: [
        rff_sgd.run(
            split, N, dataclasses.replace(base, lr=bounds[N, d], lr_schedule="cosine", epochs=20, seed=d), draw=d
        )
        for d in draws
    ]
    for N in sizes
}
least_squares = {}
for N in sizes:
    for d in draws:
        Phi, Phi_test = rff_sgd.features(split, N, draw=d)
        least_squares[N, d] = np.mean((Phi_test @ rff.fit_min_norm(Phi, split.y_train) - split.y_test) ** 2)
fig, axes = plotting.new_figure(1, len(sizes), width=12.0, height=3.4, sharey=True)
for ax, N in zip(axes, sizes, strict=True):
    epoch = tuned[N][0].history.epoch
    for name, label, colour in (("train_loss", "training", "C0"), ("test_loss", "test", "C1")):
        ax.plot(epoch, rff_sgd.stack_curves(tuned[N], name).T, color=colour, lw=0.9, alpha=0.7)
        ax.plot([], [], color=colour, label=label)
    ax.axhline(np.mean([least_squares[N, d] for d in draws]), color="C1", ls="--", lw=1.2, label="test, least squares")
    ax.set(yscale="log", ylim=(0.1, 3.0), xlabel="epoch", title=f"N = {N}, 2N/n = {2 * N / n:.2f}")
axes[0].set(ylabel="MSE")
plotting.legend(axes[0], fontsize=7)

# %%
# The assignment's bug, and why it cannot happen here
# ---------------------------------------------------
# The assignment's ``sgd_fit(..., lr=0.001, ...)`` builds its optimiser as
# ``torch.optim.SGD([a], lr=0.001)``: the argument ``lr`` is accepted and then
# ignored. Every "tuned" learning rate silently trained with 0.001, which is
# :math:`0.001/\eta_{\max}(N)` of the bound: a sensible step for
# :math:`N = 1000` and a hopelessly small one for :math:`N = 5`, so the
# tuning seemed to do nothing and small models seemed not to learn. In
# :func:`nnbook.training.train` the optimiser is built from the
# :class:`~nnbook.training.TrainConfig` and nowhere else; every field of the
# frozen config is used, a misspelt setting is an error, and the history
# carries the config it was trained with. Two runs that differ only in the step
# size differ in every epoch.
try:
    TrainConfig(learning_rate=0.1)
except TypeError as err:
    print(f"TrainConfig(learning_rate=0.1) -> TypeError: {err}")
slow = rff_sgd.run(split, 5, dataclasses.replace(base, lr=0.001))
for run in (slow, sweep[5, 0.01], sweep[5, 0.1]):
    print(f"N = 5, lr = {run.history.config.lr:.3g}: training MSE after 10 epochs {run.history.train_loss[-1]:.3f}")

# %%
# The numbers, checked
# --------------------
best_constant = {N: min(final[N, f] for f in fractions) for N in sizes}
at_end = {N: rff_sgd.stack_curves(tuned[N], "test_loss")[:, -1] for N in sizes}
ls_test = {N: np.array([least_squares[N, d] for d in draws]) for N in sizes}
Phi, _ = rff_sgd.features(split, 5)
ls_train_5 = np.mean((Phi @ rff.fit_min_norm(Phi, split.y_train) - split.y_train) ** 2)
drop = {
    N: (sweep[N, 0.01].history.train_loss[0] - final[N, 0.01])
    / (cosine[N].history.train_loss[0] - cosine[N].history.train_loss[-1])
    for N in sizes
}
with book.numbers():
    for N in sizes:
        book.record(f"sgd/rff_bound_n{N}", bounds[N, 0], fmt="{:.2g}", label=f"stable step bound, N = {N}")
        book.record(
            f"sgd/rff_assignment_fraction_n{N}", 0.001 / bounds[N, 0], fmt="{:.3f}", label=f"0.001 / bound, N = {N}"
        )
        book.record(f"sgd/rff_test_n{N}", at_end[N].mean(), fmt="{:.3f}", label=f"tuned SGD test MSE, N = {N}")
        book.record(
            f"sgd/rff_test_spread_n{N}",
            at_end[N].max() - at_end[N].min(),
            fmt="{:.3f}",
            label=f"spread (max - min) over draws of the tuned SGD test MSE, N = {N}",
        )
        book.record(f"sgd/rff_ls_test_n{N}", ls_test[N].mean(), fmt="{:.3f}", label=f"least-squares test MSE, N = {N}")
        book.record(
            f"sgd/rff_cosine_train_n{N}",
            cosine[N].history.train_loss[-1],
            fmt="{:.3f}",
            label=f"final training MSE with a cosine schedule, N = {N}",
        )
        book.record(
            f"sgd/rff_best_constant_train_n{N}",
            best_constant[N],
            fmt="{:.3f}",
            label=f"final training MSE of the best constant step size, N = {N}",
        )
    book.record("sgd/rff_n_train", n, fmt="{:d}", label="training points")
    book.record(
        "sgd/rff_bound_ratio", bounds[5, 0] / bounds[1000, 0], fmt="{:.0f}", label="bound for N=5 over bound for N=1000"
    )
    book.record(
        "sgd/rff_bound_draw_spread_n5",
        max(bounds[5, d] for d in draws) / min(bounds[5, d] for d in draws),
        fmt="{:.2f}",
        label="largest over smallest stable step bound across feature draws, N = 5",
    )
    book.record(
        "sgd/rff_slow_train",
        slow.history.train_loss[-1],
        fmt="{:.3f}",
        label="training MSE after 10 epochs at lr 0.001, N = 5",
    )
    book.claim(
        "sgd/rff_bound_scales_as_one_over_n",
        "the stability bound shrinks like 1/N: N times the bound varies by less than a factor 1.5 "
        "from N = 100 to N = 1000",
        value=max(N * bounds[N, 0] for N in sizes[1:]) / min(N * bounds[N, 0] for N in sizes[1:]),
        at_most=1.5,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/rff_twice_bound_diverges",
        "a constant step of twice the bound diverges for every size (fraction of the four runs that diverged)",
        value=float(np.mean([final[N, 2.0] > 10 for N in sizes])),
        at_least=1.0,
        fmt="{:.0%}",
    )
    book.claim(
        "sgd/rff_small_step_crawls",
        "a constant step of 1% of the bound is too small for every size: in 10 epochs it achieves at most "
        "this fraction of the drop in training MSE that the cosine schedule achieves",
        value=max(drop.values()),
        at_most=0.7,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/rff_noise_floor_small_model",
        "for N = 5, which cannot fit its training set, a constant 0.3 of the bound ends above 0.1 of it: "
        "the gradient noise of the large residuals sets a floor (ratio of training MSEs)",
        value=final[5, 0.3] / final[5, 0.1],
        at_least=1.2,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/rff_cosine_beats_constant",
        "a step decaying from the bound along a half cosine ends with a lower training MSE than every constant "
        "step, for every size (largest ratio to the best constant step)",
        value=max(cosine[N].history.train_loss[-1] / best_constant[N] for N in sizes),
        at_most=0.97,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/rff_cosine_reaches_least_squares_n5",
        "for N = 5 the cosine schedule reaches the least-squares training MSE within 2% in 10 epochs (ratio)",
        value=cosine[5].history.train_loss[-1] / ls_train_5,
        between=(1.0, 1.02),
        fmt="{:.3f}",
    )
    book.claim(
        "sgd/rff_small_model_converges",
        "for N = 5 the tuned SGD matches the test error of the least-squares fit within 10% "
        "(mean over draws of the ratio)",
        value=float(np.mean(at_end[5] / ls_test[5])),
        between=(0.9, 1.1),
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/rff_sgd_beats_near_threshold",
        "for N = 400, just below the interpolation threshold, 20 epochs of SGD give a lower test error than the "
        "least-squares fit with the same features (smallest ratio over draws)",
        value=float(np.min(ls_test[400] / at_end[400])),
        at_least=1.5,
        fmt="{:.1f}",
    )
    book.check(
        "sgd/rff_lr_is_used",
        "runs that differ only in the step size end with different training errors (smallest difference among "
        "N = 5 with steps 0.001, 1% and 10% of the bound)",
        value=min(abs(slow.history.train_loss[-1] - final[5, 0.01]), abs(final[5, 0.01] - final[5, 0.1])),
        at_least=1e-6,
        fmt="{:.2g}",
    )

# %%
# Takeaways
# ---------
# - The stable step of SGD on random features is set by the largest eigenvalue
#   of :math:`\Phi^\top\Phi/n`, which grows like :math:`N`: a step that suits
#   :math:`N = 1000` is hundreds of times too small for :math:`N = 5`.
# - In units of that bound one recipe fits every size: start at the bound and
#   let the step decay, so that large early steps make progress and small late
#   ones remove the noise floor. Twice the bound diverges, a hundredth crawls.
# - Smaller batches make more progress per epoch; a model that cannot
#   interpolate needs the decay most, because its gradient noise does not vanish.
# - A training function must use the settings it is given: ``sgd_fit``'s
#   ignored ``lr`` would have hidden all of this.
plotting.show()
