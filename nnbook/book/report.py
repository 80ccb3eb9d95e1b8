"""What changed between two builds: every recorded value and table cell, old -> new.

A *snapshot* is the content of a result store as plain data: each value and
claim with its raw number, its published text and the tolerance it declares
(``book.record(..., tolerance=0.05)``: a relative change it may make between
builds), and each table as its header and cells. :func:`diff` lists every
difference between two snapshots as a :class:`Change`, with the relative
change of each number; a change *exceeds* its tolerance when the relative
change is larger than the tolerance the value declares (none declared: any
change exceeds), or when a result appears, disappears, or a table cell's text
changes.

The build report page shows the changes of each build against the previous
one; strict mode (``-D nnbook_strict=1``) fails the build on changes that
exceed their tolerance. From the command line::

    python -m nnbook.book.report snapshot docs/auto_gallery/_results -o expected.json
    python -m nnbook.book.report compare expected.json docs/auto_gallery/_results --strict

``compare`` takes result folders or snapshot files, prints every change and,
with ``--strict``, exits with status 1 when one exceeds its tolerance: CI
runs it against committed expectations or between two clean builds.

Examples
--------
>>> old = {"value": {"a/x": {"value": 2.0, "text": "2", "tolerance": 0.1}}, "claim": {}, "table": {}}
>>> new = {"value": {"a/x": {"value": 2.1, "text": "2.1", "tolerance": 0.1}}, "claim": {}, "table": {}}
>>> [(c.name, c.old, c.new, round(c.relative, 3), c.exceeds) for c in diff(old, new)]
[('a/x', '2', '2.1', 0.05, False)]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from nnbook.book import store

SECTIONS = ("value", "claim", "table")


@dataclass(frozen=True)
class Change:
    """One difference between two builds: a value, a claim's measured value or a table cell."""

    name: str
    kind: str  # "value", "claim" or "table"
    where: str  # "" for a value; "row 3, column 'error'" for a table cell
    old: str | None  # published text before (None: the result is new)
    new: str | None  # published text now (None: the result was removed)
    relative: float | None  # |new - old| / |old| when both are numbers
    tolerance: float | None  # the relative change the value declares acceptable
    exceeds: bool  # beyond the declared tolerance (strict mode fails on it)


#: A relative change of a value's raw number that leaves its published text unchanged and is at most this large is
#: round-off (float32 sums in a different order), not a change of the result: it is listed but never exceeds.
ROUND_OFF = 1e-6


def snapshot(folder: Path) -> dict[str, dict]:
    """Every valid result in the store ``folder`` as plain data; files that fail validation are left out."""
    snap: dict[str, dict] = {section: {} for section in SECTIONS}
    if not isinstance(folder, str | Path):
        raise TypeError(f"folder must be a str or Path, got {type(folder).__name__}")
    folder = Path(folder)
    if not folder.is_dir():
        return snap
    for kind in ("value", "claim"):
        for path in sorted(folder.glob(f"*/*.{kind}.json")):
            try:
                payload = store.read_file(path)
            except (store.CorruptResult, OSError):
                continue
            text = payload.get("value_text", "") if kind == "claim" else payload.get("text", "")
            entry = {"value": payload.get("value"), "text": text, "tolerance": payload.get("tolerance")}
            if kind == "claim":
                entry["holds"] = payload.get("holds")
            snap[kind][payload["name"]] = entry
    for path in sorted(folder.glob("*/*.csv")):
        name = f"{path.parent.name}/{path.name.removesuffix('.csv').replace('__', '/')}"
        try:
            text = store.read_table(folder, name)
        except (store.CorruptResult, OSError):
            continue
        if text:
            rows = list(csv.reader(io.StringIO(text, newline="")))
            tolerances = store.read_tolerances(folder, name)
            snap["table"][name] = {"header": rows[0], "rows": rows[1:], "tolerances": tolerances}
    return snap


def _number(text: object) -> float | None:
    try:
        number = float(str(text).replace(",", "").rstrip("%").strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _relative(old: float | None, new: float | None) -> float | None:
    if old is None or new is None:
        return None
    if old == new:
        return 0.0
    return abs(new - old) / abs(old) if old != 0 else math.inf


def _scalar_change(name: str, kind: str, old: Mapping | None, new: Mapping | None) -> Change | None:
    if old is not None and new is not None and old.get("value") == new.get("value") and old["text"] == new["text"]:
        return None
    tolerance = (new or old or {}).get("tolerance")
    relative = _relative(*(None if e is None else _number(e.get("value")) for e in (old, new)))
    texts = [None if e is None else e["text"] for e in (old, new)]
    exceeds = relative is None or relative > (tolerance or 0.0)
    if texts[0] == texts[1] and relative is not None and relative <= ROUND_OFF:
        exceeds = False  # the published number is the same; the raw one moved by floating-point round-off
    return Change(name, kind, "", texts[0], texts[1], relative, tolerance, exceeds)


def _table_changes(name: str, old: Mapping | None, new: Mapping | None) -> list[Change]:
    if old is None or new is None:
        return [Change(name, "table", "", old and "table", new and "table", None, None, True)]
    if old["header"] != new["header"]:
        return [Change(name, "table", "columns", ", ".join(old["header"]), ", ".join(new["header"]), None, None, True)]
    changes = []
    for i in range(max(len(old["rows"]), len(new["rows"]))):
        before = old["rows"][i] if i < len(old["rows"]) else None
        after = new["rows"][i] if i < len(new["rows"]) else None
        if before is None or after is None:
            where = f"row {i + 1}"
            joined = [r and ", ".join(r) for r in (before, after)]
            changes.append(Change(name, "table", where, joined[0], joined[1], None, None, True))
            continue
        tolerances = new.get("tolerances") or {}
        for column, a, b in zip(new["header"], before, after, strict=False):
            if a != b:
                where = f"row {i + 1}, column {column!r}"
                relative, tolerance = _relative(_number(a), _number(b)), tolerances.get(column)
                exceeds = relative is None or relative > (tolerance or 0.0)
                changes.append(Change(name, "table", where, a, b, relative, tolerance, exceeds))
    return changes


def diff(old: Mapping[str, Mapping], new: Mapping[str, Mapping]) -> list[Change]:
    """Every change from snapshot ``old`` to snapshot ``new``, sorted by name (values, claims, then tables)."""
    for arg, snap in (("old", old), ("new", new)):
        if not isinstance(snap, Mapping):
            raise TypeError(f"{arg} must be a snapshot (a mapping), got {type(snap).__name__}")
    changes: list[Change] = []
    for section in SECTIONS:
        before, after = old.get(section, {}), new.get(section, {})
        for name in sorted(set(before) | set(after)):
            if section == "table":
                if before.get(name) != after.get(name):
                    changes += _table_changes(name, before.get(name), after.get(name))
            elif (change := _scalar_change(name, section, before.get(name), after.get(name))) is not None:
                changes.append(change)
    return changes


def format_change(change: Change) -> str:
    """One line: ``name [where]: old -> new (relative change, tolerance)``."""
    if not isinstance(change, Change):
        raise TypeError(f"change must be a Change, got {type(change).__name__}")
    where = f" [{change.where}]" if change.where else ""
    old = "(new)" if change.old is None else change.old
    new = "(removed)" if change.new is None else change.new
    relative = "" if change.relative is None else f", {_relative_text(change.relative)}"
    tolerance = "" if change.tolerance is None else f", tolerance {change.tolerance:g}"
    flag = " EXCEEDS" if change.exceeds else ""
    return f"{change.name}{where}: {old} -> {new}{relative}{tolerance}{flag}"


def _relative_text(relative: float | None) -> str:
    if relative is None:
        return ""
    return "inf" if math.isinf(relative) else f"{100 * relative:.3g}%"


def _load(path: str) -> dict:
    source = Path(path)
    if source.is_dir():
        return snapshot(source)
    return json.loads(source.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnbook.book.report", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="write a result folder's values and tables as JSON")
    snap.add_argument("folder")
    snap.add_argument("-o", "--output", help="file to write (default: standard output)")
    comp = commands.add_parser("compare", help="list the changes between two result folders or snapshots")
    comp.add_argument("old")
    comp.add_argument("new")
    comp.add_argument("--strict", action="store_true", help="exit 1 when a change exceeds its tolerance")
    comp.add_argument("--json", help="also write the changes to this file")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        text = json.dumps(snapshot(Path(args.folder)), indent=1, sort_keys=True)
        if args.output:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return 0
    old, new = _load(args.old), _load(args.new)
    changes = diff(old, new)
    counted = sum(len(new.get(section, {})) for section in SECTIONS)
    print(f"{len(changes)} change(s) among {counted} results ({args.old} -> {args.new})")
    for change in changes:
        print("  " + format_change(change))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(c) for c in changes], indent=1), encoding="utf-8")
    exceeding = [c for c in changes if c.exceeds]
    if args.strict and exceeding:
        print(f"strict: {len(exceeding)} change(s) beyond their tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
