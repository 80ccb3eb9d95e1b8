"""
Depth or width: which helps a small network more in practice?
=============================================================

Depth can multiply linear regions where width only adds them. Does that
matter when a network is trained? We train ReLU networks of depth 1, 2, 6 and
10 at width 16, and of width 8, 16, 32 and 64 at depth 6, on five interleaved
spirals, and compare their accuracies, decision boundaries and the number of
linear regions they end up with.
"""

# sphinx_gallery_dummy_images = 2

# %%
# Data and training
# -----------------
# Five spiral arms with angular noise 0.3 (:func:`nnbook.data.spirals`): 100
# training points per class (seed 0) and an independent test set of the same
# size (seed 1). Every network starts from PyTorch's default initialisation
# (seed 0) and takes 1,000 full-batch Adam steps on the cross-entropy, with a
# learning rate decaying from 0.02 to 0 along a half cosine
# (:func:`nnbook.depthwidth.fit_and_score`). Regions are counted on a
# 300 x 300 grid of :math:`[-1.5, 1.5]^2` (a lower estimate).
import numpy as np
from scipy import integrate, stats

from nnbook import book, data, depthwidth, expressivity, plotting

X_train, y_train = data.spirals(100, 5, noise=0.3, rng=0)
X_test, y_test = data.spirals(100, 5, noise=0.3, rng=1)
configs = [(1, 16), (2, 16), (6, 16), (10, 16), (6, 8), (6, 32), (6, 64)]
STEPS, LR = 1000, 0.02
fits = {
    (d, w): depthwidth.fit_and_score(X_train, y_train, X_test, y_test, depth=d, width=w, steps=STEPS, lr=LR)
    for d, w in configs
}

# %%
# Accuracies and regions
# ----------------------
# The bound column is Serra et al.'s maximum number of regions
# (:func:`nnbook.expressivity.max_regions`).
rows = [
    {
        "depth": f.depth,
        "width": f.width,
        "parameters": f.n_params,
        "train accuracy": f.train_accuracy,
        "test accuracy": f.test_accuracy,
        "regions (grid)": f.num_regions,
        "bound": expressivity.max_regions(2, [f.width] * f.depth),
    }
    for f in fits.values()
]
book.save_table(
    "expressivity/depth_width", rows, formats={"train accuracy": "{:.1%}", "test accuracy": "{:.1%}", "bound": "{:.3g}"}
)

# %%
# How much do the seeds matter?
# -----------------------------
# Differences of a point or two between configurations are only meaningful
# against the spread over initialisations; we retrain depth 2, width 16 with
# two more seeds.
seed_accs = [fits[2, 16].test_accuracy] + [
    depthwidth.fit_and_score(X_train, y_train, X_test, y_test, 2, 16, seed=s, steps=STEPS, lr=LR).test_accuracy
    for s in (1, 2)
]
seed_spread = max(seed_accs) - min(seed_accs)

# %%
# Too few units, or too few steps?
# --------------------------------
# After 1,000 steps the one-layer network fits its training set worst of all.
# Is it short of capacity, or does it merely train more slowly? We give it
# five times as many steps.
long_run = depthwidth.fit_and_score(X_train, y_train, X_test, y_test, 1, 16, steps=5 * STEPS, lr=LR)
print(f"depth 1 after 5000 steps: train {long_run.train_accuracy:.1%}, test {long_run.test_accuracy:.1%}")

# %%
# Decision boundaries of the best and the worst network
# -----------------------------------------------------
# Ranked by test accuracy (ties broken by fewer parameters).
ranked = sorted(fits.values(), key=lambda f: (-f.test_accuracy, f.n_params))
best, worst = ranked[0], ranked[-1]
fig, axes = plotting.new_figure(1, 2, width=9.6, height=4.4, sharey=True)
for ax, (label, fit) in zip(axes, (("best", best), ("worst", worst)), strict=True):
    ax.imshow(
        depthwidth.predict_grid(fit.model, -1.5, 1.5, 300),
        origin="lower",
        extent=(-1.5, 1.5, -1.5, 1.5),
        cmap="tab10",
        vmin=0,
        vmax=9,
        alpha=0.35,
        interpolation="nearest",
    )
    ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap="tab10", vmin=0, vmax=9, s=8, edgecolors="k", linewidths=0.3)
    ax.set(
        title=f"{label}: depth {fit.depth}, width {fit.width}\ntest accuracy {fit.test_accuracy:.1%}, "
        f"{fit.num_regions} regions",
        xlabel="x1",
    )
    ax.grid(False)
axes[0].set_ylabel("x2")

# %%
# Accuracy and regions against size
# ---------------------------------
fig, (ax_acc, ax_reg) = plotting.new_figure(1, 2, width=10.5, height=4.0)
for name, group, key in (
    ("width 16, depth varies", [(d, 16) for d in (1, 2, 6, 10)], "depth"),
    ("depth 6, width varies", [(6, w) for w in (8, 16, 32, 64)], "width"),
):
    params = [fits[c].n_params for c in group]
    (line,) = ax_acc.plot(params, [fits[c].test_accuracy for c in group], "o-", label=f"test, {name}")
    ax_acc.plot(params, [fits[c].train_accuracy for c in group], "x:", color=line.get_color(), label=f"train, {name}")
    ax_reg.plot(params, [fits[c].num_regions for c in group], "o-", label=name)
    for c, p in zip(group, params, strict=True):
        if key == "depth":
            ax_reg.annotate(
                f"L = {c[0]}", (p, fits[c].num_regions), fontsize=7, xytext=(5, -9), textcoords="offset points"
            )
        elif c != (6, 16):
            ax_reg.annotate(
                f"w = {c[1]}", (p, fits[c].num_regions), fontsize=7, xytext=(-12, 7), textcoords="offset points"
            )
ax_acc.axhspan(min(seed_accs), max(seed_accs), color="0.85", label="test, 3 seeds of depth 2, width 16")
ax_acc.set(xscale="log", xlabel="parameters", ylabel="accuracy", title="Accuracy")
ax_acc.legend(fontsize=7)
params_all = sorted(f.n_params for f in fits.values())
ax_reg.plot(params_all, params_all, "k:", lw=1, label="regions = parameters")
ax_reg.set(
    xscale="log",
    yscale="log",
    xlabel="parameters",
    ylabel="regions on the grid",
    title="Linear regions after training (L depth, w width)",
)
ax_reg.legend(fontsize=8)

# %%
# The numbers
# -----------
for f in fits.values():
    key = f"d{f.depth}_w{f.width}"
    book.record(f"expressivity/test_acc_{key}", f.test_accuracy, fmt="{:.1%}")
    book.record(f"expressivity/train_acc_{key}", f.train_accuracy, fmt="{:.1%}")
    book.record(f"expressivity/regions_{key}", f.num_regions, fmt="{:,}")
    book.record(f"expressivity/params_{key}", f.n_params, fmt="{:,}")
book.record("expressivity/seed_spread", seed_spread, fmt="{:.1%}")
book.record("expressivity/bound_d1_w16", expressivity.max_regions(2, [16]), fmt="{:d}")
book.record("expressivity/bound_d10_w16", expressivity.max_regions(2, [16] * 10), fmt="{:.1e}")
book.record("expressivity/best_minus_worst", best.test_accuracy - worst.test_accuracy, fmt="{:.1%}")
for label, fit in (("best", best), ("worst", worst)):
    book.record(f"expressivity/{label}_depth", fit.depth, fmt="{:d}")
    book.record(f"expressivity/{label}_width", fit.width, fmt="{:d}")
    book.record(f"expressivity/{label}_test_acc", fit.test_accuracy, fmt="{:.1%}")
book.record("expressivity/long_run_train_acc", long_run.train_accuracy, fmt="{:.1%}")
book.record("expressivity/long_run_test_acc", long_run.test_accuracy, fmt="{:.1%}")
book.record("expressivity/long_run_regions", long_run.num_regions, fmt="{:d}")
book.claim(
    "expressivity/trained_below_bound",
    "every trained network shows fewer regions than Serra et al.'s bound for its architecture",
    all(r["regions (grid)"] <= r["bound"] for r in rows),
    max(r["regions (grid)"] / r["bound"] for r in rows),
    fmt="{:.2g}",
)
by_depth = [fits[d, 16].num_regions for d in (1, 2, 6, 10)]
book.claim(
    "expressivity/regions_grow_with_depth",
    "at width 16 the trained region count grows with every step in depth (1, 2, 6, 10)",
    bool(np.all(np.diff(by_depth) > 0)),
    by_depth[-1] / by_depth[0],
    fmt="{:.0f}",
)
per_param = [f.num_regions / f.n_params for f in fits.values()]
book.record("expressivity/regions_per_param_min", min(per_param), fmt="{:.2f}")
book.record("expressivity/regions_per_param_max", max(per_param), fmt="{:.2f}")
book.claim(
    "expressivity/regions_track_params",
    "every trained network has between 0.25 and 4 regions per parameter, whether it is deep or wide",
    0.25 <= min(per_param) and max(per_param) <= 4,
    max(per_param) / min(per_param),
    fmt="{:.1f}",
)
book.claim(
    "expressivity/shallow_is_worst",
    "after 1,000 steps the one-hidden-layer network has the lowest training accuracy of all",
    all(f.train_accuracy > fits[1, 16].train_accuracy for c, f in fits.items() if c != (1, 16)),
    fits[1, 16].train_accuracy,
    fmt="{:.1%}",
)
# An accuracy p measured on n test points has the binomial standard error
# sqrt(p (1 - p) / n); we compare differences of accuracy with it.
capable = [fits[c].test_accuracy for c in ((2, 16), (6, 16), (10, 16), (6, 32), (6, 64))]
p_mean = float(np.mean(capable))
std_err = float(np.sqrt(p_mean * (1 - p_mean) / len(y_test)))
book.record("expressivity/n_test", len(y_test), fmt="{:d}")
book.record("expressivity/test_std_err", std_err, fmt="{:.1%}")
book.record("expressivity/capable_range", max(capable) - min(capable), fmt="{:.1%}")
# For comparison: the expected range of k independent normal estimates, in standard errors,
# E[max - min] = integral of 1 - F(x)^k - (1 - F(x))^k over the real line.
expected_range = integrate.quad(
    lambda x: 1 - stats.norm.cdf(x) ** len(capable) - stats.norm.sf(x) ** len(capable), -np.inf, np.inf
)[0]
book.record("expressivity/expected_range_capable", expected_range, fmt="{:.1f}")
book.record("expressivity/capable_min", min(capable), fmt="{:.1%}")
book.record("expressivity/capable_max", max(capable), fmt="{:.1%}")
book.claim(
    "expressivity/capable_within_noise",
    "the five networks with depth >= 2 and width >= 16 have test accuracies within three standard errors",
    max(capable) - min(capable) < 3 * std_err,
    (max(capable) - min(capable)) / std_err,
    fmt="{:.1f}",
)
book.claim(
    "expressivity/shallow_significantly_worse",
    "after 1,000 steps the one-layer network is more than two standard errors below the best network",
    best.test_accuracy - fits[1, 16].test_accuracy > 2 * std_err,
    (best.test_accuracy - fits[1, 16].test_accuracy) / std_err,
    fmt="{:.1f}",
)
book.claim(
    "expressivity/shallow_catches_up",
    "with 5,000 steps the one-layer network's test accuracy is within two standard errors of the best network's",
    best.test_accuracy - long_run.test_accuracy < 2 * std_err,
    (best.test_accuracy - long_run.test_accuracy) / std_err,
    fmt="{:.1f}",
)
gain = long_run.train_accuracy - fits[1, 16].train_accuracy
book.claim(
    "expressivity/shallow_trains_slowly",
    "with 5,000 steps the one-layer network's training accuracy rises by more than 3 points",
    gain > 0.03,
    gain,
    fmt="{:.1%}",
)

# %%
# Takeaways
# ---------
# - After the same 1,000 steps the one-layer network still underfits the
#   spirals; given five times as many steps it catches up. Here depth bought
#   faster training, not a better final classifier.
# - With two or more layers of 16 or more units, the test accuracies differ by
#   no more than the statistical uncertainty of a 500-point test set.
# - Trained region counts grow roughly in proportion to the number of
#   parameters, whether these buy depth or width, and stay orders of magnitude
#   below the combinatorial bounds, which grow exponentially with depth.
# - More regions is not more accuracy: what matters is where the boundaries
#   between classes go, not how many affine pieces the network has.
