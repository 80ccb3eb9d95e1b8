"""nnbook.book: what scripts record, inside and outside a docs build."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnbook import book


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv(book.RESULTS_ENV, str(tmp_path))
    return tmp_path


def test_outside_a_build_results_are_printed_only(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(book.RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    value = book.record("chapter/x", np.float64(0.123456), fmt="{:.2f}")
    assert value.text == "0.12" and value.value == pytest.approx(0.123456)
    assert "chapter/x = 0.12" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_record_writes_json_with_source(results):
    book.record("chapter/count", np.int64(42), fmt="{:d}")
    stored = json.loads((results / "chapter" / "count.value.json").read_text())
    assert stored["value"] == 42 and stored["text"] == "42"
    assert stored["source"] == "tests/test_book.py"
    assert book.load(results, "chapter/count", "value")["text"] == "42"
    assert book.load(results, "chapter/missing", "value") is None


def test_true_claim_is_recorded(results):
    claim = book.claim("chapter/c", "one is less than two", 1 < 2, 1.0)
    assert claim.holds and claim.value_text == "1"
    assert [c["name"] for c in book.all_claims(results)] == ["chapter/c"]


def test_false_claim_raises_with_name_and_value(results):
    with pytest.raises(book.ClaimError, match=r"'chapter/bad'.*two is less than one.*measured 2\.5"):
        book.claim("chapter/bad", "two is less than one", np.bool_(False), 2.5)
    assert book.load(results, "chapter/bad", "claim")["holds"] is False


def test_save_table_writes_formatted_csv(results, capsys):
    rows = book.save_table("chapter/t", [{"a": 1, "b": 0.5}, {"a": 2, "b": 0.25}], formats={"b": "{:.1%}"})
    assert rows == [{"a": "1", "b": "50.0%"}, {"a": "2", "b": "25.0%"}]
    text = (results / "chapter" / "t.csv").read_text().splitlines()
    assert text == ["a,b", "1,50.0%", "2,25.0%"]
    assert "50.0%" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["nochapter", "Chapter/x", "chapter/", "chapter/x y", "../x/y"])
def test_bad_names(name):
    with pytest.raises(ValueError, match="name"):
        book.record(name, 1.0)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="name"):
        book.record(3, 1.0)
    with pytest.raises(TypeError, match="value"):
        book.record("c/x", "1.0")
    with pytest.raises(TypeError, match="value"):
        book.record("c/x", True)
    with pytest.raises(ValueError, match="value"):
        book.record("c/x", float("nan"))
    with pytest.raises(ValueError, match="fmt"):
        book.record("c/x", 1.5, fmt="{:d}")
    with pytest.raises(TypeError, match="holds"):
        book.claim("c/x", "text", 1, 1.0)
    with pytest.raises(TypeError, match="text"):
        book.claim("c/x", "  ", True, 1.0)
    with pytest.raises(ValueError, match="rows"):
        book.save_table("c/t", [])
    with pytest.raises(ValueError, match=r"rows\[1\]"):
        book.save_table("c/t", [{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="formats"):
        book.save_table("c/t", [{"a": 1}], formats={"z": "{}"})
