"""Pages a reader can trust (nnbook.book.pages), on a tiny book built like the real one.

A value in the prose links to the example that computed it, with a tooltip; a
saved table's caption names its script; an example page says which section of
the chapter uses it, and says it again after the chapter changed; alt texts
carry no TeX; a chapter's gallery figures are offered at twice the resolution.
"""

from __future__ import annotations

import html
import re

import pytest
import tinybook

pytestmark = pytest.mark.book

SCRIPT = """
import matplotlib.pyplot as plt

from nnbook import book

book.record("ch/answer", 42, fmt="{:d}", label="the answer")
book.claim("ch/positive", "the answer is positive", value=42, at_least=0)
book.save_table("ch/squares", [{"n": 2, "n^2": 4}, {"n": 3, "n^2": 9}])
fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
ax.set_title(r"Step $1/\\lambda_{\\max}$ and $\\kappa$")
"""
BODY = """
Warm-up
-------

Nothing computed yet.{warmup}

Results
-------

The answer is :value:`ch/answer`, and :math:`\\hat y = \\sigma(z)`.

.. results-table:: ch/squares
   :caption: Squares.
{results}
"""
FIGURE = """

.. figure:: /auto_gallery/ch/images/sphx_glr_plot_used_001.png
   :alt: A line.
"""


def _index(root, where: str) -> None:
    body = BODY.format(warmup=FIGURE if where == "warmup" else "", results=FIGURE if where == "results" else "")
    (root / "docs" / "index.rst").write_text(tinybook.INDEX.format(body=body))


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tinybook.make(tmp_path_factory.mktemp("pages"), {"plot_used": SCRIPT}, body="")
    with (root / "docs" / "conf.py").open("a") as conf:
        conf.write('sphinx_gallery_conf["image_srcset"] = ["2x"]\nsphinx_gallery_conf["capture_repr"] = ()\n')
    _index(root, "results")
    first = tinybook.build(root)
    assert first.returncode == 0, first.log[-3000:]
    return root, first


def test_a_value_links_to_the_example_that_computed_it(book):
    root, _ = book
    page = (root / "html" / "index.html").read_text()
    link = re.search(r'<a class="nnbook-source reference internal" href="([^"]+)" title="([^"]+)">(.*?)</a>', page)
    assert link, "the value is not a link"
    assert link.group(1) == "auto_gallery/ch/plot_used.html"
    assert html.unescape(link.group(2)) == "the answer: computed by gallery/ch/plot_used.py"
    assert link.group(3) == '<span class="nnbook-value">42</span>'


def test_a_table_caption_names_its_script(book):
    root, _ = book
    page = (root / "html" / "index.html").read_text()
    caption = re.search(r"<caption>.*?</caption>", page, flags=re.S).group(0)
    assert "Squares. Computed by" in caption
    assert 'href="auto_gallery/ch/plot_used.html"' in caption and "gallery/ch/plot_used.py</span></a>." in caption


def _used_in(root) -> str:
    page = (root / "html" / "auto_gallery" / "ch" / "plot_used.html").read_text()
    found = re.search(r'<p class="nnbook-used-in">(.*?)</p>', page, flags=re.S)
    assert found, "the example page does not say where it is used"
    return found.group(1)


def test_the_example_page_says_which_section_uses_it(book):
    root, _ = book
    used = _used_in(root)
    assert used.startswith("Used in Chapter 1, section ")
    assert 'href="../../index.html#results"' in used and "“Results”" in used


def test_alt_texts_and_formulas_read_as_text(book):
    root, _ = book
    example = (root / "html" / "auto_gallery" / "ch" / "plot_used.html").read_text()
    assert 'alt="Step 1/λ_max and κ"' in example
    index = (root / "html" / "index.html").read_text()
    assert '<span class="nnbook-math-text"> ŷ = σ(z) </span>' in index
    for page in (root / "html").rglob("*.html"):
        for alt in re.findall(r'<img [^>]*alt="([^"]*)"', page.read_text()):
            assert alt and "$" not in alt and "\\" not in alt, f"{page.name}: alt {alt!r}"


def test_chapter_figures_have_a_high_resolution_copy(book):
    root, _ = book
    index = (root / "html" / "index.html").read_text()
    srcset = re.search(r'<img srcset="([^"]+)"', index).group(1)
    assert srcset == "_images/sphx_glr_plot_used_001.png, _images/sphx_glr_plot_used_001_2_00x.png 2x"
    assert (root / "html" / "_images" / "sphx_glr_plot_used_001_2_00x.png").is_file()


def test_execution_times_have_no_memory_column(book):
    root, _ = book
    for page in (root / "html").rglob("sg_execution_times.html"):
        text = page.read_text()
        assert "Mem (MB)" not in text and "<table" in text


def test_the_example_page_follows_its_chapter(book):
    """The chapter moves the figure to another section: the example page is re-read and says so."""
    root, _ = book
    _index(root, "warmup")
    second = tinybook.build(root)
    assert second.returncode == 0, second.log[-3000:]
    assert second.executed == [], "nothing about the example changed: it must not run again"
    used = _used_in(root)
    assert 'href="../../index.html#warm-up"' in used and "“Warm-up”" in used
    assert "#results" not in used
