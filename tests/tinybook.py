"""Small books for the build tests: a few gallery scripts, one page, built in a subprocess like ``nox -s docs``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = """
extensions = ["sphinx_gallery.gen_gallery", "nnbook.book.sphinxext"]
exclude_patterns = ["_build", "auto_gallery/**/*.ipynb"]
nnbook_chapters = {{"ch": "index"}}
nnbook_local_mathjax = False
sphinx_gallery_conf = {{
    "examples_dirs": ["../gallery"],
    "gallery_dirs": ["auto_gallery"],
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "show_memory": False,
    "reset_modules": ("nnbook.book.rerun.track",),
    "reset_modules_order": "both",
    "parallel": {parallel},
}}
"""
INDEX = """
Tiny
====

{body}

.. toctree::

   auto_gallery/index
   claims
   report
"""
PAGES = {
    "claims.rst": "Claims\n======\n\n.. claims-list::\n",
    "report.rst": "Report\n======\n\n.. build-report::\n",
}


def script(stem: str, body: str) -> str:
    """Gallery script ``stem``: a title docstring, a line in ``$RUN_LOG`` when it runs, then ``body``."""
    head = f'"""\nExample {stem}\n{"=" * (8 + len(stem))}\n"""\n'
    log = f"import os\n\nwith open(os.environ['RUN_LOG'], 'a') as log:\n    log.write('{stem}\\n')\n"
    return head + log + textwrap.dedent(body)


def make(root: Path, scripts: dict[str, str], body: str, parallel: object = False, package: bool = False) -> Path:
    """Write a book under ``root``: ``scripts`` maps stems to bodies of gallery folder ``ch``; ``body`` is the page.

    With ``package`` the ``nnbook`` package is copied into the book, so a test may change it.
    """
    (root / "docs").mkdir(parents=True)
    (root / "gallery" / "ch").mkdir(parents=True)
    (root / "docs" / "conf.py").write_text(CONF.format(parallel=parallel))
    (root / "docs" / "index.rst").write_text(INDEX.format(body=body))
    for name, text in PAGES.items():
        (root / "docs" / name).write_text(text)
    (root / "gallery" / "GALLERY_HEADER.rst").write_text("Gallery\n=======\n")
    (root / "gallery" / "ch" / "GALLERY_HEADER.rst").write_text("Chapter\n-------\n")
    for stem, text in scripts.items():
        (root / "gallery" / "ch" / f"{stem}.py").write_text(script(stem, text))
    if package:
        shutil.copytree(ROOT / "nnbook", root / "nnbook", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def environ(root: Path, **extra: str) -> dict[str, str]:
    # No colour codes in the log, even where CI forces colour (tests read the log).
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNBOOK_") and k not in ("FORCE_COLOR", "PY_COLORS")}
    package = root if (root / "nnbook").is_dir() else ROOT
    env.update(PYTHONPATH=str(package), OMP_NUM_THREADS="1", RUN_LOG=str(root / "runs.log"), NO_COLOR="1", **extra)
    return env


def command(*args: str, builder: str = "html", out: str = "html") -> list[str]:
    return [sys.executable, "-m", "sphinx", "-W", "--keep-going", "--no-color", "-b", builder, *args, "docs", out]


class Build:
    """One build's outcome: return code, log, the examples that executed (from ``$RUN_LOG``) and the report."""

    def __init__(self, root: Path, proc: subprocess.CompletedProcess, out: str) -> None:
        self.returncode = proc.returncode
        self.log = proc.stdout + proc.stderr
        runs = root / "runs.log"
        self.executed = sorted(runs.read_text().split()) if runs.is_file() else []
        runs.unlink(missing_ok=True)
        report = root / out / "build-report.json"
        self.report = json.loads(report.read_text()) if report.is_file() else None
        report.unlink(missing_ok=True)

    def status(self, stem: str) -> tuple[str, list[str]]:
        row = next(r for r in self.report["examples"] if r["example"] == f"ch/{stem}.py")
        return row["status"], row["why"]


def build(root: Path, *args: str, builder: str = "html", out: str = "html", **env: str) -> Build:
    """Build the book under ``root`` (``args`` go to sphinx-build, ``env`` to its environment)."""
    proc = subprocess.run(
        command(*args, builder=builder, out=out),
        cwd=root,
        env=environ(root, **env),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return Build(root, proc, out)


def results(root: Path) -> Path:
    return root / "docs" / "auto_gallery" / "_results"
