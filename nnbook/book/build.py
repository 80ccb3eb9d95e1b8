"""The build's life cycle around sphinx-gallery: decide what runs, check what ran, report it.

Connected by :mod:`nnbook.book.sphinxext` when the gallery tracks its
examples (``"nnbook.book.rerun.track"`` among sphinx-gallery's
``reset_modules``):

- ``builder-inited``, between sphinx-gallery's configuration (priority 10)
  and its gallery generation (500): :func:`prepare` decides for each example
  whether it runs (:func:`nnbook.book.rerun.decide`) and deletes the ``.md5``
  of those that must, removes what deleted scripts generated and results no
  script owns, and in a sharded build restricts execution to the shard;
- ``builder-inited`` after the gallery (600): :func:`check` reads back what
  ran, fails on a result recorded by two scripts, and lists every value and
  table cell that changed since the previous build (or since a baseline
  snapshot), failing in strict mode on changes beyond their tolerance;
- the ``build-report`` directive renders all of it on a page, when every page
  has been read (so it can name the pages quoting each changed value);
- the configuration is pickled as it was when the build started: extensions
  (sphinx-gallery, furo, myst) fill some values in while building, which
  made every later build report "The configuration has changed".
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util._serialise import stable_str
from sphinx.util.docutils import SphinxDirective

import nnbook
from nnbook.book import report, rerun, shards, stamps, store

logger = logging.getLogger(__name__)
TRACK = "nnbook.book.rerun.track"
REPORT_KEY = "nnbook_build_report"
QUOTES_KEY = "nnbook_quotes"


def _state(app: Sphinx) -> dict:
    if not hasattr(app, "_nnbook_state"):
        app._nnbook_state = {"errors": []}
    return app._nnbook_state


def tracking(gallery_conf: dict) -> bool:
    """Whether the gallery runs :func:`nnbook.book.rerun.track` around each example."""
    hooks = gallery_conf.get("reset_modules", ())
    hooks = [hooks] if isinstance(hooks, str) or callable(hooks) else hooks
    names = [h if isinstance(h, str) else f"{h.__module__}.{h.__qualname__}" for h in hooks]
    return TRACK in names and gallery_conf.get("reset_modules_order") == "both"


def executes(config) -> bool:
    """Whether this build executes the gallery (not ``-D plot_gallery=0``)."""
    return str(config.plot_gallery).lower() not in {"0", "false"}


def shard_mode(config) -> None:
    """A shard build reads only the root document: its pages are not used, only its gallery folder."""
    if config.nnbook_shard:
        shards.parse(config.nnbook_shard)
        config.include_patterns = [f"{config.root_doc}.*"]
        config.suppress_warnings = [*config.suppress_warnings, "toc"]


def freeze_config(app: Sphinx, config) -> None:
    """Remember the configuration as it is once every extension has initialised it."""
    shard_mode(config)
    frozen = {}
    for item in config:
        try:
            frozen[item.name] = (stable_str(item.value), copy.deepcopy(item.value))
        except Exception:  # a value that cannot be copied is left alone
            continue
    _state(app).update(config=frozen, config_names={item.name for item in config})


def pickle_config_as_started(app: Sphinx, env) -> list[str]:
    """Before the environment is pickled, put the configuration back as it was when the build started.

    Extensions fill values in while building (sphinx-gallery its settings, myst
    the MathJax settings, sphinx-gallery the static path) and a theme registers
    options of its own once the builder exists (furo's ``pygments_dark_style``).
    Pickled as they are, the next build would compare them with a configuration
    that has not been filled in yet and report that it changed.
    """
    config, state = app.config, _state(app)
    live, late = {}, {}
    for name, (text, value) in state.get("config", {}).items():
        current = getattr(config, name)
        try:
            if stable_str(current) == text:
                continue
        except Exception:  # a value stable_str cannot print is left alone
            continue
        live[name] = current
        setattr(config, name, value)
    options = getattr(config, "_options", {})
    for name in [n for n in options if n not in state.get("config_names", options)]:
        late[name] = (options.pop(name), config.__dict__.pop(name, None))
    state.update(live_config=live, late_config=late)
    return []


def restore_config(app: Sphinx, *args) -> None:
    """Once the environment is pickled, give the extensions back the values they filled in."""
    config, state = app.config, _state(app)
    for name, (option, value) in state.pop("late_config", {}).items():
        config._options[name] = option
        if value is not None:
            config.__dict__[name] = value
    for name, value in state.pop("live_config", {}).items():
        setattr(config, name, value)


COMMIT_ENV = "NNBOOK_COMMIT"  # the commit of a copy of the sources outside its git checkout (set by the tests)


def git_commit(folder: Path) -> str:
    """The short commit the source folder is at (or ``$NNBOOK_COMMIT``), ``"unknown"`` outside a git checkout."""
    if os.environ.get(COMMIT_ENV):
        return os.environ[COMMIT_ENV]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def prepare(app: Sphinx) -> None:
    """Decide what runs; clean what deleted scripts left; keep only results that a script owns."""
    from nnbook.book.sphinxext import results_folder

    conf, state = app.config.sphinx_gallery_conf, _state(app)
    if not tracking(conf):
        return
    build_id = f"{time.time_ns():x}-{os.getpid()}"
    environment = rerun.environment([Path(app.srcdir, f) for f in app.config.nnbook_environment_files])
    os.environ.update(
        {
            rerun.BUILD_ID_ENV: build_id,
            rerun.BUILD_PID_ENV: str(os.getpid()),
            rerun.ENVIRONMENT_ENV: json.dumps(environment),
            rerun.SOURCE_ENV: json.dumps({"version": nnbook.__version__, "commit": git_commit(Path(app.srcdir))}),
        }
    )
    results = results_folder(app)
    baseline = app.config.nnbook_baseline
    previous = json.loads(Path(app.srcdir, baseline).read_text()) if baseline else report.snapshot(results)
    examples = rerun.examples(app.srcdir, conf)
    state.update(build=build_id, environment=environment, previous=previous, examples=examples, decisions={})
    if not executes(app.config):
        return
    state["removed"] = rerun.remove_deleted(app.srcdir, conf, examples)
    selected = [e for e in examples if re.search(conf["filename_pattern"], str(e.source))]
    if app.config.nnbook_shard:
        index, count = shards.parse(app.config.nnbook_shard)
        durations_file = app.config.nnbook_shard_durations
        seconds = json.loads(Path(app.srcdir, durations_file).read_text()) if durations_file else None
        mine = set(shards.assign([e.name for e in selected], count, seconds)[index - 1])
        selected = [e for e in selected if e.name in mine]
        conf["filename_pattern"] = shards.pattern(selected)
        logger.info(f"nnbook: shard {index}/{count} executes {len(selected)} examples: {', '.join(sorted(mine))}")
    hashes: dict[str, str | None] = {}
    chosen = {e.name for e in selected}
    for example in examples:
        decision = rerun.decide(example, environment, results, hashes)
        state["decisions"][example.name] = (decision, example.name in chosen)
        if decision.run and example.name in chosen:
            example.md5.unlink(missing_ok=True)
    would_run = [f"{n} ({'; '.join(d.reasons)})" for n, (d, c) in state["decisions"].items() if d.run and c]
    if app.config.nnbook_no_execution and would_run:
        raise ExtensionError("nnbook_no_execution is set but these examples would run:\n  " + "\n  ".join(would_run))
    owned = [pair for e in examples for pair in rerun.record_results(rerun.read_record(e))]
    state["pruned"] = [p.relative_to(results).as_posix() for p in store.prune(results, owned)]


def check(app: Sphinx) -> None:
    """After the gallery: what ran and why, duplicate names, and what changed since the previous build."""
    from nnbook.book.sphinxext import results_folder

    conf, state = app.config.sphinx_gallery_conf, _state(app)
    if "build" not in state:
        return
    failing = {Path(f).resolve() for f in conf.get("failing_examples", {})}
    rows, owners = [], {}
    for example in state["examples"]:
        record = rerun.read_record(example)
        decision, chosen = state["decisions"].get(example.name, (None, False))
        ran = record is not None and record["build"] == state["build"]
        if record is not None:
            owners[example.name] = rerun.record_results(record)
        if example.source.resolve() in failing or (ran and record["status"] != "ok"):
            status = "failed"
        elif ran:
            status = "ran"
        elif chosen and decision is not None and not decision.run:
            status = "reused"
        else:
            status = "not run"
        why = list(decision.reasons) if decision else ["the gallery is not executed in this build"]
        if ran and decision is not None and not decision.run:
            why = ["sphinx-gallery found the example out of date"]
        elif decision is not None and not chosen:
            why = ["not selected for execution in this build", *(["stale: " + "; ".join(why)] if decision.run else [])]
        seconds, cpu = (record["seconds"], record.get("cpu_seconds")) if record else (None, None)
        rows.append({"example": example.name, "status": status, "why": why, "seconds": seconds, "cpu_seconds": cpu})
    for name, scripts in store.duplicates(owners).items():
        _error(app, f"result {name!r} is recorded by more than one script: {', '.join(scripts)}")
    current = report.snapshot(results_folder(app))
    owner_of = {name: script for script, pairs in owners.items() for _, name in pairs}
    changes = [asdict(c) | {"script": owner_of.get(c.name, "")} for c in report.diff(state["previous"], current)]
    if app.config.nnbook_strict:
        for change in changes:
            if change["exceeds"]:
                _error(app, "strict: " + report.format_change(report.Change(**_fields(change))))
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ran", "reused", "failed", "not run")}
    data = {
        "build": state["build"],
        "environment": state["environment"],
        "shard": app.config.nnbook_shard,
        "examples": rows,
        "counts": counts,
        "changes": changes,
        "removed_examples": state.get("removed", []),
        "pruned_results": state.get("pruned", []),
        "errors": list(state["errors"]),
    }
    setattr(app.env, REPORT_KEY, data)
    ran = ", ".join(f"{r['example']} ({'; '.join(r['why'])})" for r in rows if r["status"] in ("ran", "failed"))
    logger.info(
        f"nnbook: {counts['ran']} examples ran, {counts['reused']} reused, {counts['failed']} failed, "
        f"{len(changes)} recorded values or cells changed" + (f"; ran: {ran}" if ran else "")
    )


def _fields(change: dict) -> dict:
    return {k: v for k, v in change.items() if k in report.Change.__dataclass_fields__}


def _error(app: Sphinx, message: str) -> None:
    logger.error(message, type="nnbook", subtype="build")
    _state(app)["errors"].append(message)


def finish(app: Sphinx, exception: Exception | None) -> None:
    """Write the report as JSON beside the site, and fail the build on the errors found."""
    data = getattr(app.env, REPORT_KEY, None) if app.env else None
    if data is not None and app.outdir.is_dir():
        (Path(app.outdir) / "build-report.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    errors = _state(app)["errors"]
    if exception is None and errors:
        raise ExtensionError("nnbook build checks failed:\n  " + "\n  ".join(errors))


API_KEY = "nnbook_api_digest"
AUTOSUMMARY_ENTRY = re.compile(r"^ {3,}([A-Za-z_]\w*)\s*$", re.M)  # a member listed in an autosummary block


def api_digest(app: Sphinx) -> str:
    """What the API reference's generated pages depend on: the package's modules, the top-level pages, templates.

    Names, sizes and modification times, not contents: a checkout that touches
    a file regenerates the pages, which is safe, and reading them costs nothing.
    """
    package = Path(nnbook.__file__).resolve().parent
    files = sorted(package.rglob("*.py"))
    files += sorted(Path(app.srcdir).glob("*.md")) + sorted(Path(app.srcdir).glob("*.rst"))
    for folder in app.config.templates_path:
        files += sorted(p for p in Path(app.srcdir, folder).rglob("*") if p.is_file())
    listing = [(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files]
    for folder in app.config.nnbook_api_generated_dirs:
        listing.append(sorted(p.name for p in Path(app.srcdir, folder).glob("*.rst")))
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def api_pages(app: Sphinx) -> None:
    """Keep the API reference's generated pages current, and skip their generation when nothing they show changed.

    autosummary imports every module of the package and regenerates every
    page at each build (several seconds, most of a rebuild with nothing
    changed); when :func:`api_digest` equals the one of the last build, the
    pages it would write are the ones on disk, so this build does not
    generate them. Otherwise the pages of ``nnbook`` objects that no longer
    exist are deleted first: autosummary writes a page per module, class and
    function into ``generated/`` but never removes one, and after a rename the
    old page would stay a source of the book and fail the build.
    """
    if not getattr(app.config, "autosummary_generate", None):
        return  # no autosummary, or it generates nothing
    digest = api_digest(app)
    if getattr(app.env, API_KEY, None) == digest:
        logger.info("nnbook: the package and the API pages did not change; autosummary does not regenerate them")
        app.config.autosummary_generate = False  # this build only: the pickled configuration keeps the setting
        return
    for folder in app.config.nnbook_api_generated_dirs:
        for page in sorted(Path(app.srcdir, folder).glob("nnbook*.rst")):
            if _stale_api_page(page):
                logger.info(f"nnbook: removing the API page of {page.stem}, which no longer exists where it was")
                page.unlink()


def _submodule(module, name: str) -> bool:
    """Whether ``module`` is a package with a submodule ``name`` (not yet imported)."""
    import importlib.util

    if not hasattr(module, "__path__"):
        return False
    try:
        return importlib.util.find_spec(f"{module.__name__}.{name}") is not None
    except (ImportError, ValueError):
        return False


def _stale_api_page(page: Path) -> bool:
    """Whether a generated page documents an object that is gone, moved to another module, or lists one that is."""
    import inspect

    from sphinx.ext.autosummary import ImportExceptionGroup, import_by_name

    try:
        _, obj, _, modname = import_by_name(page.stem)
    except (ImportError, ImportExceptionGroup):
        return True
    if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ != modname:
        return True  # still importable from here, but documented (and listed) where it is defined now
    if inspect.ismodule(obj):  # a module's page lists its members: one that is gone makes the listing stale
        for member in AUTOSUMMARY_ENTRY.findall(page.read_text(encoding="utf-8")):
            if not hasattr(obj, member) and not _submodule(obj, member):
                return True
    return False


def remember_api_digest(app: Sphinx, env) -> list[str]:
    """``env-updated``: the generated pages are now those of the current package."""
    setattr(env, API_KEY, api_digest(app))
    return []


def rewrite_execution_times(app: Sphinx, docname: str, source: list[str]) -> None:
    """sphinx-gallery's execution-times pages load jQuery and DataTables from a CDN: keep the plain table."""
    if docname.endswith("sg_execution_times"):
        text = re.sub(r"\n  \.\. raw:: html\n.*?(?=\n  \.\. list-table::)", "", source[0], flags=re.S)
        source[0] = text.replace(":class: table table-striped sg-datatable", ":class: nnbook-table")


class BuildReportNode(nodes.General, nodes.Element):
    """Placeholder for the build report, filled in once every page has been read."""


class BuildReport(SphinxDirective):
    """The build report: every example ran or reused and why; every value and cell that changed."""

    def run(self):
        stamps.note(self.env, "report")  # read again when the report differs from the one it shows
        return [BuildReportNode()]


def note_quote(env, name: str) -> None:
    """Remember that the page being read quotes result ``name``."""
    getattr(env, QUOTES_KEY).setdefault(env.docname, set()).add(name)


def purge_doc(app: Sphinx, env, docname: str) -> None:
    """Forget what a page that is read again (or removed) quoted."""
    getattr(env, QUOTES_KEY, {}).pop(docname, None)


def init_env(app: Sphinx) -> None:
    """Create the environment's records of quotations and report pages on a fresh environment."""
    if not hasattr(app.env, QUOTES_KEY):
        setattr(app.env, QUOTES_KEY, {})


def fill_report(app: Sphinx, doctree, docname: str) -> None:
    """Replace the build report's placeholder by the report, every page having been read."""
    from nnbook.book.report_page import render

    for node in list(doctree.findall(BuildReportNode)):
        node.replace_self(render(app, docname, getattr(app.env, REPORT_KEY, None)))
