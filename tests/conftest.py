"""Shared fixtures: the whole book, built once per test session from a clean copy, as ``nox -s docs`` does."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nnbook.book.build import git_commit

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("_build", "auto_gallery", "generated", "backreferences", "sg_execution_times.rst", "sg_api_usage.rst")
# A folder holding docs/ and html/ of a finished build: reuse it instead of building (for work on the tests).
REUSE_ENV = "NNBOOK_TEST_BUILD"


def noxfile_sphinx_args() -> list[str]:
    """The flags of the docs session, read from noxfile.py so the test builds exactly like it."""
    text = (ROOT / "noxfile.py").read_text()
    match = re.search(r"^SPHINX_ARGS = (\[.*\])", text, flags=re.M)
    assert match, "noxfile.py must define SPHINX_ARGS"
    return ast.literal_eval(match.group(1))


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """A clean copy of docs/ and gallery/ built into html/; returns (src, html, log)."""
    if os.environ.get(REUSE_ENV):
        work = Path(os.environ[REUSE_ENV])
        return work / "docs", work / "html", (work / "build.log").read_text()
    work = tmp_path_factory.mktemp("book")
    shutil.copytree(ROOT / "docs", work / "docs", ignore=shutil.ignore_patterns(*GENERATED))
    shutil.copytree(ROOT / "gallery", work / "gallery", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)  # the log is read by the tests: no colour codes
    env["NNBOOK_COMMIT"] = git_commit(ROOT)  # the copy is outside the checkout: the pages name the checkout's commit
    for name in ("NNBOOK_RESULTS_DIR", "NNBOOK_CHAPTERS", "NNBOOK_DATA"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "sphinx", *noxfile_sphinx_args(), "docs", "html"]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    log = proc.stdout + proc.stderr
    (work / "build.log").write_text(log)
    assert proc.returncode == 0, f"book build failed (log in {work / 'build.log'}):\n{log[-6000:]}"
    return work / "docs", work / "html", log
