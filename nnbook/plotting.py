"""Figures for the book: the only module of nnbook that imports matplotlib.

Gallery scripts create their figures here and then draw on the returned axes
in the object-oriented style, so every figure shares one look.

Examples
--------
>>> import numpy as np
>>> fig, ax = new_figure()
>>> band(ax, np.arange(3), np.ones((4, 3)), label="mean")
>>> close(fig)
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
}


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    width: float = 6.4,
    height: float = 4.0,
    **kwargs,
) -> tuple[Figure, Axes | np.ndarray]:
    """A figure with the book's style and ``nrows x ncols`` axes.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes (``>= 1``).
    width, height : float
        Size in inches of the whole figure (``> 0``).
    **kwargs
        Passed to :func:`matplotlib.pyplot.subplots` (e.g. ``sharex``).

    Returns
    -------
    fig : Figure
    axes : Axes or ndarray of Axes
    """
    for arg, v in (("nrows", nrows), ("ncols", ncols)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{arg} must be a positive int, got {v!r}")
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive, got {width}, {height}")
    with matplotlib.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kwargs)
    return fig, axes


def band(
    ax: Axes,
    x: np.ndarray,
    samples: np.ndarray,
    label: str | None = None,
    color: str | None = None,
    quantiles: tuple[float, float] = (0.1, 0.9),
) -> None:
    """Plot the mean of ``samples`` (shape ``(repeats, len(x))``) with a quantile band.

    Parameters
    ----------
    ax : Axes
    x : ndarray, shape (m,)
    samples : ndarray, shape (repeats, m)
    label, color : str, optional
    quantiles : (float, float)
        Lower and upper quantile of the shaded band.
    """
    x = np.asarray(x)
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[1] != x.shape[0]:
        raise ValueError(f"samples must have shape (repeats, {x.shape[0]}), got {samples.shape}")
    (line,) = ax.plot(x, samples.mean(axis=0), label=label, color=color, lw=1.6)
    lo, hi = np.quantile(samples, quantiles, axis=0)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def mark_vertical(ax: Axes, x: float, text: str | None = None, **kwargs) -> None:
    """A dashed vertical marker at ``x`` with an optional label near the top."""
    ax.axvline(x, color=kwargs.pop("color", "0.4"), ls="--", lw=1, **kwargs)
    if text:
        ax.annotate(
            text,
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="0.3",
        )


def heatmap(ax: Axes, values: np.ndarray, labels: Sequence[str] | None = None, cmap: str = "RdBu_r"):
    """Show a matrix with a symmetric colour scale; returns the image for a colour bar."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D, got shape {values.shape}")
    vmax = float(np.abs(values).max()) or 1.0
    image = ax.imshow(values, cmap=cmap, vmin=-vmax, vmax=vmax)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
    ax.grid(False)
    return image


def close(fig: Figure) -> None:
    """Release a figure that will not be shown (used by tests and doctests)."""
    plt.close(fig)
