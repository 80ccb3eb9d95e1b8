"""Sharded builds: two shards of a small book, merged, equal a one-machine build and execute nothing more."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import tinybook

from nnbook.book import report, rerun, shards

SCRIPTS = {
    f"plot_{k}": f"""
        import numpy as np
        from nnbook import book

        x = float(np.random.default_rng({i}).normal())
        book.record("ch/{k}", x, fmt="{{:.6f}}")
        book.save_table("ch/t_{k}", [{{"i": {i}, "x": x}}], formats={{"x": "{{:.4f}}"}})
        book.check("ch/{k}_finite", "x is finite", value=abs(x), at_most=1e9)
        print("computed", x)
        """
    for i, k in enumerate("abc")
}
BODY = "A :value:`ch/a`, B :value:`ch/b`, C :value:`ch/c`.\n\n.. results-table:: ch/t_c\n"


def test_parse_accepts_i_of_n_only():
    assert shards.parse(" 1 / 4 ") == (1, 4)
    for bad in ("0/2", "3/2", "1", "a/b", "1/300"):
        with pytest.raises(ValueError, match="i/n"):
            shards.parse(bad)


def test_assign_is_a_partition_that_does_not_depend_on_input_order():
    names = [f"ch{k % 3}/plot_{k}.py" for k in range(10)]
    parts = shards.assign(names, 3)
    assert sorted(n for s in parts for n in s) == sorted(names) and shards.assign(reversed(names), 3) == parts
    assert [len(s) for s in parts] == [4, 3, 3]
    seconds = {name: float(k) for k, name in enumerate(names)}
    balanced = shards.assign(names, 3, seconds)
    loads = [sum(seconds[n] for n in s) for s in balanced]
    assert max(loads) - min(loads) <= max(seconds.values())


def test_the_pattern_matches_exactly_the_shards_scripts(tmp_path):
    chosen = [rerun.Example("ch/plot_a.py", tmp_path / "ch/plot_a.py", tmp_path / "out/ch/plot_a.py")]
    regex = shards.pattern(chosen)
    assert re.search(regex, str(tmp_path / "gallery/ch/plot_a.py"))
    assert not re.search(regex, str(tmp_path / "gallery/ch/plot_ab.py"))
    assert not re.search(shards.pattern([]), "anything/plot_a.py")


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    base = tinybook.make(tmp_path_factory.mktemp("shards") / "base", SCRIPTS, BODY)
    copies = {}
    for name in ("one", "s1", "s2", "merged"):
        copies[name] = base.parent / name
        shutil.copytree(base, copies[name])
    return copies


def test_two_shards_merged_equal_a_one_machine_build(books):
    one = tinybook.build(books["one"])
    assert one.returncode == 0, one.log
    assert one.executed == ["plot_a", "plot_b", "plot_c"]
    executed = []
    for i, name in enumerate(("s1", "s2"), start=1):
        part = tinybook.build(books[name], "-D", f"nnbook_shard={i}/2", builder="dummy", out="shard")
        assert part.returncode == 0, part.log
        assert re.findall(r"reading sources\.\.\. \[\s*\d+%\] (\S+)", part.log) == ["index"]  # no chapter read
        assert part.report["counts"]["ran"] == len(part.executed)
        executed += part.executed
    assert sorted(executed) == ["plot_a", "plot_b", "plot_c"]  # a partition: each example ran on one machine
    gallery = books["merged"] / "docs" / "auto_gallery"
    merged_names = shards.merge([books[s] / "docs" / "auto_gallery" for s in ("s1", "s2")], gallery)
    assert merged_names == ["ch/plot_a.py", "ch/plot_b.py", "ch/plot_c.py"]
    merged = tinybook.build(books["merged"], "-D", "nnbook_no_execution=1")
    assert merged.returncode == 0, merged.log
    assert merged.executed == [] and merged.report["counts"] == {"ran": 0, "reused": 3, "failed": 0, "not run": 0}
    assert report.diff(report.snapshot(tinybook.results(books["one"])), report.snapshot(gallery / "_results")) == []
    for page in ("index.html", "auto_gallery/ch/plot_a.html", "auto_gallery/ch/plot_c.html"):
        html = [(books[b] / "html" / page).read_text() for b in ("one", "merged")]
        assert _values(html[0]) == _values(html[1])
        if "plot_" in page:
            assert "computed" in html[1] and "sphx-glr-script-out" in html[1]


def test_a_merge_refuses_an_example_executed_twice_and_a_shard_without_examples(tmp_path):
    with pytest.raises(ValueError, match=r"ch/plot_a\.py was executed by two shards"):
        shards.merge([_fake_shard(), _fake_shard()], tmp_path / "into")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no executed example"):
        shards.merge([tmp_path / "empty"], tmp_path / "into2")
    assert shards.merge([_fake_shard()], tmp_path / "into3") == ["ch/plot_a.py"]
    assert sorted(p.name for p in (tmp_path / "into3" / "ch").iterdir()) == [
        "plot_a.py",
        "plot_a.py.md5",
        "plot_a.rst",
        "plot_a.run.json",
    ]


def test_a_merged_build_fails_rather_than_execute_a_missing_shard(books, tmp_path):
    root = tmp_path / "half"
    shutil.copytree(books["one"].parent / "base", root)
    shards.merge([books["s1"] / "docs" / "auto_gallery"], root / "docs" / "auto_gallery")
    build = tinybook.build(root, "-D", "nnbook_no_execution=1")
    assert build.returncode != 0 and build.executed == []
    assert "nnbook_no_execution is set but these examples would run" in build.log


def _fake_shard() -> str:
    """A shard's gallery folder holding one executed example, for the catalogue of bad inputs."""
    folder = Path(tempfile.mkdtemp()) / "auto_gallery"
    (folder / "ch").mkdir(parents=True)
    for suffix, text in ((".py", "x = 1\n"), (".py.md5", "0" * 32), (".rst", "Page\n====\n")):
        (folder / "ch" / f"plot_a{suffix}").write_text(text)
    record = {"example": "ch/plot_a.py", "status": "ok", "results": [], "seconds": 1.0}
    (folder / "ch" / "plot_a.run.json").write_text(json.dumps(record))
    return str(folder)


VALID_CALLS = {
    "parse": lambda: {"spec": "1/2"},
    "assign": lambda: {"names": ["ch/plot_a.py", "ch/plot_b.py"], "count": 2},
    "pattern": lambda: {"examples": []},
    "durations": lambda: {"gallery": _fake_shard()},
    "merge": lambda: {"shards": [_fake_shard()], "into": tempfile.mkdtemp()},
    "main": lambda: {"argv": ["durations", _fake_shard()]},
}


def _values(html: str) -> list[str]:
    return re.findall(r'class="nnbook-value">([^<]*)<', html) + re.findall(r"<td>(?:<p>)?([^<]*)", html)
