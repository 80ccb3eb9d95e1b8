"""What changed between builds: snapshots of the store, the diff, tolerances, the command line."""

from __future__ import annotations

import json
import math

import pytest

from nnbook import book
from nnbook.book import report


@pytest.fixture
def results(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    monkeypatch.setenv(book.RESULTS_ENV, str(folder))
    return folder


def _snap(**values):
    return {"value": {k: {"value": v, "text": f"{v:g}", "tolerance": None} for k, v in values.items()}}


def test_snapshot_holds_values_claims_and_table_cells(results):
    book.record("ch/x", 0.25, tolerance=0.1)
    book.claim("ch/c", "x is small", value=0.25, at_most=1)
    book.save_table("ch/t", [{"k": 1, "v": 0.5}])
    snap = report.snapshot(results)
    assert snap["value"]["ch/x"] == {"value": 0.25, "text": "0.25", "tolerance": 0.1}
    assert snap["claim"]["ch/c"] == {"value": 0.25, "text": "0.25", "tolerance": None, "holds": True}
    assert snap["table"]["ch/t"] == {"header": ["k", "v"], "rows": [["1", "0.5"]], "tolerances": {}}


def test_a_damaged_file_is_left_out_of_the_snapshot(results):
    book.record("ch/x", 1)
    path = book.result_path(results, "ch/x", "value.json")
    path.write_text(path.read_text()[:10])
    assert report.snapshot(results)["value"] == {}


def test_diff_gives_old_new_and_the_relative_change():
    (change,) = report.diff(_snap(x=2.0, y=1.0), _snap(x=2.5, y=1.0))
    assert (change.name, change.old, change.new, change.relative, change.exceeds) == ("x", "2", "2.5", 0.25, True)


def test_a_change_within_the_declared_tolerance_does_not_exceed_it():
    old, new = _snap(x=100.0), _snap(x=104.0)
    new["value"]["x"]["tolerance"] = 0.05
    (change,) = report.diff(old, new)
    assert change.relative == pytest.approx(0.04) and change.tolerance == 0.05 and not change.exceeds
    new["value"]["x"]["value"] = 106.0
    assert report.diff(old, new)[0].exceeds


def test_round_off_under_the_same_published_text_does_not_exceed():
    old, new = _snap(x=2.4400001), _snap(x=2.4400003)
    new["value"]["x"]["text"] = old["value"]["x"]["text"] = "2.44"
    (change,) = report.diff(old, new)
    assert change.relative < report.ROUND_OFF and not change.exceeds
    new["value"]["x"]["text"] = "2.45"  # the published number moved: exceeds
    assert report.diff(old, new)[0].exceeds
    new["value"]["x"].update(value=2.45, text="2.44")  # a real change hidden by the rounding of the text: exceeds
    assert report.diff(old, new)[0].exceeds


def test_new_removed_and_zero_based_changes_always_exceed():
    changes = report.diff(_snap(gone=1.0, zero=0.0), _snap(zero=1.0, added=2.0))
    by_name = {c.name: c for c in changes}
    assert by_name["added"].old is None and by_name["gone"].new is None
    assert math.isinf(by_name["zero"].relative)
    assert all(c.exceeds for c in changes)


def test_table_changes_are_listed_cell_by_cell():
    old = {"table": {"t": {"header": ["n", "err"], "rows": [["1", "0.50"], ["2", "0.25"]]}}}
    new = {"table": {"t": {"header": ["n", "err"], "rows": [["1", "0.50"], ["2", "0.20"], ["3", "0.1"]]}}}
    changes = report.diff(old, new)
    assert [(c.where, c.old, c.new) for c in changes] == [
        ("row 2, column 'err'", "0.25", "0.20"),
        ("row 3", None, "3, 0.1"),
    ]
    assert changes[0].relative == pytest.approx(0.2)


def test_a_table_column_may_declare_a_tolerance_and_it_is_part_of_the_digest(results):
    def save(k, seconds):
        book.save_table("ch/t", [{"k": k, "s / epoch": seconds}], formats={"s / epoch": "{:.2f}"}, tolerances=timed)

    timed = {"s / epoch": 0.5}
    save(1, 2.0)
    old = report.snapshot(results)
    save(1, 2.5)
    (change,) = report.diff(old, report.snapshot(results))
    assert (change.where, change.tolerance, change.exceeds) == ("row 1, column 's / epoch'", 0.5, False)
    save(2, 2.5)
    assert [c.exceeds for c in report.diff(old, report.snapshot(results))] == [True, False]  # k declares none
    extra = book.result_path(results, "ch/t", "csv").with_name("t.csv.tolerances.json")
    extra.write_text('{"k": 10.0, "s / epoch": 10.0}')  # loosened by hand: the table is no longer trusted
    with pytest.raises(book.store.CorruptResult, match="digest"):
        book.store.read_table(results, "ch/t")
    with pytest.raises(ValueError, match="tolerances names unknown columns"):
        book.save_table("ch/t", [{"k": 1}], tolerances={"x": 0.1})


def test_compare_command_lists_changes_and_is_strict_on_request(results, tmp_path, capsys):
    book.record("ch/x", 1.0)
    expected = tmp_path / "expected.json"
    assert report.main(["snapshot", str(results), "-o", str(expected)]) == 0
    assert report.main(["compare", str(expected), str(results), "--strict"]) == 0
    book.record("ch/x", 1.5)
    out = tmp_path / "changes.json"
    assert report.main(["compare", str(expected), str(results), "--json", str(out)]) == 0
    assert report.main(["compare", str(expected), str(results), "--strict"]) == 1
    assert "ch/x: 1 -> 1.5, 50% EXCEEDS" in capsys.readouterr().out
    assert json.loads(out.read_text())[0]["new"] == "1.5"


@pytest.mark.parametrize("tolerance", [-0.1, math.nan, "5%", True])
def test_a_bad_tolerance_is_refused(results, tolerance):
    with pytest.raises((TypeError, ValueError), match="tolerance"):
        book.record("ch/x", 1.0, tolerance=tolerance)


VALID_CALLS = {
    "snapshot": lambda: {"folder": "."},
    "diff": lambda: {"old": {}, "new": {}},
    "format_change": lambda: {"change": report.Change("ch/x", "value", "", "1", "2", 1.0, None, True)},
    "main": lambda: {"argv": ["snapshot", "."]},
}
