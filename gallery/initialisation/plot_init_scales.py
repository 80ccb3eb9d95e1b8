"""
How large should the initial weights be?
========================================

A network with four hidden layers of 20 ReLU units is initialised three ways:
weights uniform in :math:`[-0.03, 0.03]`, uniform in :math:`[-3, 3]`, and by
He's variance-preserving scheme (Xavier's for comparison), biases zero. For
each we measure the signal through the layers, the gradient of every weight
matrix, the spectrum of the linearisation before and after training, and the
fit.
"""

# sphinx_gallery_thumbnail_number = 3

# %%
# The network and the four initialisations
# ----------------------------------------
# ``Linear(1, 20), ReLU``, three times ``Linear(20, 20), ReLU``, then
# ``Linear(20, 1)``: an ``nn.Sequential`` of 9 modules with 1,321 parameters.
# :func:`nnbook.init.initialise` redraws every weight and zeroes every bias.
import numpy as np
import torch

from nnbook import book, init, plotting, sines, spectra, training

task = sines.sine_task()
X, y = task.train_pair()
SEEDS = range(5)
SCHEMES = {  # label -> (scheme, scale)
    "U(±0.03)": ("uniform", 0.03),
    "U(±3)": ("uniform", 3.0),
    "He": ("he", None),
    "Xavier": ("xavier", None),
}


def network(label: str, seed: int) -> torch.nn.Sequential:
    scheme, scale = SCHEMES[label]
    return init.initialise(sines.mlp(4), scheme, scale=scale, seed=seed)


probe = network("He", 0)
n_params = sum(p.numel() for p in probe.parameters())
out_shape = tuple(probe(torch.zeros(10, 1)).shape)

# %%
# The signal through the layers
# -----------------------------
# With zero biases, a layer ``relu(W h)`` with i.i.d. weights of standard
# deviation :math:`s` multiplies the root mean square of its input by
# :math:`\sqrt{n_\text{in} s^2 / 2}` (:func:`nnbook.init.signal_gain`): far
# below 1 for :math:`U(\pm 0.03)`, far above for :math:`U(\pm 3)`, exactly 1
# for He and :math:`\sqrt{1/2}` for Xavier. Figure 1 measures it on the
# training inputs, five seeds per scheme.
stats = {label: [init.activation_stats(network(label, s), X) for s in SEEDS] for label in SCHEMES}

fig, ax = plotting.new_figure(height=3.4)
for i, label in enumerate(SCHEMES):
    for k, st in enumerate(stats[label]):
        ax.plot(np.arange(1, 5), st.rms, "o-", color=f"C{i}", alpha=0.7, label=label if k == 0 else None)
ax.set(yscale="log", xlabel="hidden layer", ylabel="RMS of the ReLU outputs", xticks=range(1, 5))
ax.set_title("Signal through the layers at initialisation")
plotting.legend(ax)
measured_gain = {label: np.median([init.geometric_rate(st.rms[1:]) for st in stats[label]]) for label in SCHEMES}
predicted_gain = {label: init.signal_gain(*SCHEMES[label][:1], 20, 20, SCHEMES[label][1]) for label in SCHEMES}

# %%
# The gradient of each weight matrix
# ----------------------------------
# The mean squared error on all 1,500 training points, differentiated with
# respect to each weight matrix (:func:`nnbook.init.weight_gradient_norms`);
# the table gives the median L2 norm over the five seeds.
grads = {
    label: np.array([init.weight_gradient_norms(network(label, s), X, y).norms for s in SEEDS]) for label in SCHEMES
}
rows = [
    {"weight matrix": f"layer {i + 1}", **{label: float(np.median(grads[label][:, i])) for label in SCHEMES}}
    for i in range(5)
]
book.save_table("initialisation/gradient_norms", rows, formats={label: "{:.2e}" for label in SCHEMES})
spread = {label: grads[label].max(axis=1) / grads[label].min(axis=1) for label in SCHEMES}  # per seed

# %%
# The linearisation before training
# ---------------------------------
# Figure 2 shows the Jacobian's spectrum at initialisation (seed 0). With all
# biases zero, every kink of every unit sits at :math:`x = 0`, and the
# network is :math:`a x` for :math:`x > 0` and :math:`b x` for
# :math:`x < 0`, plus the output bias. Its gradients can therefore only span
# four functions, :math:`1`, :math:`[x > 0]`, :math:`x_+` and :math:`x_-`,
# whatever the scale: at most four singular values are non-zero. What the
# scale changes is their size.
SHOWN = ("U(±0.03)", "U(±3)", "He")
before = {label: spectra.linearisation_spectrum(network(label, 0), task.x_train) for label in SHOWN}
at_init = {  # singular values only, every seed, for the two extremes
    label: [spectra.linearisation_spectrum(network(label, s), task.x_train, num_features=0) for s in SEEDS]
    for label in ("U(±0.03)", "U(±3)")
}
values_before = {label: np.array([sp.singular_values for sp in at_init[label]]) for label in at_init}
values_before["He (seed 0)"] = before["He"].singular_values[None, :]

fig, axes = plotting.new_figure(3, 3, width=13, height=9.5)
for row, label in zip(axes, SHOWN, strict=True):
    spectra.draw_spectrum(row, before[label])
    row[0].set_title(f"{label} at initialisation", loc="left")

# %%
# Training
# --------
# Ten epochs of SGD with momentum 0.9, batches of 32, learning rate 0.03 (the
# rate the previous example found to work; 0.1 kills most units), five seeds
# per scheme. A diverging run is stopped and marked. For :math:`U(\pm 3)` we
# also train at half the *critical* rate of its linearisation,
# :math:`(1 + \beta)\,n / \sigma_1^2` (:func:`nnbook.spectra.critical_learning_rate`),
# the largest step for which gradient descent on the linearised loss is stable.
config = training.TrainConfig(lr=0.03, epochs=10, batch_size=32, momentum=0.9, loss="mse", on_divergence="stop")
trained, histories = {}, {}
for label in SCHEMES:
    for seed in SEEDS:
        net = network(label, seed)
        histories[label, seed] = training.train(net, config, (X, y), test=task.test_pair())
        trained[label, seed] = net

critical = np.array([spectra.critical_learning_rate(sp, momentum=0.9) for sp in at_init["U(±3)"]])
SMALL = "U(±3), lr = σ-critical / 2"
for seed in SEEDS:
    net = network("U(±3)", seed)
    small = training.TrainConfig(
        lr=float(critical[seed] / 2), epochs=10, batch_size=32, momentum=0.9, loss="mse", on_divergence="stop"
    )
    histories[SMALL, seed] = training.train(net, small, (X, y), test=task.test_pair())
    trained[SMALL, seed] = net

# %%
# Figure 3: the fits after training, five seeds each.
FITTED = ("U(±0.03)", SMALL, "He", "Xavier")
fig, axes = plotting.new_figure(1, 4, width=14, height=3.2, sharey=True)
for ax, label in zip(axes, FITTED, strict=True):
    ax.plot(task.x_test, task.y_test, color="k", lw=2)
    for seed in SEEDS:
        ax.plot(task.x_test, training.predict(trained[label, seed], task.test_pair()[0])[:, 0], lw=1)
    ax.set(title=label, xlabel="x", ylim=(-3, 3))
axes[0].set_ylabel("network output")

test_mse = {label: np.array([histories[label, s].test_loss[-1] for s in SEEDS]) for label in FITTED}
rows = [
    {
        "initialisation": label,
        "learning rate": "0.03" if label != SMALL else f"{np.median(critical) / 2:.1e} (median)",
        "test MSE, median [min, max]": "{:.3g} [{:.3g}, {:.3g}]".format(*np.quantile(test_mse[label], [0.5, 0, 1])),
    }
    for label in FITTED
]
table = book.save_table("initialisation/scales_after_training", rows)

# %%
# The linearisation after training
# --------------------------------
# Figure 4: the same spectra after training (seed 0). Training has moved the
# biases, so kinks now sit where the data need them, and the features are no
# longer confined to four functions.
after = {label: spectra.linearisation_spectrum(trained[label, 0], task.x_train) for label in ("U(±0.03)", SMALL, "He")}
fig, axes = plotting.new_figure(3, 3, width=13, height=9.5)
for row, (label, spectrum) in zip(axes, after.items(), strict=True):
    spectra.draw_spectrum(row, spectrum)
    row[0].set_title(f"{label} after training", loc="left")

# %%
# The numbers, checked
# --------------------
var_y = float(np.var(y))
loss_ratio_small = np.array([histories["U(±0.03)", s].train_loss[-1] for s in SEEDS]) / var_y
diverged = [histories["U(±3)", s] for s in SEEDS]
with book.numbers():
    book.check(
        "initialisation/n_params_deep",
        "the network has 1,321 parameters",
        value=n_params,
        between=(1321, 1321),
        fmt="{:,}",
    )
    book.check(
        "initialisation/n_modules", "the nn.Sequential has 9 modules", value=len(probe), between=(9, 9), fmt="{:d}"
    )
    book.check(
        "initialisation/output_shape",
        "the output of 10 inputs has shape [10, 1]",
        value=out_shape[0] * out_shape[1],
        between=(10, 10),
        fmt="{:d}",
    )
    for label, key in (("U(±0.03)", "small"), ("U(±3)", "large"), ("He", "he"), ("Xavier", "xavier")):
        book.record(
            f"initialisation/gain_{key}",
            float(measured_gain[label]),
            fmt="{:.3g}",
            label=f"measured per-layer signal factor under {label} weights, median of {len(SEEDS)} seeds",
        )
        book.record(
            f"initialisation/gain_{key}_predicted",
            predicted_gain[label],
            fmt="{:.3g}",
            label=f"predicted per-layer signal factor sqrt(fan_in s^2 / 2) under {label} weights",
        )
        book.claim(
            f"initialisation/gain_{key}_as_predicted",
            f"with {label} weights the measured per-layer factor on the signal is within 30% of sqrt(fan_in s^2 / 2)",
            value=float(measured_gain[label] / predicted_gain[label]),
            between=(0.7, 1.3),
            fmt="{:.2f}",
        )
    book.record(
        "initialisation/grad_small_max",
        float(grads["U(±0.03)"].max()),
        fmt="{:.1e}",
        label=f"largest weight-gradient norm under U(±0.03), over layers and {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/grad_large_min",
        float(grads["U(±3)"].min()),
        fmt="{:.1e}",
        label=f"smallest weight-gradient norm under U(±3), over layers and {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/grad_he_median",
        float(np.median(grads["He"])),
        fmt="{:.2g}",
        label=f"median weight-gradient norm under He initialisation, over layers and {len(SEEDS)} seeds",
    )
    book.claim(
        "initialisation/grad_small_tiny",
        "under U(±0.03) every weight gradient is below 1e-4 in every seed",
        value=float(grads["U(±0.03)"].max()),
        at_most=1e-4,
        fmt="{:.1e}",
    )
    book.claim(
        "initialisation/grad_small_flat",
        "under U(±0.03) the weight gradients do not shrink towards the input: in every seed the largest is within "
        "a factor 10 of the smallest",
        value=float(spread["U(±0.03)"].max()),
        at_most=10,
        fmt="{:.1f}",
    )
    book.record(
        "initialisation/grad_small_first_over_last",
        float(np.median(grads["U(±0.03)"][:, 0] / grads["U(±0.03)"][:, -1])),
        fmt="{:.2g}",
        label=f"first- over last-layer gradient norm under U(±0.03), median of {len(SEEDS)} seeds",
    )
    book.claim(
        "initialisation/grad_large_huge",
        "under U(±3) every weight gradient is above 1e3 in every seed",
        value=float(grads["U(±3)"].min()),
        at_least=1e3,
        fmt="{:.1e}",
    )
    book.claim(
        "initialisation/grad_he_balanced",
        "under He initialisation the weight gradients of the five layers are within a factor 10 of each other "
        "(median over seeds of the largest over the smallest)",
        value=float(np.median(spread["He"])),
        at_most=10,
        fmt="{:.1f}",
    )
    book.record(
        "initialisation/grad_he_spread_max",
        float(spread["He"].max()),
        fmt="{:.1f}",
        label=f"largest over smallest layer gradient norm under He initialisation, worst of {len(SEEDS)} seeds",
    )
    book.check(
        "initialisation/rank_four_at_init",
        "with zero biases the Jacobian has at most 4 singular values above 1e-5 times the largest (the uniform "
        "schemes in every seed, He in seed 0)",
        value=max(int(np.sum(v > 1e-5 * v[0])) for vals in values_before.values() for v in vals),
        at_most=4,
        fmt="{:d}",
    )
    sigma_small = values_before["U(±0.03)"]
    book.record(
        "initialisation/sigma1_small",
        float(np.median(sigma_small[:, 0])),
        fmt="{:.1f}",
        label=f"largest singular value of the linearisation under U(±0.03), median of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/sqrt_n",
        float(np.sqrt(len(y))),
        fmt="{:.1f}",
        label="square root of the number of training inputs",
    )
    book.claim(
        "initialisation/small_is_a_constant",
        "under U(±0.03) the second singular value is below 10% of the first in every seed: the linearisation can "
        "move the output by little but a constant",
        value=float((sigma_small[:, 1] / sigma_small[:, 0]).max()),
        at_most=0.1,
        fmt="{:.3f}",
    )
    book.record(
        "initialisation/sigma1_large",
        float(np.median(values_before["U(±3)"][:, 0])),
        fmt="{:.2g}",
        label=f"largest singular value of the linearisation under U(±3), median of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/sigma1_he",
        float(before["He"].singular_values[0]),
        fmt="{:.3g}",
        label="largest singular value of the linearisation under He initialisation, seed 0",
    )
    book.record(
        "initialisation/he_sigma4_ratio",
        float(before["He"].singular_values[3] / before["He"].singular_values[0]),
        fmt="{:.2f}",
        label="fourth over first singular value of the linearisation under He initialisation, seed 0",
    )
    book.record(
        "initialisation/critical_lr_large",
        float(np.median(critical)),
        fmt="{:.1e}",
        label=f"critical learning rate under U(±3) (momentum 0.9), median of {len(SEEDS)} seeds",
    )
    book.claim(
        "initialisation/large_diverges",
        "under U(±3) training at rate 0.03 diverges (a non-finite loss) in every seed, within the first 10 steps",
        value=max(h.diverged_at_step if h.diverged else 10**6 for h in diverged),
        at_most=10,
        fmt="{:d}",
    )
    book.claim(
        "initialisation/small_learns_nothing",
        "under U(±0.03) ten epochs leave the training loss at the variance of the targets (within 5%) in every "
        "seed: the network still predicts about the mean",
        value=float(loss_ratio_small.min()),
        at_least=0.95,
        fmt="{:.3f}",
    )
    book.record(
        "initialisation/test_mse_he",
        float(np.median(test_mse["He"])),
        fmt="{:.3f}",
        label=f"test MSE after training from He initialisation, median of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/test_mse_he_worst",
        float(test_mse["He"].max()),
        fmt="{:.2f}",
        label=f"test MSE after training from He initialisation, worst of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/test_mse_xavier",
        float(np.median(test_mse["Xavier"])),
        fmt="{:.3f}",
        label=f"test MSE after training from Xavier initialisation, median of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/test_mse_small_lr_large",
        float(np.median(test_mse[SMALL])),
        fmt="{:.2f}",
        label=f"test MSE of U(±3) trained at half its critical rate, median of {len(SEEDS)} seeds",
    )
    book.claim(
        "initialisation/he_fits",
        "He-initialised networks reach a median test MSE below 10% of the targets' variance",
        value=float(np.median(test_mse["He"]) / var_y),
        at_most=0.1,
        fmt="{:.3f}",
    )
    book.claim(
        "initialisation/he_always_learns",
        "every He-initialised seed ends below half the targets' variance (U(±0.03) stays at the variance)",
        value=float(test_mse["He"].max() / var_y),
        at_most=0.5,
        fmt="{:.2f}",
    )
    book.claim(
        "initialisation/large_small_lr_fails",
        "U(±3) trained stably at half its critical rate still ends with a test MSE above the targets' variance "
        "in every seed",
        value=float(test_mse[SMALL].min() / var_y),
        at_least=1.0,
        fmt="{:.2f}",
    )
    book.record(
        "initialisation/rank_he_after",
        after["He"].rank(1e-5),
        fmt="{:d}",
        label="singular values above 1e-5 times the largest after training from He initialisation, seed 0",
    )

# %%
# Takeaways
# ---------
# - Each ReLU layer multiplies the signal by :math:`\sqrt{n_\text{in} s^2/2}`:
#   small weights make it vanish, large ones explode, and
#   :math:`s^2 = 2/n_\text{in}` (He) keeps it level.
# - Under a too-small initialisation every weight gradient is tiny, but not
#   because gradients shrink towards the input: each is a product of a
#   backward signal that shrinks towards the input and a forward signal that
#   shrinks away from it.
# - At initialisation with zero biases the linearisation spans only four
#   functions; the scale sets how fast gradient descent can move along them
#   (:math:`U(\pm 0.03)`: only the constant) and which step sizes are stable
#   (:math:`U(\pm 3)`: none of the usual ones).
plotting.show()
