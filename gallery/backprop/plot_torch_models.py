"""
What does PyTorch do for us?
============================

Everything we wrote by hand for the numpy network, the backward pass and the
update, PyTorch provides: autograd computes the gradients and an optimiser
applies them. We train the classic lab's two models this way, a
784 → 100 → 10 ReLU network and a small convolutional network, through the
book's training loop (:func:`nnbook.training.train`, SGD with momentum 0.9),
compare them with the numpy network, and look at the digits they get wrong.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The data and the models
# -----------------------
# The same bundled images as before (set ``NNBOOK_DATA`` or pass a folder to
# :func:`nnbook.data.load_mnist` for the full data set), shifted by
# :math:`-1/2` as the lab does, so pixels lie in :math:`[-1/2, 1/2]`. The CNN
# (:func:`nnbook.torch_nets.small_cnn`) applies two 5 × 5 convolutions, each
# followed by 2 × 2 max-pooling and a ReLU, with channel dropout after the
# second, then two fully connected layers with dropout between them.
# ``torchinfo`` lists each layer's output shape and parameters.
import numpy as np
import torchinfo

from nnbook import backprop, backprop_training, book, data, plotting, torch_nets, training

split = data.load_mnist()
train, test = (split.X_train - 0.5, split.y_train), (split.X_test - 0.5, split.y_test)
mlp_name, cnn_name = "MLP 784-100-10, ReLU", "CNN, two 5x5 convolutions"
builders = {
    mlp_name: lambda seed: torch_nets.mlp([784, 100, 10], "relu", seed=seed),
    cnn_name: lambda seed: torch_nets.small_cnn(dropout=0.5, seed=seed),
}
for name, build in builders.items():
    print(name)
    print(torchinfo.summary(build(0), input_size=(1, 784), col_names=("output_size", "num_params"), verbose=0))

# %%
# Training
# --------
# The lab trains with batches of 5 and learning rate 0.001 for five epochs on
# 60,000 images: 60,000 steps. On our 4000 images we take batches of 64, for
# speed, and three epochs, under 200 steps; to cover ground in so few steps
# we raise the learning rate to 0.05. Three seeds per model (the seed sets
# the initial weights and the order of the batches). The numpy network of the previous example
# (784 → 32 → 32 → 10, sigmoid, batches of 32, learning rate 1.0) is
# trained for the same three epochs alongside.
EPOCHS, SEEDS = 3, (0, 1, 2)
config = {seed: training.TrainConfig(lr=0.05, momentum=0.9, batch_size=64, epochs=EPOCHS, seed=seed) for seed in SEEDS}
models = {name: {seed: build(seed) for seed in SEEDS} for name, build in builders.items()}
histories = {name: [training.train(models[name][s], config[s], train, test=test) for s in SEEDS] for name in builders}
numpy_runs = [
    backprop_training.train_sgd(
        backprop.MLP([784, 32, 32, 10], rng=s),
        split.X_train,
        split.y_train,
        lr=1.0,
        epochs=EPOCHS,
        batch_size=32,
        rng=s,
    )
    for s in SEEDS
]
numpy_acc = np.array([run.model.accuracy(split.X_test, split.y_test) for run in numpy_runs])
accuracy = {name: np.array([h.test_accuracy[-1] for h in hs]) for name, hs in histories.items()}

# %%
# After three epochs the CNN beats the 784 → 100 → 10 network for every
# seed, with fewer parameters: weight sharing spends its parameters on local
# patterns that recur across the image.
rows = [
    {
        "model": "numpy MLP 784-32-32-10, sigmoid",
        "parameters": numpy_runs[0].model.num_parameters,
        "training": "numpy SGD, batch 32, lr 1.0",
        "test accuracy": numpy_acc.mean(),
        "spread (sd)": numpy_acc.std(ddof=1),
        "s / epoch": np.mean([r.wall_time for r in numpy_runs]) / EPOCHS,
    }
] + [
    {
        "model": name,
        "parameters": torch_nets.count_parameters(models[name][0]),
        "training": "torch SGD, momentum 0.9, batch 64, lr 0.05",
        "test accuracy": accuracy[name].mean(),
        "spread (sd)": accuracy[name].std(ddof=1),
        "s / epoch": np.mean([h.wall_time for h in histories[name]]) / EPOCHS,
    }
    for name in builders
]
table = book.save_table(
    "backprop/models_table",
    rows,
    formats={"parameters": "{:,}", "test accuracy": "{:.3f}", "spread (sd)": "{:.3f}", "s / epoch": "{:.2f}"},
    tolerances={"s / epoch": book.MEASURED_TOLERANCE},
)

# %%
# Which digits does the CNN get wrong?
# ------------------------------------
# The first 16 misclassified test images of the first seed, with the CNN's
# answer and the true label. Many are hard for a person too: strokes that
# are broken, slanted or written in an unusual style.
cnn = models[cnn_name][0]
predicted = training.predict(cnn, test[0]).argmax(axis=1)
wrong = np.flatnonzero(predicted != split.y_test)
fig, axes = plotting.new_figure(2, 8, width=10.0, height=3.2)
fig.suptitle("Misclassified test digits: CNN's answer (true label)")
for ax, i in zip(axes.ravel(), wrong[:16], strict=False):
    ax.imshow(split.X_test[i].reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{predicted[i]} (is {split.y_test[i]})", fontsize=9)
    ax.axis("off")

# %%
# The numbers, checked
# --------------------
with book.numbers():
    book.record("backprop/torch_epochs", EPOCHS, fmt="{:d}", label="training epochs of the PyTorch MLP and CNN")
    book.record("backprop/cnn_acc", accuracy[cnn_name].mean(), fmt="{:.3f}", label="CNN test accuracy (mean)")
    book.record("backprop/torch_mlp_acc", accuracy[mlp_name].mean(), fmt="{:.3f}", label="MLP test accuracy (mean)")
    book.record("backprop/numpy_mlp_acc", numpy_acc.mean(), fmt="{:.3f}", label="numpy MLP test accuracy (mean)")
    book.record("backprop/cnn_errors", wrong.size, fmt="{:d}", label="test images the first CNN gets wrong")
    book.record("backprop/cnn_params", torch_nets.count_parameters(cnn), fmt="{:,}", label="parameters of the CNN")
    book.record(
        "backprop/torch_mlp_params",
        torch_nets.count_parameters(models[mlp_name][0]),
        fmt="{:,}",
        label="parameters of the PyTorch 784-100-10 MLP",
    )
    book.record(
        "backprop/cnn_gain",
        (accuracy[cnn_name] - accuracy[mlp_name]).mean(),
        fmt="{:.3f}",
        label=f"test-accuracy gain of the CNN over the PyTorch MLP, mean of {len(SEEDS)} seeds",
    )
    book.claim(
        "backprop/cnn_beats_mlp",
        "after three epochs the CNN beats the 784-100-10 MLP for each of three seeds (smallest paired gain)",
        value=float((accuracy[cnn_name] - accuracy[mlp_name]).min()),
        at_least=0.01,
        fmt="{:.3f}",
    )
    book.claim(
        "backprop/torch_mlp_learns",
        "three epochs of torch SGD take the 784-100-10 MLP above 85% test accuracy (every seed)",
        value=accuracy[mlp_name].min(),
        at_least=0.85,
        fmt="{:.3f}",
    )

# %%
# Takeaways
# ---------
# - ``loss.backward()`` replaces our hand-written backward pass, and
#   ``optimiser.step()`` our update; the training loop is the same.
# - With the same three epochs, a small CNN with fewer parameters than the
#   MLP makes fewer mistakes: on images, the architecture matters.

plotting.show()
