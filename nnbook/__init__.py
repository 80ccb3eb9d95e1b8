"""nnbook: the library behind an executable textbook on deep neural networks.

One module per concept; gallery scripts call these modules, and
:mod:`nnbook.book` carries their numbers into the book's prose.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "device"]


def device() -> str:
    """The torch device the book's code runs on: ``"cuda"`` when present, else ``"cpu"``.

    Examples
    --------
    >>> device() in {"cpu", "cuda"}
    True
    """
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
