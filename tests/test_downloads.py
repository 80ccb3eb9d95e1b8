"""What a reader downloads works as well as the page: every notebook and every script, run on its own.

Each example page offers its script as a ``.py`` file and as a notebook. Here
every notebook the build wrote is checked (no empty cell, no Sphinx markup in
its text) and executed with nbclient in a fresh kernel outside the source
tree: it must run, display as many figures as the example made in the book,
and print its claims as sentences, never as bare build keys. Every script is
run with ``python`` in a fresh process in an empty folder: it must finish and
save each of its figures (nothing can show them there), as
:func:`nnbook.plotting.show` promises.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

# Running every download twice more (notebook and script) costs about as much CPU as the book's gallery: the test
# runs when NNBOOK_TEST_DOWNLOADS=1 is set (`NNBOOK_TEST_DOWNLOADS=1 nox -s tests -- tests/test_downloads.py`).
pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(os.environ.get("NNBOOK_TEST_DOWNLOADS") != "1", reason="set NNBOOK_TEST_DOWNLOADS=1 to run"),
]
ROOT = Path(__file__).resolve().parents[1]
SPHINX_MARKUP = re.compile(r":(func|class|meth|mod|attr|ref|doc|sup|sub|term|cite|numref|py:\w+):`")
WORKERS = 2  # the machine's cores; each run uses one BLAS thread
TIME_LIMIT = 900  # seconds for one notebook or script


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNBOOK_")}
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "agg"})
    return env


def _figures_in_book(src: Path, chapter: str, stem: str) -> int:
    return len(list((src / "auto_gallery" / chapter / "images").glob(f"sphx_glr_{stem}_[0-9][0-9][0-9].png")))


def _notebooks(src: Path) -> list[Path]:
    return sorted((src / "auto_gallery").glob("*/plot_*.ipynb"))


def test_notebooks_are_clean(build):
    src, _, _ = build
    problems = []
    notebooks = _notebooks(src)
    assert notebooks
    for path in notebooks:
        cells = json.loads(path.read_text())["cells"]
        for i, cell in enumerate(cells):
            text = "".join(cell["source"])
            if not text.strip():
                problems.append(f"{path.name}: cell {i} is empty")
            if cell["cell_type"] == "markdown" and (found := SPHINX_MARKUP.search(text)):
                problems.append(f"{path.name}: cell {i} shows Sphinx markup {found.group(0)}")
    assert not problems, "\n".join(problems)


RUN_NOTEBOOK = """
import json, sys
import nbformat
from nbclient import NotebookClient
path, workdir, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
notebook = nbformat.read(path, as_version=4)
NotebookClient(notebook, timeout=limit, kernel_name="python3", resources={"metadata": {"path": workdir}}).execute()
outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
images = sum("image/png" in o.get("data", {}) for o in outputs)
print(json.dumps({"images": images, "text": text}))
"""


def _run_notebook(path: Path, workdir: Path) -> tuple[int, str]:
    """Execute in a fresh kernel (in its own process); return (image outputs, printed text)."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_NOTEBOOK, str(path), str(workdir), str(TIME_LIMIT)],
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT + 60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-800:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["images"], result["text"]


def test_every_notebook_runs_and_shows_every_figure(build, tmp_path):
    src, _, _ = build
    notebooks = _notebooks(src)

    def run(path: Path) -> str | None:
        workdir = tmp_path / path.stem
        workdir.mkdir()
        try:
            images, printed = _run_notebook(path, workdir)
        except Exception as err:  # a cell raised: report the notebook and the error
            return f"{path.name}: {type(err).__name__}: {str(err)[-500:]}"
        wanted = _figures_in_book(src, path.parent.name, path.stem)
        if images < wanted:
            return f"{path.name}: displays {images} figures, the book shows {wanted}"
        if re.search(r"^[a-z_]+/[a-z0-9_]+ = ", printed, flags=re.M):
            return f"{path.name}: prints bare build keys instead of sentences"
        return None

    with ThreadPoolExecutor(WORKERS) as pool:
        problems = [p for p in pool.map(run, notebooks) if p]
    assert not problems, "\n".join(problems)


def test_every_script_runs_standalone_and_saves_its_figures(build, tmp_path):
    src, _, _ = build
    scripts = sorted((ROOT / "gallery").glob("*/plot_*.py"))

    def run(script: Path) -> str | None:
        workdir = tmp_path / f"{script.parent.name}-{script.stem}"
        workdir.mkdir()
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=workdir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            check=False,
        )
        if proc.returncode != 0:
            return f"{script.name}: exit {proc.returncode}: {proc.stderr[-800:]}"
        saved = len(list(workdir.glob(f"{script.stem}_*.png")))
        wanted = _figures_in_book(src, script.parent.name, script.stem)
        if saved < wanted:
            return f"{script.name}: saved {saved} figures, the book shows {wanted}"
        if "claim" in proc.stdout and " -- measured " not in proc.stdout:
            return f"{script.name}: claims are not printed as sentences"
        return None

    with ThreadPoolExecutor(WORKERS) as pool:
        problems = [p for p in pool.map(run, scripts) if p]
    assert not problems, "\n".join(problems)
