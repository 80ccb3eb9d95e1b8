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
