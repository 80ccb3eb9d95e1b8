"""Sphinx extension: pages a reader can trust, on any screen (set up by :mod:`nnbook.book.sphinxext`).

Everything here is automatic for every page and every chapter of the registry:

- a recorded value in the prose (the ``{value}`` role) links to the example page
  of the script that computed it, with a tooltip naming the script; a saved
  table's caption (``results-table``) names and links its script the same way;
- each example page says, under its title, which chapter sections use it, with
  links to those sections; after the chapters are read, the pages whose line
  changed are written again (and only those);
- every image has an alt text without TeX: sphinx-gallery's alt texts (taken
  from matplotlib titles such as ``$1/\\lambda_{\\max}$``) are read as text
  (:func:`nnbook.book.tex.tex_to_text`), untitled figures are named after
  their section, thumbnails after their example; thumbnail tooltips lose their
  TeX too, and each formula carries a hidden plain-text reading that the search
  page shows in its snippets instead of the TeX (``_static/nnbook.js``);
- chapter figures taken from the gallery get the gallery's high-resolution
  copies (sphinx-gallery's ``image_srcset``) as a ``srcset``, so they are
  sharp on high-density screens, as the example pages' figures are;
- the execution-times pages lose their memory column when no memory was measured.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
import shutil
import urllib.parse
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.nodes import clean_astext

from nnbook.book.tex import tex_to_text

logger = logging.getLogger(__name__)
SOURCE = "nnbook_source"  # on an inline node: "<chapter>/<script>.py", the script that computed it
TITLE = "nnbook_title"  # on an inline node: what the tooltip of its link says before "computed by"
RESULT = "nnbook_result"  # on a results-table's table node: the name of the saved table
HIDPI = "nnbook_hidpi"  # on an image node: (source path, multiplier) of its high-resolution copies
THUMB = re.compile(r"(?:^|/)(\w+)/images/thumb/sphx_glr_(\w+?)_thumb\.\w+$")
FIGURE = re.compile(r"(?:^|/)(\w+)/images/sphx_glr_(\w+?)_(\d{3})\.png$")
TOOLTIP = re.compile(r'tooltip="([^"]*)"')


def _gallery_conf(config) -> dict:
    return getattr(config, "sphinx_gallery_conf", None) or {}


def gallery_dir(config) -> str:
    return config.nnbook_gallery_dir


def examples_dir(config) -> str:
    """The name of the folder the gallery scripts live in (``gallery``), as readers find it in the repository."""
    dirs = _gallery_conf(config).get("examples_dirs", ["gallery"])
    first = dirs[0] if isinstance(dirs, list | tuple) and dirs else "gallery"
    return Path(first).name


def example_doc(config, script: str) -> str:
    """The example page of ``"<chapter>/<script>.py"``."""
    return f"{gallery_dir(config)}/{script.removesuffix('.py')}"


def source_tooltip(config, script: str, label: str = "") -> str:
    """``"<label>, computed by gallery/<chapter>/<script>.py"`` without TeX."""
    text = f"computed by {examples_dir(config)}/{script}"
    return tex_to_text(f"{label}: {text}" if label else text)


def table_owner(app: Sphinx, name: str) -> tuple[str, Path] | None:
    """The script that saved table ``name`` and its run record, from the gallery's run records."""
    chapter = name.partition("/")[0]
    for record in sorted(Path(app.srcdir, gallery_dir(app.config), chapter).glob("*.run.json")):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if ["table", name] in data.get("results", []):
            return data.get("example", f"{chapter}/{record.name.removesuffix('.run.json')}.py"), record
    return None


# --- Reading ---------------------------------------------------------------------------------------------------------


def _read(app: Sphinx, doctree: nodes.document) -> None:
    """While a page is read: a saved table's caption names its script; an example page depends on the chapters."""
    env = app.env
    for table in doctree.findall(nodes.table):
        if RESULT not in table or not isinstance(table.children[0], nodes.title):
            continue
        owner = table_owner(app, table[RESULT])
        if owner is None:
            continue
        script, record = owner
        env.note_dependency(str(record))
        title = table.children[0]
        label = f"{examples_dir(app.config)}/{script}"
        title += [nodes.Text(" Computed by "), nodes.inline(label, label, **{SOURCE: script}), nodes.Text(".")]


def _example_of(app: Sphinx, docname: str) -> tuple[str, str] | None:
    """``(chapter, stem)`` when ``docname`` is an example page of the gallery."""
    match = re.fullmatch(rf"{re.escape(gallery_dir(app.config))}/(\w+)/(\w+)", docname)
    if match and match.group(2) != "index" and not match.group(2).startswith("sg_"):
        return match.group(1), match.group(2)
    return None


# --- Where each example is used --------------------------------------------------------------------------------------


def _uses(app: Sphinx) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """``(chapter, stem)`` -> ``[(chapter doc, section id, section title), ...]`` in book order, once per build.

    The sections of a chapter's own text (not its included exercises) that show a figure of the example;
    where none does, the first section that refers to it.
    """
    if getattr(app, "_nnbook_uses", None) is not None:
        return app._nnbook_uses
    folder = re.escape(gallery_dir(app.config))
    pattern = re.compile(
        rf"{folder}/(\w+)/(?:images/(?:thumb/)?sphx_glr_)?(\w+?)(?:_\d{{3}}|_thumb)?(?:\.\w+|$)"
        rf"|sphx_glr_{folder}_(\w+?)_(plot_\w+)\.py"
    )
    known = {pair for doc in app.env.all_docs if (pair := _example_of(app, doc))}
    uses: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for doc in app.config.nnbook_chapters.values():
        if doc not in app.env.all_docs:
            continue
        own = str(app.env.doc2path(doc))
        figures: dict[tuple[str, str], list[nodes.section]] = {}
        first: dict[tuple[str, str], nodes.section] = {}
        for node in app.env.get_doctree(doc).findall(nodes.Element):
            section = _section(node)
            if section is None or _source_of(node) != own:
                continue
            for key in ("uri", "refuri", "reftarget"):
                for match in pattern.finditer(str(node.get(key, ""))):
                    example = (match.group(1) or match.group(3), match.group(2) or match.group(4))
                    example = example if example in known else _label_example(example, known)
                    if example is None:
                        continue
                    first.setdefault(example, section)
                    if isinstance(node, nodes.image) and section not in figures.setdefault(example, []):
                        figures[example].append(section)
        for example, section in first.items():
            for chosen in figures.get(example) or [section]:
                uses.setdefault(example, []).append((doc, chosen["ids"][0], tex_to_text(clean_astext(chosen[0]))))
    app._nnbook_uses = uses
    return uses


def _label_example(example: tuple[str, str], known: set[tuple[str, str]]) -> tuple[str, str] | None:
    """A label ``sphx_glr_<dir>_<chapter>_<stem>.py`` splits at the first ``_`` by the regex; find the real pair."""
    joined = f"{example[0]}_{example[1]}"
    return next((pair for pair in known if f"{pair[0]}_{pair[1]}" == joined), None)


def _source_of(node: nodes.Node) -> str | None:
    """The file a node was read from (an included file's nodes name it), from the node or its nearest ancestor."""
    while node is not None and not node.source:
        node = node.parent
    return node.source if node is not None else None


def _section(node: nodes.Node) -> nodes.section | None:
    while node is not None and not isinstance(node, nodes.section):
        node = node.parent
    return node if node is not None and node["ids"] else None


def _used_in(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Under an example page's title: the chapter sections that use the example, as links."""
    example = _example_of(app, docname)
    sections = list(doctree.findall(nodes.section))
    if example is None or not sections:
        return
    places = _uses(app).get(example, [])
    if not places:
        return
    paragraph = nodes.paragraph(classes=["nnbook-used-in"])
    paragraph += nodes.Text("Used in ")
    by_chapter: dict[str, list[tuple[str, str]]] = {}
    for doc, anchor, title in places:
        by_chapter.setdefault(doc, []).append((anchor, title))
    for i, (doc, anchors) in enumerate(by_chapter.items()):
        numbers = app.env.toc_secnumbers.get(doc, {})
        chapter_number = numbers.get("", (list(app.config.nnbook_chapters.values()).index(doc) + 1,))
        chapter = f"Chapter {'.'.join(map(str, chapter_number))}"
        if i:
            paragraph += nodes.Text("; ")
        paragraph += nodes.Text(chapter + ", ")
        named = [(a, t) for a, t in anchors if f"#{a}" in numbers] or anchors
        paragraph += nodes.Text("section " if len(named) == 1 else "sections ")
        for j, (anchor, title) in enumerate(named):
            if j:
                paragraph += nodes.Text(" and " if j == len(named) - 1 else ", ")
            number = ".".join(map(str, numbers.get(f"#{anchor}", ())))
            uri = app.builder.get_relative_uri(docname, doc)
            text = f"{number} {title}" if number else f"“{title}”"
            paragraph += nodes.reference(text, text, internal=True, refuri=f"{uri}#{anchor}")
    paragraph += nodes.Text(".")
    title = sections[0].children[0]
    sections[0].insert(sections[0].index(title) + 1, paragraph)


# --- Links to the script behind a number ------------------------------------------------------------------------------


def _source_links(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Each inline that names the script behind it becomes a link to the script's example page, with a tooltip."""
    for node in list(doctree.findall(nodes.inline)):
        script = node.get(SOURCE)
        if not script:
            continue
        target = example_doc(app.config, script)
        inside_link = any(isinstance(a, nodes.reference) for a in _ancestors(node))
        if target not in app.env.all_docs or inside_link:
            continue
        uri = app.builder.get_relative_uri(docname, target)
        tooltip = source_tooltip(app.config, script, node.get(TITLE, ""))
        link = nodes.reference("", "", internal=True, refuri=uri, reftitle=tooltip, classes=["nnbook-source"])
        node.parent.replace(node, link)  # not replace_self: that copies the value's classes onto the link
        link += node


def _ancestors(node: nodes.Node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


# --- Images: alt text, tooltips, high resolution ---------------------------------------------------------------------


def _image_nodes(doctree: nodes.document) -> list[nodes.Element]:
    found = list(doctree.findall(nodes.image))
    try:
        from sphinx_gallery.directives import imgsgnode
    except ImportError:
        return found
    return found + list(doctree.findall(imgsgnode))


def _example_title(app: Sphinx, chapter: str, stem: str) -> str:
    title = app.env.titles.get(f"{gallery_dir(app.config)}/{chapter}/{stem}")
    return tex_to_text(clean_astext(title)) if title is not None else stem.replace("_", " ")


def _alt_texts(app: Sphinx, doctree: nodes.document) -> None:
    """Alt text on every image, without TeX; thumbnails named after their example, untitled figures after their part."""
    for node in _image_nodes(doctree):
        uri = str(node.get("uri", ""))
        alt = str(node.get("alt", "")).strip()
        thumb, figure = THUMB.search(uri), FIGURE.search(uri)
        if thumb and not alt:
            alt = f"Figure of the example: {_example_title(app, thumb.group(1), thumb.group(2))}"
        elif figure and (not alt or alt == re.sub(r"[-,_]", " ", figure.group(2))):
            section = _section(node)
            part = tex_to_text(clean_astext(section[0])) if section is not None else ""
            title = _example_title(app, figure.group(1), figure.group(2))
            number = int(figure.group(3))
            alt = f"Figure {number} of the example {title}" + (f", in the part {part}" if part != title else "")
        alt = tex_to_text(alt)
        if type(node) is not nodes.image and node.get("srcset"):  # sphinx-gallery writes this alt unescaped
            alt = html.escape(alt, quote=True)
        node["alt"] = alt


def _tooltips(doctree: nodes.document) -> None:
    """The tooltips of gallery thumbnails (raw HTML) without TeX."""

    def readable(match: re.Match) -> str:
        return f'tooltip="{html.escape(tex_to_text(html.unescape(match.group(1))), quote=True)}"'

    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "html" in node.get("format", "").split() and "tooltip=" in text:
            new = TOOLTIP.sub(readable, text)
            if new != text:
                node.replace_self(nodes.raw(node.rawsource, new, format=node["format"]))


def _math_text(doctree: nodes.document) -> None:
    """A hidden plain-text reading after each formula, for the search page's snippets (``nnbook.js``)."""
    for node in list(doctree.findall(lambda n: isinstance(n, nodes.math | nodes.math_block))):
        text = tex_to_text(node.astext())
        reading = nodes.inline(text, f" {text} ", classes=["nnbook-math-text"])
        node.parent.insert(node.parent.index(node) + 1, reading)


def _hidpi(app: Sphinx, doctree: nodes.document) -> None:
    """Gallery figures used outside their example page get the gallery's high-resolution copies as a srcset."""
    factors = _gallery_conf(app.config).get("image_srcset", [])
    for node in doctree.findall(nodes.image):
        uri = str(node.get("uri", ""))
        if not FIGURE.search(uri):
            continue
        copies = []
        for factor in factors:
            factor = float(str(factor).rstrip("x"))
            if factor == 1:
                continue
            path = Path(app.srcdir, uri.lstrip("/"))
            copy = path.with_name(f"{path.stem}_{factor:.2f}x{path.suffix}".replace(".", "_", 1))
            if copy.is_file():
                copies.append((str(copy), factor))
        if copies:
            node[HIDPI] = copies


def visit_image(self, node: nodes.image) -> None:
    """HTML for an image: Sphinx's, plus a ``srcset`` of its high-resolution copies (copied into the site)."""
    type(self).visit_image(self, node)
    copies = node.get(HIDPI)
    if not copies or not self.body or "<img " not in self.body[-1]:
        return
    folder = Path(self.builder.outdir, self.builder.imagedir)
    folder.mkdir(parents=True, exist_ok=True)
    base = posixpath.dirname(node["uri"])
    entries = [node["uri"]]
    for source, factor in copies:
        name = Path(source).name
        if not (folder / name).is_file() or (folder / name).stat().st_mtime < Path(source).stat().st_mtime:
            shutil.copyfile(source, folder / name)
        entries.append(f"{posixpath.join(base, urllib.parse.quote(name))} {factor:g}x")
    self.body[-1] = self.body[-1].replace("<img ", f'<img srcset="{html.escape(", ".join(entries))}" ', 1)


def _resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    _used_in(app, doctree, docname)
    _source_links(app, doctree, docname)
    _alt_texts(app, doctree)
    _tooltips(doctree)
    _math_text(doctree)
    _hidpi(app, doctree)


# --- Execution times --------------------------------------------------------------------------------------------------

ROW = re.compile(r"(\n   \* - [^\n]*\n     - [^\n]*)\n     - ([^\n]*)")  # a list-table row of three cells


def drop_memory_column(text: str) -> str:
    r"""An execution-times page without its memory column when no memory was measured (every cell 0.0 or N/A).

    Examples
    --------
    >>> page = "\n   * - Example\n     - Time\n     - Mem (MB)\n   * - plot_a\n     - 00:01.2\n     - 0.0\n"
    >>> drop_memory_column(page).split()
    ['*', '-', 'Example', '-', 'Time', '*', '-', 'plot_a', '-', '00:01.2']
    >>> drop_memory_column(page.replace("0.0", "12.5")) == page.replace("0.0", "12.5")
    True
    """
    cells = [m.group(2).strip() for m in ROW.finditer(text)]
    if not cells or cells[0] != "Mem (MB)" or any(c not in ("N/A", "") and float(c) != 0 for c in cells[1:]):
        return text
    return ROW.sub(r"\1", text)


def _execution_times(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname.endswith("sg_execution_times"):
        source[0] = drop_memory_column(source[0])


USES_KEY = "nnbook_uses"


def _uses_changed(app: Sphinx, env) -> list[str]:
    """``env-get-updated``: the example pages whose "Used in" line changes with the chapters read in this build.

    The line is made when a page is written, from every chapter's doctree; a
    page whose line is unchanged is neither read nor written again, so a change
    to a chapter's prose rewrites only the examples whose sections it moved.
    """
    app._nnbook_uses = None
    uses = _uses(app)
    snapshot = {}
    for (chapter, stem), places in uses.items():
        numbers = [env.toc_secnumbers.get(doc, {}).get(f"#{anchor}") for doc, anchor, _ in places]
        snapshot[f"{chapter}/{stem}"] = [(*place, number) for place, number in zip(places, numbers, strict=True)]
    old = getattr(env, USES_KEY, None)
    setattr(env, USES_KEY, snapshot)
    examples = {f"{c}/{s}": doc for doc in env.all_docs if (pair := _example_of(app, doc)) for c, s in [pair]}
    if old is None:
        return sorted(examples.values())
    changed = {key for key in set(old) | set(snapshot) if old.get(key) != snapshot.get(key)}
    return sorted(examples[key] for key in changed if key in examples)


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _read)
    app.connect("env-get-updated", _uses_changed, priority=900)  # after Sphinx numbered the sections
    app.connect("doctree-resolved", _resolved)
    app.connect("source-read", _execution_times, priority=600)  # after the plain-table rewrite (nnbook.book.build)
    app.add_node(nodes.image, override=True, html=(visit_image, None))
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True}
