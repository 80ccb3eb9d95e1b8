"""House style of the gallery scripts, checked statically (the scripts are parsed, not run).

A script run on its own prints every recorded number as ``label: value unit``, so every ``book.record`` call
names what its number is with ``label=``; every ``book.claim`` and ``book.check`` states its text.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py"))
TEXT_POSITION = 1  # claim(name, text, ...) and check(name, text, ...)


def _book_call(node: ast.AST) -> str | None:
    """``"record"``, ``"claim"`` or ``"check"`` when ``node`` calls ``book.<that>``, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id == "book" and node.func.attr in ("record", "claim", "check"):
            return node.func.attr
    return None


def _is_blank(node: ast.expr | None) -> bool:
    """Whether an argument is missing or a string with nothing but blanks (an f-string's literal parts included)."""
    if node is None:
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and not node.value.strip()
    if isinstance(node, ast.JoinedStr):  # f"{x}" alone says nothing of what x is
        return not any(isinstance(part, ast.Constant) and part.value.strip() for part in node.values)
    return False


def _keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == name), None)


def problems(source: str, filename: str) -> tuple[int, list[str]]:
    """The number of ``book`` calls in ``source`` and one ``file:line: what is wrong`` per call breaking the style."""
    found: list[tuple[int, str]] = []
    calls = 0
    for node in ast.walk(ast.parse(source, filename)):
        kind = _book_call(node)
        if kind is None:
            continue
        calls += 1
        where = f"{filename}:{node.lineno}"
        if kind == "record":
            label = _keyword(node, "label")
            if label is None:
                found.append((node.lineno, f"{where}: book.record without label="))
            elif _is_blank(label.value):
                found.append((node.lineno, f"{where}: book.record with an empty label"))
        else:
            text = node.args[TEXT_POSITION] if len(node.args) > TEXT_POSITION else _keyword(node, "text")
            if _is_blank(text.value if isinstance(text, ast.keyword) else text):
                found.append((node.lineno, f"{where}: book.{kind} with an empty text"))
    return calls, [message for _, message in sorted(found)]


def test_the_checker_flags_each_fault():
    source = "\n".join(
        [
            "from nnbook import book",
            'book.record("a/x", 1.0, fmt="{:d}")',
            'book.record("a/y", 1.0, label="")',
            'book.record("a/z", 1.0, label=f"{n}")',
            'book.record("a/w", 1.0, label=f"loss at lr {lr:g}", unit="s")',
            'book.claim("a/c", "", value=1.0, at_least=0)',
            'book.check("a/d", text="  ", value=1.0, at_least=0)',
            'book.claim("a/e", f"with {n} labels the probe wins", value=1.0, at_least=0)',
        ]
    )
    calls, found = problems(source, "demo.py")
    assert calls == 7
    assert found == [
        "demo.py:2: book.record without label=",
        "demo.py:3: book.record with an empty label",
        "demo.py:4: book.record with an empty label",
        "demo.py:6: book.claim with an empty text",
        "demo.py:7: book.check with an empty text",
    ]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_recorded_number_has_a_label_and_every_claim_a_text(script):
    calls, found = problems(script.read_text(), str(script.relative_to(ROOT)))
    assert calls > 0, f"{script.relative_to(ROOT)} records no number"
    assert not found, "\n".join(found)
