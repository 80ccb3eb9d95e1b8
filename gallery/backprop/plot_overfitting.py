"""
When does training longer stop helping?
=======================================

A network with enough parameters can drive its training loss to nearly zero
by memorising the training set; the test loss then stops following. We
train a 784 → 256 → 128 → 64 → 10 ReLU network with plain SGD (learning rate
0.1, batches of 64, the setup of a student's Fashion-MNIST exercise) far
past that point, mark the epoch where the test loss turns upwards, and ask
what early stopping on a validation set would have kept.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The setup
# ---------
# The bundled MNIST images: 500 of the 4000 training images are held out,
# stratified by digit, as a validation set, which is what early stopping
# watches (the test set only reports), and the network is fitted to 1000 of
# the others, so that it memorises them within a few seconds of training.
# To repeat the exercise on Fashion-MNIST, point the script at its IDX
# files: ``data.load_mnist("path/to/folder", kind="fashion")``, and raise
# ``FIT`` (the student fitted 60,000 images for 100 epochs). Three seeds, 60
# epochs each.
import numpy as np

from nnbook import book, data, plotting, torch_nets, training

SIZES, EPOCHS, SEEDS, FIT = [784, 256, 128, 64, 10], 60, (0, 1, 2), 1000
split = data.load_mnist()
test = (split.X_test, split.y_test)
histories = []
for seed in SEEDS:
    fit, val = torch_nets.validation_split(split.X_train, split.y_train, size=500, seed=seed, fit_size=FIT)
    config = training.TrainConfig(lr=0.1, batch_size=64, epochs=EPOCHS, seed=seed)
    histories.append(training.train(torch_nets.mlp(SIZES, seed=seed), config, fit, val=val, test=test))

# %%
# Where the test loss turns
# -------------------------
# :func:`nnbook.torch_nets.early_stopping` finds, for each run, the epoch of
# lowest test loss (after which it only rises above that minimum) and the
# epoch a run with patience 5 would stop at: five epochs without a new
# lowest validation loss. It keeps the weights of the best validation epoch.
stops = [torch_nets.early_stopping(h.val_loss, h.test_loss, h.test_accuracy, patience=5) for h in histories]
for seed, stop in zip(SEEDS, stops, strict=True):
    print(f"seed {seed}: {stop}")
curves = {key: np.array([getattr(h, key) for h in histories]) for key in ("train_loss", "val_loss", "test_loss")}
test_acc = np.array([h.test_accuracy for h in histories])

# %%
# The training loss falls towards zero; the validation and test losses
# bottom out and then climb (left, mean and range over three seeds; the
# dotted line marks the first seed's turn). The test *accuracy* does not
# follow the test loss down (right): the network keeps most of its answers
# but grows more confident in the wrong ones, which is what the
# cross-entropy punishes.
epochs = histories[0].epoch
fig, (ax, ax2) = plotting.new_figure(1, 2, width=10.0, height=3.8)
LOSSES = {"train_loss": ("training", "C0"), "val_loss": ("validation", "C2"), "test_loss": ("test", "C3")}
for key, (label, color) in LOSSES.items():
    plotting.band(ax, epochs, curves[key], label=label, color=color, quantiles=(0.0, 1.0))
plotting.mark_vertical(ax, stops[0].turn_epoch, "test loss turns")
ax.set(yscale="log", xlabel="epoch", ylabel="mean cross-entropy", title="784-256-128-64-10 ReLU, SGD lr 0.1")
plotting.legend(ax, loc="lower left")
plotting.band(ax2, epochs, test_acc, label="test accuracy", color="C3", quantiles=(0.0, 1.0))
for stop in stops:
    ax2.plot(stop.best_epoch, stop.kept_test_accuracy, "kv", ms=6)
ax2.plot([], [], "kv", label="kept by early stopping")
ax2.set(xlabel="epoch", ylabel="test accuracy", ylim=(0.75, 0.95), title="Test accuracy")
plotting.legend(ax2, loc="lower right")

# %%
# The numbers, checked
# --------------------
turns = np.array([s.turn_epoch for s in stops])
rise = np.array([h.test_loss[-1] / h.test_loss.min() for h in histories])
acc_drop = test_acc.max(axis=1) - test_acc[:, -1]
kept_minus_final = np.array([s.kept_test_accuracy - s.final_test_accuracy for s in stops])
with book.numbers():
    book.record("backprop/overfit_epochs", EPOCHS, fmt="{:d}", label="training epochs of the overfitting run")
    book.record("backprop/overfit_turn_min", turns.min(), fmt="{:d}", label="earliest turn of the test loss")
    book.record("backprop/overfit_turn_max", turns.max(), fmt="{:d}", label="latest turn of the test loss")
    book.record(
        "backprop/overfit_train_loss_end",
        curves["train_loss"][:, -1].max(),
        fmt="{:.3f}",
        label=f"final training loss, largest over {len(SEEDS)} seeds",
    )
    book.record("backprop/overfit_final_acc", test_acc[:, -1].mean(), fmt="{:.3f}", label="final test accuracy (mean)")
    book.record(
        "backprop/overfit_kept_acc",
        np.mean([s.kept_test_accuracy for s in stops]),
        fmt="{:.3f}",
        label=f"test accuracy of the weights kept by early stopping (patience 5), mean of {len(SEEDS)} seeds",
    )
    book.record(
        "backprop/overfit_stop_epoch_min",
        min(s.stop_epoch for s in stops),
        fmt="{:d}",
        label=f"earliest epoch at which early stopping (patience 5) stops, over {len(SEEDS)} seeds",
    )
    book.record(
        "backprop/overfit_stop_epoch_max",
        max(s.stop_epoch for s in stops),
        fmt="{:d}",
        label=f"latest epoch at which early stopping (patience 5) stops, over {len(SEEDS)} seeds",
    )
    book.record(
        "backprop/overfit_kept_loss",
        np.mean([s.kept_test_loss for s in stops]),
        fmt="{:.3f}",
        label=f"test loss of the weights kept by early stopping, mean of {len(SEEDS)} seeds",
    )
    book.record(
        "backprop/overfit_final_loss",
        np.mean([s.final_test_loss for s in stops]),
        fmt="{:.3f}",
        label=f"test loss at the last epoch, mean of {len(SEEDS)} seeds",
    )
    book.claim(
        "backprop/overfit_memorises",
        "after 60 epochs the training loss is below 0.02 for every seed: the network has memorised its training set",
        value=curves["train_loss"][:, -1].max(),
        at_most=0.02,
        fmt="{:.3f}",
    )
    book.claim(
        "backprop/overfit_turn",
        "the test loss reaches its minimum at least ten epochs before the end, for every seed (latest turn)",
        value=int(turns.max()),
        at_most=EPOCHS - 10,
        fmt="{:d}",
    )
    book.claim(
        "backprop/overfit_rise",
        "from its minimum to the last epoch the test loss rises by at least 15% for every seed (smallest ratio)",
        value=rise.min(),
        at_least=1.15,
        fmt="{:.2f}",
    )
    book.claim(
        "backprop/overfit_accuracy_holds",
        "meanwhile the test accuracy stays within 2 points of its best (largest drop over the seeds)",
        value=acc_drop.max(),
        at_most=0.02,
        fmt="{:.3f}",
    )
    book.claim(
        "backprop/early_stopping_no_accuracy_gain",
        "the weights early stopping keeps are no more accurate on the test set than the last epoch's, within one "
        "point (largest gain over the seeds)",
        value=kept_minus_final.max(),
        at_most=0.01,
        fmt="{:.3f}",
    )

# %%
# Takeaways
# ---------
# - Memorising shows first in the loss: the training loss goes to zero and
#   the test loss turns upwards while the test accuracy holds.
# - "Test error starts to increase" needs a measurement: here it is the
#   test *loss* that rises, not the error rate.
# - Early stopping on the validation loss keeps the lowest loss, not the
#   best accuracy; which one matters depends on what the model is for.

plotting.show()
