"""Sphinx extension: the build's recorded numbers, tables and claims in the prose.

Gallery scripts record results through :mod:`nnbook.book`; this extension
points them at a results folder of the build and reads them back:

- the role ``{value}`chapter/key``` inserts a recorded number (or a claim's
  measured value) and registers the result file as a dependency of the page,
  so the page is re-read exactly when that number changes;
- the directive ``results-table`` includes a saved table;
- the directive ``claims-list`` renders every claim of the book with its value,
  its bound and the example that checks it (sanity checks in a table apart);
- the directive ``chapters-toctree`` is the book's table of contents, made
  from the one chapter registry ``nnbook_chapters`` of the configuration;
- the directive ``build-report`` shows what this build ran or reused and why,
  and every recorded value and table cell that changed
  (:mod:`nnbook.book.build`, which also decides what the gallery re-runs).

An unknown name is an error: it is reported with its location and fails the
build, instead of leaving a blank in the text. So is a result file that fails
validation (truncated, corrupt or edited), named in the error.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

from nnbook import book
from nnbook.book import build, stamps

logger = logging.getLogger(__name__)
MISSING_KEY = "nnbook_missing"


def results_folder(app: Sphinx) -> Path:
    """The results folder: ``nnbook_results_dir`` from the configuration, relative to the source folder."""
    return Path(app.srcdir, app.config.nnbook_results_dir)


def _missing_is_error(config) -> bool:
    """Missing results are errors unless the build skips running the gallery or runs one shard of it."""
    return build.executes(config) and not config.nnbook_shard


def _report_missing(directive_or_role, kind: str, name: str, corrupt: Exception | None = None) -> None:
    env = directive_or_role.env
    location = directive_or_role.get_location()
    message = f"unknown nnbook {kind} {name!r}: no gallery script recorded it"
    if corrupt is not None:
        message = f"nnbook {kind} {name!r} cannot be trusted: {corrupt}"
    if corrupt is not None or _missing_is_error(env.config):
        logger.error(message, location=location, type="nnbook", subtype=kind)
        getattr(env, MISSING_KEY).append(f"{location}: {message}")
    else:
        logger.info(message + " (gallery not executed in this build)", location=location)


class ValueRole(SphinxRole):
    """``{value}`chapter/key``` -> the recorded, formatted number."""

    def run(self):
        name = self.text.strip()
        folder = results_folder(self.env.app)
        build.note_quote(self.env, name)
        for kind, field in (("value", "text"), ("claim", "value_text")):
            try:
                data = book.load(folder, name, kind)
            except book.store.CorruptResult as err:
                _report_missing(self, "value", name, corrupt=err)
                return [nodes.literal(name, f"⟨{name}⟩")], []
            if data is not None:
                self.env.note_dependency(str(book.result_path(folder, name, kind + ".json")))
                node = nodes.inline(data[field], data[field], classes=["nnbook-value"])
                return [node], []
        _report_missing(self, "value", name)
        return [nodes.literal(name, f"⟨{name}⟩")], []


def _table(header: list[str], body: list[list[str | nodes.Node]], widths: Sequence[int] | None = None) -> nodes.table:
    """A docutils table; each body cell is text or a ready inline node (a link, a literal)."""
    table = nodes.table(classes=["nnbook-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths or [1] * len(header):
        group += nodes.colspec(colwidth=width)
    for section, rows in ((nodes.thead(), [header]), (nodes.tbody(), body)):
        for cells in rows:
            row = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                entry += nodes.paragraph("", "", cell) if isinstance(cell, nodes.Node) else nodes.paragraph(text=cell)
                row += entry
            section += row
        group += section
    return table


class ResultsTable(SphinxDirective):
    """Include a table saved with :func:`nnbook.book.save_table`."""

    required_arguments = 1
    option_spec: ClassVar[dict] = {"caption": directives.unchanged, "name": directives.unchanged}

    def run(self):
        name = self.arguments[0]
        folder = results_folder(self.env.app)
        build.note_quote(self.env, name)
        try:
            text = book.store.read_table(folder, name)
        except book.store.CorruptResult as err:
            _report_missing(self, "table", name, corrupt=err)
            return [nodes.paragraph(text=f"⟨table {name}⟩")]
        if text is None:
            _report_missing(self, "table", name)
            return [nodes.paragraph(text=f"⟨table {name}⟩")]
        self.env.note_dependency(str(book.result_path(folder, name, "csv")))
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header, body = rows[0], rows[1:]
        table = _table(header, body)
        if "caption" in self.options:
            table.insert(0, nodes.title(text=self.options["caption"]))
        if "name" in self.options:
            self.add_name(table)
        return [table]


class ClaimsList(SphinxDirective):
    """Every claim in the results folder, grouped by chapter in book order.

    ``nnbook_chapters`` (gallery folder -> chapter document, in book order)
    gives the order and the heading of each group; each row names the claim,
    its statement, the value measured in this build, its bound and the example
    that checks it. With the option ``:checks:`` it lists the sanity checks
    (identities and bounds that hold by construction) instead. A claim that
    failed is an error here too: it is never shown as holding.
    """

    option_spec: ClassVar[dict] = {"checks": directives.flag}

    def run(self):
        folder = results_folder(self.env.app)
        stamps.note(self.env, "claims")  # read again when a claim is added, removed or rewritten
        want_checks = "checks" in self.options
        try:
            recorded = book.all_claims(folder) if folder.is_dir() else []
        except book.store.CorruptResult as err:
            raise self.error(f"a claim cannot be trusted: {err}") from None
        failed = [c["name"] for c in recorded if not c["holds"]]
        if failed:
            raise self.error(f"claims that did not hold were recorded: {', '.join(failed)}")
        claims = [c for c in recorded if c.get("check", False) == want_checks]
        if not recorded:
            if _missing_is_error(self.env.config):
                raise self.error("no claims were recorded: did the gallery run?")
            return [nodes.paragraph(text="The gallery was not executed in this build, so no claims were checked.")]
        chapters = dict(self.env.config.nnbook_chapters)
        groups: dict[str, list[dict]] = {name: [] for name in chapters}
        for claim in claims:
            self.env.note_dependency(str(book.result_path(folder, claim["name"], "claim.json")))
            groups.setdefault(claim["name"].partition("/")[0], []).append(claim)
        output = []
        for gallery, members in groups.items():
            if not members:
                continue
            heading = nodes.rubric()
            if gallery in chapters:
                heading += self._doc_link(f"/{chapters[gallery]}", None)
            else:
                heading += nodes.Text(gallery)
            output += [heading, self._claims_table(members)]
        return output

    def _claims_table(self, claims: list[dict]) -> nodes.table:
        gallery_dir = self.env.config.nnbook_gallery_dir
        rows = []
        for claim in claims:
            source = claim["source"]
            link = self._doc_link(f"/{gallery_dir}/{source.removesuffix('.py')}", source.partition("/")[2])
            key = nodes.literal(text=claim["name"].partition("/")[2])
            rows.append([key, claim["text"], claim["value_text"], claim["bound"], link if source else ""])
        return _table(["Claim", "Statement", "Measured", "Bound", "Checked in"], rows, widths=(3, 6, 1, 2, 3))

    def _doc_link(self, target: str, text: str | None) -> pending_xref:
        """A ``:doc:`` reference; without ``text`` it shows the target's title."""
        return pending_xref(
            "",
            nodes.inline(text=text or ""),
            refdomain="std",
            reftype="doc",
            reftarget=target,
            refexplicit=text is not None,
            refdoc=self.env.docname,
            refwarn=True,
        )


class ChaptersToctree(SphinxDirective):
    """The book's table of contents: every chapter of ``nnbook_chapters``, in book order."""

    option_spec: ClassVar[dict] = {
        "caption": directives.unchanged,
        "maxdepth": directives.nonnegative_int,
        "hidden": directives.flag,
    }

    def run(self):
        from sphinx.directives.other import TocTree

        options = {"numbered": 1, "maxdepth": self.options.get("maxdepth", 2)}
        if "hidden" in self.options:
            options["hidden"] = None
        if "caption" in self.options:
            options["caption"] = self.options["caption"]
        content = [f"/{doc}" for doc in self.env.config.nnbook_chapters.values()]
        toctree = TocTree(
            "toctree", [], options, content, self.lineno, self.content_offset, "", self.state, self.state_machine
        )
        return toctree.run()


def _set_results_env(app: Sphinx) -> None:
    """Point :mod:`nnbook.book` at the results folder before the gallery runs."""
    folder = results_folder(app)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[book.RESULTS_ENV] = str(folder)
    setattr(app.env, MISSING_KEY, [])
    build.init_env(app)


def _fail_on_missing(app: Sphinx, exception: Exception | None) -> None:
    missing = getattr(app.env, MISSING_KEY, []) if app.env else []
    if exception is None and missing:
        raise ExtensionError("unresolved nnbook results:\n  " + "\n  ".join(missing))


MATHJAX_PARTS = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Ship MathJax with the site (from the ``django-static-mathjax`` wheel), so the maths renders offline."""
    if exception is not None or app.builder.format != "html" or not app.config.nnbook_local_mathjax:
        return
    try:
        import mathjax
    except ImportError as err:
        raise ExtensionError("nnbook_local_mathjax needs the package django-static-mathjax (docs extra)") from err
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    target = Path(app.outdir, "_static", "mathjax")
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def _use_local_mathjax(app: Sphinx, config) -> None:
    if config.nnbook_local_mathjax:
        config.mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to the site's _static folder


def setup(app: Sphinx) -> dict:
    app.add_config_value("nnbook_results_dir", "auto_gallery/_results", "env")
    app.add_config_value("nnbook_gallery_dir", "auto_gallery", "env")
    app.add_config_value("nnbook_local_mathjax", True, "html")
    app.add_config_value("nnbook_chapters", {}, "env")  # gallery folder -> chapter document, in book order
    # The build's life cycle (nnbook.book.build): files whose digest is part of each example's environment,
    # a shard "i/n" to execute alone, a file of example durations that balances the shards, a merge build that
    # must execute nothing, strict mode (changes beyond a value's tolerance fail) and the snapshot to compare with.
    app.add_config_value("nnbook_environment_files", ["../constraints.txt"], "")
    app.add_config_value("nnbook_shard", "", "")
    app.add_config_value("nnbook_shard_durations", "", "")
    app.add_config_value("nnbook_no_execution", False, "")
    app.add_config_value("nnbook_strict", False, "")
    app.add_config_value("nnbook_baseline", "", "")
    app.add_config_value("nnbook_api_generated_dirs", ["generated"], "")  # autosummary's :toctree: folders
    app.connect("config-inited", _use_local_mathjax)
    app.connect("config-inited", build.freeze_config, priority=990)
    app.connect("build-finished", _copy_mathjax)
    app.connect("builder-inited", _set_results_env, priority=100)
    app.connect("builder-inited", build.prepare, priority=200)  # after sphinx-gallery's config (10), before 500
    app.connect("builder-inited", build.check, priority=600)  # after sphinx-gallery generated the gallery
    app.connect("builder-inited", build.api_pages, priority=400)  # before autosummary (500)
    app.connect("env-updated", build.remember_api_digest)
    stamps.setup(app)
    app.connect("env-purge-doc", build.purge_doc)
    app.connect("env-updated", build.pickle_config_as_started, priority=990)
    app.connect("env-check-consistency", build.restore_config)
    app.connect("write-started", build.restore_config)
    app.connect("source-read", build.rewrite_execution_times)
    app.connect("doctree-resolved", build.fill_report)
    app.connect("build-finished", _fail_on_missing)
    app.connect("build-finished", build.finish)
    app.add_role("value", ValueRole())
    app.add_directive("results-table", ResultsTable)
    app.add_directive("claims-list", ClaimsList)
    app.add_directive("chapters-toctree", ChaptersToctree)
    app.add_directive("build-report", build.BuildReport)
    app.add_node(build.BuildReportNode)
    app.add_css_file("nnbook.css")
    return {"version": "0.2", "parallel_read_safe": False, "parallel_write_safe": True}
