"""Re-run exactly what changed, on a small book with its own copy of the nnbook package.

The builds run in order on one book: each test is one step of its history.
Which examples ran is read from a log the scripts append to (independent of
the build's own report), and checked against the report.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import tinybook

ONE = '"""A module of the copied package that plot_a and, through two, plot_b use."""\n\nSCALE = 2.0\n'
TWO = '"""plot_b depends on one through two."""\n\nfrom nnbook._demo_one import SCALE\n\nOFFSET = SCALE + 1\n'
SCRIPTS = {
    "plot_a": """
        from nnbook import book
        from nnbook._demo_one import SCALE

        book.record("ch/a", 1.5 * SCALE)
        book.claim("ch/a_positive", "a is positive", value=1.5 * SCALE, at_least=0)
        """,
    "plot_b": """
        from nnbook import book
        from nnbook._demo_two import OFFSET

        book.record("ch/b", OFFSET, tolerance=0.5)
        book.save_table("ch/t", [{"n": 1, "x": OFFSET}, {"n": 2, "x": 2 * OFFSET}], formats={"x": "{:.2f}"})
        """,
    "plot_c": """
        from nnbook import book

        book.record("ch/c", 7)
        """,
}
BODY = "A is :value:`ch/a`, B is :value:`ch/b`, C is :value:`ch/c`.\n\n.. results-table:: ch/t\n"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tinybook.make(tmp_path_factory.mktemp("rerun"), SCRIPTS, BODY, package=True)
    (root / "nnbook" / "_demo_one.py").write_text(ONE)
    (root / "nnbook" / "_demo_two.py").write_text(TWO)
    return root


def _pages_read(log: str) -> list[str]:
    return re.findall(r"reading sources\.\.\. \[\s*\d+%\] (\S+)", log)


def _html(root: Path) -> str:
    return (root / "html" / "index.html").read_text()


def test_a_clean_build_runs_every_example_and_records_what_each_imported(book):
    build = tinybook.build(book)
    assert build.returncode == 0, build.log
    assert build.executed == ["plot_a", "plot_b", "plot_c"]
    assert all(build.status(s) == ("ran", ["first run"]) for s in ("plot_a", "plot_b", "plot_c"))
    records = {s: json.loads((book / "docs/auto_gallery/ch" / f"{s}.run.json").read_text()) for s in SCRIPTS}
    assert "nnbook._demo_one" in records["plot_a"]["modules"] and "nnbook._demo_two" not in records["plot_a"]["modules"]
    assert {"nnbook._demo_one", "nnbook._demo_two"} <= set(records["plot_b"]["modules"])  # transitively
    assert not any(m.startswith("nnbook._demo") for m in records["plot_c"]["modules"])
    assert records["plot_b"]["results"] == [["value", "ch/b"], ["table", "ch/t"]]
    assert "The configuration has changed" not in build.log
    assert '<span class="nnbook-value">3</span>' in _html(book)


def test_a_rebuild_without_changes_executes_nothing_and_keeps_the_configuration(book):
    build = tinybook.build(book)
    assert build.returncode == 0, build.log
    assert build.executed == []
    assert [build.status(s)[0] for s in SCRIPTS] == ["reused"] * 3
    assert build.report["changes"] == []
    assert "The configuration has changed" not in build.log
    assert _pages_read(build.log) == ["report"]  # the report differs from the last build's: everything was reused
    again = tinybook.build(book)
    assert again.returncode == 0 and again.executed == [], again.log
    assert _pages_read(again.log) == [] and "writing output... [" not in again.log  # nothing read, nothing written


def test_a_module_change_reruns_exactly_the_examples_that_import_it_and_strict_mode_flags_moves(book):
    two = book / "nnbook" / "_demo_two.py"
    two.write_text(two.read_text().replace("SCALE + 1", "SCALE + 2"))
    index = book / "docs" / "index.rst"
    index.write_text(index.read_text().replace("A is", "Now A is"))  # a prose change runs nothing by itself
    build = tinybook.build(book, "-D", "nnbook_strict=1")
    assert build.executed == ["plot_b"]
    assert build.status("plot_b") == ("ran", ["nnbook._demo_two changed"])
    changed = {(c["name"], c["where"]): (c["old"], c["new"]) for c in build.report["changes"]}
    assert changed[("ch/b", "")] == ("3", "4")
    assert changed[("ch/t", "row 1, column 'x'")] == ("3.00", "4.00")
    assert "Now A is" in _html(book)
    # Strict mode: the value moved 33%, within the tolerance of 0.5 it declares; the table's cells declare none.
    assert build.returncode != 0
    assert "strict: ch/t [row 1, column 'x']: 3.00 -> 4.00, 33.3%" in build.log
    assert "strict: ch/b" not in build.log


def test_a_change_deep_in_the_imports_reruns_every_example_above_it(book):
    one = book / "nnbook" / "_demo_one.py"
    one.write_text(one.read_text().replace("SCALE = 2.0", "SCALE = 4.0"))
    build = tinybook.build(book)
    assert build.returncode == 0, build.log
    assert build.executed == ["plot_a", "plot_b"]
    assert build.status("plot_b") == ("ran", ["nnbook._demo_one changed"])
    change = next(c for c in build.report["changes"] if c["name"] == "ch/a")
    assert (change["old"], change["new"], change["relative"], change["script"]) == ("3", "6", 1.0, "ch/plot_a.py")


def test_corrupt_or_edited_results_rerun_the_script_that_wrote_them(book):
    folder = tinybook.results(book)
    table = folder / "ch" / "t.csv"
    table.write_text(table.read_text()[:-3])  # truncated
    value = folder / "ch" / "c.value.json"
    record = json.loads(value.read_text())
    record["payload"]["value"] = 8  # edited by hand: the digest no longer matches
    value.write_text(json.dumps(record))
    build = tinybook.build(book)
    assert build.returncode == 0, build.log
    assert build.executed == ["plot_b", "plot_c"]
    assert "digest mismatch" in build.status("plot_c")[1][0] and "c.value.json" in build.status("plot_c")[1][0]
    assert json.loads(value.read_text())["payload"]["value"] == 7
    assert '<span class="nnbook-value">7</span>' in _html(book)


def test_results_of_removed_scripts_and_renamed_names_disappear(book):
    (book / "gallery" / "ch" / "plot_c.py").unlink()
    script = book / "gallery" / "ch" / "plot_a.py"
    script.write_text(script.read_text().replace('"ch/a_positive"', '"ch/a_nonnegative"'))
    index = book / "docs" / "index.rst"
    index.write_text(index.read_text().replace(", C is :value:`ch/c`", ""))
    build = tinybook.build(book)
    assert build.returncode == 0, build.log
    assert build.executed == ["plot_a"] and build.status("plot_a") == ("ran", ["script changed"])
    folder, gallery = tinybook.results(book), book / "docs" / "auto_gallery" / "ch"
    assert not (folder / "ch" / "c.value.json").exists() and not (folder / "ch" / "a_positive.claim.json").exists()
    assert (folder / "ch" / "a_nonnegative.claim.json").is_file()
    assert not list(gallery.glob("plot_c.*")) and build.report["removed_examples"] == ["ch/plot_c.py"]
    assert "a_positive" not in (book / "html" / "claims.html").read_text()


def test_a_killed_parallel_build_leaves_no_workers_and_the_next_build_is_complete(tmp_path):
    slow = """
        import time
        from pathlib import Path

        from nnbook import book

        Path(os.environ["MARKS"], str(os.getpid())).write_text("started")
        time.sleep(float(os.environ.get("PAUSE", "0")))
        book.record("ch/{0}", {1})
        book.claim("ch/{0}_small", "it is small", value={1}, at_most=1)
        """
    scripts = {f"plot_{k}": slow.format(k, i) for i, k in enumerate("xy")}
    root = tinybook.make(tmp_path, scripts, "X is :value:`ch/x`, Y is :value:`ch/y`.", parallel=2)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = tinybook.environ(root, MARKS=str(marks), PAUSE="120")
    proc = subprocess.Popen(tinybook.command(), cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while len(list(marks.iterdir())) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(p.name) for p in marks.iterdir()]
        assert len(workers) == 2 and proc.pid not in workers, "both examples must be running in worker processes"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "worker processes outlived the killed build"
    (root / "runs.log").unlink()  # the killed build's examples had started
    build = tinybook.build(root, MARKS=str(marks), PAUSE="0")
    assert build.returncode == 0, build.log
    assert build.executed == ["plot_x", "plot_y"]
    assert {build.status(s)[1][0] for s in scripts} == {"first run"}
    assert '<span class="nnbook-value">1</span>' in (root / "html" / "index.html").read_text()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, waiting for its new parent to reap it, has stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in {"Z", "X"}


def test_api_pages_of_objects_that_no_longer_exist_are_removed(tmp_path):
    from types import SimpleNamespace

    from nnbook.book import build

    folder = tmp_path / "generated"
    folder.mkdir()
    names = ("nnbook.rff.rst", "nnbook.rff.fit_min_norm.rst", "nnbook.rff.gone.rst", "nnbook.no_such_module.rst")
    for name in names:
        (folder / name).write_text("page\n")
    # importable from frontpage, but defined (and documented) in build; a module page listing a member that is gone
    (folder / "nnbook.book.frontpage.git_commit.rst").write_text("page\n")
    (folder / "nnbook.book.rst").write_text(".. autosummary::\n   :recursive:\n\n   build\n   stamps\n   gone\n")
    (folder / "nnbook.rff.rst").write_text(".. autosummary::\n\n   fit_min_norm\n")  # a module page, members exist
    (folder / "nnbook.gradcheck.rst").write_text(".. autosummary::\n\n   relative_error\n   gone_function\n")
    config = SimpleNamespace(nnbook_api_generated_dirs=["generated"], templates_path=[], autosummary_generate=True)
    app = SimpleNamespace(srcdir=tmp_path, config=config, env=SimpleNamespace())
    build.api_pages(app)
    kept = ["nnbook.rff.fit_min_norm.rst", "nnbook.rff.rst"]  # gradcheck's page lists a function that is gone
    assert sorted(p.name for p in folder.iterdir()) == kept and config.autosummary_generate
    build.remember_api_digest(app, app.env)
    build.api_pages(app)  # nothing changed since: autosummary is told not to regenerate the pages
    assert config.autosummary_generate is False
    config.autosummary_generate = True
    (folder / "nnbook.rff.gone.rst").write_text("page\n")  # the pages changed: regenerated, the stale one removed
    build.api_pages(app)
    assert sorted(p.name for p in folder.iterdir()) == kept and config.autosummary_generate
