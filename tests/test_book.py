"""nnbook.book: what scripts record, inside and outside a docs build."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nnbook import book

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
VALID_CALLS = {
    "record": lambda: {"name": "demo/x", "value": 1.0},
    "claim": lambda: {"name": "demo/c", "text": "a claim", "value": 1.0, "at_least": -1e301},
    "check": lambda: {"name": "demo/c", "text": "a check", "value": 1.0, "at_least": -1e301},
    "save_table": lambda: {"name": "demo/t", "rows": [{"a": 1}]},
    "load": lambda: {"folder": Path("."), "name": "demo/x", "kind": "value"},
    "result_path": lambda: {"folder": Path("."), "name": "demo/x", "kind": "value.json"},
    "all_claims": lambda: {"folder": Path(".")},
}


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv(book.RESULTS_ENV, str(tmp_path))
    return tmp_path


def test_outside_a_build_results_are_printed_only(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(book.RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    value = book.record("chapter/x", np.float64(0.123456), fmt="{:.2f}")
    assert value.text == "0.12" and value.value == pytest.approx(0.123456)
    printed = capsys.readouterr().out
    assert "x: 0.12" in printed and "chapter/x" not in printed  # the key's words, not the build key
    assert list(tmp_path.iterdir()) == []


def test_record_writes_json_with_source(results):
    book.record("chapter/count", np.int64(42), fmt="{:d}")
    stored = json.loads((results / "chapter" / "count.value.json").read_text())["payload"]
    assert stored["value"] == 42 and stored["text"] == "42"
    assert stored["source"] == "tests/test_book.py"
    assert book.load(results, "chapter/count", "value")["text"] == "42"
    assert book.load(results, "chapter/missing", "value") is None


def test_true_claim_is_recorded_with_its_bound(results):
    claim = book.claim("chapter/c", "one is less than two", value=1.0, at_most=2)
    assert claim.holds and claim.value_text == "1" and claim.bound == "<= 2" and not claim.check
    assert [c["name"] for c in book.all_claims(results)] == ["chapter/c"]
    assert book.load(results, "chapter/c", "claim")["bound"] == "<= 2"


@pytest.mark.parametrize(
    ("bound", "value", "holds"),
    [
        ({"at_least": 2}, 2, True),
        ({"at_least": 2}, 1.999, False),
        ({"at_most": 2}, 2.001, False),
        ({"between": (1, 3)}, 1, True),
        ({"between": (1, 3)}, 3, True),
        ({"between": (1, 3)}, 3.5, False),
        ({"between": (1, 3)}, 0.5, False),
    ],
)
def test_bounds_decide(bound, value, holds, results):
    if holds:
        assert book.claim("chapter/b", "bounded", value=value, **bound).holds
    else:
        with pytest.raises(book.ClaimError):
            book.claim("chapter/b", "bounded", value=value, **bound)


def test_false_claim_raises_with_name_value_and_bound(results):
    with pytest.raises(book.ClaimError, match=r"'chapter/bad'.*two is less than one.*measured 2\.5, bound <= 1"):
        book.claim("chapter/bad", "two is less than one", value=2.5, at_most=1)
    assert book.load(results, "chapter/bad", "claim")["holds"] is False


def test_numbers_block_lists_every_failure(results, capsys):
    with pytest.raises(book.ClaimError, match=r"2 claims do not hold:\n.*'chapter/a'.*\n.*'chapter/c'"):
        with book.numbers():
            book.claim("chapter/a", "a", value=2, at_most=1)
            book.claim("chapter/b", "b", value=0, at_most=1)
            book.check("chapter/c", "c", value=5, between=(0, 1))
    assert [c["holds"] for c in book.all_claims(results)] == [False, True, False]
    assert book.load(results, "chapter/c", "claim")["check"] is True
    assert "FAILS" in capsys.readouterr().out


def test_corrupt_or_edited_result_files_are_rejected(results):
    book.record("chapter/v", 1.5)
    path = results / "chapter" / "v.value.json"
    record = json.loads(path.read_text())
    record["payload"]["text"] = "9.9"
    path.write_text(json.dumps(record))
    with pytest.raises(book.store.CorruptResult, match="changed after the build"):
        book.load(results, "chapter/v", "value")
    path.write_text(path.read_text()[:20])
    with pytest.raises(book.store.CorruptResult, match="not valid JSON"):
        book.load(results, "chapter/v", "value")
    book.save_table("chapter/t", [{"a": 1}])
    (results / "chapter" / "t.csv").write_text("a\n2\n")
    with pytest.raises(book.store.CorruptResult, match="table file"):
        book.store.read_table(results, "chapter/t")


def test_save_table_writes_formatted_csv(results, capsys):
    rows = book.save_table("chapter/t", [{"a": 1, "b": 0.5}, {"a": 2, "b": 0.25}], formats={"b": "{:.1%}"})
    assert rows == [{"a": "1", "b": "50.0%"}, {"a": "2", "b": "25.0%"}]
    text = book.store.read_table(results, "chapter/t").splitlines()
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
    with pytest.raises(TypeError, match="text"):
        book.claim("c/x", "  ", value=1.0, at_least=0)
    with pytest.raises(TypeError, match="exactly one bound"):
        book.claim("c/x", "text", value=1.0)
    with pytest.raises(TypeError, match="exactly one bound"):
        book.claim("c/x", "text", value=1.0, at_least=0, at_most=2)
    with pytest.raises(ValueError, match="between"):
        book.claim("c/x", "text", value=1.0, between=(2, 1))
    with pytest.raises(TypeError, match="value must be given"):
        book.claim("c/x", "text", at_least=0)
    with pytest.raises(ValueError, match="value"):
        book.claim("c/x", "text", value=float("nan"), at_least=0)
    # The bound is a keyword argument: the positional form (name, text, holds, value) is refused by name.
    for state in (book.claim, book.check):
        with pytest.raises(TypeError, match=r"takes 2 positional arguments but 4 were given"):
            state("c/x", "text", True, 1.0)
    with pytest.raises(ValueError, match="rows"):
        book.save_table("c/t", [])
    with pytest.raises(ValueError, match=r"rows\[1\]"):
        book.save_table("c/t", [{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="formats"):
        book.save_table("c/t", [{"a": 1}], formats={"z": "{}"})
