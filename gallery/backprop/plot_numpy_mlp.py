"""
Can the chain rule alone train a digit classifier?
==================================================

We write every gradient of a 784 → 32 → 32 → 10 sigmoid network by hand
(:class:`nnbook.backprop.MLP`), check them against finite differences and
against PyTorch's autograd on the same weights, and train the network with
plain stochastic gradient descent: first one image at a time, as the classic
exercise does, then in vectorised mini-batches. Finally we measure what a
common slip in that exercise, feeding raw 0–255 pixels, does to the first
layer.
"""

# sphinx_gallery_dummy_images = 2

# %%
# The data
# --------
# :func:`nnbook.data.load_mnist` returns the 5000 MNIST images bundled with
# the book, split into 4000 training and 1000 test images, as rows of 784
# pixels scaled to :math:`[0, 1]`. To run this script on the full data set
# (60,000 + 10,000 images), set the environment variable ``NNBOOK_DATA`` to a
# folder holding MNIST's four IDX files, or pass the folder:
# ``data.load_mnist("path/to/folder")``; add ``kind="fashion"`` for
# Fashion-MNIST. Every setting below is the same; the per-sample epochs then
# take 15 times longer.
import numpy as np

from nnbook import backprop, backprop_training, book, data, gradients, plotting, torch_nets

split = data.load_mnist()
X, y, X_test, y_test = split.X_train, split.y_train, split.X_test, split.y_test
test = (X_test, y_test)
print(f"{X.shape[0]} training and {X_test.shape[0]} test images of {X.shape[1]} pixels")

# %%
# The network before training
# ---------------------------
# Weights are drawn from :math:`N(0, 1/\max(n_\text{in}, n_\text{out}))`, biases
# start at zero. Untrained, the network should be right about one time in
# ten. We look at five initialisations.
SIZES = [784, 32, 32, 10]
SEEDS = range(5)
models = [backprop.MLP(SIZES, "sigmoid", rng=seed) for seed in SEEDS]
untrained = np.array([m.accuracy(X_test, y_test) for m in models])
classes_predicted = max(np.unique(m.predict(X_test)).size for m in models)
print("test accuracy before training:", untrained, "; most classes predicted by one network:", classes_predicted)

# %%
# Are the gradients right?
# ------------------------
# :meth:`~nnbook.backprop.MLP.gradients` returns :math:`\partial L/\partial W_l`
# and :math:`\partial L/\partial b_l` for the mean cross-entropy of a batch.
# We compare them on 16 training images with central differences on 300
# randomly chosen parameters, and with PyTorch's autograd on a copy of the
# same weights (:func:`nnbook.torch_nets.torch_gradients`) for all of them.
model = models[0]
fd = backprop.finite_difference_check(model, X[:16], y[:16], n_entries=300, rng=0)
ours, theirs = model.gradients(X[:16], y[:16]), torch_nets.torch_gradients(model, X[:16], y[:16])
torch_error = max(gradients.relative_error(a, b) for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1], strict=True))
print(f"finite differences: relative error {fd.rel_error:.1e}; autograd: {torch_error:.1e}")

# %%
# One image at a time
# -------------------
# The classic exercise updates the weights after every image, visiting the
# training set in order, for three epochs. We use learning rate 0.1.
per_sample = backprop_training.train_sgd(model, X, y, lr=0.1, epochs=3, batch_size=1, shuffle=False, test=test)
print("test accuracy per epoch:", per_sample.test_accuracy)

# %%
# Vectorised mini-batches
# -----------------------
# A batch of 32 images turns 32 rank-one updates into a few matrix products.
# Each epoch makes 32 times fewer, larger steps, so we raise the learning
# rate to 1.0 and train for 10 epochs, in a fresh random order each epoch,
# from the same five initialisations.
batched = [
    backprop_training.train_sgd(m, X, y, lr=1.0, epochs=10, batch_size=32, rng=seed, test=test)
    for seed, m in zip(SEEDS, models, strict=True)
]
batched_acc = np.array([run.test_accuracy for run in batched])
per_epoch = {"per-sample": per_sample.wall_time / 3, "batch": np.median([r.wall_time for r in batched]) / 10}
print(f"seconds per epoch, evaluation included: {per_epoch}")

# %%
# Both curves start at chance. Per-sample SGD makes 4000 steps per epoch and
# so is ahead after one epoch; the mini-batches catch up within a few epochs
# while each epoch costs a fraction of the time.
fig, ax = plotting.new_figure(width=6.4, height=3.8)
ax.plot(per_sample.epoch, per_sample.test_accuracy, "o-", color="C1", label="per sample, lr 0.1 (one run)")
plotting.band(ax, batched[0].epoch, batched_acc, label="batches of 32, lr 1.0 (5 seeds)", color="C0")
ax.axhline(0.1, color="0.5", lw=0.8, ls=":")
ax.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), title="784 → 32 → 32 → 10 sigmoid network, numpy")
plotting.legend(ax, loc="lower right")

# %%
# Raw pixels
# ----------
# A student's solution of this exercise fed the network the raw pixel values,
# 0 to 255, with learning rate 0.0008. With pixels 255 times larger, a
# first-layer unit's pre-activation
# :math:`z = \sum_j w_j x_j` has a standard deviation in the tens, and the
# sigmoid is flat there: its slope :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`,
# the factor by which the backward pass multiplies every gradient reaching
# the first layer, is almost zero. We measure the slopes on the test images
# at initialisation, for the five initialisations, and train once in the
# student's setting.
saturated = {
    scale: np.array([backprop.saturated_fraction(m, scale * X_test)[0] for m in models]) for scale in (1.0, 255.0)
}
slopes = {scale: backprop.local_slopes(model, scale * X_test[:200])[0].ravel() for scale in (1.0, 255.0)}
raw_test = (255.0 * X_test, y_test)
raw = backprop_training.train_sgd(model, 255.0 * X, y, lr=0.0008, epochs=3, batch_size=1, shuffle=False, test=raw_test)
saturated_after = backprop.saturated_fraction(raw.model, 255.0 * X_test)[0]
print("fraction of first-layer slopes below 0.01:", {k: v.round(3) for k, v in saturated.items()})
print(f"... after three epochs on raw pixels: {saturated_after:.3f}")

# %%
# With pixels in :math:`[0, 1]` the first-layer slopes spread up to the
# maximum 1/4; with raw pixels nearly all sit below 0.01 (left). The student's
# network still learns, through the two layers above, which receive
# unsaturated inputs, but ends well below the scaled run (right).
fig, (ax, ax2) = plotting.new_figure(1, 2, width=10.0, height=3.8)
bins = np.linspace(0, 0.25, 26)
ax.hist(slopes[1.0], bins=bins, color="C0", alpha=0.7, label="pixels in [0, 1]")
ax.hist(slopes[255.0], bins=bins, color="C3", alpha=0.7, label="raw pixels 0–255")
ax.set(yscale="log", xlabel=r"first-layer slope $\sigma'(z)$", ylabel="count (200 images × 32 units)")
ax.set_title("Slopes at initialisation")
plotting.legend(ax)
ax2.plot(per_sample.epoch, per_sample.test_accuracy, "o-", color="C0", label="pixels in [0, 1], lr 0.1")
ax2.plot(raw.epoch, raw.test_accuracy, "o-", color="C3", label="raw pixels, lr 0.0008")
ax2.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), title="Per-sample SGD, same initial weights")
plotting.legend(ax2, loc="lower right")

# %%
# The numbers, checked
# --------------------
with book.numbers():
    book.record("backprop/untrained_min", untrained.min(), fmt="{:.3f}", label="lowest untrained test accuracy")
    book.record("backprop/untrained_max", untrained.max(), fmt="{:.3f}", label="highest untrained test accuracy")
    book.record("backprop/untrained_classes", classes_predicted, fmt="{:d}", label="most classes one network predicts")
    book.claim(
        "backprop/untrained_is_chance",
        "untrained, all five networks are right about one time in ten (largest distance of their accuracy from 0.1)",
        value=float(np.abs(untrained - 0.1).max()),
        at_most=0.06,
        fmt="{:.3f}",
    )
    book.claim(
        "backprop/matches_finite_differences",
        "the hand-written gradients agree with central differences on 300 parameters (relative error below 1e-6)",
        value=fd.rel_error,
        at_most=1e-6,
        fmt="{:.1g}",
    )
    book.record("backprop/n_params", model.num_parameters, fmt="{:,}", label="parameters of the network")
    book.claim(
        "backprop/matches_autograd",
        "the hand-written gradients agree with PyTorch autograd on every parameter to 1e-10",
        value=torch_error,
        at_most=1e-10,
        fmt="{:.1g}",
    )
    for epoch in (1, 3):
        book.record(
            f"backprop/per_sample_acc_{epoch}",
            per_sample.test_accuracy[epoch],
            fmt="{:.3f}",
            label=f"test accuracy after {epoch} epoch(s) of per-sample SGD",
        )
    book.claim(
        "backprop/per_sample_learns",
        "three epochs of per-sample SGD take the network from chance to over 80% test accuracy",
        value=per_sample.test_accuracy[3],
        at_least=0.8,
        fmt="{:.3f}",
    )
    book.record("backprop/batch_acc_3", batched_acc[:, 3].mean(), fmt="{:.3f}", label="mean test accuracy, 3 epochs")
    book.record("backprop/batch_acc_10", batched_acc[:, -1].mean(), fmt="{:.3f}", label="mean test accuracy, 10 epochs")
    book.record(
        "backprop/batch_acc_10_sd",
        batched_acc[:, -1].std(ddof=1),
        fmt="{:.3f}",
        label=f"standard deviation over {len(SEEDS)} seeds of the test accuracy after 10 epochs of mini-batch SGD",
    )
    book.claim(
        "backprop/batch_learns",
        "ten epochs of mini-batch SGD reach at least 88% test accuracy, on average over five seeds",
        value=batched_acc[:, -1].mean(),
        at_least=0.88,
        fmt="{:.3f}",
    )
    book.record(
        "backprop/epoch_time_per_sample",
        per_epoch["per-sample"],
        fmt="{:.2f}",
        unit="s",
        tolerance=book.MEASURED_TOLERANCE,
        label="wall time per epoch of per-sample SGD, evaluation included",
    )
    book.record(
        "backprop/epoch_time_batch",
        per_epoch["batch"],
        fmt="{:.3f}",
        unit="s",
        tolerance=book.MEASURED_TOLERANCE,
        label=f"wall time per epoch of mini-batch SGD (median of {len(SEEDS)} seeds), evaluation included",
    )
    book.record(
        "backprop/saturated_scaled",
        saturated[1.0].max(),
        fmt="{:.3f}",
        label=f"first-layer slopes below 0.01 at initialisation, pixels in [0, 1] (largest of {len(SEEDS)} seeds)",
    )
    book.record(
        "backprop/saturated_raw",
        saturated[255.0].min(),
        fmt="{:.2f}",
        label=f"first-layer slopes below 0.01 at initialisation, raw 0-255 pixels (smallest of {len(SEEDS)} seeds)",
    )
    book.claim(
        "backprop/raw_pixels_saturate",
        "with raw 0-255 pixels at least 80% of first-layer slopes are below 0.01 at initialisation, for all five seeds",
        value=saturated[255.0].min(),
        at_least=0.8,
        fmt="{:.2f}",
    )
    book.claim(
        "backprop/scaled_pixels_do_not",
        "with pixels in [0, 1] at most 5% are, for all five seeds",
        value=saturated[1.0].max(),
        at_most=0.05,
        fmt="{:.3f}",
    )
    book.record("backprop/raw_acc_3", raw.test_accuracy[-1], fmt="{:.3f}", label="test accuracy, raw pixels")
    book.record("backprop/saturated_raw_after", saturated_after, fmt="{:.2f}", label="still saturated after training")

# %%
# Takeaways
# ---------
# - Backpropagation is a few lines per layer: the output shortcut
#   :math:`\hat y - y`, then one matrix product for the weights' gradient and
#   one, times the activation's slope, for the layer below.
# - Hand-written gradients are trusted only once checked: central
#   differences on a sample of parameters and autograd on all of them agree.
# - The per-sample loop and the mini-batch loop compute the same kind of
#   step; the batch is much faster per epoch because numpy does the work in
#   matrix products.
# - Scale the inputs. Raw pixels saturate the first sigmoid layer, and
#   training does not bring it back: the gradient it would need passes
#   through the slopes that are zero.

plotting.show()
