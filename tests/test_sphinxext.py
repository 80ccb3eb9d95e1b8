"""The Sphinx extension's failure modes, on tiny books: a missing number or a false claim fails the build."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CONF = """
extensions = ["myst_nb", "sphinx_gallery.gen_gallery", "nnbook.book.sphinxext"]
exclude_patterns = ["_build", "auto_gallery/**/*.ipynb"]
nb_execution_mode = "off"
sphinx_gallery_conf = {"examples_dirs": ["../gallery"], "gallery_dirs": ["auto_gallery"],
                       "filename_pattern": "/plot_", "download_all_examples": False}
"""
INDEX = """
# Tiny book

The answer is {value}`tiny/answer`.

```{toctree}
auto_gallery/index
```
"""


def _book(tmp_path, script: str, index: str = INDEX):
    (tmp_path / "docs").mkdir()
    (tmp_path / "gallery" / "tiny").mkdir(parents=True)
    (tmp_path / "docs" / "conf.py").write_text(CONF)
    (tmp_path / "docs" / "index.md").write_text(index)
    (tmp_path / "gallery" / "GALLERY_HEADER.rst").write_text("Gallery\n=======\n")
    (tmp_path / "gallery" / "tiny" / "GALLERY_HEADER.rst").write_text("Tiny\n----\n")
    (tmp_path / "gallery" / "tiny" / "plot_tiny.py").write_text(textwrap.dedent(script))
    env = {k: v for k, v in os.environ.items() if k != "NNBOOK_RESULTS_DIR"}
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", "html"]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


SCRIPT = '''
"""
Tiny
====
"""
from nnbook import book

book.record("tiny/answer", 42, fmt="{:d}")
book.claim("tiny/positive", "the answer is positive", value=42, {bound})
'''


def test_recorded_value_reaches_the_page(tmp_path):
    proc = _book(tmp_path, SCRIPT.replace("{bound}", "at_least=0"))
    assert proc.returncode == 0, proc.stderr
    assert '<span class="nnbook-value">42</span>' in (tmp_path / "html" / "index.html").read_text()


def test_false_claim_fails_the_build_naming_it(tmp_path):
    proc = _book(tmp_path, SCRIPT.replace("{bound}", "at_most=0"))
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "plot_tiny.py" in output and "tiny/positive" in output and "measured 42, bound <= 0" in output


def test_unknown_value_fails_the_build_naming_it(tmp_path):
    proc = _book(tmp_path, SCRIPT.replace("{bound}", "at_least=0"), index=INDEX.replace("tiny/answer", "tiny/typo"))
    assert proc.returncode != 0
    assert "unknown nnbook value 'tiny/typo'" in proc.stdout + proc.stderr
