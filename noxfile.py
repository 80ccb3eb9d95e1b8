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
# What a build generates inside docs/ (removed by the clean session, left out of clean copies).
GENERATED = ("_build", "auto_gallery", "generated", "backreferences", "sg_execution_times.rst", "sg_api_usage.rst")


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


def _shard_args(posargs: list[str]) -> tuple[str | None, list[str]]:
    """Split ``--shard i/n`` (or ``--shard=i/n``) off the arguments for sphinx-build."""
    shard, rest, args = None, [], iter(posargs)
    for arg in args:
        if arg == "--shard":
            shard = next(args, "")
        elif arg.startswith("--shard="):
            shard = arg.partition("=")[2]
        else:
            rest.append(arg)
    return shard, rest


@nox.session
def docs(session: nox.Session) -> None:
    """Build the whole book, running the gallery scripts that changed, into docs/_build/html.

    ``nox -s docs -- --shard i/n`` executes only shard i of n of the examples (one job of a CI matrix) and reads
    no chapter; its docs/auto_gallery folder is what ``docs_merge`` assembles into the site.
    """
    install(session, "docs")
    shard, args = _shard_args(session.posargs)
    if shard is None:
        session.run("sphinx-build", *SPHINX_ARGS, "docs", HTML, *args, env=THREAD_ENV)
        session.log(f"book written to {HTML}/index.html; what ran and what changed: {HTML}/build-report.html")
        return
    out = f"docs/_build/shard-{shard.replace('/', '-of-')}"
    session.run("sphinx-build", "--keep-going", "-b", "dummy", "-D", f"nnbook_shard={shard}", "docs", out, *args,
                env=THREAD_ENV)  # fmt: skip
    session.log(f"shard {shard} done: keep docs/auto_gallery as this shard's artifact for docs_merge")


@nox.session
def docs_merge(session: nox.Session) -> None:
    """Assemble the shards' gallery folders (the arguments) into docs/auto_gallery and build the site from them.

    The build executes nothing: it fails if any example would have to run (a shard missing, or a change since
    the shards ran). Example: ``nox -s docs_merge -- shards/1/auto_gallery shards/2/auto_gallery``.
    """
    if not session.posargs:
        session.error("give the shards' gallery folders: nox -s docs_merge -- DIR1 DIR2 ...")
    install(session, "docs")
    session.run("python", "-m", "nnbook.book.shards", "merge", *session.posargs, "--into", "docs/auto_gallery")
    session.run("sphinx-build", *SPHINX_ARGS, "-D", "nnbook_no_execution=1", "docs", HTML, env=THREAD_ENV)
    session.log(f"book written to {HTML}/index.html")


@nox.session
def compare_builds(session: nox.Session) -> None:
    """Build the book twice from clean copies and fail unless every recorded value and table cell is identical.

    Arguments go to the comparison (``-- --json changes.json``); a value's declared tolerance is honoured.
    """
    install(session, "docs")
    work = Path(session.create_tmp()).resolve()
    for name in ("a", "b"):
        copy = work / name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(ROOT / "docs", copy / "docs", ignore=shutil.ignore_patterns(*GENERATED))
        shutil.copytree(ROOT / "gallery", copy / "gallery", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(ROOT / "constraints.txt", copy / "constraints.txt")
        session.run("sphinx-build", *SPHINX_ARGS, str(copy / "docs"), str(copy / "html"), env=THREAD_ENV)
    results = [str(work / name / "docs" / "auto_gallery" / "_results") for name in ("a", "b")]
    session.run("python", "-m", "nnbook.book.report", "compare", *results, "--strict", *session.posargs)


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
    """Time the book's implementations against naive references, beside the machine's measured peaks.

    One process runs every benchmarks/bench_*.py (see benchmarks/run.py), with one BLAS/OpenMP thread as the
    book's examples have during a build, and writes the results to docs/_build/benchmarks.json as well.
    Arguments go to the runner: ``nox -s bench -- rff`` runs the benchmarks whose module name contains "rff".
    """
    install(session, "tests")
    session.run("python", "-m", "benchmarks.run", "--json", "docs/_build/benchmarks.json", *session.posargs,
                env=THREAD_ENV)  # fmt: skip


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


# Modules whose mutants `nox -s mutate` tries by default: the concept modules with closed-form oracles.
MUTATE = ["nnbook/sgd.py", "nnbook/boxes.py", "nnbook/sawtooth.py", "nnbook/rff.py", "nnbook/gradients.py"]


def mutmut_config(targets: list[str]) -> str:
    """The ``[mutmut]`` section of setup.cfg that mutates ``targets`` and runs only the unit tests about them.

    The whole package is copied (so that the mutated modules import their neighbours) but only ``targets`` are
    mutated. The tests run are each target's ``tests/test_<module>.py``, the bad-input test of every public
    callable and the target's doctests: never the tests that build the book, which would take hours per mutant.
    """
    tests = []
    for target in targets:
        path = Path(target)
        if path.parent != Path("nnbook") or path.suffix != ".py" or not (ROOT / path).is_file():
            raise ValueError(f"mutate takes modules of the form nnbook/<module>.py, got {target!r}")
        own = Path("tests", f"test_{path.stem}.py")
        tests += [str(own)] if (ROOT / own).is_file() else []
    tests += ["tests/test_bad_inputs.py", *targets]
    lines = ["[mutmut]", "source_paths = nnbook/", "only_mutate =", *(f"    {t}" for t in targets)]
    lines += ["pytest_add_cli_args_test_selection =", *(f"    {t}" for t in tests)]
    lines += ["pytest_add_cli_args = -p no:cacheprovider", ""]
    return "\n".join(lines)


@nox.session
def mutate(session: nox.Session) -> None:
    """Mutation testing with mutmut, outside CI: ``nox -s mutate -- nnbook/sgd.py`` (default: MUTATE).

    mutmut changes one operator, constant or name at a time in the chosen modules and runs the unit tests
    and doctests about them against each mutant; a mutant that no test notices ("survived") is a gap in the
    tests. Other arguments go to ``mutmut run`` (``-- nnbook/rff.py --max-children 2``). The mutants and their
    results stay in mutants/ between runs of the same modules, so a second run only tries what changed;
    ``mutmut results`` lists the survivors and ``mutmut show NAME`` shows one.
    """
    install(session, "tests")
    session.install("-c", "constraints.txt", "mutmut")
    targets = [arg for arg in session.posargs if arg.endswith(".py")] or MUTATE
    options = [arg for arg in session.posargs if not arg.endswith(".py")]
    config = mutmut_config(targets)
    stamp = ROOT / "mutants" / ".nnbook-mutmut.cfg"
    if stamp.is_file() and stamp.read_text() != config:
        shutil.rmtree(ROOT / "mutants")  # other modules or tests than last time: start afresh
    (ROOT / "setup.cfg").write_text(config)
    try:
        session.run("mutmut", "run", *options, env=THREAD_ENV, success_codes=[0, 1, 2])
        stamp.write_text(config)
        session.run("mutmut", "results")
    finally:
        (ROOT / "setup.cfg").unlink(missing_ok=True)


@nox.session(venv_backend="none")
def clean(session: nox.Session) -> None:
    """Remove the built book and everything the gallery generated."""
    for path in GENERATED:
        target = ROOT / "docs" / path
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
