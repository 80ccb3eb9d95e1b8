"""Sessions that build, test and check nnbook: ``nox -s docs``, ``nox -s tests``, ``nox -s lint`` and more."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "virtualenv"  # not uv: it would ignore the local CPU build of torch
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
# The full book build: warnings are errors, every problem is reported, broken references are warnings.
SPHINX_ARGS = ["-W", "--keep-going", "-n", "-b", "html"]
HTML = "docs/_build/html"
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def install(session: nox.Session, *extras: str) -> None:
    """Install nnbook (editable) with ``extras``, pinned by constraints.txt; skipped when nothing changed."""
    spec = f".[{','.join(extras)}]" if extras else "."
    digest = hashlib.sha256(spec.encode())
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    stamp = Path(session.virtualenv.location, ".nnbook-installed")
    if stamp.is_file() and stamp.read_text() == digest.hexdigest():
        session.log("environment up to date, skipping install")
        return
    session.install("-c", "constraints.txt", "-e", spec)
    stamp.write_text(digest.hexdigest())


@nox.session
def docs(session: nox.Session) -> None:
    """Build the whole book, running every gallery script, into docs/_build/html."""
    install(session, "docs")
    session.run("sphinx-build", *SPHINX_ARGS, "docs", HTML, *session.posargs, env=THREAD_ENV)
    session.log(f"book written to {HTML}/index.html")


@nox.session
def docs_noplot(session: nox.Session) -> None:
    """Build the book without running the gallery (fast, for prose work); numbers show as placeholders."""
    install(session, "docs")
    session.run(
        "sphinx-build",
        "--keep-going",
        "-b",
        "html",
        "-D",
        "plot_gallery=0",
        "docs",
        "docs/_build/html-noplot",
        *session.posargs,
    )


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests, doctests of nnbook/, and the test that builds the whole book and checks it."""
    install(session, "docs", "tests")
    session.run("pytest", *session.posargs, env=THREAD_ENV)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("-c", "constraints.txt", "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Time the book's implementations against naive references and print the speed-ups.

    Both sides run with one BLAS/OpenMP thread, as the book's examples do during a build.
    """
    install(session, "tests")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", "-m", f"benchmarks.{script.stem}", env=THREAD_ENV)


@nox.session
def serve(session: nox.Session) -> None:
    """Rebuild the book on every change and serve it on http://127.0.0.1:8000."""
    install(session, "docs")
    session.install("-c", "constraints.txt", "sphinx-autobuild")
    session.run(
        "sphinx-autobuild",
        *SPHINX_ARGS,
        "--watch",
        "nnbook",
        "--watch",
        "gallery",
        "docs",
        HTML,
        *session.posargs,
        env=THREAD_ENV,
    )


@nox.session(venv_backend="none")
def clean(session: nox.Session) -> None:
    """Remove the built book and everything the gallery generated."""
    for path in (
        "docs/_build",
        "docs/auto_gallery",
        "docs/generated",
        "docs/backreferences",
        "docs/sg_execution_times.rst",
        "docs/sg_api_usage.rst",
    ):
        target = ROOT / path
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
