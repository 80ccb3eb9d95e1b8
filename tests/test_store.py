"""The result store: validation, ownership and cleaning; duplicate names and failed claims in a build."""

from __future__ import annotations

import json
import os
import time

import pytest
import tinybook

from nnbook.book import store


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "results"


def test_an_unchanged_write_leaves_the_file_and_its_time_alone(folder):
    store.write_json(folder, "ch/x", "value", {"name": "ch/x", "value": 1})
    path = store.path_of(folder, "ch/x", "value.json")
    os.utime(path, (1, 1))
    store.write_json(folder, "ch/x", "value", {"name": "ch/x", "value": 1})
    assert path.stat().st_mtime == 1
    store.write_json(folder, "ch/x", "value", {"name": "ch/x", "value": 2})
    assert path.stat().st_mtime > 1 and store.read_json(folder, "ch/x", "value")["value"] == 2


def test_the_ledger_lists_each_result_a_script_wrote_once(folder, tmp_path, monkeypatch):
    ledger = tmp_path / "plot_x.ledger"
    monkeypatch.setenv(store.LEDGER_ENV, str(ledger))
    store.write_json(folder, "ch/x", "value", {"name": "ch/x", "value": 1})
    store.write_table(folder, "ch/t", "a\n1\n")
    store.write_json(folder, "ch/x", "value", {"name": "ch/x", "value": 2})
    assert store.read_ledger(ledger) == [("value", "ch/x"), ("table", "ch/t")]
    assert store.read_ledger(tmp_path / "none.ledger") == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text(p.read_text()[:20]), "not valid JSON"),
        (lambda p: p.write_text(p.read_text().replace('"value": 1', '"value": 2')), "digest mismatch"),
        (lambda p: p.write_text(json.dumps({"payload": {}})), "fields of a result"),
        (lambda p: p.write_bytes(b"\xff\xfe"), "not valid JSON"),
        (lambda p: p.unlink(), "is missing"),
    ],
)
def test_a_damaged_result_is_named_with_what_is_wrong(folder, damage, message):
    store.write_json(folder, "ch/x", "value", {"name": "ch/x", "value": 1})
    assert store.problem(folder, "ch/x", "value") is None
    damage(store.path_of(folder, "ch/x", "value.json"))
    problem = store.problem(folder, "ch/x", "value")
    assert message in problem and "x.value.json" in problem


def test_a_table_without_its_digest_or_edited_is_not_trusted(folder):
    store.write_table(folder, "ch/t", "a,b\n1,2\n")
    assert store.problem(folder, "ch/t", "table") is None
    path = store.path_of(folder, "ch/t", "csv")
    path.write_text("a,b\n1,3\n")
    assert "digest mismatch" in store.problem(folder, "ch/t", "table")
    store.write_table(folder, "ch/t", "a,b\n1,2\n")
    path.with_name("t.csv.sha256").unlink()
    assert "t.csv" in store.problem(folder, "ch/t", "table")


def test_duplicates_name_every_script_recording_the_same_name():
    owners = {"ch/plot_a.py": [("value", "ch/x")], "ch/plot_b.py": [("claim", "ch/x")], "ch/plot_c.py": []}
    assert store.duplicates(owners) == {"ch/x": ["ch/plot_a.py", "ch/plot_b.py"]}
    assert store.duplicates({"ch/plot_a.py": [("value", "ch/x"), ("claim", "ch/x")]}) == {}


def test_prune_keeps_owned_results_and_removes_the_rest(folder):
    store.write_json(folder, "ch/kept", "value", {"name": "ch/kept", "value": 1})
    store.write_table(folder, "ch/t", "a\n1\n")
    store.write_json(folder, "old/gone", "claim", {"name": "old/gone"})
    stray = folder / "ch" / ".kept.value.json.123.tmp"
    stray.write_text("{")
    removed = store.prune(folder, [("value", "ch/kept"), ("table", "ch/t")])
    assert [p.name for p in removed] == [".kept.value.json.123.tmp", "gone.claim.json"]
    assert sorted(p.name for p in folder.rglob("*")) == ["ch", "kept.value.json", "t.csv", "t.csv.sha256"]


def test_two_scripts_recording_one_name_fail_the_build_naming_both(tmp_path):
    scripts = {"plot_a": "from nnbook import book\nbook.record('ch/x', 1)\n"}
    scripts["plot_b"] = "from nnbook import book\nbook.record('ch/x', 2)\nbook.record('ch/y', 3)\n"
    root = tinybook.make(tmp_path, scripts, "X is :value:`ch/x`.")
    build = tinybook.build(root)
    assert build.returncode != 0
    assert "result 'ch/x' is recorded by more than one script: ch/plot_a.py, ch/plot_b.py" in build.log


def test_a_failed_claim_fails_the_build_and_old_results_of_a_failing_script_are_not_published(tmp_path):
    body = "from nnbook import book\nbook.record('ch/x', 1)\nbook.claim('ch/c', 'one is small', value=1, at_most=2)\n"
    root = tinybook.make(tmp_path, {"plot_a": body}, "X is :value:`ch/x`.")
    assert tinybook.build(root).returncode == 0
    claims = (root / "html" / "claims.html").read_text()
    assert "one is small" in claims
    script = root / "gallery" / "ch" / "plot_a.py"
    script.write_text(script.read_text().replace("at_most=2", "at_most=0.5"))
    time.sleep(0.01)
    build = tinybook.build(root)
    assert build.returncode != 0 and "'ch/c' does not hold" in build.log
    assert build.status("plot_a")[0] == "failed"
    assert store.read_json(tinybook.results(root), "ch/c", "claim")["holds"] is False
    assert "claims that did not hold were recorded: ch/c" in build.log
    script.write_text(script.read_text().replace("book.record('ch/x', 1)", "raise RuntimeError('broken')"))
    build = tinybook.build(root)
    assert build.returncode != 0 and "broken" in build.log
    assert not store.path_of(tinybook.results(root), "ch/x", "value.json").exists()  # not left from an old run
    assert "unknown nnbook value 'ch/x'" in build.log
