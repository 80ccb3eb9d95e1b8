"""Build the whole book from a clean copy, as ``nox -s docs`` does, and check what came out."""

from __future__ import annotations

import ast
import datetime
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.book


def test_zero_warnings(build):
    _, _, log = build
    warnings = [line for line in log.splitlines() if re.search(r"\bWARNING\b|\bERROR\b", line)]
    assert warnings == []
    assert "build succeeded" in log


def _registry() -> dict[str, str]:
    """The chapter registry of docs/conf.py: gallery folder -> chapter document."""
    tree = ast.parse((ROOT / "docs" / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "nnbook_chapters":
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py must define the chapter registry nnbook_chapters")


def test_every_chapter_is_registered_and_in_the_table_of_contents(build):
    src, html, _ = build
    chapters = sorted(f"chapters/{p.stem}" for p in (src / "chapters").glob("*.md"))
    registry = _registry()
    assert chapters and sorted(registry.values()) == chapters, "every chapter page has exactly one registry entry"
    assert sorted(registry) == sorted(p.name for p in (ROOT / "gallery").iterdir() if p.is_dir())
    toc = (html / "index.html").read_text()
    positions = [toc.find(f'href="{doc}.html"') for doc in registry.values()]
    assert all(p > 0 for p in positions) and positions == sorted(positions), "table of contents follows the registry"
    for doc in chapters:
        assert (html / f"{doc}.html").is_file()


def test_every_chapter_says_when_and_from_which_commit_its_results_were_computed(build):
    import nnbook

    _, html, _ = build
    status = re.compile(
        r"Results of this chapter computed (?:on|between) (\d{4}-\d\d-\d\d \d\d:\d\d UTC).*? with nnbook "
        r"([\w.+-]+) \(commits? ([^)]*)\): (\d+) of (\d+) claims hold, (\d+) of (\d+) sanity checks pass"
    )
    for doc in _registry().values():
        text = re.sub(r"<[^>]+>", "", (html / f"{doc}.html").read_text())
        match = status.search(text)
        assert match, f"{doc} does not say when its results were computed"
        when, version, commits, held, claims, passed, checks = match.groups()
        datetime.datetime.strptime(when, "%Y-%m-%d %H:%M UTC")  # a time, not "unknown"
        assert version == nnbook.__version__ and "unknown" not in commits and "not recorded" not in commits, doc
        assert held == claims and int(claims) > 0 and passed == checks, doc


def test_every_gallery_example_executed(build):
    src, html, _ = build
    scripts = sorted((ROOT / "gallery").glob("*/plot_*.py"))
    assert scripts
    times = (src / "sg_execution_times.rst").read_text()
    for script in scripts:
        chapter, stem = script.parent.name, script.stem
        page = html / "auto_gallery" / chapter / f"{stem}.html"
        assert page.is_file(), f"no page for {chapter}/{stem}"
        assert f"sphx_glr_auto_gallery_{chapter}_{stem}.py" in times, f"{chapter}/{stem} did not run"
        text = page.read_text()
        assert "Traceback" not in text and "sphx-glr-script-out" in text, f"{chapter}/{stem} produced no output"
        assert (src / "auto_gallery" / chapter / f"{stem}.ipynb").is_file()


def test_every_figure_the_chapters_use_exists(build):
    src, html, _ = build
    for chapter in (src / "chapters").glob("*.md"):
        for image in re.findall(r"\{figure\}\s+/?(auto_gallery/\S+\.png)", chapter.read_text()):
            assert (src / image).is_file(), f"{chapter.name} embeds missing {image}"
            assert (html / "_images" / Path(image).name).is_file(), f"{image} not copied into the site"


def test_every_value_in_the_prose_was_resolved(build):
    src, html, _ = build
    used = 0
    for page in [*(html / "chapters").glob("*.html"), html / "claims.html"]:
        text = page.read_text()
        assert "{value}" not in text and "⟨" not in text, f"unresolved value in {page.name}"
        used += text.count('class="nnbook-value"')
    sources = [*(src / "chapters").glob("*.md"), *(src / "exercises").glob("*.md")]  # exercises end their chapter
    roles = sum(len(re.findall(r"\{value\}`", p.read_text())) for p in sources)
    assert used == roles > 0


def test_claims_page_lists_every_claim_under_its_chapter(build):
    src, html, _ = build
    claims = list((src / "auto_gallery" / "_results").glob("*/*.claim.json"))
    assert claims
    text = (html / "claims.html").read_text()
    tables = {"claims": [], "checks": []}
    for path in claims:
        kind = "checks" if json.loads(path.read_text())["payload"]["check"] else "claims"
        tables[kind].append(path.parent.name)
    header_rows = sum(len(set(chapters)) for chapters in tables.values())  # a header row per chapter and table
    assert text.count("<tr") == len(claims) + header_rows
    groups = text.split('class="rubric"')[1:]  # one heading, then one table, per chapter
    for path in claims:
        chapter, key = path.parent.name, path.name.removesuffix(".claim.json")
        tables = "".join(g for g in groups if f"auto_gallery/{chapter}/" in g)  # its claims and its checks
        assert f'<span class="pre">{key}</span>' in tables, f"claim {chapter}/{key} missing from its chapter's tables"


def _example_pages(html: Path) -> list[Path]:
    return sorted((html / "auto_gallery").glob("*/plot_*.html"))


def test_no_example_page_shows_a_stray_return_value(build):
    _, html, _ = build
    pages = _example_pages(html)
    assert pages
    for page in pages:
        outputs = "".join(re.findall(r'class="sphx-glr-script-out.*?</pre>', page.read_text(), flags=re.S))
        assert "object at 0x" not in outputs and "Claim(" not in outputs, f"{page.name} prints an object's repr"


def test_every_image_has_alt_text_without_tex(build):
    _, html, _ = build
    images = 0
    for page in html.rglob("*.html"):
        text = page.read_text()
        for tag in re.findall(r"<img [^>]*>", text):
            alt = re.search(r'alt="([^"]*)"', tag)
            assert alt and alt.group(1).strip(), f"{page.relative_to(html)}: image without alt text: {tag[:120]}"
            assert not re.search(r"[$\\]", alt.group(1)), f"{page.relative_to(html)}: TeX in alt text {alt.group(1)!r}"
            images += 1
        for tooltip in re.findall(r'tooltip="([^"]*)"', text):
            assert not re.search(r"[$\\]", tooltip), f"{page.relative_to(html)}: TeX in a tooltip: {tooltip[:100]!r}"
    assert images > 100


def test_figures_have_a_high_resolution_copy(build):
    """Every gallery figure, on its example page and in the chapters, is offered at 2x on high-density screens."""
    _, html, _ = build
    pages = [*_example_pages(html), *(html / "chapters").glob("*.html")]
    figures = 0
    for page in pages:
        for tag in re.findall(r'<img [^>]*src="[^"]*sphx_glr_plot_\w+?_\d{3}\.png"[^>]*>', page.read_text()):
            srcset = re.search(r'srcset="([^"]*)"', tag)
            assert srcset and re.search(r" 2(\.00)?x", srcset.group(1)), f"{page.name}: no 2x copy: {tag[:150]}"
            copy = re.search(r"(\S+_2_00x\.png) 2", srcset.group(1)).group(1)
            assert (page.parent / copy).resolve().is_file(), f"{page.name}: missing {copy}"
            figures += 1
    assert figures > 50


def test_values_link_to_the_script_that_computed_them(build):
    _, html, _ = build
    links = 0
    for page in (html / "chapters").glob("*.html"):
        text = page.read_text()
        values = text.count('<span class="nnbook-value">')
        link = r'<a class="nnbook-source reference internal" href="([^"]+)" title="([^"]+)"><span class="nnbook-value">'
        found = re.findall(link, text)
        assert len(found) == values, f"{page.name}: {values - len(found)} values without a link to their script"
        for href, title in found:
            script = re.search(r"computed by gallery/(\w+/plot_\w+\.py)$", title)
            assert script, f"{page.name}: tooltip {title!r} does not name a script"
            assert (ROOT / "gallery" / script.group(1)).is_file()
            target = (html / "auto_gallery" / script.group(1)).with_suffix(".html")
            assert (page.parent / href).resolve() == target.resolve(), f"{page.name}: {href} is not {target.name}"
        links += len(found)
    assert links > 50


def test_each_example_page_links_back_to_the_sections_that_use_it(build):
    from nnbook.book.frontpage import examples_used

    src, html, _ = build
    for gallery, doc in _registry().items():
        chapter = html / f"{doc}.html"
        anchors = set(re.findall(r'<section id="([^"]+)"', chapter.read_text()))
        for stem in examples_used(src / f"{doc}.md", gallery):
            page = (html / "auto_gallery" / gallery / f"{stem}.html").read_text()
            used = re.search(r'<p class="nnbook-used-in">Used in (.*?)</p>', page, flags=re.S)
            assert used, f"{gallery}/{stem} does not say which chapter uses it"
            targets = re.findall(r'href="\.\./\.\./([^"#]+)#([^"]+)"', used.group(1))
            assert (f"{doc}.html", targets[0][1]) in targets and all(a in anchors for d, a in targets if d == doc)
            assert "Chapter" in used.group(1) and "section" in used.group(1)


def test_execution_times_are_plain_local_tables(build):
    _, html, _ = build
    pages = list(html.rglob("sg_execution_times.html"))
    assert len(pages) == len(_registry()) + 2  # one per chapter's gallery, the gallery's and the site's
    for page in pages:
        text = page.read_text()
        assert "<table" in text and "Mem (MB)" not in text, f"{page.relative_to(html)} has a memory column"
        loads = re.search(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//', text)
        assert not loads, f"{page.relative_to(html)} loads from another host: {loads.group(0)}"


def test_every_page_has_the_favicon(build):
    _, html, _ = build
    assert (html / "_static" / "favicon.svg").is_file()
    icon = re.compile(r'<link rel="(?:shortcut )?icon" href="[^"]*_static/favicon\.svg"')
    for page in html.rglob("*.html"):
        if page.relative_to(html).parts[0] not in {"_static", "_sources", "_images", "_downloads"}:
            assert icon.search(page.read_text()), f"{page.relative_to(html)} has no favicon"
