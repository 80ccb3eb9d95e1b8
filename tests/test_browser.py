"""The built book in a real browser: every page, offline, as a reader sees it.

Headless Chromium (the system's, driven by Playwright) opens every page of the
site served on 127.0.0.1 and checks: no console errors, no failed requests, no
request to another host, every image loaded, all mathematics typeset (no raw
TeX in the text or in tooltips), no internal link to a missing page or anchor.
Then it tries what a reader does: search finds each chapter first, a solution
opens, the dark theme keeps figures readable, tables fit a phone, and an
accessibility audit (axe-core) finds no serious violation. Screenshots of the
front page and a chapter, at desktop and phone widths, are written to
``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import collections
import functools
import http.server
import itertools
import re
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.book
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SKIP_FOLDERS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_FOR_MATH = """() => (window.MathJax && MathJax.startup && MathJax.startup.promise)
    ? MathJax.startup.promise.then(() => true) : true"""
LOAD_IMAGES = """async () => {
    const images = Array.from(document.images);
    images.forEach(i => { i.loading = 'eager'; });
    await Promise.all(images.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
    return images.filter(i => i.naturalWidth === 0).map(i => i.getAttribute('src'));
}"""
RAW_TEX = """() => {
    const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .MathJax';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const found = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (n.parentElement.closest(skip)) continue;
        const t = n.textContent;
        const tex = /\\\\\\(|\\\\\\[|\\$[^$\\s][^$]*\\$|\\\\(frac|mathbf|sum|sigma|lambda)\\b/;
        if (tex.test(t)) found.push(t.trim().slice(0, 80));
    }
    // tooltips (title, and sphinx-gallery's tooltip attribute) and alt texts are shown as they are
    for (const e of document.querySelectorAll('[title], [tooltip], img[alt]')) {
        for (const name of ['title', 'tooltip', 'alt']) {
            const value = e.getAttribute(name);
            if (value && /\\\\[a-zA-Z]+|\\$[^$]+\\$/.test(value)) found.push(name + ': ' + value.slice(0, 80));
        }
    }
    return found;
}"""
LINKS_AND_IDS = """() => ({
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name')),
    icon: (document.querySelector('link[rel~="icon"]') || {}).href || null,
})"""
LOAD_ICON = """async (url) => {
    const image = new Image();
    await new Promise(r => { image.onload = image.onerror = r; image.src = url; });
    return image.naturalWidth;
}"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("the browser test needs Chromium (Debian package 'chromium'; .ci/run installs it)")
    return path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on stderr
        pass


@pytest.fixture(scope="module")
def site(build) -> Iterator[tuple[str, Path]]:
    """The built site served on 127.0.0.1: yields (base URL, html folder)."""
    _, html, _ = build
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", html
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def all_pages(html: Path) -> list[str]:
    pages = []
    for path in sorted(html.rglob("*.html")):
        relative = path.relative_to(html)
        if relative.parts[0] not in SKIP_FOLDERS:
            pages.append(relative.as_posix())
    return pages


def open_page(browser, base: str, viewport: dict | None = None):
    """A fresh page whose requests to any other host are blocked and recorded."""
    context = browser.new_context(viewport=viewport or DESKTOP)
    page = context.new_page()
    record = {"console": [], "failed": [], "external": []}

    def route(route):
        if route.request.url.startswith(base) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            record["external"].append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda m: record["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record["console"].append(str(e)))
    page.on(
        "requestfailed",
        # a request cut short by leaving the page (ERR_ABORTED) is not a failure of the site
        lambda r: (
            record["failed"].append(f"{r.url} ({r.failure})")
            if r.url.startswith(base) and "ERR_ABORTED" not in (r.failure or "")
            else None
        ),
    )
    return context, page, record


@pytest.fixture(scope="module")
def crawl(site, browser) -> dict:
    """Visit every page once; return what was seen on each."""
    base, html = site
    context, page, record = open_page(browser, base)
    seen = {}
    for relative in all_pages(html):
        for key in record:
            record[key].clear()
        page.goto(base + relative, wait_until="load")
        page.evaluate(WAIT_FOR_MATH)
        broken = page.evaluate(LOAD_IMAGES)
        seen[relative] = {
            "console": list(record["console"]),
            "failed": list(record["failed"]),
            "external": list(record["external"]),
            "broken_images": broken,
            "raw_tex": page.evaluate(RAW_TEX),
            **page.evaluate(LINKS_AND_IDS),
        }
    context.close()
    return seen


def test_every_page_loads_offline_without_errors(crawl):
    problems = []
    for page, seen in crawl.items():
        for key in ("console", "failed", "external", "broken_images", "raw_tex"):
            problems += [f"{page}: {key}: {item}" for item in seen[key]]
    assert len(crawl) > 50, "the crawl found too few pages"
    assert not problems, f"{len(problems)} problems on {len(crawl)} pages:\n" + "\n".join(problems[:60])


def test_no_internal_link_is_broken(crawl, site):
    base, html = site
    problems = []
    for page, seen in crawl.items():
        for link in seen["links"]:
            if not link.startswith(base):
                continue
            parts = urllib.parse.urlsplit(link[len(base) :])
            target = urllib.parse.unquote(parts.path) or "index.html"
            if target.endswith("/"):
                target += "index.html"
            if not (html / target).is_file():
                problems.append(f"{page}: link to missing {target}")
            elif parts.fragment and target in crawl and parts.fragment not in crawl[target]["ids"]:
                problems.append(f"{page}: link to missing anchor {target}#{parts.fragment}")
    assert not problems, "\n".join(sorted(set(problems))[:60])


def chapters() -> dict[str, str]:
    import ast

    tree = ast.parse((ROOT / "docs" / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "nnbook_chapters":
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py has no chapter registry")


def chapter_words() -> dict[str, str]:
    """For each chapter, the word of its text that it uses most and no other chapter uses at all."""
    texts = {doc: (ROOT / "docs" / f"{doc}.md").read_text().lower() for doc in chapters().values()}
    counts = {doc: collections.Counter(re.findall(r"(?<![\\{`/_-])\b[a-z]{6,}\b", text)) for doc, text in texts.items()}
    words = {}
    for doc, count in counts.items():
        others = set().union(*(set(c) for d, c in counts.items() if d != doc))
        unique = [(n, w) for w, n in count.items() if w not in others]
        assert unique, f"{doc} has no word of its own"
        words[doc] = max(unique)[1]
    return words


def test_search_finds_each_chapter_first(site, browser):
    base, _ = site
    context, page, _ = open_page(browser, base)
    problems = []
    for doc, word in chapter_words().items():
        page.goto(base + "search.html?q=" + urllib.parse.quote(word))
        page.wait_for_selector("#search-results ul.search li", timeout=30_000)
        first = page.locator("#search-results ul.search li a").first.get_attribute("href")
        if not first or not first.split("?")[0].split("#")[0].endswith(doc.split("/")[-1] + ".html"):
            problems.append(f"searching {word!r} ranks {first} first, not {doc}")
        page.wait_for_selector("#search-results p.context", timeout=30_000)
        page.wait_for_load_state("networkidle")
        for snippet in page.locator("#search-results p.context").all_text_contents():
            if re.search(r"\\[a-zA-Z]+|\\[()\[\]]|\$[^$\s][^$]*\$", snippet):
                problems.append(f"searching {word!r}: a snippet shows TeX: {snippet[:100]!r}")
    context.close()
    assert not problems, "\n".join(problems)


def test_a_solution_opens_and_dark_mode_keeps_figures_readable(site, browser):
    base, _ = site
    context, page, record = open_page(browser, base)
    opened = False
    for doc in chapters().values():
        page.goto(base + doc + ".html", wait_until="load")
        dropdowns = page.locator("details.sd-dropdown")
        if dropdowns.count():
            summary = dropdowns.first.locator("summary")
            summary.scroll_into_view_if_needed()
            assert dropdowns.first.get_attribute("open") is None, "solutions must be closed by default"
            summary.click()
            page.wait_for_timeout(300)
            opened = dropdowns.first.get_attribute("open") is not None
            break
    assert opened, "no chapter has a solution dropdown that opens"
    page.goto(base + next(iter(chapters().values())) + ".html", wait_until="load")
    themes = set()
    for _ in range(3):
        page.locator(".theme-toggle:visible").first.click()
        themes.add(page.evaluate("() => document.body.dataset.theme"))
        if page.evaluate("() => document.body.dataset.theme") == "dark":
            break
    assert page.evaluate("() => document.body.dataset.theme") == "dark", f"theme toggle gave {themes}"
    figure = page.locator("figure img").first
    style = figure.evaluate("e => getComputedStyle(e).filter")
    assert "invert" in style, f"figures in dark mode are shown unchanged (filter: {style})"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("figure img").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "chapter-dark.png"))
    # The theme stays dark from page to page: an example's figures and a gallery's thumbnails are inverted too.
    gallery = next(iter(chapters()))
    page.goto(f"{base}auto_gallery/{gallery}/index.html", wait_until="load")
    page.screenshot(path=str(ARTIFACTS / "gallery-dark.png"))
    example = page.locator(".sphx-glr-thumbcontainer a").first.get_attribute("href")
    images = page.locator(".sphx-glr-thumbcontainer img")
    filters = images.evaluate_all("l => l.map(e => getComputedStyle(e).filter)")
    assert filters and all("invert" in f for f in filters), f"thumbnails in dark mode: {filters}"
    page.goto(f"{base}auto_gallery/{gallery}/{example}", wait_until="load")
    figure = page.locator("img.sphx-glr-single-img, img.sphx-glr-multi-img").first
    assert "invert" in figure.evaluate("e => getComputedStyle(e).filter")
    figure.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "example-dark.png"))
    assert not record["console"]
    context.close()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_and_tables_fit(site, browser, name, viewport):
    base, _ = site
    context, page, _ = open_page(browser, base, viewport)
    ARTIFACTS.mkdir(exist_ok=True)
    first_chapter = next(iter(chapters().values()))
    for label, path in (("front", "index.html"), ("chapter", first_chapter + ".html"), ("claims", "claims.html")):
        page.goto(base + path, wait_until="load")
        page.evaluate(WAIT_FOR_MATH)
        page.screenshot(path=str(ARTIFACTS / f"{label}-{name}.png"), full_page=label != "chapter")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow} px wider than a {viewport['width']} px screen"
        cut = page.evaluate(
            """() => Array.from(document.querySelectorAll('table')).filter(t => {
                const r = t.getBoundingClientRect();
                let e = t.parentElement, scrolls = false;
                while (e && e !== document.body) {
                    const o = getComputedStyle(e).overflowX;
                    const scrollable = o === 'auto' || o === 'scroll';
                    if (scrollable && e.scrollWidth >= t.scrollWidth - 1) { scrolls = true; break; }
                    e = e.parentElement;
                }
                return r.right > window.innerWidth + 1 && !scrolls;
            }).length"""
        )
        assert cut == 0, f"{cut} tables on {path} are cut off at {viewport['width']} px"
    context.close()


def test_accessibility(site, browser, crawl):
    import axe_playwright_python

    axe = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    base, _ = site
    docs = ["index.html", "claims.html", "api.html", *(doc + ".html" for doc in chapters().values())]
    examples = sorted(p for p in crawl if p.startswith("auto_gallery/") and p.count("/") == 2 and "plot_" in p)
    docs += examples[:: max(1, len(examples) // 8)]
    context, page, _ = open_page(browser, base)
    problems = []
    for doc in docs:
        page.goto(base + doc, wait_until="load")
        page.evaluate(WAIT_FOR_MATH)
        page.add_script_tag(path=str(axe))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        for violation in result["violations"]:
            if violation["impact"] in {"serious", "critical"}:
                where = [n["target"][0] for n in violation["nodes"][:3]]
                problems.append(f"{doc}: {violation['id']} ({violation['impact']}): {violation['help']} at {where}")
        levels = page.evaluate(
            "() => Array.from(document.querySelectorAll('article h1, article h2, article h3, article h4, "
            "article h5, article h6')).map(h => +h.tagName[1])"
        )
        jumps = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
        if jumps:
            problems.append(f"{doc}: headings skip a level: {jumps[:3]}")
        headless = page.evaluate(
            "() => Array.from(document.querySelectorAll('article table:not(.autosummary)'))"
            ".filter(t => !t.querySelector('th')).length"
        )
        if headless:
            problems.append(f"{doc}: {headless} tables without header cells")
        vague = page.evaluate(
            "() => Array.from(document.querySelectorAll('article a')).map(a => a.textContent.trim().toLowerCase())"
            ".filter(t => ['here', 'click here', 'link', 'this'].includes(t))"
        )
        if vague:
            problems.append(f"{doc}: link text that does not say where it goes: {vague[:3]}")
    context.close()
    assert not problems, "\n".join(problems)


def test_every_page_has_a_favicon_that_loads(site, browser, crawl):
    base, _ = site
    icons = {seen["icon"] for seen in crawl.values()}
    assert None not in icons, f"pages without a favicon: {[p for p, seen in crawl.items() if not seen['icon']][:5]}"
    assert len(icons) == 1 and next(iter(icons)).startswith(base), icons
    context, page, record = open_page(browser, base)
    page.goto(base + "index.html", wait_until="load")
    icon = next(iter(icons))
    response = context.request.get(icon)
    assert response.ok and "svg" in response.headers["content-type"], (response.status, response.headers)
    assert page.evaluate(LOAD_ICON, icon) > 0, "the favicon does not render"
    assert not record["failed"] and not record["console"]
    context.close()


def test_a_value_says_where_it_comes_from_and_the_example_leads_back(site, browser):
    """Hover a recorded number: the tooltip names its script; follow it to the example, and back to the chapter."""
    base, _ = site
    context, page, record = open_page(browser, base)
    checked = 0
    for doc in chapters().values():
        page.goto(base + doc + ".html", wait_until="load")
        links = page.locator("a.nnbook-source:has(.nnbook-value)")
        if not links.count():
            continue
        link = links.first
        link.scroll_into_view_if_needed()
        link.hover()
        title = link.get_attribute("title") or ""
        script = re.search(r"computed by gallery/(\w+)/(plot_\w+)\.py$", title)
        assert script, f"{doc}: the value's tooltip {title!r} does not name its script"
        link.click()
        page.wait_for_load_state("load")
        assert page.url.split("#")[0] == f"{base}auto_gallery/{script.group(1)}/{script.group(2)}.html"
        assert page.locator("h1").count() == 1
        back = page.locator("p.nnbook-used-in a").first
        assert back.count(), f"{page.url} does not link back to its chapter"
        back.click()
        page.wait_for_load_state("load")
        target = urllib.parse.urlsplit(page.url)
        assert target.path.endswith(".html") and target.fragment
        assert page.locator(f"section[id='{target.fragment}']").count() == 1, f"no section {target.fragment}"
        checked += 1
    assert checked >= len(chapters()) - 2, "too few chapters quote a recorded value"
    assert not record["failed"] and not record["console"]
    context.close()
