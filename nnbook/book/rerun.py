"""Re-run exactly what changed: what each gallery example depended on when it last ran.

sphinx-gallery re-executes an example only when the script's own MD5 changed,
so a change to the library it imports would publish figures and numbers of
the old code. This module keeps, beside each generated example, a dependency
*record* ``<gallery_dir>/<chapter>/<stem>.run.json`` written when the example
ran, holding

- the SHA-256 of the script;
- every ``nnbook`` module the script imported, directly or not, as seen in
  ``sys.modules`` after it ran (recorded, not guessed), with the SHA-256 of
  each module's source file;
- the environment: the digest of the pinned ``constraints.txt`` and the
  versions of Python and of the packages that compute the numbers;
- the results it wrote (kind and name, from the store's ledger), whether it
  finished without an error, how long it took (wall-clock and CPU time), and
  when and from which nnbook version and commit it ran (shown on its chapter).

:func:`track` is a sphinx-gallery ``reset_modules`` callable, run before and
after every example (``reset_modules_order = "both"``). Before, it drops
``nnbook*`` from ``sys.modules`` (so the example imports the library afresh
and every import is seen), deletes the example's ``.md5`` (so an example that
is interrupted or fails runs again next time) and opens its ledger. After, it
writes the record, removes results the example no longer writes and puts the
build's own ``nnbook`` modules back in place.

:func:`decide` runs in the build process before the gallery is generated: an
example whose script, imported modules, environment or results changed since
its record loses its ``.md5``, which makes sphinx-gallery execute it; every
other example is reused. Each decision carries the reasons, for the build
report.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from nnbook.book import store

TRACKED = "nnbook"
SCHEMA = 1
BUILD_ID_ENV = "NNBOOK_BUILD_ID"
BUILD_PID_ENV = "NNBOOK_BUILD_PID"
ENVIRONMENT_ENV = "NNBOOK_ENVIRONMENT"
SOURCE_ENV = "NNBOOK_SOURCE"  # the nnbook version and commit of the build, for the records (not a dependency)
PACKAGES = ("numpy", "scipy", "torch", "torchvision", "matplotlib", "scikit-learn", "mlxtend")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the nnbook package
_STATE: dict = {}  # the running example of this process (this module stays imported between before and after)


@dataclass(frozen=True)
class Example:
    """A gallery script: ``name`` (``chapter/plot_x.py``), its ``source`` and the ``target`` copy in the gallery."""

    name: str
    source: Path
    target: Path

    @property
    def md5(self) -> Path:
        """sphinx-gallery's digest of the script when it last ran to its end."""
        return self.target.with_name(self.target.name + ".md5")

    @property
    def record(self) -> Path:
        """The dependency record written after the example ran."""
        return self.target.with_suffix(".run.json")

    @property
    def ledger(self) -> Path:
        """The list of results the example writes while it runs."""
        return self.target.with_suffix(".ledger")


@dataclass(frozen=True)
class Decision:
    """Whether an example runs in this build, and why (or why it is reused)."""

    example: str
    run: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def examples(srcdir: Path, gallery_conf: Mapping) -> list[Example]:
    """Every example sphinx-gallery would render, in a stable order (gallery folders with a header only)."""
    from sphinx_gallery.gen_rst import _get_gallery_header

    found = []
    for examples_dir, gallery_dir in zip(gallery_conf["examples_dirs"], gallery_conf["gallery_dirs"], strict=False):
        root = (Path(srcdir) / examples_dir).resolve()
        if not root.is_dir():
            continue
        folders = [root, *sorted(d for d in root.iterdir() if d.is_dir() and d.name != "__pycache__")]
        for folder in folders:
            if folder != root and _get_gallery_header(folder, gallery_conf, raise_error=False) is None:
                continue
            for script in sorted(folder.glob("*.py")):
                if re.search(gallery_conf["ignore_pattern"], script.name) is None:
                    rel = script.relative_to(root).as_posix()
                    found.append(Example(rel, script, Path(srcdir, gallery_dir, rel).resolve()))
    return found


def environment(project_files: Iterable[Path] = (), packages: Iterable[str] = PACKAGES) -> dict:
    """The environment an example's numbers depend on: pinned files' digests, Python's and packages' versions."""
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    files = {Path(p).name: (sha256(p) if Path(p).is_file() else None) for p in project_files}
    return {"python": sys.version.split()[0], "files": files, "packages": versions}


def _environment_changes(old: Mapping, new: Mapping) -> list[str]:
    changes = []
    if old.get("python") != new.get("python"):
        changes.append(f"Python {old.get('python')} -> {new.get('python')}")
    for group in ("files", "packages"):
        before, after = old.get(group, {}), new.get(group, {})
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                what = key if group == "files" else f"{key} {before.get(key)} -> {after.get(key)}"
                changes.append(f"{what} changed")
    return changes


def read_record(example: Example) -> dict | None:
    """The example's dependency record, or ``None`` when it has none or it cannot be trusted."""
    try:
        record = json.loads(example.record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = {"schema", "example", "script", "modules", "environment", "results", "status", "build", "seconds"}
    if not isinstance(record, dict) or not keys <= set(record) or record["schema"] != SCHEMA:
        return None
    return record


def record_results(record: Mapping | None) -> list[tuple[str, str]]:
    """The ``(kind, name)`` results a record lists (none for no record)."""
    return [tuple(pair) for pair in record["results"]] if record else []


def decide(example: Example, env: Mapping, results: Path, hashes: dict[str, str | None]) -> Decision:
    """Run or reuse ``example``; ``hashes`` caches module digests across examples (path -> digest)."""
    record = read_record(example)
    if record is None:
        first = not example.record.exists()
        return Decision(example.name, True, ("first run" if first else "dependency record unreadable",))
    reasons = []
    if record["status"] != "ok":
        reasons.append("failed in the previous build")
    elif not example.md5.is_file():
        reasons.append("no complete run since its record (interrupted, or not reached)")
    if record["script"] != sha256(example.source):
        reasons.append("script changed")
    reasons += _environment_changes(record["environment"], env)
    for module, (path, digest) in sorted(record["modules"].items()):
        if path not in hashes:
            file = _PACKAGE_ROOT / path
            hashes[path] = sha256(file) if file.is_file() else None
        if hashes[path] is None:
            reasons.append(f"{module} removed")
        elif hashes[path] != digest:
            reasons.append(f"{module} changed")
    for kind, name in record_results(record):
        problem = store.problem(results, name, kind)
        if problem is not None:
            reasons.append(problem)
            store.remove(results, name, kind)  # never published, even if the re-run fails before rewriting it
    if reasons:
        return Decision(example.name, True, tuple(reasons))
    count = len(record["modules"])
    return Decision(example.name, False, (f"unchanged: script, {count} nnbook module(s), environment, results",))


GENERATED = (".py", ".rst", ".ipynb", ".zip", ".py.md5", ".codeobj.json", ".cost.json", ".run.json", ".ledger")


def generated_files(gallery_folder: Path, stem: str) -> list[Path]:
    """What sphinx-gallery and this module generate for the example ``stem`` in ``gallery_folder``."""
    files = [gallery_folder / (stem + suffix) for suffix in GENERATED]
    files += sorted((gallery_folder / "images").glob(f"sphx_glr_{stem}_[0-9][0-9][0-9].*"))
    files += sorted((gallery_folder / "images" / "thumb").glob(f"sphx_glr_{stem}_thumb.*"))
    return [f for f in files if f.is_file()]


def remove_deleted(srcdir: Path, gallery_conf: Mapping, current: Iterable[Example]) -> list[str]:
    """Delete the generated files of examples whose script no longer exists; returns their names."""
    keep = {e.target for e in current}
    removed = []
    for gallery_dir in gallery_conf["gallery_dirs"]:
        root = Path(srcdir, gallery_dir).resolve()
        for marker in sorted([*root.glob("**/*.run.json"), *root.glob("**/*.py.md5")]):
            target = marker.with_name(marker.name.removesuffix(".run.json").removesuffix(".py.md5") + ".py")
            if target not in keep and target.parent.is_dir():
                for path in generated_files(target.parent, target.stem):
                    path.unlink()
                removed.append(target.relative_to(root).as_posix())
    return sorted(set(removed))


def _find(gallery_conf: Mapping, fname: str) -> Example:
    matches = [e for e in examples(gallery_conf["src_dir"], gallery_conf) if e.name.rsplit("/", 1)[-1] == fname]
    if len(matches) != 1:
        raise RuntimeError(f"cannot identify the gallery example {fname!r} (found {len(matches)})")
    return matches[0]


def _imported_modules() -> dict[str, list[str]]:
    """``{module: [path relative to the package's folder, sha256]}`` of every tracked module imported now."""
    modules = {}
    for name, module in sorted(_tracked_modules().items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).suffix == ".py":
            path = Path(file).resolve()
            modules[name] = [path.relative_to(_PACKAGE_ROOT).as_posix(), sha256(path)]
    return modules


def _tracked_modules() -> dict[str, object]:
    return {n: m for n, m in sys.modules.items() if (n == TRACKED or n.startswith(TRACKED + ".")) and n != __name__}


def _swap_modules(restore: Mapping[str, object]) -> dict[str, object]:
    """Take every tracked module out of ``sys.modules`` and put ``restore`` back; returns what was taken out.

    Before an example the build's own modules are set aside, so the example
    imports the library afresh and every import it makes is seen; after it,
    the example's modules are dropped and the build's come back (so objects
    the build made, such as the nodes it pickles, still match their classes).
    """
    taken = _tracked_modules()
    for name in taken:
        del sys.modules[name]
    sys.modules.update(restore)
    return taken


def _watch_parent() -> None:
    """In a worker process, exit as soon as the build process that started it is gone."""
    build_pid = os.environ.get(BUILD_PID_ENV)
    if _STATE.get("watching") or not build_pid or int(build_pid) == os.getpid():
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(75)  # orphaned: the build was killed; nothing this worker computes will be used

    threading.Thread(target=watch, name="nnbook-orphan-watchdog", daemon=True).start()
    _STATE["watching"] = True


def _atomic_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def track(gallery_conf: dict, fname: str, when: str) -> None:
    """sphinx-gallery ``reset_modules`` callable: start (``when="before"``) and record (``"after"``) an example."""
    if fname is None:
        return
    if when == "before":
        _watch_parent()
        example = _find(gallery_conf, fname)
        _STATE["build_modules"] = _swap_modules({})
        example.md5.unlink(missing_ok=True)
        example.ledger.unlink(missing_ok=True)
        os.environ[store.LEDGER_ENV] = str(example.ledger)
        old = record_results(read_record(example))
        _STATE.update(example=example, start=time.perf_counter(), cpu=time.process_time(), old=old)
        return
    example = _STATE.pop("example", None)
    if example is None or example.name.rsplit("/", 1)[-1] != fname:
        raise RuntimeError(f"nnbook dependency tracking: {fname!r} finished but was not started")
    modules = _imported_modules()
    _swap_modules(_STATE.pop("build_modules", {}))
    os.environ.pop(store.LEDGER_ENV, None)
    written = store.read_ledger(example.ledger)
    passed = example.md5.is_file()  # sphinx-gallery writes it only when the script ran to its end
    results = Path(os.environ.get("NNBOOK_RESULTS_DIR", ""))
    if results.is_dir():
        for kind, name in set(_STATE.pop("old", [])) - set(written):
            store.remove(results, name, kind)  # no longer recorded by this script (renamed, removed, or not reached)
    record = {
        "schema": SCHEMA,
        "example": example.name,
        "script": sha256(example.source),
        "modules": modules,
        "environment": json.loads(os.environ[ENVIRONMENT_ENV]) if ENVIRONMENT_ENV in os.environ else environment(),
        "results": [list(pair) for pair in written],
        "status": "ok" if passed else "failed",
        "build": os.environ.get(BUILD_ID_ENV, ""),
        "seconds": round(time.perf_counter() - _STATE.pop("start", time.perf_counter()), 3),
        "cpu_seconds": round(time.process_time() - _STATE.pop("cpu", time.process_time()), 3),
        "source": json.loads(os.environ.get(SOURCE_ENV, "{}"))
        | {"finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")},
    }
    _atomic_json(example.record, record)
    example.ledger.unlink(missing_ok=True)


def reset_seeds(gallery_conf: dict, fname: str) -> None:
    """sphinx-gallery ``reset_modules`` callable: every example starts from the same global random state.

    The book's code seeds explicitly; this only makes sure that no example can
    depend on the random state another example left behind.
    """
    import numpy as np
    import torch

    np.random.seed(0)  # noqa: NPY002 - resetting legacy global state, not using it
    torch.manual_seed(0)
