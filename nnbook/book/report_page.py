"""The build report page: the data :func:`nnbook.book.build.check` gathered, as tables.

Rendered when every page has been read (``doctree-resolved``), so it can name
each page that quotes a changed value; links are therefore plain relative
links rather than cross-references.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx

from nnbook.book.report import _relative_text

STATUS_ORDER = {"failed": 0, "ran": 1, "not run": 2, "reused": 3}


def _link(app: Sphinx, fromdoc: str, todoc: str, text: str, literal: bool = False) -> nodes.Node:
    inner = nodes.literal(text=text) if literal else nodes.Text(text)
    if todoc not in app.env.all_docs:
        return inner
    uri = app.builder.get_relative_uri(fromdoc, todoc)
    return nodes.reference("", "", inner, internal=True, refuri=uri)


def _cell(*parts: nodes.Node | str) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    for i, part in enumerate(parts):
        if i:
            paragraph += nodes.Text(", ")
        paragraph += nodes.Text(part) if isinstance(part, str) else part
    return paragraph


def _table(header: list[str], rows: list[list[nodes.paragraph]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["nnbook-table", "nnbook-report"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    for section, body in ((nodes.thead(), [[_cell(h) for h in header]]), (nodes.tbody(), rows)):
        for cells in body:
            row = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                entry += cell
                row += entry
            section += row
        group += section
    return table


def _environment(data: dict) -> str:
    env = data["environment"]
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items() if version)
    files = ", ".join(f"{name} {(digest or 'missing')[:12]}" for name, digest in env["files"].items())
    return f"Python {env['python']}; {packages}" + (f"; {files}" if files else "")


def _examples(app: Sphinx, docname: str, data: dict) -> list[nodes.Node]:
    gallery = app.config.nnbook_gallery_dir
    chapters = dict(app.config.nnbook_chapters)
    order = {name: i for i, name in enumerate(chapters)}
    by_chapter: dict[str, list[dict]] = {}
    for row in data["examples"]:
        by_chapter.setdefault(row["example"].rpartition("/")[0], []).append(row)
    output = []
    for chapter in sorted(by_chapter, key=lambda c: (order.get(c, len(order)), c)):
        heading = nodes.rubric()
        heading += _link(app, docname, chapters[chapter], chapter) if chapter in chapters else nodes.Text(chapter)
        rows = []
        for row in sorted(by_chapter[chapter], key=lambda r: (STATUS_ORDER.get(r["status"], 9), r["example"])):
            target = f"{gallery}/{row['example'].removesuffix('.py')}"
            seconds = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
            if row.get("cpu_seconds") is not None:
                seconds += f" ({row['cpu_seconds']:.1f})"
            rows.append(
                [
                    _cell(_link(app, docname, target, row["example"].rpartition("/")[2], literal=True)),
                    _cell(row["status"]),
                    _cell("; ".join(row["why"])),
                    _cell(seconds),
                ]
            )
        header = ["Example", "This build", "Why", "Last run: wall (CPU) s"]
        output += [heading, _table(header, rows, [3, 1, 6, 2])]
    return output


def _changes(app: Sphinx, docname: str, data: dict) -> list[nodes.Node]:
    if not data["changes"]:
        return [nodes.paragraph(text="No recorded value or table cell changed since the previous build.")]
    quoted: dict[str, set[str]] = {}
    for doc, names in getattr(app.env, "nnbook_quotes", {}).items():
        for name in names:
            quoted.setdefault(name, set()).add(doc)
    gallery = app.config.nnbook_gallery_dir
    rows = []
    for change in data["changes"]:
        pages = [
            _link(app, docname, doc, app.env.titles[doc].astext() if doc in app.env.titles else doc)
            for doc in sorted(quoted.get(change["name"], ()))
        ]
        script = change["script"]
        source = _link(app, docname, f"{gallery}/{script.removesuffix('.py')}", script, literal=True) if script else ""
        tolerance = "" if change["tolerance"] is None else f"{change['tolerance']:g}"
        rows.append(
            [
                _cell(nodes.literal(text=change["name"]), *([change["where"]] if change["where"] else [])),
                _cell("(new)" if change["old"] is None else change["old"]),
                _cell("(removed)" if change["new"] is None else change["new"]),
                _cell(_relative_text(change["relative"]) + (" (beyond tolerance)" if change["exceeds"] else "")),
                _cell(tolerance),
                _cell(source),
                _cell(*pages) if pages else _cell(""),
            ]
        )
    header = ["Result", "Before", "Now", "Relative change", "Tolerance", "Recorded by", "Quoted on"]
    return [_table(header, rows, [3, 2, 2, 2, 1, 3, 3])]


def render(app: Sphinx, docname: str, data: dict | None) -> list[nodes.Node]:
    """The report's nodes for page ``docname``; a note when the gallery is not tracked or not executed."""
    if data is None:
        return [nodes.paragraph(text="The gallery's examples were not executed or not tracked in this build.")]
    counts = data["counts"]
    summary = (
        f"This build ran {counts['ran']} examples and reused {counts['reused']}"
        + (f"; {counts['failed']} failed" if counts["failed"] else "")
        + (f"; {counts['not run']} were not run" if counts["not run"] else "")
        + (f" (shard {data['shard']})" if data["shard"] else "")
        + f". {len(data['changes'])} recorded values and table cells changed since the previous build."
    )
    output: list[nodes.Node] = [nodes.paragraph(text=summary), nodes.paragraph(text=_environment(data))]
    changes = nodes.section(ids=["nnbook-changes"])
    changes += nodes.title(text="What changed since the previous build")
    changes += _changes(app, docname, data)
    examples = nodes.section(ids=["nnbook-examples"])
    examples += nodes.title(text="Examples: ran or reused, and why")
    examples += _examples(app, docname, data)
    output += [changes, examples]
    cleaned = [("Examples removed with their scripts", data["removed_examples"])]
    cleaned.append(("Results no script records any more, removed", data["pruned_results"]))
    for title, items in cleaned:
        if items:
            section = nodes.section(ids=[nodes.make_id(title)])
            section += nodes.title(text=title)
            bullets = nodes.bullet_list()
            for item in items:
                bullets += nodes.list_item("", nodes.paragraph("", "", nodes.literal(text=item)))
            section += bullets
            output.append(section)
    return output
