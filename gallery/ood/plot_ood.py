"""
What does a network do where it has seen no data?
=================================================

The four-layer ReLU network of the initialisation chapter (He initialisation)
is trained on inputs from :math:`[-1, 0.4]` only and tested on all of
:math:`[-1, 1]`. We split its test error into the part inside the training
range and the part outside, over five seeds, compare it with the same network
trained on the whole range, and look at its linearisation: what its principal
features do beyond the data.
"""

# sphinx_gallery_thumbnail_number = 1

# %%
# Two training sets, one test grid
# --------------------------------
# The target and noise are those of the initialisation chapter. The
# out-of-distribution (OOD) training set draws its 1,500 inputs from
# :math:`U(-1, 0.4)`; the test grid covers :math:`[-1, 1]`, and its points
# above 0.4 are the OOD part. For each of five seeds we train two networks
# from the same initialisation and batch order: one on the full range, one on
# :math:`[-1, 0.4]` (10 epochs, SGD with momentum 0.9, batches of 32,
# learning rate 0.03 as in the initialisation chapter).
import numpy as np

from nnbook import book, expressivity, init, plotting, sines, spectra, training

full = sines.sine_task()
ood = sines.sine_task(train_range=(-1.0, 0.4), seed=50)
SEEDS = range(5)
config = training.TrainConfig(lr=0.03, epochs=10, batch_size=32, momentum=0.9, loss="mse", on_divergence="stop")
TASKS = {"[-1, 1]": full, "[-1, 0.4]": ood}
nets = {}
for name, task in TASKS.items():
    for seed in SEEDS:
        nets[name, seed] = init.initialise(sines.mlp(4), "he", seed=seed)
        training.train(nets[name, seed], config, task.train_pair(), test=task.test_pair())
x_grid, y_grid = full.x_test, full.y_test
preds = {name: np.array([training.predict(nets[name, s], x_grid[:, None])[:, 0] for s in SEEDS]) for name in TASKS}

# %%
# Figure 1: the five fits of each training set. The shaded band is outside
# the OOD training range.
fig, axes = plotting.new_figure(1, 2, width=11, height=3.4, sharey=True)
for ax, (name, task) in zip(axes, TASKS.items(), strict=True):
    ax.scatter(task.x_train, task.y_train, s=1, color="0.75", label="training data")
    ax.plot(x_grid, y_grid, "k", lw=2, label=r"$f(x)$")
    for s in SEEDS:
        ax.plot(x_grid, preds[name][s], lw=1)
    ax.axvspan(0.4, 1.0, color="C3", alpha=0.08, lw=0)
    ax.set(title=f"trained on {name}", xlabel="x", ylim=(-3, 3))
axes[0].set_ylabel("network output")
plotting.legend(axes[0], loc="lower left", fontsize=8)

# %%
# Errors inside and outside, kinks and disagreement
# -------------------------------------------------
# :func:`nnbook.sines.range_errors` splits the test MSE at 0.4. A ReLU network
# of one input is piecewise linear; we count its linear pieces on each side
# (:func:`nnbook.expressivity.count_linear_pieces`), per unit length, and we
# measure how much the five seeds disagree: the standard deviation of their
# predictions across seeds, averaged over the test points on each side.
inside = ood.in_range(x_grid)
errors = {name: np.array([sines.range_errors(ood, p) for p in preds[name]]) for name in TASKS}  # (seeds, 2)
density = {
    name: np.array(
        [
            [
                (expressivity.count_linear_pieces(nets[name, s], -1.0, 0.4) - 1) / 1.4,
                (expressivity.count_linear_pieces(nets[name, s], 0.4, 1.0) - 1) / 0.6,
            ]
            for s in SEEDS
        ]
    )
    for name in TASKS
}
disagreement = {
    name: (preds[name].std(axis=0)[inside].mean(), preds[name].std(axis=0)[~inside].mean()) for name in TASKS
}


def mean_sd(values: np.ndarray, fmt: str) -> str:
    return f"{values.mean():{fmt}} ± {values.std():{fmt}}"


rows = [
    {
        "trained on": name,
        "test MSE, x ≤ 0.4": mean_sd(errors[name][:, 0], ".3f"),
        "test MSE, x > 0.4": mean_sd(errors[name][:, 1], ".3f"),
        "kinks per unit length, x ≤ 0.4": mean_sd(density[name][:, 0], ".0f"),
        "kinks per unit length, x > 0.4": mean_sd(density[name][:, 1], ".0f"),
        "seed-to-seed sd, x ≤ 0.4": f"{disagreement[name][0]:.3f}",
        "seed-to-seed sd, x > 0.4": f"{disagreement[name][1]:.3f}",
    }
    for name in TASKS
]
table = book.save_table("ood/errors", rows)

# %%
# The linearisations compared
# ---------------------------
# Figure 2 shows the spectra of (a) the one-hidden-layer network of the
# initialisation chapter, (b) the four-layer network trained on the full range
# and (c) the one trained on :math:`[-1, 0.4]` (seed 0 each). Each Jacobian is
# taken at the network's own training inputs, and its principal features are
# drawn as functions on all of :math:`[-1, 1]`:
# :math:`\phi_k(x) = \nabla_w f(x)^\top v_k` with :math:`v_k` the
# :math:`k`-th right singular vector (:func:`nnbook.spectra.feature_functions`),
# which equals the :math:`k`-th column of :math:`U\Sigma` at the training
# inputs and shows how a step along :math:`v_k` moves the output elsewhere.
shallow = sines.mlp(1, seed=0)
training.train(shallow, config, full.train_pair())
compared = {
    "(a) one hidden layer, [-1, 1]": (shallow, full),
    "(b) four hidden layers, [-1, 1]": (nets["[-1, 1]", 0], full),
    "(c) four hidden layers, [-1, 0.4]": (nets["[-1, 0.4]", 0], ood),
}
OOD_LABEL = "(c) four hidden layers, [-1, 0.4]"
spectrums = {label: spectra.linearisation_spectrum(net, task.x_train) for label, (net, task) in compared.items()}

fig, axes = plotting.new_figure(3, 3, width=13, height=9.5)
for row, (label, (net, _task)) in zip(axes, compared.items(), strict=True):
    spectrum = spectrums[label]
    spectra.draw_spectrum(row, spectrum, x_grid=x_grid, features_grid=spectra.feature_functions(net, spectrum, x_grid))
    plotting.mark_vertical(row[1], 0.4)
    row[0].set_title(label, loc="left")
outside_energy = {  # share of each extended feature's squared size that lies above 0.4, top 10 features
    label: float(np.mean(np.sum(f[~inside] ** 2, axis=0) / np.sum(f**2, axis=0)))
    for label, (net, task) in compared.items()
    for f in [spectra.feature_functions(net, spectrums[label], x_grid)]
}

# %%
# The numbers, checked
# --------------------
ratio = errors["[-1, 0.4]"][:, 1] / errors["[-1, 0.4]"][:, 0]
density_ratio = {name: density[name][:, 1] / density[name][:, 0] for name in TASKS}
with book.numbers():
    book.record(
        "ood/n_test_inside",
        int(inside.sum()),
        fmt="{:d}",
        label="test-grid points inside the OOD training range [-1, 0.4]",
    )
    book.record(
        "ood/grid_share_outside",
        100 * float(np.mean(~inside)),
        fmt="{:.0f}",
        label="share of the test grid above 0.4",
        unit="%",
    )
    book.record(
        "ood/mse_in_ood",
        float(errors["[-1, 0.4]"][:, 0].mean()),
        fmt="{:.3f}",
        label=f"test MSE for x ≤ 0.4 of networks trained on [-1, 0.4], mean of {len(SEEDS)} seeds",
    )
    book.record(
        "ood/mse_out_ood",
        float(errors["[-1, 0.4]"][:, 1].mean()),
        fmt="{:.2f}",
        label=f"test MSE for x > 0.4 of networks trained on [-1, 0.4], mean of {len(SEEDS)} seeds",
    )
    book.record(
        "ood/mse_in_full",
        float(errors["[-1, 1]"][:, 0].mean()),
        fmt="{:.3f}",
        label=f"test MSE for x ≤ 0.4 of networks trained on [-1, 1], mean of {len(SEEDS)} seeds",
    )
    book.record(
        "ood/mse_out_full",
        float(errors["[-1, 1]"][:, 1].mean()),
        fmt="{:.3f}",
        label=f"test MSE for x > 0.4 of networks trained on [-1, 1], mean of {len(SEEDS)} seeds",
    )
    book.record(
        "ood/variance_outside",
        float(np.var(y_grid[~inside])),
        fmt="{:.2f}",
        label="variance of the target on the test grid above 0.4",
    )
    book.claim(
        "ood/error_outside_dominates",
        "trained on [-1, 0.4], the test MSE above 0.4 is over 10 times the MSE below it, in every seed (smallest "
        "ratio)",
        value=float(ratio.min()),
        at_least=10,
        fmt="{:.0f}",
    )
    book.claim(
        "ood/outside_worse_than_full",
        "above 0.4 the OOD-trained network's error is over 5 times that of the network trained on the full range, "
        "for every seed (paired, smallest ratio)",
        value=float((errors["[-1, 0.4]"][:, 1] / errors["[-1, 1]"][:, 1]).min()),
        at_least=5,
        fmt="{:.0f}",
    )
    book.claim(
        "ood/worse_than_a_constant",
        "above 0.4 every OOD-trained network does worse than the best constant there (its MSE over the variance "
        "of f above 0.4, smallest over seeds)",
        value=float((errors["[-1, 0.4]"][:, 1] / np.var(y_grid[~inside])).min()),
        at_least=1,
        fmt="{:.1f}",
    )
    book.record(
        "ood/density_in_ood",
        float(density["[-1, 0.4]"][:, 0].mean()),
        fmt="{:.0f}",
        label=f"kinks per unit length for x ≤ 0.4 of networks trained on [-1, 0.4], mean of {len(SEEDS)} seeds",
    )
    book.record(
        "ood/density_out_ood",
        float(density["[-1, 0.4]"][:, 1].mean()),
        fmt="{:.0f}",
        label=f"kinks per unit length for x > 0.4 of networks trained on [-1, 0.4], mean of {len(SEEDS)} seeds",
    )
    book.record(
        "ood/density_ratio_full",
        float(np.median(density_ratio["[-1, 1]"])),
        fmt="{:.2f}",
        label=f"kink density above 0.4 over below 0.4 of networks trained on [-1, 1], median of {len(SEEDS)} seeds",
    )
    book.claim(
        "ood/few_kinks_outside",
        "trained on [-1, 0.4], the network has under half as many kinks per unit length above 0.4 as below, in "
        "every seed (largest ratio)",
        value=float(density_ratio["[-1, 0.4]"].max()),
        at_most=0.5,
        fmt="{:.2f}",
    )
    book.record(
        "ood/disagreement_in",
        float(disagreement["[-1, 0.4]"][0]),
        fmt="{:.3f}",
        label="seed-to-seed standard deviation of the prediction for x ≤ 0.4, trained on [-1, 0.4]",
    )
    book.record(
        "ood/disagreement_out",
        float(disagreement["[-1, 0.4]"][1]),
        fmt="{:.2f}",
        label="seed-to-seed standard deviation of the prediction for x > 0.4, trained on [-1, 0.4]",
    )
    book.claim(
        "ood/seeds_disagree_outside",
        "the five OOD-trained networks disagree over 3 times more above 0.4 than below (seed-to-seed sd)",
        value=float(disagreement["[-1, 0.4]"][1] / disagreement["[-1, 0.4]"][0]),
        at_least=3,
        fmt="{:.0f}",
    )
    for key, label in (("shallow", "(a)"), ("full", "(b)"), ("ood", "(c)")):
        name = next(k for k in compared if k.startswith(label))
        book.record(
            f"ood/outside_energy_{key}",
            100 * outside_energy[name],
            fmt="{:.0f}",
            label=f"share above x = 0.4 of the squared size of the top ten features, network {name}",
            unit="%",
        )
    ood_net, ood_spectrum = compared[OOD_LABEL][0], spectrums[OOD_LABEL]
    extended = spectra.feature_functions(ood_net, ood_spectrum, ood.x_train)
    book.check(
        "ood/features_extend",
        "the extended features equal the columns of U S at the training inputs (largest difference, relative)",
        value=float(np.abs(extended - ood_spectrum.features).max() / np.abs(ood_spectrum.features).max()),
        at_most=1e-4,
        fmt="{:.0e}",
    )

# %%
# Takeaways
# ---------
# - Inside its training range the network fits as well as one trained on the
#   whole line; outside it, its error is an order of magnitude larger, and
#   different seeds extrapolate differently.
# - The data pin the function down only where they are: a gradient step moves
#   the output at :math:`x` by the tangent kernel between :math:`x` and the
#   training points, and beyond the data that kernel continues the network's
#   last linear pieces.
# - Kinks, the network's means of bending, stay where the data are.
plotting.show()
