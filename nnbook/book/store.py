"""The result store: the files through which gallery scripts hand results to the book.

A result ``"<chapter>/<key>"`` of kind ``value`` or ``claim`` is a small JSON
file ``<folder>/<chapter>/<key>.<kind>.json``; a table is a CSV file
``<chapter>/<key>.csv`` with a ``.csv.sha256`` beside it (and a
``.csv.tolerances.json`` when columns declare the relative change between
builds that a strict build accepts: machine timings). Every write is
atomic (a temporary file renamed into place) and leaves an unchanged file
untouched (so pages that quote it are not re-read), and every file carries a
SHA-256 digest of its content, so a truncated, corrupt or hand-edited file is
detected when it is read (:class:`CorruptResult`, naming the file) instead of
being published.

During a docs build each gallery script runs with a *ledger* (the file named
by the environment variable ``NNBOOK_RUN_LEDGER``): every write appends
``kind<TAB>name`` to it, so the build knows exactly which results each script
produced (:mod:`nnbook.book.rerun` turns the ledger into the script's
dependency record). With that ownership the build removes results no script
owns any more (:func:`prune`), re-runs the script of a result that fails
validation (:func:`problem`) and fails when two scripts record the same name
(:func:`duplicates`).

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_json(folder, "demo/answer", "value", {"name": "demo/answer", "value": 42})
>>> read_json(folder, "demo/answer", "value")["value"]
42
>>> read_json(folder, "demo/missing", "value") is None
True
>>> problem(folder, "demo/answer", "value") is None
True
>>> _ = path_of(folder, "demo/answer", "value.json").write_text("{")  # truncated
>>> "answer.value.json is not valid JSON" in problem(folder, "demo/answer", "value")
True
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

KINDS = ("value", "claim")
ALL_KINDS = ("value", "claim", "table")
SCHEMA = 1
LEDGER_ENV = "NNBOOK_RUN_LEDGER"


class CorruptResult(ValueError):
    """A result file that is truncated, not valid JSON, of the wrong shape or edited after the build wrote it."""


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def path_of(folder: Path, name: str, suffix: str) -> Path:
    """File of ``name``; ``suffix`` is ``value.json``, ``claim.json`` or ``csv``."""
    chapter, _, key = name.partition("/")
    return Path(folder, chapter, key.replace("/", "__") + "." + suffix)


def files_of(folder: Path, name: str, kind: str) -> list[Path]:
    """Every file that holds result ``name`` of ``kind`` (a table has its digest file too)."""
    if kind == "table":
        path = path_of(folder, name, "csv")
        return [path, path.with_name(path.name + ".sha256"), path.with_name(path.name + ".tolerances.json")]
    return [path_of(folder, name, kind + ".json")]


def _atomic_write(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return  # unchanged: keep the file's time, so pages quoting it are not re-read
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _note_write(kind: str, name: str) -> None:
    """Append ``kind<TAB>name`` to the running script's ledger, when the build gave it one."""
    ledger = os.environ.get(LEDGER_ENV)
    if ledger:
        with open(ledger, "a", encoding="utf-8") as file:
            file.write(f"{kind}\t{name}\n")


def read_ledger(path: Path) -> list[tuple[str, str]]:
    """The ``(kind, name)`` pairs a script wrote, in order and without repeats; empty if there is no ledger."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    pairs = [tuple(line.split("\t", 1)) for line in lines if "\t" in line]
    return list(dict.fromkeys((k, n) for k, n in pairs if k in ALL_KINDS))


def write_json(folder: Path, name: str, kind: str, payload: dict) -> None:
    """Write ``payload`` (a JSON object) as the ``kind`` result ``name``, with its digest."""
    record = {"schema": SCHEMA, "kind": kind, "payload": payload, "sha256": _digest(payload)}
    _atomic_write(path_of(folder, name, kind + ".json"), json.dumps(record, indent=1))
    _note_write(kind, name)


def read_file(path: Path) -> dict:
    """The payload of a result file, validated; :class:`CorruptResult` names the file otherwise."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptResult(f"result file {path} is not valid JSON (truncated or corrupt): {err}") from None
    if not isinstance(record, dict) or set(record) != {"schema", "kind", "payload", "sha256"}:
        raise CorruptResult(f"result file {path} does not have the fields of a result")
    if record["schema"] != SCHEMA or record["kind"] not in KINDS or not isinstance(record["payload"], dict):
        raise CorruptResult(f"result file {path} has an unknown schema or kind")
    if _digest(record["payload"]) != record["sha256"]:
        raise CorruptResult(f"result file {path} was changed after the build wrote it (digest mismatch)")
    return record["payload"]


def read_json(folder: Path, name: str, kind: str) -> dict | None:
    """The payload of result ``name`` of ``kind``, or ``None`` when there is none."""
    path = path_of(folder, name, kind + ".json")
    return read_file(path) if path.is_file() else None


def _table_digest(text: str, tolerances: str) -> str:
    return hashlib.sha256((text + tolerances).encode()).hexdigest()


def write_table(folder: Path, name: str, text: str, tolerances: Mapping[str, float] | None = None) -> None:
    """Write a table's CSV text, its columns' tolerances (if any) and the digest of both."""
    path = path_of(folder, name, "csv")
    extra = path.with_name(path.name + ".tolerances.json")
    declared = json.dumps(dict(tolerances), sort_keys=True) if tolerances else ""
    _atomic_write(path, text)
    if declared:
        _atomic_write(extra, declared)
    else:
        extra.unlink(missing_ok=True)
    _atomic_write(path.with_name(path.name + ".sha256"), _table_digest(text, declared))
    _note_write("table", name)


def read_table(folder: Path, name: str) -> str | None:
    """A table's CSV text, validated against its digest, or ``None`` when there is none."""
    path = path_of(folder, name, "csv")
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        extra = path.with_name(path.name + ".tolerances.json")
        declared = extra.read_text(encoding="utf-8") if extra.is_file() else ""
    except UnicodeDecodeError:
        raise CorruptResult(f"table file {path} is not text (corrupt)") from None
    digest = path.with_name(path.name + ".sha256")
    if not digest.is_file() or digest.read_text().strip() != _table_digest(text, declared):
        raise CorruptResult(f"table file {path} was changed after the build wrote it (digest mismatch or missing)")
    return text


def read_tolerances(folder: Path, name: str) -> dict[str, float]:
    """The relative change between builds each column of table ``name`` declares acceptable (validate first)."""
    path = path_of(folder, name, "csv")
    extra = path.with_name(path.name + ".tolerances.json")
    return json.loads(extra.read_text(encoding="utf-8")) if extra.is_file() else {}


def read(folder: Path, name: str, kind: str) -> dict | str | None:
    """Result ``name`` of any kind (``value``, ``claim`` or ``table``), validated; ``None`` when missing."""
    return read_table(folder, name) if kind == "table" else read_json(folder, name, kind)


def problem(folder: Path, name: str, kind: str) -> str | None:
    """Why result ``name`` cannot be trusted (missing, truncated, edited), or ``None`` when it is valid."""
    try:
        found = read(folder, name, kind)
    except CorruptResult as err:
        return str(err)
    except OSError as err:
        return f"result file {files_of(folder, name, kind)[0]} cannot be read ({err})"
    return f"result file {files_of(folder, name, kind)[0]} is missing" if found is None else None


def remove(folder: Path, name: str, kind: str) -> None:
    """Delete result ``name`` of ``kind`` (nothing happens when it does not exist)."""
    for path in files_of(folder, name, kind):
        path.unlink(missing_ok=True)


def all_of_kind(folder: Path, kind: str) -> list[dict]:
    """Every result of ``kind`` in ``folder``, sorted by name."""
    return sorted((read_file(p) for p in Path(folder).glob(f"**/*.{kind}.json")), key=lambda r: r["name"])


def duplicates(owners: Mapping[str, Iterable[tuple[str, str]]]) -> dict[str, list[str]]:
    """Names recorded by more than one script: ``{name: [scripts]}`` from ``{script: [(kind, name), ...]}``.

    Examples
    --------
    >>> duplicates({"a/plot_x.py": [("value", "a/n")], "a/plot_y.py": [("claim", "a/n"), ("value", "a/m")]})
    {'a/n': ['a/plot_x.py', 'a/plot_y.py']}
    """
    scripts: dict[str, set[str]] = {}
    for script, results in owners.items():
        for _, name in results:
            scripts.setdefault(name, set()).add(script)
    return {name: sorted(s) for name, s in sorted(scripts.items()) if len(s) > 1}


def prune(folder: Path, keep: Iterable[tuple[str, str]]) -> list[Path]:
    """Delete every file in ``folder`` that holds none of the ``(kind, name)`` results in ``keep``.

    Removes the results of scripts that no longer exist (or no longer record
    them) and temporary files an interrupted build left behind. Returns the
    deleted files, sorted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    kept = {path for kind, name in keep for path in files_of(folder, name, kind)}
    removed = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path not in kept:
            path.unlink()
            removed.append(path)
    for directory in sorted((d for d in folder.rglob("*") if d.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    return removed
