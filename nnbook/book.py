"""Record numbers, tables and claims from gallery scripts for the book's prose.

A gallery script computes a result and hands it to this module under a name
``"<chapter>/<key>"``. During a docs build (the environment variable
``NNBOOK_RESULTS_DIR`` names a folder) each result is written there as a small
file, which the project's Sphinx extension (:mod:`nnbook.sphinxext`) reads to
put the number into the prose. Outside a build the results are only printed,
so a downloaded script runs on its own with ``python plot_x.py``.

A claim is a sentence of the book together with the boolean that checks it
and the measured value. A false claim raises :class:`ClaimError`, naming the
claim and the value, so the build fails instead of printing a stale sentence.

Examples
--------
>>> from nnbook import book
>>> v = book.record("demo/answer", 41.98, fmt="{:.1f}")
demo/answer = 42.0
>>> v.text
'42.0'
>>> c = book.claim("demo/positive", "the answer is positive", v.value > 0, v.value)
claim demo/positive: the answer is positive [holds; measured 42]
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

RESULTS_ENV = "NNBOOK_RESULTS_DIR"
_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+$")


class ClaimError(AssertionError):
    """A claim of the book does not hold for the numbers of this run."""


@dataclass(frozen=True)
class Value:
    """A recorded number: its name, raw value, formatted text and source script."""

    name: str
    value: float
    text: str
    source: str


@dataclass(frozen=True)
class Claim:
    """A checked sentence: its text, whether it holds, and the measured value."""

    name: str
    text: str
    holds: bool
    value: float
    value_text: str
    source: str


def results_dir() -> Path | None:
    """Folder that results go to during a docs build, or ``None`` outside one."""
    folder = os.environ.get(RESULTS_ENV)
    return Path(folder) if folder else None


def record(name: str, value: float, fmt: str = "{:.3g}") -> Value:
    """Record a headline number under ``name`` for use in the prose.

    Parameters
    ----------
    name : str
        ``"<chapter>/<key>"``, lower-case letters, digits and underscores.
    value : float
        A finite real number (Python or numpy scalar).
    fmt : str
        A :meth:`str.format` pattern used to print the number in the book.

    Returns
    -------
    Value
        The record, with the formatted ``text``.
    """
    _check_name(name)
    number = _check_number(value, "value")
    text = _format(number, fmt)
    result = Value(name=name, value=number, text=text, source=_caller_script())
    _write_json(name, "value", asdict(result))
    print(f"{name} = {text}")
    return result


def claim(name: str, text: str, holds: bool, value: float, fmt: str = "{:.3g}") -> Claim:
    """State a claim of the book and check it.

    Parameters
    ----------
    name : str
        ``"<chapter>/<key>"``; the claim's measured value can be quoted in the
        prose under this name.
    text : str
        The sentence as a reader should read it.
    holds : bool
        The result of the check (e.g. ``0.8 <= ratio <= 1.25``).
    value : float
        The measured quantity the check is about.
    fmt : str
        A :meth:`str.format` pattern for ``value``.

    Returns
    -------
    Claim
        The checked claim.

    Raises
    ------
    ClaimError
        If ``holds`` is false; the message names the claim and the value.
    """
    _check_name(name)
    if not isinstance(text, str) or not text.strip():
        raise TypeError("text must be a non-empty str")
    if not isinstance(holds, bool | np.bool_):
        raise TypeError(f"holds must be a bool, got {type(holds).__name__}")
    number = _check_number(value, "value")
    result = Claim(
        name=name,
        text=text.strip(),
        holds=bool(holds),
        value=number,
        value_text=_format(number, fmt),
        source=_caller_script(),
    )
    _write_json(name, "claim", asdict(result))
    verdict = "holds" if result.holds else "FAILS"
    print(f"claim {name}: {result.text} [{verdict}; measured {result.value_text}]")
    if not result.holds:
        raise ClaimError(f"claim {name!r} does not hold: {result.text} (measured {result.value_text})")
    return result


def save_table(
    name: str,
    rows: Sequence[Mapping[str, object]],
    formats: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """Save a table under ``name`` so a chapter can include it.

    Parameters
    ----------
    name : str
        ``"<chapter>/<key>"``.
    rows : sequence of mappings
        One mapping per row, all with the same keys (the column headers).
    formats : mapping, optional
        Column name -> :meth:`str.format` pattern; other cells use ``str``.

    Returns
    -------
    list of dict
        The rows as the formatted strings that were written.

    Examples
    --------
    >>> rows = save_table("demo/squares", [{"n": 2, "n^2": 4}, {"n": 3, "n^2": 9}])
    demo/squares
    n  n^2
    2  4
    3  9
    """
    _check_name(name)
    if isinstance(rows, Mapping | str) or not isinstance(rows, Sequence) or not rows:
        raise ValueError("rows must be a non-empty sequence of mappings")
    columns = list(rows[0].keys())
    if not columns:
        raise ValueError("rows must have at least one column")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or list(row.keys()) != columns:
            raise ValueError(f"rows[{i}] must be a mapping with the columns {columns}")
    formats = dict(formats or {})
    unknown = set(formats) - set(columns)
    if unknown:
        raise ValueError(f"formats names unknown columns {sorted(unknown)}")
    table = [{c: _format(row[c], formats[c]) if c in formats else str(row[c]) for c in columns} for row in rows]
    folder = results_dir()
    if folder is not None:
        path = _result_path(folder, name, "csv")
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(table)
        tmp.replace(path)
    widths = {c: max(len(c), *(len(r[c]) for r in table)) for c in columns}
    print(name)
    for line in [dict(zip(columns, columns, strict=True)), *table]:
        print("  ".join(line[c].ljust(widths[c]) for c in columns).rstrip())
    return table


def load(folder: Path, name: str, kind: str) -> dict | None:
    """Read a recorded ``kind`` (``"value"`` or ``"claim"``) from ``folder``."""
    path = _result_path(folder, name, kind + ".json", create=False)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def result_path(folder: Path, name: str, kind: str) -> Path:
    """Path of the file for ``name``; ``kind`` is ``value.json``, ``claim.json`` or ``csv``."""
    return _result_path(folder, name, kind, create=False)


def all_claims(folder: Path) -> list[dict]:
    """Every claim recorded in ``folder``, sorted by name."""
    claims = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("**/*.claim.json")]
    return sorted(claims, key=lambda c: c["name"])


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not _NAME.match(name):
        raise ValueError(f"name must look like 'chapter/key' (lower-case, digits, '_'), got {name!r}")


def _check_number(value: object, arg: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{arg} must be a real number, got {type(value).__name__}")
    if isinstance(value, Integral):  # Python and numpy integers
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{arg} must be finite, got {number}")
    return number


def _format(value: object, fmt: str) -> str:
    try:
        return fmt.format(value)
    except (ValueError, IndexError, KeyError) as err:
        raise ValueError(f"fmt {fmt!r} cannot format {value!r}: {err}") from None


def _caller_script() -> str:
    """``<gallery folder>/<script>.py`` of the script that called this module."""
    package = Path(__file__).parent
    for frame_info in inspect.stack()[2:]:
        path = Path(frame_info.filename)
        if path.suffix == ".py" and path.parent != package and path.is_file():
            return f"{path.parent.name}/{path.name}"
    return ""


def _result_path(folder: Path, name: str, suffix: str, create: bool = True) -> Path:
    chapter, _, key = name.partition("/")
    path = Path(folder, chapter, key.replace("/", "__") + "." + suffix)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_json(name: str, kind: str, payload: dict) -> None:
    folder = results_dir()
    if folder is None:
        return
    path = _result_path(folder, name, kind + ".json")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    tmp.replace(path)
