"""The catalogue sees every msgid: makemessages cannot read a call inside an f-string, and a
short msgid it never extracted falls through to Django's own catalogue at run time, with
Django's meaning ("Order" became 並び変え, a sort order)."""

from __future__ import annotations

import ast

from .source import project_modules

GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy"}


def _gettext_calls_in_fstrings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and getattr(inner.func, "id", None) in GETTEXT_NAMES:
                    yield inner.lineno


def test_no_msgid_hides_inside_an_f_string():
    hidden = [
        f"{module.path}:{line}" for module in project_modules() for line in _gettext_calls_in_fstrings(module.tree)
    ]
    assert hidden == []


def test_the_check_finds_a_msgid_inside_an_f_string():
    assert list(_gettext_calls_in_fstrings(ast.parse("x = f'{_(\"Order\")}: {ref}'"))) == [1]
