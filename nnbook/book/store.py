"""The result store: the files through which gallery scripts hand results to the book.

A result ``"<chapter>/<key>"`` of kind ``value`` or ``claim`` is a small JSON
file ``<folder>/<chapter>/<key>.<kind>.json``; a table is a CSV file
``<chapter>/<key>.csv`` with a ``.csv.sha256`` beside it. Every write is
atomic (a temporary file renamed into place), and every JSON file carries a
SHA-256 digest of its payload, so a truncated, corrupt or hand-edited file is
detected when it is read (:class:`CorruptResult`, naming the file) instead of
being published.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_json(folder, "demo/answer", "value", {"name": "demo/answer", "value": 42})
>>> read_json(folder, "demo/answer", "value")["value"]
42
>>> read_json(folder, "demo/missing", "value") is None
True
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

KINDS = ("value", "claim")
SCHEMA = 1


class CorruptResult(ValueError):
    """A result file that is truncated, not valid JSON, of the wrong shape or edited after the build wrote it."""


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def path_of(folder: Path, name: str, suffix: str) -> Path:
    """File of ``name``; ``suffix`` is ``value.json``, ``claim.json`` or ``csv``."""
    chapter, _, key = name.partition("/")
    return Path(folder, chapter, key.replace("/", "__") + "." + suffix)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_json(folder: Path, name: str, kind: str, payload: dict) -> None:
    """Write ``payload`` (a JSON object) as the ``kind`` result ``name``, with its digest."""
    record = {"schema": SCHEMA, "kind": kind, "payload": payload, "sha256": _digest(payload)}
    _atomic_write(path_of(folder, name, kind + ".json"), json.dumps(record, indent=1))


def read_file(path: Path) -> dict:
    """The payload of a result file, validated; :class:`CorruptResult` names the file otherwise."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
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


def write_table(folder: Path, name: str, text: str) -> None:
    """Write a table's CSV text and its digest."""
    path = path_of(folder, name, "csv")
    _atomic_write(path, text)
    _atomic_write(path.with_name(path.name + ".sha256"), hashlib.sha256(text.encode()).hexdigest())


def read_table(folder: Path, name: str) -> str | None:
    """A table's CSV text, validated against its digest, or ``None`` when there is none."""
    path = path_of(folder, name, "csv")
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    digest = path.with_name(path.name + ".sha256")
    if not digest.is_file() or digest.read_text().strip() != hashlib.sha256(text.encode()).hexdigest():
        raise CorruptResult(f"table file {path} was changed after the build wrote it (digest mismatch or missing)")
    return text


def all_of_kind(folder: Path, kind: str) -> list[dict]:
    """Every result of ``kind`` in ``folder``, sorted by name."""
    return sorted((read_file(p) for p in Path(folder).glob(f"**/*.{kind}.json")), key=lambda r: r["name"])
