"""
How does full-batch gradient descent train the numpy MLP?
=========================================================

Instead of a step per image or per mini-batch, full-batch gradient descent
takes one step per pass over the training set, along the gradient of the
mean loss over all of it. We train a 784 → 100 → 10 sigmoid network from
scratch this way (the MLP-from-scratch setup of a classic lab) and follow
its loss for 200 iterations.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The setup
# ---------
# The bundled 4000 training images (:func:`nnbook.data.load_mnist`; set
# ``NNBOOK_DATA`` or pass a folder for the full data set), pixels in
# :math:`[0, 1]`, softmax and cross-entropy at the output, and learning rate
# 1.0 on the gradient of the *mean* loss, as in the lab, where each step
# subtracts the averaged gradient itself.
# The network computes in float32: the two 4000 × 784 × 100 matrix products
# of each iteration dominate the cost, and single precision halves their
# memory traffic.
import numpy as np

from nnbook import backprop, backprop_training, book, data, plotting

split = data.load_mnist()
model = backprop.MLP([784, 100, 10], "sigmoid", rng=0, dtype="float32")
ITERATIONS = 200
run = backprop_training.train_sgd(
    model,
    split.X_train,
    split.y_train,
    lr=1.0,
    epochs=ITERATIONS,
    batch_size=None,
    test=(split.X_test, split.y_test),
    eval_every=10,
)
print(f"{run.wall_time / ITERATIONS * 1e3:.0f} ms per iteration")
print(f"training loss {run.step_loss[0]:.3f} -> {run.step_loss[-1]:.3f}")

# %%
# The loss of every iteration is the training loss of the whole set, so the
# curve has no mini-batch noise. The first steps overshoot: at
# initialisation every hidden unit sits near :math:`\sigma(0) = 1/2` for every
# image, so the output layer's gradient is nearly the same for all images
# and a unit step moves all their logits together, too far. From then on
# the loss falls at every iteration, fast at first and then slowly; training
# and test accuracy, measured every ten iterations, rise together.
rises = np.flatnonzero(np.diff(run.step_loss) > 0) + 1  # iterations after which the loss was higher
print("the loss rose at iterations", rises)
fig, (ax, ax2) = plotting.new_figure(1, 2, width=10.0, height=3.8)
ax.plot(np.arange(1, ITERATIONS + 1), run.step_loss)
ax.set(xlabel="iteration", ylabel="mean cross-entropy", yscale="log", title="Full-batch training loss")
ax2.plot(run.epoch, run.train_accuracy, "o-", ms=3, label="training set")
ax2.plot(run.epoch, run.test_accuracy, "o-", ms=3, label="test set")
ax2.set(xlabel="iteration", ylabel="accuracy", ylim=(0, 1), title="784 → 100 → 10 sigmoid network")
plotting.legend(ax2, loc="lower right")

# %%
# The numbers, checked
# --------------------
with book.numbers():
    book.record(
        "backprop/full_batch_iterations", ITERATIONS, fmt="{:d}", label="full-batch gradient-descent iterations"
    )
    book.record("backprop/full_batch_loss_start", run.step_loss[0], fmt="{:.2f}", label="loss at initialisation")
    book.record("backprop/full_batch_loss_end", run.step_loss[-1], fmt="{:.3f}", label="loss after 200 iterations")
    book.record("backprop/full_batch_train_acc", run.train_accuracy[-1], fmt="{:.3f}", label="final training accuracy")
    book.record("backprop/full_batch_test_acc", run.test_accuracy[-1], fmt="{:.3f}", label="final test accuracy")
    book.record(
        "backprop/full_batch_ms",
        run.wall_time / ITERATIONS * 1e3,
        fmt="{:.0f}",
        unit="ms",
        tolerance=book.MEASURED_TOLERANCE,
        label="wall time per full-batch iteration",
    )
    book.record("backprop/full_batch_rises", rises.size, fmt="{:d}", label="iterations at which the loss rose")
    book.claim(
        "backprop/full_batch_descends",
        "after the first five iterations the full-batch training loss falls at every iteration",
        value=int(rises.max(initial=0)),
        at_most=5,
        fmt="{:d}",
    )
    book.claim(
        "backprop/full_batch_test_acc_claim",
        "200 full-batch iterations reach at least 88% test accuracy",
        value=run.test_accuracy[-1],
        at_least=0.88,
        fmt="{:.3f}",
    )

# %%
# Takeaways
# ---------
# - Full-batch gradient descent is the same backward pass on a batch of all
#   the data: one smooth step per pass.
# - It pays for its smoothness in passes: each step costs a full epoch of
#   computation, while mini-batch SGD takes 125 steps in the same time.

plotting.show()
