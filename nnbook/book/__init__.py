"""Record numbers, tables and claims from gallery scripts for the book's prose.

A gallery script computes a result and hands it to this package under a name
``"<chapter>/<key>"``. During a docs build (the environment variable
``NNBOOK_RESULTS_DIR`` names a folder) each result is written to the result
store (:mod:`nnbook.book.store`), which the project's Sphinx extension
(:mod:`nnbook.book.sphinxext`) reads to put the number into the prose. Outside
a build the results are only printed, as sentences, so a downloaded script runs
on its own with ``python plot_x.py``.

A *claim* is a sentence of the book about a phenomenon, with the measured value
and its bound given as data (``between=``, ``at_least=``, ``at_most=``); a
*check* has the same form but states an identity or bound that holds by
construction (a sanity check, listed apart). A failing claim raises
:class:`ClaimError` naming the claim, the value and the bound; inside a
``with book.numbers():`` block every claim is evaluated first and the block
then raises, listing all that failed.

Examples
--------
>>> from nnbook import book
>>> v = book.record("demo/answer", 41.98, fmt="{:.1f}", label="the answer")
the answer: 42.0
>>> v.text
'42.0'
>>> c = book.claim("demo/positive", "the answer is positive", value=v.value, at_least=0)
claim: the answer is positive -- measured 42, bound >= 0: holds
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import io
import math
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from nnbook.book import store

RESULTS_ENV = "NNBOOK_RESULTS_DIR"
_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+$")
_PENDING: contextvars.ContextVar[list | None] = contextvars.ContextVar("nnbook_pending_claims", default=None)


class ClaimError(AssertionError):
    """A claim of the book does not hold for the numbers of this run."""


@dataclass(frozen=True)
class Value:
    """A recorded number: its name, raw value, formatted text, description and source script."""

    name: str
    value: float
    text: str
    label: str
    unit: str
    source: str
    tolerance: float | None = None  # relative change between builds that is not worth failing a strict build


@dataclass(frozen=True)
class Claim:
    """A checked sentence: its text, the measured value, its bound and whether the value is within it."""

    name: str
    text: str
    holds: bool
    value: float
    value_text: str
    bound: str  # e.g. ">= 100", "<= 1e-13", "in [0.95, 1.05]"
    check: bool  # True for a sanity check (holds by construction), False for a claim about a phenomenon
    source: str
    tolerance: float | None = None  # relative change of the value between builds that a strict build accepts


def results_dir() -> Path | None:
    """Folder that results go to during a docs build, or ``None`` outside one."""
    folder = os.environ.get(RESULTS_ENV)
    return Path(folder) if folder else None


#: The relative change between two builds that a strict comparison accepts for a quantity measured in time on the
#: build machine (a duration, a rate, a ratio or share of timings): these move with the machine and its load, by a
#: factor of two or more between builds on a busy machine. A value that is computed, not timed, declares no
#: tolerance and must not move at all.
MEASURED_TOLERANCE = 2.0


def record(
    name: str,
    value: float,
    fmt: str = "{:.3g}",
    *,
    label: str | None = None,
    unit: str = "",
    tolerance: float | None = None,
) -> Value:
    """Record a headline number under ``name`` for use in the prose.

    Parameters
    ----------
    name : str
        ``"<chapter>/<key>"``, lower-case letters, digits and underscores.
    value : float
        A finite real number (Python or numpy scalar).
    fmt : str
        A :meth:`str.format` pattern used to print the number in the book.
    label : str, optional
        What the number is, as a short phrase ("peak test error"); standalone
        runs print ``label: value unit`` (without a label, the key's words:
        ``"sgd/peak_test_error"`` prints as ``peak test error: ...``).
    unit : str
        Unit printed after the value in standalone output ("s", "bytes").
    tolerance : float, optional
        The relative change of the value between two builds that is expected
        (timings, say, or a quantity that depends on the machine's floating
        point); the build report flags larger changes and a strict build
        fails on them. ``None`` (the default): the value must reproduce exactly.

    Returns
    -------
    Value
        The record, with the formatted ``text``.
    """
    _check_name(name)
    number = _check_number(value, "value")
    label = _check_text(label, "label", optional=True)
    unit = _check_text(unit, "unit", optional=True)
    text = _format(number, fmt)
    tolerance = _check_tolerance(tolerance)
    result = Value(
        name=name, value=number, text=text, label=label, unit=unit, source=_caller_script(), tolerance=tolerance
    )
    folder = results_dir()
    if folder is not None:
        store.write_json(folder, name, "value", asdict(result))
    print(f"{label or _describe(name)}: {text}{' ' + unit if unit else ''}")
    return result


def _bound(between, at_least, at_most) -> tuple[str, float | None, float | None]:
    given = [b is not None for b in (between, at_least, at_most)]
    if sum(given) != 1:
        raise TypeError("give exactly one bound of between=(lo, hi), at_least=x and at_most=x")
    if between is not None:
        if isinstance(between, str) or not isinstance(between, Sequence) or len(between) != 2:
            raise TypeError(f"between must be a pair (lo, hi), got {between!r}")
        lo, hi = (_check_number(b, "between") for b in between)
        if lo > hi:
            raise ValueError(f"between must have lo <= hi, got {between!r}")
        return f"in [{lo:g}, {hi:g}]", lo, hi
    if at_least is not None:
        lo = _check_number(at_least, "at_least")
        return f">= {lo:g}", lo, None
    hi = _check_number(at_most, "at_most")
    return f"<= {hi:g}", None, hi


def _assert(
    name: str,
    text: str,
    value: object,
    fmt: str,
    between,
    at_least,
    at_most,
    is_check: bool,
    tolerance: float | None = None,
) -> Claim:
    _check_name(name)
    text = _check_text(text, "text")
    tolerance = _check_tolerance(tolerance)
    if value is None:
        raise TypeError("value must be given (the measured quantity the claim is about)")
    number = _check_number(value, "value")
    bound, lo, hi = _bound(between, at_least, at_most)
    ok = (lo is None or number >= lo) and (hi is None or number <= hi)
    result = Claim(
        name=name,
        text=text,
        holds=ok,
        value=number,
        value_text=_format(number, fmt),
        bound=bound,
        check=is_check,
        source=_caller_script(),
        tolerance=tolerance,
    )
    folder = results_dir()
    if folder is not None:
        store.write_json(folder, name, "claim", asdict(result))
    kind = "check" if is_check else "claim"
    verdict = "holds" if ok else "FAILS"
    print(f"{kind}: {text} -- measured {result.value_text}, bound {bound}: {verdict}")
    if not ok:
        message = f"{kind} {name!r} does not hold: {text} (measured {result.value_text}, bound {bound})"
        pending = _PENDING.get()
        if pending is None:
            raise ClaimError(message)
        pending.append(message)
    return result


def claim(
    name: str,
    text: str,
    *,
    value: float | None = None,
    fmt: str = "{:.3g}",
    between: tuple[float, float] | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    tolerance: float | None = None,
) -> Claim:
    """State a claim of the book about a phenomenon, and check it against its bound.

    Parameters
    ----------
    name : str
        ``"<chapter>/<key>"``; the claim's measured value can be quoted in the
        prose under this name.
    text : str
        The sentence as a reader should read it.
    value : float
        The measured quantity the claim is about.
    fmt : str
        A :meth:`str.format` pattern for ``value``.
    between, at_least, at_most
        The bound, exactly one of them: ``lo <= value <= hi``, ``value >= x`` or ``value <= x``.
    tolerance : float, optional
        The relative change of ``value`` between builds that a strict build
        accepts (see :func:`record`); ``None``: it must reproduce exactly.

    Returns
    -------
    Claim
        The checked claim.

    Raises
    ------
    ClaimError
        If the value is outside its bound (at once, or at the end of a :func:`numbers` block).
    """
    return _assert(name, text, value, fmt, between, at_least, at_most, is_check=False, tolerance=tolerance)


def check(
    name: str,
    text: str,
    *,
    value: float,
    fmt: str = "{:.3g}",
    between: tuple[float, float] | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    tolerance: float | None = None,
) -> Claim:
    """A sanity check: an identity or bound that holds by construction, listed apart from the claims.

    Same arguments as :func:`claim` (a measured check declares its ``tolerance`` between builds too).

    Examples
    --------
    >>> _ = check("demo/peak", "the sigmoid's derivative peaks at 1/4", value=0.25, between=(0.25, 0.25))
    check: the sigmoid's derivative peaks at 1/4 -- measured 0.25, bound in [0.25, 0.25]: holds
    """
    return _assert(name, text, value, fmt, between, at_least, at_most, is_check=True, tolerance=tolerance)


@contextlib.contextmanager
def numbers() -> Iterator[None]:
    """Evaluate every claim inside the block, then raise one :class:`ClaimError` listing all that failed.

    Examples
    --------
    >>> with numbers():
    ...     _ = claim("demo/a", "two is small", value=2, at_most=1)
    ...     _ = claim("demo/b", "three is small", value=3, at_most=1)
    Traceback (most recent call last):
        ...
    nnbook.book.ClaimError: 2 claims do not hold:
      claim 'demo/a' does not hold: two is small (measured 2, bound <= 1)
      claim 'demo/b' does not hold: three is small (measured 3, bound <= 1)
    """
    pending: list[str] = []
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
    if pending:
        raise ClaimError(f"{len(pending)} claims do not hold:\n  " + "\n  ".join(pending))


def save_table(
    name: str,
    rows: Sequence[Mapping[str, object]],
    formats: Mapping[str, str] | None = None,
    *,
    tolerances: Mapping[str, float] | None = None,
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
    tolerances : mapping, optional
        Column name -> the relative change of its cells between two builds
        that is not worth failing a strict build (for measured times and
        rates, which depend on the machine); other columns must not change.

    Returns
    -------
    list of dict
        The rows as the formatted strings that were written.

    Examples
    --------
    >>> rows = save_table("demo/squares", [{"n": 2, "n^2": 4}, {"n": 3, "n^2": 9}])
    table: squares
    n  n^2
    2  4
    3  9
    """
    _check_name(name)
    if isinstance(rows, Mapping | str) or not isinstance(rows, Sequence) or not rows:
        raise ValueError("rows must be a non-empty sequence of mappings")
    columns = list(rows[0].keys()) if isinstance(rows[0], Mapping) else []
    if not columns:
        raise ValueError("rows must be mappings with at least one column")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or list(row.keys()) != columns:
            raise ValueError(f"rows[{i}] must be a mapping with the columns {columns}")
    formats = dict(formats or {})
    unknown = set(formats) - set(columns)
    if unknown:
        raise ValueError(f"formats names unknown columns {sorted(unknown)}")
    if tolerances is not None and not isinstance(tolerances, Mapping):
        raise TypeError(f"tolerances must be a mapping of column names to numbers, got {type(tolerances).__name__}")
    tolerances = {column: _check_tolerance(t) for column, t in (tolerances or {}).items()}
    unknown = set(tolerances) - set(columns)
    if unknown:
        raise ValueError(f"tolerances names unknown columns {sorted(unknown)}")
    table = [{c: _format(row[c], formats[c]) if c in formats else str(row[c]) for c in columns} for row in rows]
    folder = results_dir()
    if folder is not None:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        store.write_table(folder, name, buffer.getvalue(), tolerances)
    widths = {c: max(len(c), *(len(r[c]) for r in table)) for c in columns}
    print(f"table: {_describe(name)}")
    for line in [dict(zip(columns, columns, strict=True)), *table]:
        print("  ".join(line[c].ljust(widths[c]) for c in columns).rstrip())
    return table


def load(folder: Path, name: str, kind: str) -> dict | None:
    """Read a recorded ``kind`` (``"value"`` or ``"claim"``) from ``folder``."""
    _check_name(name)
    _check_choice(kind, "kind", store.KINDS)
    return store.read_json(_check_folder(folder), name, kind)


def result_path(folder: Path, name: str, kind: str) -> Path:
    """Path of the file for ``name``; ``kind`` is ``value.json``, ``claim.json`` or ``csv``."""
    _check_name(name)
    _check_choice(kind, "kind", ("value.json", "claim.json", "csv"))
    return store.path_of(_check_folder(folder), name, kind)


def all_claims(folder: Path) -> list[dict]:
    """Every claim and check recorded in ``folder``, sorted by name."""
    return store.all_of_kind(_check_folder(folder), "claim")


def _describe(name: str) -> str:
    """A result's key as words for standalone output: ``"sgd/peak_test_error"`` -> ``"peak test error"``."""
    return name.rsplit("/", 1)[-1].replace("_", " ")


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not _NAME.match(name):
        raise ValueError(f"name must look like 'chapter/key' (lower-case, digits, '_'), got {name!r}")


def _check_tolerance(tolerance: object) -> float | None:
    if tolerance is None:
        return None
    number = _check_number(tolerance, "tolerance")
    if number < 0:
        raise ValueError(f"tolerance must be >= 0 (a relative change), got {number}")
    return float(number)


def _check_choice(value: object, arg: str, choices: tuple[str, ...]) -> None:
    from nnbook._validation import check_choice

    check_choice(value, arg, choices)


def _check_folder(folder: object) -> Path:
    if not isinstance(folder, str | Path):
        raise TypeError(f"folder must be a str or Path, got {type(folder).__name__}")
    return Path(folder)


def _check_text(text: object, arg: str, optional: bool = False) -> str:
    if optional and text is None:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"{arg} must be a str, got {type(text).__name__}")
    if not optional and not text.strip():
        raise TypeError(f"{arg} must be a non-empty str")
    return text.strip()


def _check_number(value: object, arg: str) -> float | int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{arg} must be a real number, got {type(value).__name__}")
    if isinstance(value, Integral):  # Python and numpy integers
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{arg} must be finite, got {number}")
    return number


def _format(value: object, fmt: str) -> str:
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a str, got {type(fmt).__name__}")
    try:
        return fmt.format(value)
    except (ValueError, IndexError, KeyError) as err:
        raise ValueError(f"fmt {fmt!r} cannot format {value!r}: {err}") from None


def _caller_script() -> str:
    """``<gallery folder>/<script>.py`` of the script that called this package."""
    package = Path(__file__).resolve().parents[1]
    frame = sys._getframe(2)  # walking frames is cheap; inspect.stack() reads every frame's source and is slow
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.suffix == ".py" and package not in path.resolve().parents and path.is_file():
            return f"{path.parent.name}/{path.name}"
        frame = frame.f_back
    return ""
