"""The API reference's former paths: each names an object still importable there, the one documented where it lives."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

API_PAGE = Path(__file__).parents[1] / "docs" / "api.md"
ENTRY = re.compile(
    r"^\.\. py:(function|class):: (nnbook[\w.]*)\.(\w+)\n(?:   .*\n|\n)*?   Moved to :(func|class):`([\w.]+)`", re.M
)


def entries() -> list[tuple[str, str, str]]:
    """(former module, name, new full name) of every entry of the page's list of former paths."""
    return [(m.group(2), m.group(3), m.group(5)) for m in ENTRY.finditer(API_PAGE.read_text(encoding="utf-8"))]


def test_the_page_lists_former_paths():
    blocks = API_PAGE.read_text(encoding="utf-8").count(".. py:")
    assert len(entries()) == blocks > 0  # every entry parsed, none skipped by the pattern


@pytest.mark.parametrize(("former", "name", "new"), entries())
def test_former_path_is_a_reexport_of_the_documented_object(former, name, new):
    new_module, new_name = new.rsplit(".", 1)
    obj = getattr(importlib.import_module(new_module), new_name)
    assert new_name == name and new_module != former
    assert obj.__module__ == new_module  # documented (by the generated reference) where it is defined
    assert getattr(importlib.import_module(former), name) is obj
