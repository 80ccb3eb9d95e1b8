"""What a reader downloads works as well as the page: every notebook and every script, run on its own.

Each example page offers its script as a ``.py`` file and as a notebook. Here
every notebook the build wrote is checked (no empty cell, no Sphinx markup in
its text) and executed with nbclient in a fresh kernel: it must run, display
as many figures as the example made in the book, display no stray return value
(a cell ending in ``ax.legend()`` would show ``<matplotlib.legend.Legend ...>``)
and print its numbers and claims as sentences, never as bare build keys. Every
downloadable script is run with ``python`` in a fresh process: it must finish
and save each of its figures (nothing can show them there), as
:func:`nnbook.plotting.show` promises.

Every run imports nnbook as a reader has it after ``pip install .``, not from
the source tree: a wheel is built from a copy of the project (pyproject.toml,
README.md and nnbook/ only) and unpacked into a folder of its own, which is the
only entry of ``PYTHONPATH``; each notebook and script runs in an empty folder
of its own, so neither the repository nor its gallery folder is on the path. A
folder on ``PYTHONPATH`` comes before every installed package, an editable
install of the repository included (the test environment has one), so what
runs is the wheel's content: a module or data file missing from the package
fails here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.book
ROOT = Path(__file__).resolve().parents[1]
SPHINX_MARKUP = re.compile(r":(func|class|meth|mod|attr|ref|doc|sup|sub|term|cite|numref|py:\w+):`")
# A line that starts with a build key ("chapter/key: 0.93", "chapter/key = 0.93" or the key alone) is not a sentence.
BARE_KEY = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+(:| =|$)", flags=re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WORKERS = 2  # the machine's cores; each run uses one BLAS thread
TIME_LIMIT = 900  # seconds for one notebook or script
TAIL = 2000  # characters of a traceback shown in a failure


def _tail(text: str) -> str:
    return ANSI.sub("", text).strip()[-TAIL:]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """nnbook as installed from a wheel of this repository, unpacked into a folder that goes on PYTHONPATH."""
    work = tmp_path_factory.mktemp("installed")
    project = work / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ROOT / "nnbook", project / "nnbook", ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(work / "dist")]
    if importlib.util.find_spec("setuptools") is not None:  # build with it (offline); else pip fetches the backend
        cmd.append("--no-build-isolation")
    proc = subprocess.run([*cmd, str(project)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"building the wheel failed:\n{_tail(proc.stdout + proc.stderr)}"
    (wheel,) = (work / "dist").glob("nnbook-*.whl")
    folder = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    probe = "import nnbook, nnbook.book, nnbook.plotting; print(nnbook.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=work, env=_env(folder), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"the installed package does not import:\n{_tail(proc.stderr)}"
    assert Path(proc.stdout.strip()).is_relative_to(folder), f"nnbook came from {proc.stdout.strip()}, not the wheel"
    return folder


def _env(site: Path, backend: str | None = None) -> dict[str, str]:
    """A reader's environment: no build variables, the installed nnbook on the path, one BLAS thread.

    ``backend`` is matplotlib's (``"agg"``: a terminal without a display); ``None`` leaves the choice to
    matplotlib, as in a reader's Jupyter, where figures display inline.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNBOOK_") and k != "MPLBACKEND"}
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(site)})
    if backend is not None:
        env["MPLBACKEND"] = backend
    return env


def _figures_in_book(src: Path, chapter: str, stem: str) -> int:
    return len(list((src / "auto_gallery" / chapter / "images").glob(f"sphx_glr_{stem}_[0-9][0-9][0-9].png")))


def _downloads(src: Path, suffix: str) -> list[Path]:
    """The files the example pages offer: ``auto_gallery/<chapter>/plot_*.py`` or ``.ipynb``."""
    found = sorted((src / "auto_gallery").glob(f"*/plot_*{suffix}"))
    assert found, f"the build wrote no {suffix} downloads"
    return found


def _in_parallel(run, paths: list[Path]) -> list[str]:
    """Run ``run(path)`` on every path, two at a time; print what each took; return the problems found."""

    def timed(path: Path) -> tuple[str | None, float]:
        start = time.perf_counter()
        return run(path), time.perf_counter() - start

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(timed, paths))
    for path, (problem, seconds) in sorted(zip(paths, results, strict=True), key=lambda item: -item[1][1]):
        print(f"{seconds:6.1f} s  {path.parent.name}/{path.name}{'  FAILED' if problem else ''}")
    return [problem for problem, _ in results if problem]


def test_notebooks_are_clean(build):
    src, _, _ = build
    problems = []
    for path in _downloads(src, ".ipynb"):
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
from nbclient.exceptions import CellExecutionError
path, workdir, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
notebook = nbformat.read(path, as_version=4)
try:
    NotebookClient(notebook, timeout=limit, kernel_name="python3", resources={"metadata": {"path": workdir}}).execute()
except CellExecutionError as err:
    print(json.dumps({"error": str(err)}))
    sys.exit(0)
images, text, returned = 0, "", []
for i, cell in enumerate(notebook.cells):
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        images += "image/png" in data
        if output["output_type"] == "stream":
            text += output["text"]
        elif output["output_type"] == "execute_result" and "image/png" not in data:
            returned.append([i, data.get("text/plain", "")])
print(json.dumps({"images": images, "text": text, "returned": returned}))
"""


def test_every_notebook_runs_and_shows_every_figure(build, site, tmp_path):
    src, _, _ = build

    def run(path: Path) -> str | None:
        name = f"{path.parent.name}/{path.name}"
        workdir = tmp_path / path.stem
        workdir.mkdir()
        proc = subprocess.run(
            [sys.executable, "-c", RUN_NOTEBOOK, str(path), str(workdir), str(TIME_LIMIT)],
            cwd=workdir,
            env=_env(site),
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT + 60,
            check=False,
        )
        if proc.returncode != 0:
            return f"{name}: the notebook runner failed (exit {proc.returncode}):\n{_tail(proc.stderr)}"
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if "error" in result:
            return f"{name}: a cell raised:\n{_tail(result['error'])}"
        wanted = _figures_in_book(src, path.parent.name, path.stem)
        print(f"{name}: displays {result['images']} figures, the book shows {wanted}")
        problems = []
        if result["images"] < wanted:
            problems.append(f"displays {result['images']} figures, the book shows {wanted}")
        for cell, text in result["returned"]:
            problems.append(f"cell {cell} displays a stray return value: {text.splitlines()[0][:100]}")
        if found := BARE_KEY.search(result["text"]):
            problems.append(f"prints a bare build key instead of a sentence: {found.group(0)!r}")
        return f"{name}: " + "; ".join(problems) if problems else None

    problems = _in_parallel(run, _downloads(src, ".ipynb"))
    assert not problems, "\n".join(problems)


def test_every_script_runs_standalone_and_saves_its_figures(build, site, tmp_path):
    src, _, _ = build

    def run(script: Path) -> str | None:
        name = f"{script.parent.name}/{script.name}"
        workdir = tmp_path / f"{script.parent.name}-{script.stem}"
        workdir.mkdir()
        shutil.copy2(script, workdir / script.name)  # the downloaded file, alone in its folder
        proc = subprocess.run(
            [sys.executable, script.name],
            cwd=workdir,
            env=_env(site, backend="agg"),
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            check=False,
        )
        if proc.returncode != 0:
            return f"{name}: exit {proc.returncode}:\n{_tail(proc.stderr)}"
        saved = len(list(workdir.glob(f"{script.stem}_*.png")))
        wanted = _figures_in_book(src, script.parent.name, script.stem)
        print(f"{name}: saves {saved} figures, the book shows {wanted}")
        problems = []
        if saved < wanted:
            problems.append(f"saved {saved} figures, the book shows {wanted}")
        if found := BARE_KEY.search(proc.stdout):
            problems.append(f"prints a bare build key instead of a sentence: {found.group(0)!r}")
        claims = [line for line in proc.stdout.splitlines() if line.startswith(("claim: ", "check: "))]
        if unread := [line for line in claims if not re.search(r" -- measured .+, bound .+: (holds|FAILS)$", line)]:
            problems.append(f"prints a claim without its value, bound and verdict: {unread[0]!r}")
        return f"{name}: " + "; ".join(problems) if problems else None

    problems = _in_parallel(run, _downloads(src, ".py"))
    assert not problems, "\n".join(problems)
