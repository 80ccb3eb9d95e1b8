"""
How should a pretrained network be reused when the new task has few labels?
============================================================================

We pretrain a small residual network on MNIST, then solve a different task,
telling curvy digits from angular ones in scikit-learn's low-resolution
digits, in five ways: a network trained from scratch, a linear probe on the
frozen pretrained features, full fine-tuning, logistic regression on the
frozen features, and gradient-boosted trees on the raw pixels. Every network
is trained here, in a few seconds each, so that the whole pipeline is visible.
"""

# sphinx_gallery_dummy_images = 4

# %%
# Pretraining on MNIST
# --------------------
# The source task is the 4,000 training images of the bundled MNIST sample,
# ten classes. The network (:func:`nnbook.resnet.small_resnet`) is a 3x3
# stride-2 convolution to 16 channels, three residual blocks of torchvision
# with 16, 32 and 32 channels (the last two at stride 2: 14x14, 7x7 and 4x4
# maps), global average pooling to 32 features and a linear head. It trains
# for six epochs with Adam (learning rate 0.003, decaying along a half cosine,
# batches of 32).
import numpy as np

from nnbook import book, data, plotting, resnet, training, transfer, transfer_scores, transfer_task

WIDTHS = (16, 32, 32)
source = data.load_mnist()
pretrained = resnet.small_resnet(10, WIDTHS, seed=0)
pretraining = training.train(
    pretrained,
    training.TrainConfig(lr=3e-3, epochs=6, batch_size=32, optimiser="adam", lr_schedule="cosine", seed=0),
    (source.X_train, source.y_train),
    test=(source.X_test, source.y_test),
)
print(f"{resnet.parameter_count(pretrained):,} parameters, MNIST test accuracy {pretraining.test_accuracy[-1]:.3f}")

# %%
# The target task
# ---------------
# scikit-learn's digits are 8x8 images with 17 grey levels, written by other
# people and scanned differently from MNIST. We upscale them bilinearly to
# 20x20 and frame them in 28x28, MNIST's layout
# (:func:`nnbook.transfer_task.digits_task`), and label the curvy digits 0, 3, 6,
# 8, 9 as one class and the others as the second. The images are split into
# a pool of 1,000 from which the labelled training sets are drawn, 200 for
# validation and 597 for testing. How far apart are the domains? The MNIST
# network's own ten-class head, applied to the upscaled test digits, names the
# right digit for only a part of them.
task = transfer_task.digits_task(n_val=200, n_test=597, seed=0)
zero_shot = training.evaluate(pretrained, task.X_test, task.digit_test)[1]
print(f"the MNIST network names {zero_shot:.1%} of the target test digits correctly")

# One image of each digit: MNIST, scikit-learn's 8x8 original, upscaled.
first_mnist = [int(np.flatnonzero(source.y_train == d)[0]) for d in range(10)]
first_target = [int(np.flatnonzero(task.digit_test == d)[0]) for d in range(10)]
fig, axes = plotting.new_figure(3, 10, width=9.0, height=3.2)
for j, (a, b) in enumerate(zip(first_mnist, first_target, strict=True)):
    axes[0, j].imshow(source.X_train[a].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
    axes[1, j].imshow(task.pixels_test[b].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[2, j].imshow(task.X_test[b].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
    axes[2, j].set_xlabel("curvy" if task.y_test[b] else "angular", fontsize=8)
for ax in axes.ravel():
    ax.set(xticks=[], yticks=[])
    ax.grid(False)
for ax, text in zip(axes[:, 0], ("MNIST", "digits 8x8", "upscaled"), strict=True):
    ax.set_ylabel(text, fontsize=8)

# %%
# Five methods, five learning rates
# ---------------------------------
# Each method gets the same 300 labelled images, drawn for each of three
# seeds (paired runs), and the trained ones the same budget: 60 Adam steps of
# 32 images (about six epochs), the learning rate decaying from its peak value
# to zero along a half cosine. The peak learning rates are 0.1, 0.01, 0.001,
# 0.0001 and 0.00001. The probe trains its head on features computed once by
# the frozen network, which is the same computation as training the frozen
# network (tested). The two scikit-learn methods use their default settings.
LRS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
SEEDS = (0, 1, 2)
N_TABLE = 300


def scratch(seed: int) -> resnet.FeatureClassifier:
    return resnet.small_resnet(2, WIDTHS, seed=1000 + seed)


table = transfer.compare(pretrained, task, scratch=scratch, n_train=N_TABLE, seeds=SEEDS, lrs=LRS, steps=60)
ranked = transfer_scores.ranking(table, N_TABLE)
best, worst = transfer_scores.best_and_worst(ranked, per_method=2)
accuracy_formats = dict.fromkeys(("mean", "std", "min", "max"), "{:.3f}")
book.save_table("transfer/summary", [s.row() for s in best] + [worst.row()], formats=accuracy_formats)
book.save_table("transfer/ranking", [{"rank": i + 1, **s.row()} for i, s in enumerate(ranked)], accuracy_formats)
for i, s in enumerate(ranked, start=1):
    print(f"{i:2d}. {s.label:22s} {s.mean:.3f} +- {s.std:.3f}")

# %%
# Test accuracy against the learning rate
# ---------------------------------------
# Left: the mean test accuracy of the three trained methods over the seeds
# (the band spans the lowest to the highest seed), with the two scikit-learn
# methods as horizontal lines. Right: how far training moved the feature
# extractor, :math:`\|\vartheta - \vartheta_0\| / \|\vartheta_0\|`, for the
# two methods that train it, with the scale :math:`30\,\eta / \mathrm{rms}(\vartheta_0)`
# that Adam's steps allow (each weight moves by about the learning rate per
# step, and the 60 half-cosine learning rates add up to about :math:`30\,\eta`).
fig, (ax_acc, ax_move) = plotting.new_figure(1, 2, width=10.0, height=3.8)
lrs = np.array(LRS)
for method in transfer_scores.TRAINED:
    acc = np.array([table.test_accuracy[table.select(method, lr)] for lr in LRS]).T
    plotting.band(ax_acc, lrs, acc, label=method, quantiles=(0.0, 1.0))
for method, style, color in (("sklearn_probe", ":", "C3"), ("boosting", "--", "C4")):
    ax_acc.axhline(table.test_accuracy[table.select(method)].mean(), ls=style, color=color, label=method)
ax_acc.set(xscale="log", xlabel="peak learning rate", ylabel="test accuracy", title=f"{N_TABLE} labels")
plotting.legend(ax_acc, fontsize=8)
for method, color in (("scratch", "C0"), ("finetune", "C2")):
    moved = np.array([table.feature_change[table.select(method, lr)] for lr in LRS]).T
    plotting.band(ax_move, lrs, moved, label=method, color=color, quantiles=(0.0, 1.0))
ax_move.plot(lrs, 30 * lrs / resnet.rms_weight(pretrained.features), "k:", lw=1, label="30 lr / rms weight")
ax_move.set(xscale="log", yscale="log", xlabel="peak learning rate", ylabel="relative change of the features")
plotting.legend(ax_move, fontsize=8)

# %%
# How many labels is pretraining worth?
# -------------------------------------
# The learning rate of each trained method is the one with the best mean
# validation accuracy at 300 labels; with it, every method is trained again
# on 20 and 100 labels and on the whole pool of 1,000, with the same budget of
# 60 steps. As a control, the probe is also trained on the features of the
# same network before pretraining (its random initialisation). Lines are
# means over the three seeds, bands span the lowest and highest seed.
BUDGETS = (20, 100, 1000)
chosen = transfer_scores.best_lrs(table, N_TABLE)
curve = transfer.compare(pretrained, task, scratch=scratch, n_train=BUDGETS, seeds=SEEDS, lrs=chosen, steps=60)
both = transfer_scores.combine([curve, table])  # the table adds the runs with 300 labels
untrained = resnet.small_resnet(10, WIDTHS, seed=0)  # the pretrained network as it was before pretraining
control = transfer.compare(
    untrained,
    task,
    scratch=scratch,
    n_train=(*BUDGETS, N_TABLE),
    seeds=SEEDS,
    lrs={"probe": [chosen["probe"]]},
    methods=["probe"],
)
budgets = np.unique(both.n_train)
accuracy = {m: both.accuracy(m, chosen.get(m)) for m in transfer_scores.METHODS}  # (budget, seed)
fig, ax = plotting.new_figure(height=4.0)
for method, acc in accuracy.items():
    name = method if method not in chosen else f"{method} (lr={chosen[method]:g})"
    plotting.band(ax, budgets, acc.T, label=name, quantiles=(0.0, 1.0))
plotting.band(
    ax, budgets, control.accuracy("probe").T, label="probe on random features", color="0.5", quantiles=(0.0, 1.0)
)
ax.set(xscale="log", xlabel="labelled training images", ylabel="test accuracy", title="Accuracy against labels")
ax.set_xticks(budgets, [str(n) for n in budgets])
ax.minorticks_off()
plotting.legend(ax, fontsize=8)

# %%
# Mistakes of the best and the worst model
# ----------------------------------------
# The first eight misclassified test images of the best and of the worst
# (method, learning rate) at 300 labels, for seed 0; the title gives the true
# digit and the predicted class.
fig, axes = plotting.new_figure(2, 8, width=8.0, height=2.6)
shown = {}  # the seed-0 run of the best and of the worst entry
for row, score in zip(axes, (ranked[0], ranked[-1]), strict=True):
    run = shown[score.label] = np.flatnonzero(table.select(score.method, score.lr or None) & (table.seed == 0))[0]
    for ax, i in zip(row, np.flatnonzero(table.predictions[run] != task.y_test)[:8], strict=False):
        ax.imshow(task.X_test[i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        predicted = "curvy" if table.predictions[run, i] else "angular"
        ax.set_title(f"{task.digit_test[i]}: {predicted}?", fontsize=8)
    for ax in row:
        ax.set(xticks=[], yticks=[])
        ax.grid(False)
    row[0].set_ylabel(f"{score.label}\n{score.mean:.0%}", fontsize=7)

# %%
# With a network pretrained on ImageNet
# -------------------------------------
# Where a network is available, torchvision's pretrained weights replace the
# pretraining above: :func:`nnbook.resnet.from_torchvision` wraps a ResNet so
# that it reads these 28x28 grey images (upscaled to 224x224, three copies of
# the grey channel, ImageNet's normalisation), and everything below the
# pretraining runs unchanged::
#
#     import torch
#     from torchvision.models import ResNet18_Weights, resnet18
#
#     pretrained = resnet.from_torchvision(resnet18(weights=ResNet18_Weights.DEFAULT))
#
#     def scratch(seed):
#         with torch.random.fork_rng():
#             torch.manual_seed(seed)
#             return resnet.from_torchvision(resnet18(num_classes=2))
#
# A ResNet-18 is far larger than the network here and works on 224x224
# images, so on a CPU this is a much longer job.

# %%
# The numbers, checked
# --------------------
# Paired differences are taken seed by seed (the same labelled images) and
# then averaged.
row = {int(n): i for i, n in enumerate(budgets)}
small, large = row[min(BUDGETS)], row[max(BUDGETS)]
mean_at = {(s.method, s.lr or None): s.mean for s in ranked}
rms = resnet.rms_weight(pretrained.features)
trained = np.isin(table.method, ("scratch", "finetune"))
adam_ratio = table.feature_change[trained] / (30 * table.lr[trained] / rms)


def paired(a: tuple[str, float], b: tuple[str, float]) -> float:
    """Mean over seeds of the test accuracy of a minus that of b, at the table's budget."""
    return float(np.mean(table.test_accuracy[table.select(*a)] - table.test_accuracy[table.select(*b)]))


with book.numbers():
    book.record(
        "transfer/n_parameters",
        resnet.parameter_count(pretrained),
        fmt="{:,}",
        label="parameters of the pretrained network",
    )
    book.record(
        "transfer/n_source", len(source.y_train), fmt="{:,}", label="MNIST training images used for pretraining"
    )
    book.record("transfer/n_test", len(task.y_test), fmt="{:d}", label="test images of the target task")
    book.record("transfer/n_seeds", len(SEEDS), fmt="{:d}", label="seeds per configuration")
    book.record(
        "transfer/std_err",
        transfer_scores.standard_error(0.9, len(task.y_test)),
        fmt="{:.3f}",
        label="standard error of a test accuracy of 0.9 on the target test set",
    )
    for method, lr in chosen.items():
        book.record(
            f"transfer/chosen_lr_{method}",
            lr,
            fmt="{:g}",
            label=f"peak learning rate chosen for {method} at {N_TABLE} labels",
        )
    book.record(
        "transfer/best_mean",
        ranked[0].mean,
        fmt="{:.3f}",
        label=f"mean test accuracy of the best configuration ({ranked[0].label}), {N_TABLE} labels",
    )
    book.record(
        "transfer/second_mean",
        ranked[1].mean,
        fmt="{:.3f}",
        label=f"mean test accuracy of the second-best configuration ({ranked[1].label}), {N_TABLE} labels",
    )
    book.record(
        "transfer/worst_mean",
        ranked[-1].mean,
        fmt="{:.3f}",
        label=f"mean test accuracy of the worst configuration ({ranked[-1].label}), {N_TABLE} labels",
    )
    worst_predictions = table.predictions[shown[ranked[-1].label]]
    book.record(
        "transfer/worst_majority",
        np.bincount(worst_predictions).max() / len(worst_predictions),
        fmt="{:.0%}",
        label="share of the test images given the worst configuration's most frequent answer",
    )
    book.record("transfer/rms_weight", rms, fmt="{:.3f}", label="root mean square weight of the pretrained features")
    book.record(
        "transfer/head_parameters",
        resnet.parameter_count(resnet.new_head(pretrained, 2, freeze_features=True, seed=0).head),
        fmt="{:d}",
        label="parameters of the new two-class head",
    )
    book.check(
        "transfer/no_divergence",
        "no training run of the comparison diverged (a non-finite loss)",
        value=int(table.diverged.sum() + both.diverged.sum()),
        at_most=0,
        fmt="{:d}",
    )
    book.record(
        "transfer/boosting_300",
        mean_at[("boosting", None)],
        fmt="{:.3f}",
        label=f"mean test accuracy of gradient boosting on the raw 8x8 pixels, {N_TABLE} labels",
    )
    book.claim(
        "transfer/source_accuracy",
        "the pretrained network classifies at least 95% of the MNIST test images correctly",
        value=pretraining.test_accuracy[-1],
        at_least=0.95,
        fmt="{:.1%}",
    )
    book.claim(
        "transfer/zero_shot",
        "the MNIST network's own head names between 20% and 85% of the upscaled target digits: a real domain shift",
        value=zero_shot,
        between=(0.2, 0.85),
        fmt="{:.0%}",
    )
    # Learning rates at 300 labels
    book.claim(
        "transfer/small_lrs_fail",
        "with peak learning rates 1e-4 and 1e-5 no trained method reaches a mean test accuracy of 0.8",
        value=max(mean_at[(m, lr)] for m in transfer_scores.TRAINED for lr in (1e-4, 1e-5)),
        at_most=0.8,
        fmt="{:.3f}",
    )
    book.claim(
        "transfer/adam_scale",
        "no network's features moved further than Adam's scale 30 lr / rms weight (largest ratio below 1)",
        value=float(adam_ratio.max()),
        at_most=1.0,
        fmt="{:.2f}",
    )
    book.claim(
        "transfer/finetune_forgets",
        "fine-tuning at learning rate 0.1 moves the features by more than their own norm",
        value=float(table.feature_change[table.select("finetune", 0.1)].min()),
        at_least=1.0,
        fmt="{:.1f}",
    )
    book.record(
        "transfer/finetune_change_1e3",
        table.feature_change[table.select("finetune", 1e-3)].mean(),
        fmt="{:.2f}",
        label=f"relative change of the features when fine-tuning at learning rate 0.001, mean of {len(SEEDS)} seeds",
    )
    book.claim(
        "transfer/forgetting_equals_scratch",
        "at learning rate 0.1, fine-tuning and training from scratch are within 0.03 of each other (paired mean)",
        value=paired(("finetune", 0.1), ("scratch", 0.1)),
        between=(-0.03, 0.03),
        fmt="{:+.3f}",
    )
    book.claim(
        "transfer/high_lr_costs_finetuning",
        "fine-tuning at 0.01 beats fine-tuning at 0.1 by at least 0.02 (paired mean)",
        value=paired(("finetune", 0.01), ("finetune", 0.1)),
        at_least=0.02,
        fmt="{:.3f}",
    )
    book.claim(
        "transfer/probe_tolerates_high_lr",
        "the probe does at least as well at learning rate 0.1 as at 0.01 (paired mean)",
        value=paired(("probe", 0.1), ("probe", 0.01)),
        at_least=0.0,
        fmt="{:+.3f}",
    )
    book.claim(
        "transfer/sklearn_close_to_probe",
        "logistic regression on the frozen features is within 0.05 of the best trained probe",
        value=mean_at[("sklearn_probe", None)] - max(mean_at[("probe", lr)] for lr in LRS),
        between=(-0.05, 0.05),
        fmt="{:+.3f}",
    )
    book.claim(
        "transfer/finetune_beats_probe_300",
        f"with {N_TABLE} labels the best fine-tuning beats the best probe by at least 0.02",
        value=max(mean_at[("finetune", lr)] for lr in LRS) - max(mean_at[("probe", lr)] for lr in LRS),
        at_least=0.02,
        fmt="{:.3f}",
    )
    # Label budgets
    gap_probe = accuracy["probe"][small] - accuracy["scratch"][small]
    gap_finetune = accuracy["finetune"][small] - accuracy["scratch"][small]
    for method in transfer_scores.METHODS:
        book.record(
            f"transfer/{method}_at_{min(BUDGETS)}",
            accuracy[method][small].mean(),
            fmt="{:.3f}",
            label=f"mean test accuracy of {method} with {min(BUDGETS)} labels, {len(SEEDS)} seeds",
        )
        book.record(
            f"transfer/{method}_at_{max(BUDGETS)}",
            accuracy[method][large].mean(),
            fmt="{:.3f}",
            label=f"mean test accuracy of {method} with {max(BUDGETS)} labels, {len(SEEDS)} seeds",
        )
    book.record(
        "transfer/random_probe_at_300",
        control.accuracy("probe")[row[N_TABLE]].mean(),
        fmt="{:.3f}",
        label=f"mean test accuracy of a probe on the untrained network's features, {N_TABLE} labels",
    )
    book.claim(
        "transfer/probe_beats_scratch_small",
        f"with {min(BUDGETS)} labels the probe beats training from scratch (paired mean gap at least 0.01)",
        value=float(gap_probe.mean()),
        at_least=0.01,
        fmt="{:.3f}",
    )
    book.claim(
        "transfer/finetune_beats_scratch_small",
        f"with {min(BUDGETS)} labels fine-tuning beats training from scratch (paired mean gap at least 0.01)",
        value=float(gap_finetune.mean()),
        at_least=0.01,
        fmt="{:.3f}",
    )
    book.claim(
        "transfer/pretraining_makes_the_features",
        f"with {N_TABLE} labels the probe on pretrained features beats the probe on the untrained network's by 0.08",
        value=float((accuracy["probe"][row[N_TABLE]] - control.accuracy("probe")[row[N_TABLE]]).mean()),
        at_least=0.08,
        fmt="{:.3f}",
    )
    book.claim(
        "transfer/probe_saturates",
        f"the probe gains at most 0.02 from {N_TABLE} to {max(BUDGETS)} labels",
        value=float(accuracy["probe"][large].mean() - accuracy["probe"][row[N_TABLE]].mean()),
        at_most=0.02,
        fmt="{:+.3f}",
    )
    book.claim(
        "transfer/scratch_overtakes_probe",
        f"with {max(BUDGETS)} labels training from scratch beats the probe by at least 0.02",
        value=float(accuracy["scratch"][large].mean() - accuracy["probe"][large].mean()),
        at_least=0.02,
        fmt="{:.3f}",
    )
    boosting_small = both.predictions[both.select("boosting", n_train=min(BUDGETS))]
    book.claim(
        "transfer/boosting_cannot_split",
        f"with {min(BUDGETS)} labels boosting predicts one class for every test image (every seed)",
        value=max(len(np.unique(p)) for p in boosting_small),
        at_most=1,
        fmt="{:d}",
    )
    book.claim(
        "transfer/boosting_catches_up",
        f"with {max(BUDGETS)} labels boosting on raw pixels beats the probe by at least 0.03",
        value=float(accuracy["boosting"][large].mean() - accuracy["probe"][large].mean()),
        at_least=0.03,
        fmt="{:.3f}",
    )

# %%
# Takeaways
# ---------
# - Which method wins depends on the number of labels: with 20, the frozen
#   pretrained features beat training from scratch; from a few hundred on,
#   the features themselves must be trained (fine-tuning or from scratch), and
#   with 1,000 boosted trees on the raw 8x8 pixels are as good as any network.
# - A learning rate is a distance: Adam moves every weight by about the
#   learning rate per step. Too small and nothing moves in the budget; large
#   enough to move the features by their own size and fine-tuning forgets its
#   pretraining and becomes training from scratch.
# - The probe's problem is convex and its features cannot be damaged, so it
#   prefers the largest learning rate; logistic regression solves the same
#   problem to convergence without one.

plotting.show()
