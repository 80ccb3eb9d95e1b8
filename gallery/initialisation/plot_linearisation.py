"""
Which functions can one gradient step add to a network?
=======================================================

Near its current weights a network is a linear model in its parameters, with
one feature per parameter: the derivative of the output with respect to that
parameter. We train a one-hidden-layer ReLU network on a sum of sines, stack
the per-example gradients into the Jacobian, and read off its singular values
and principal features: the functions of :math:`x` that a small weight change
adds cheaply, and those it can hardly add at all.
"""

# sphinx_gallery_thumbnail_number = 3

# %%
# The task
# --------
# The target is :math:`f(x) = \sum_{k=0}^{4} c_k \sin(k\pi x)` with the
# :math:`c_k` drawn from :math:`U(-1, 1)` (the :math:`k = 0` term vanishes, so
# four sines shape it). 1,500 training inputs are drawn uniformly from
# :math:`[-1, 1]` with Gaussian noise of standard deviation 0.1 on the
# targets; the test set is a noise-free grid of 500 points.
import numpy as np

from nnbook import book, boxes, init, plotting, sines, spectra, training

task = sines.sine_task()
X, y = task.train_pair()

fig, ax = plotting.new_figure(height=3.2)
ax.scatter(task.x_train, task.y_train, s=2, color="0.6", label="training data")
ax.plot(task.x_test, task.y_test, color="k", lw=2, label=r"$f(x)$")
ax.set(xlabel="x", ylabel="y", title="The sum of sines and its noisy samples")
plotting.legend(ax)

# %%
# Training, and a learning rate that fails
# ----------------------------------------
# A hidden layer of 20 ReLU units (61 parameters, PyTorch's default
# initialisation), trained for 10 epochs of SGD with momentum 0.9 on
# mini-batches of 32. We train five seeds with the assignment's learning rate
# 0.1 and five with 0.03, and count the *dead* hidden units: those that output
# zero on every training input, so that no gradient ever reaches them again.
# For scale, the dashed line is a 20-unit ReLU layer *built* to interpolate
# :math:`f` linearly at 21 equally spaced knots
# (:func:`nnbook.boxes.relu_interpolant`): what this width can represent.
SEEDS = range(5)
RATES = (0.1, 0.03)
runs = {}
for lr in RATES:
    config = training.TrainConfig(lr=lr, epochs=10, batch_size=32, momentum=0.9, loss="mse", on_divergence="stop")
    for seed in SEEDS:
        net = sines.mlp(1, seed=seed)
        history = training.train(net, config, (X, y), test=task.test_pair())
        runs[lr, seed] = (net, history, init.activation_stats(net, X).dead[0])

interpolant = boxes.relu_interpolant(lambda x: sines.f_true(x, task.coefficients), 1.0, 20)

fig, axes = plotting.new_figure(1, 2, width=10, height=3.2, sharey=True)
for ax, lr in zip(axes, RATES, strict=True):
    ax.plot(task.x_test, task.y_test, color="k", lw=2, label=r"$f(x)$")
    ax.plot(task.x_test, interpolant(task.x_test), "k--", lw=1, label="20-unit interpolant")
    for seed in SEEDS:
        ax.plot(task.x_test, training.predict(runs[lr, seed][0], task.test_pair()[0])[:, 0], lw=1, alpha=0.8)
    dead = np.mean([runs[lr, seed][2] for seed in SEEDS])
    ax.set(xlabel="x", title=f"lr = {lr}: {dead:.1f} of 20 units dead on average")
axes[0].set_ylabel("network output")
plotting.legend(axes[0])

rows = [
    {
        "learning rate": lr,
        "dead units (of 20)": f"{np.mean(d):.1f} [{min(d)}, {max(d)}]",
        "test MSE": f"{np.mean(e):.3f} ± {np.std(e):.3f}",
    }
    for lr in RATES
    for d, e in [
        ([runs[lr, s][2] for s in SEEDS], [runs[lr, s][1].test_loss[-1] for s in SEEDS]),
    ]
]
table = book.save_table("initialisation/one_hidden_rates", rows)

# %%
# The Jacobian and its spectrum
# -----------------------------
# For the network trained with rate 0.03 (seed 0) we take the gradient of the
# output at each training input with respect to all 61 parameters
# (:func:`nnbook.spectra.per_example_jacobian`, vectorised with
# ``torch.func``), a :math:`1500 \times 61` matrix :math:`J = U\Sigma V^\top`.
# Figure 3 shows the top singular values, the top principal features (columns
# of :math:`U\Sigma`) as functions of :math:`x`, and the first two features
# against each other, coloured by :math:`x`.
net = runs[0.03, 0][0]
spectrum = spectra.linearisation_spectrum(net, task.x_train)
jacobian = spectra.per_example_jacobian(net, task.x_train)

fig, axes = plotting.new_figure(1, 3, width=13, height=3.6)
fig.suptitle("Linearisation of the trained one-hidden-layer network")
spectra.draw_spectrum(axes, spectrum)

# %%
# The numbers, checked
# --------------------
dead = {lr: np.array([runs[lr, s][2] for s in SEEDS]) for lr in RATES}
test = {lr: np.array([runs[lr, s][1].test_loss[-1] for s in SEEDS]) for lr in RATES}
with book.numbers():
    book.record(
        "initialisation/n_parameters_one_hidden",
        spectrum.num_parameters,
        fmt="{:d}",
        label="parameters of the one-hidden-layer network",
    )
    book.record(
        "initialisation/target_variance", float(np.var(task.y_test)), fmt="{:.2f}", label="variance of the test targets"
    )
    book.record(
        "initialisation/dead_lr01",
        float(dead[0.1].mean()),
        fmt="{:.1f}",
        label=f"dead hidden units (of 20) after training at learning rate 0.1, mean of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/dead_lr003",
        float(dead[0.03].mean()),
        fmt="{:.1f}",
        label=f"dead hidden units (of 20) after training at learning rate 0.03, mean of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/test_mse_lr01",
        float(test[0.1].mean()),
        fmt="{:.2f}",
        label=f"test MSE after training at learning rate 0.1, mean of {len(SEEDS)} seeds",
    )
    book.record(
        "initialisation/test_mse_lr003",
        float(test[0.03].mean()),
        fmt="{:.2f}",
        label=f"test MSE after training at learning rate 0.03, mean of {len(SEEDS)} seeds",
    )
    book.claim(
        "initialisation/lr01_kills_units",
        "with the assignment's learning rate 0.1, on average at least half of the 20 hidden units are dead "
        "after training",
        value=float(dead[0.1].mean()),
        at_least=10,
        fmt="{:.1f}",
    )
    book.claim(
        "initialisation/lr003_kills_fewer",
        "in every seed, rate 0.03 leaves more units alive than rate 0.1 (fewest extra survivors, paired by seed)",
        value=int((dead[0.1] - dead[0.03]).min()),
        at_least=1,
        fmt="{:d}",
    )
    interpolant_mse = float(np.mean((interpolant(task.x_test) - task.y_test) ** 2))
    book.record(
        "initialisation/interpolant_mse",
        interpolant_mse,
        fmt="{:.4f}",
        label="test MSE of the 20-unit ReLU interpolant of the target",
    )
    book.record(
        "initialisation/best_trained_mse_one_hidden",
        float(test[0.03].min()),
        fmt="{:.2f}",
        label=f"best test MSE of a trained one-hidden-layer network (learning rate 0.03, over {len(SEEDS)} seeds)",
    )
    book.claim(
        "initialisation/width_is_not_the_limit",
        "the best trained one-hidden-layer network's test error is over 10 times that of a 20-unit ReLU "
        "interpolant of the target: the trained networks are limited by training, not by their width",
        value=float(test[0.03].min()) / interpolant_mse,
        at_least=10,
        fmt="{:.0f}",
    )
    book.check(
        "initialisation/jacobian_shape",
        "the Jacobian has one row per training input and one column per parameter (1500 x 61)",
        value=jacobian.shape[0] * jacobian.shape[1],
        between=(1500 * 61, 1500 * 61),
        fmt="{:,}",
    )
    book.record(
        "initialisation/one_hidden_rank",
        spectrum.rank(),
        fmt="{:d}",
        label="singular values of the trained network's linearisation above 1e-6 times the largest",
    )
    book.record(
        "initialisation/one_hidden_energy5",
        100 * spectrum.energy(5),
        fmt="{:.1f}",
        label="share of the linearisation's squared singular values in the top 5 directions",
        unit="%",
    )
    book.record(
        "initialisation/one_hidden_sigma_ratio_10",
        float(spectrum.singular_values[0] / spectrum.singular_values[9]),
        fmt="{:.0f}",
        label="first over tenth singular value of the trained network's linearisation",
    )
    book.claim(
        "initialisation/one_hidden_spectrum_concentrated",
        "the top 5 of the 61 directions carry over 90% of the Jacobian's squared norm",
        value=100 * spectrum.energy(5),
        at_least=90,
        fmt="{:.1f}",
    )

# %%
# Takeaways
# ---------
# - The Jacobian's principal features are the functions a small weight change
#   can add to the network's output; their singular values say how cheaply.
# - For a one-hidden-layer ReLU network they are piecewise linear with kinks
#   where hidden units switch on, and a handful of them dominate.
# - A learning rate can fail without diverging: at rate 0.1 most hidden units
#   die and the network stops fitting.
plotting.show()
