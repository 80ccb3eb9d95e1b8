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

import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnbook import _validation as _v

MAX_AXES = 20
MAX_INCHES = 40.0

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
    nrows = _v.check_int(nrows, "nrows", min_value=1, max_value=MAX_AXES)
    ncols = _v.check_int(ncols, "ncols", min_value=1, max_value=MAX_AXES)
    width = _v.check_real(width, "width", min_value=0, max_value=MAX_INCHES, min_inclusive=False)
    height = _v.check_real(height, "height", min_value=0, max_value=MAX_INCHES, min_inclusive=False)
    # The book's style is set globally (not in an rc_context): leaving a context would switch off a notebook's
    # automatic display of the figures made inside it. sphinx-gallery resets matplotlib between examples.
    matplotlib.rcParams.update(STYLE)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kwargs)
    return fig, axes


def _optional_str(value: object, name: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, got {type(value).__name__}")


NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def show(prefix: str | None = None) -> list[Path] | None:
    """Show every open figure, or save them when nothing can show them; call it once at the end of a script.

    In a docs build this does nothing (sphinx-gallery captures the figures
    itself). In a notebook or with an interactive backend the figures are
    shown. With a non-interactive backend (a terminal without a display) each
    figure is saved as ``<prefix>_<n>.png`` in the working folder, ``prefix``
    defaulting to the running script's name, and the paths are printed.

    Returns
    -------
    list of Path or None
        The files written; ``None`` when nothing was saved (the figures were
        shown, or a docs build captures them), so that a notebook cell ending
        with ``plotting.show()`` displays no return value.
    """
    from nnbook import book

    if book.results_dir() is not None:
        return None
    if matplotlib.get_backend().lower() not in NON_INTERACTIVE:
        plt.show()
        return None
    stem = prefix if prefix is not None else (Path(sys.argv[0]).stem or "figure")
    if not isinstance(stem, str) or not stem:
        raise TypeError(f"prefix must be a non-empty str, got {prefix!r}")
    written = []
    for number in plt.get_fignums():
        path = Path(f"{stem}_{number:02d}.png")
        plt.figure(number).savefig(path, dpi=2 * STYLE["savefig.dpi"])
        print(f"figure {number} saved to {path}")
        written.append(path)
    plt.close("all")
    return written


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
    x = _v.check_array(x, "x", ndim=1)
    samples = _v.check_array(samples, "samples", shape=(None, x.shape[0]))
    _optional_str(label, "label")
    _optional_str(color, "color")
    q = _v.check_array(quantiles, "quantiles", shape=(2,))
    for value in q:
        _v.check_real(value, "quantiles", min_value=0, max_value=1)
    (line,) = ax.plot(x, samples.mean(axis=0), label=label, color=color, lw=1.6)
    lo, hi = np.quantile(samples, quantiles, axis=0)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def legend(ax: Axes | Figure, *args, **kwargs) -> None:
    """Draw the legend of ``ax`` (an Axes, or a Figure for one legend shared by its axes).

    ``args`` and ``kwargs`` go to matplotlib's ``legend`` (handles and labels,
    ``loc``, ``fontsize``, ``ncols``...); without handles, an Axes' legend
    lists its labelled lines and areas. The book's style draws it without a
    frame. Unlike matplotlib's method it returns nothing, so a notebook cell
    that ends by drawing a legend displays the figure and no
    ``<matplotlib.legend.Legend ...>`` line.

    Examples
    --------
    >>> fig, ax = new_figure()
    >>> _ = ax.plot([0, 1], [0, 1], label="identity")
    >>> legend(ax, loc="lower right")
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['identity']
    >>> close(fig)
    """
    _v.check_instance(ax, "ax", Axes | Figure, "a matplotlib Axes or Figure").legend(*args, **kwargs)


def mark_vertical(ax: Axes, x: float, text: str | None = None, **kwargs) -> None:
    """A dashed vertical marker at ``x`` with an optional label near the top."""
    x = _v.check_real(x, "x")
    _optional_str(text, "text")
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
    values = _v.check_array(values, "values", ndim=2)
    if not isinstance(cmap, str):
        raise TypeError(f"cmap must be the name of a colour map (a str), got {type(cmap).__name__}")
    if labels is not None and (isinstance(labels, str) or len(labels) != values.shape[1]):
        raise ValueError(f"labels must be a sequence of {values.shape[1]} names, got {labels!r}")
    vmax = float(np.abs(values).max()) or 1.0
    image = ax.imshow(values, cmap=cmap, vmin=-vmax, vmax=vmax)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
    ax.grid(False)
    return image


def close(fig: Figure | str) -> None:
    """Release a figure (or ``"all"``) that will not be shown (used by tests and doctests)."""
    plt.close(fig)
