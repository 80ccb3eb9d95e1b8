"""Sphinx extension: the reader's way into the book, made from the chapter registry.

- ``chapter-cards`` draws a card per registered chapter on the front page: its
  number and title, the thumbnail of the first example the chapter uses, the
  one-line summary and the prerequisites declared in the chapter's front matter
  (``summary:`` and ``prerequisites:``, a list of other chapters' gallery names);
- each chapter ends with its exercises, kept in ``docs/exercises/<gallery>.md``
  (solutions in closed dropdowns, their numbers quoted with the ``{value}`` role);
- ``chapter-status`` says when, with which nnbook version and commit, a
  chapter's results were computed and how many of its claims hold; it is
  added at the end of every registered chapter automatically;
- :class:`ExamplesInChapterOrder` is a sphinx-gallery ``within_subsection_order``
  key: each chapter's gallery lists its examples in the order the chapter uses them.

A chapter added to ``nnbook_chapters`` gets all three without further work.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

import nnbook
from nnbook import book
from nnbook.book import rerun, stamps
from nnbook.book.build import git_commit

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
EXAMPLE_REF = re.compile(r"auto_gallery/(\w+)/(?:images/sphx_glr_)?(plot_\w+?)(?:_\d{3})?(?:\.png|\b)")


def front_matter(path: Path) -> dict[str, str | list[str]]:
    """The ``key: value`` lines (and ``key: [a, b]`` lists) of a page's YAML front matter."""
    match = FRONT_MATTER.match(path.read_text(encoding="utf-8")) if path.is_file() else None
    meta: dict[str, str | list[str]] = {}
    for line in (match.group(1) if match else "").splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            meta[key.strip()] = [v.strip() for v in value[1:-1].split(",") if v.strip()]
        elif key.strip():
            meta[key.strip()] = value.strip("\"'")
    return meta


def chapter_title(path: Path) -> str:
    """The title of a chapter page: its first level-one heading."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def examples_used(chapter: Path, gallery: str) -> list[str]:
    """The chapter's examples (script stems) in the order the page first refers to them."""
    order: list[str] = []
    for folder, stem in EXAMPLE_REF.findall(chapter.read_text(encoding="utf-8")):
        if folder == gallery and stem not in order:
            order.append(stem)
    return order


class ExamplesInChapterOrder:
    """``within_subsection_order``: the order in which the chapter page refers to its examples, then by name.

    sphinx-gallery creates it with the chapter's gallery folder (``<root>/gallery/<chapter>``);
    the chapter pages are read from ``<root>/docs/chapters``.
    """

    def __init__(self, src_dir: str) -> None:
        folder = Path(src_dir).resolve()
        self.gallery = folder.name
        docs = folder.parents[1] / "docs" / "chapters" if len(folder.parents) > 1 else Path("docs", "chapters")
        pages = sorted(docs.glob("*.md")) if docs.is_dir() else []
        self.order: list[str] = []
        for page in pages:
            self.order += [s for s in examples_used(page, self.gallery) if s not in self.order]

    def __call__(self, filename: str) -> tuple[int, str]:
        stem = Path(filename).stem
        return (self.order.index(stem) if stem in self.order else len(self.order), stem)


class ChapterCards(SphinxDirective):
    """A card per registered chapter: thumbnail, title, summary, prerequisites."""

    def run(self):
        chapters = self.env.config.nnbook_chapters
        titles = {}
        lines: list[str] = ["::::{grid} 1 2 2 3", ":gutter: 3", ""]
        for number, (gallery, doc) in enumerate(chapters.items(), start=1):
            page = Path(self.env.srcdir, doc + ".md")
            self.env.note_dependency(str(page))
            titles[gallery] = f"{number}. {chapter_title(page)}"
        for gallery, doc in chapters.items():
            page = Path(self.env.srcdir, doc + ".md")
            meta = front_matter(page)
            used = examples_used(page, gallery)
            lines += [f":::{{grid-item-card}} {titles[gallery]}", f":link: /{doc}", ":link-type: doc"]
            if used:
                thumb = f"/auto_gallery/{gallery}/images/thumb/sphx_glr_{used[0]}_thumb.png"
                self.env.note_dependency(str(Path(self.env.srcdir, thumb.lstrip("/"))))
                if Path(self.env.srcdir, thumb.lstrip("/")).is_file():
                    lines.append(f":img-top: {thumb}")
                    lines.append(f":img-alt: A figure from the chapter {chapter_title(page)}")
            lines += ["", str(meta.get("summary", ""))]
            prerequisites = meta.get("prerequisites", [])
            if isinstance(prerequisites, str):
                prerequisites = [prerequisites]
            needs = [titles.get(p, p) for p in prerequisites]
            lines += ["", "*Prerequisites:* " + (", ".join(needs) if needs else "none"), ":::", ""]
        lines.append("::::")
        commit = git_commit(Path(self.env.srcdir))
        lines += ["", f"*This copy of the book was built from nnbook {nnbook.__version__}, commit {commit}.*"]
        stamps.note(self.env, "source")  # read again when the version or the commit changes
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="chapter-cards"), self.content_offset, container)
        return container.children


class ChapterStatus(SphinxDirective):
    """When and from which code this chapter's results were computed, and how many of its claims hold."""

    option_spec: ClassVar[dict] = {}

    def run(self):
        from nnbook.book.sphinxext import results_folder

        chapters = {doc: gallery for gallery, doc in self.env.config.nnbook_chapters.items()}
        gallery = chapters.get(self.env.docname)
        if gallery is None:
            raise self.error("chapter-status belongs on a page of the chapter registry")
        folder = results_folder(self.env.app) / gallery
        files = sorted(folder.glob("*.json")) + sorted(folder.glob("*.csv")) if folder.is_dir() else []
        examples = rerun.examples(self.env.srcdir, self.env.config.sphinx_gallery_conf)
        records = []
        for example in examples:
            if example.name.startswith(gallery + "/"):
                self.env.note_dependency(str(example.record))  # rewritten whenever the example runs
                record = rerun.read_record(example)
                if record is not None and "source" not in record:  # written before records named their source
                    finished = datetime.datetime.fromtimestamp(example.record.stat().st_mtime, tz=datetime.UTC)
                    record["source"] = {"finished": finished.strftime("%Y-%m-%d %H:%M UTC")}
                records.append(record)
        for path in files:
            self.env.note_dependency(str(path))
        if not files:
            text = "The examples of this chapter were not executed in this build."
            return [nodes.paragraph(text=text, classes=["nnbook-status"])]
        claims = [c for c in book.all_claims(folder.parent) if c["name"].startswith(gallery + "/")]
        findings = [c for c in claims if not c["check"]]
        checks = [c for c in claims if c["check"]]
        text = (
            f"Results of this chapter computed {provenance(records)}: "
            f"{sum(c['holds'] for c in findings)} of {len(findings)} claims hold, "
            f"{sum(c['holds'] for c in checks)} of {len(checks)} sanity checks pass."
        )
        paragraph = nodes.paragraph(classes=["nnbook-status"])
        paragraph += nodes.Text(text + " ")
        paragraph += book_claims_link(self.env.docname)
        return [paragraph]


def provenance(records: list[dict | None]) -> str:
    """When and from which nnbook version and commit the examples' records say they ran.

    >>> provenance([{"source": {"version": "0.2", "commit": "abc1234", "finished": "2026-11-30 01:00 UTC"}}] * 2)
    'on 2026-11-30 01:00 UTC with nnbook 0.2 (commit abc1234)'
    >>> provenance([{"source": {"version": "0.2", "commit": "abc", "finished": "2026-11-29 20:00 UTC"}},
    ...             {"source": {"version": "0.2", "commit": "def", "finished": "2026-11-30 01:00 UTC"}}, None])
    'between 2026-11-29 20:00 UTC and 2026-11-30 01:00 UTC with nnbook 0.2 (commits abc, def; 1 example not recorded)'
    """
    sources = [r.get("source", {}) for r in records if r]
    times = sorted(s["finished"] for s in sources if s.get("finished"))
    versions = sorted({s.get("version", "unknown") for s in sources}) or ["unknown"]
    commits = sorted({s.get("commit", "unknown") for s in sources}) or ["unknown"]
    when = (
        "at an unknown time"
        if not times
        else f"on {times[0]}"
        if times[0] == times[-1]
        else (f"between {times[0]} and {times[-1]}")
    )
    missing = len(records) - len(sources)
    note = f"; {missing} example{'s' * (missing != 1)} not recorded" if missing else ""
    label = "commit" if len(commits) == 1 else "commits"
    return f"{when} with nnbook {', '.join(versions)} ({label} {', '.join(commits)}{note})"


def book_claims_link(docname: str):
    from sphinx.addnodes import pending_xref

    return pending_xref(
        "",
        nodes.inline(text="See them on the claims page."),
        refdomain="std",
        reftype="doc",
        reftarget="/claims",
        refexplicit=True,
        refdoc=docname,
        refwarn=True,
    )


def _append_status(app: Sphinx, docname: str, source: list[str]) -> None:
    """Every registered chapter ends with its exercises (``docs/exercises/<gallery>.md``, if any) and its status."""
    galleries = {doc: gallery for gallery, doc in app.config.nnbook_chapters.items()}
    if docname not in galleries or "chapter-status" in source[0]:
        return
    exercises = Path(app.srcdir, "exercises", galleries[docname] + ".md")
    depth = "../" * docname.count("/")
    tail = f"\n\n```{{include}} {depth}exercises/{exercises.name}\n```\n" if exercises.is_file() else ""
    source[0] = source[0].rstrip() + tail + "\n\n```{chapter-status}\n```\n"


ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|obj|data|exc|term):`[~!]?([^`<]+?)(?:\s*<[^`]*>)?`")
SUPSUB = re.compile(r":(sup|sub):`([^`]*)`")
REF = re.compile(r":(?:ref|doc|numref|cite(?::[tp])?):`([^`<]*?)(?:\s*<[^`]*>)?`")


def clean_notebook(notebook: dict) -> bool:
    """Drop empty cells and turn Sphinx roles in text cells into plain markdown; True when it changed anything."""
    cells = [c for c in notebook["cells"] if "".join(c["source"]).strip()]
    changed = len(cells) != len(notebook["cells"])
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        new = ROLE.sub(lambda m: f"`{m.group(1).strip()}`", text)
        new = SUPSUB.sub(lambda m: f"<{m.group(1)}>{m.group(2)}</{m.group(1)}>", new)
        new = REF.sub(lambda m: m.group(1).strip(), new)
        if new != text:
            cell["source"] = new.splitlines(keepends=True)
            changed = True
    notebook["cells"] = cells
    return changed


def _clean_notebooks(app: Sphinx) -> None:
    """After the gallery ran: notebooks without empty cells or Sphinx markup, and their zip files remade."""
    import json

    from sphinx_gallery.downloads import generate_zipfiles

    gallery = Path(app.srcdir, app.config.nnbook_gallery_dir)
    if not gallery.is_dir():
        return
    touched = set()
    for path in sorted(gallery.glob("*/*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if clean_notebook(notebook):
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            touched.add(path.parent)
    conf = app.config.sphinx_gallery_conf
    if touched and conf.get("download_all_examples") and "notebook_extensions" in conf:
        for folder in [gallery, *sorted(touched)]:
            generate_zipfiles(str(folder), app.srcdir, conf)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _clean_notebooks, priority=700)
    app.add_directive("chapter-cards", ChapterCards)
    app.add_directive("chapter-status", ChapterStatus)
    app.connect("source-read", _append_status)
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True}
