"""nnbook.plotting: figure helpers and their argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook import plotting


def _labelled_axes():
    _, ax = plotting.new_figure()
    ax.plot([0, 1], [0, 1], label="line")
    return ax


# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
VALID_CALLS = {
    "band": lambda: {"ax": plotting.new_figure()[1], "x": np.arange(3.0), "samples": np.ones((2, 3))},
    "mark_vertical": lambda: {"ax": plotting.new_figure()[1], "x": 0.5},
    "legend": lambda: {"ax": _labelled_axes()},
    "heatmap": lambda: {"ax": plotting.new_figure()[1], "values": np.eye(2)},
    "close": lambda: {"fig": plotting.new_figure()[0]},
}


def test_band_draws_mean_and_quantiles():
    fig, ax = plotting.new_figure()
    samples = np.array([[0.0, 1.0], [2.0, 3.0]])
    plotting.band(ax, np.array([0.0, 1.0]), samples, label="m")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 2.0])
    assert len(ax.collections) == 1
    plotting.close(fig)


def test_grid_of_axes_and_heatmap():
    fig, axes = plotting.new_figure(2, 3)
    assert axes.shape == (2, 3)
    image = plotting.heatmap(axes[0, 0], np.array([[1.0, -2.0], [0.0, 1.0]]), labels=["a", "b"])
    assert image.get_clim() == (-2.0, 2.0)
    plotting.close(fig)


def test_legend_draws_and_returns_nothing():
    fig, ax = plotting.new_figure()
    ax.plot([0, 1], [1, 0], label="falling")
    assert plotting.legend(ax, loc="upper right", fontsize=8) is None
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["falling"]
    plotting.legend(fig, ax.get_lines(), ["falling"], loc="outside upper center")  # one legend for the figure
    assert len(fig.legends) == 1
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or Figure"):
        plotting.legend("ax")
    plotting.close(fig)


def test_bad_arguments():
    with pytest.raises(ValueError, match="nrows"):
        plotting.new_figure(0)
    with pytest.raises(ValueError, match="width"):
        plotting.new_figure(width=-1)
    fig, ax = plotting.new_figure()
    with pytest.raises(ValueError, match="samples"):
        plotting.band(ax, np.arange(3), np.ones((2, 4)))
    with pytest.raises(ValueError, match="values"):
        plotting.heatmap(ax, np.ones(3))
    plotting.close(fig)


def test_show_saves_every_figure_without_a_display(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNBOOK_RESULTS_DIR", raising=False)
    plotting.close("all")
    for _ in range(2):
        plotting.new_figure()
    written = plotting.show(prefix="demo")
    assert [p.name for p in written] == ["demo_01.png", "demo_02.png"]
    assert all((tmp_path / p).stat().st_size > 0 for p in written)
    assert "saved to demo_02.png" in capsys.readouterr().out


def test_show_does_nothing_in_a_docs_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNBOOK_RESULTS_DIR", str(tmp_path / "results"))
    fig, _ = plotting.new_figure()
    assert plotting.show() is None
    assert list(tmp_path.iterdir()) == []
    plotting.close(fig)
