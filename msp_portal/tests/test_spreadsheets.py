"""The formula rule (msp_portal.spreadsheets): in Python, and the same rule in SQL."""

from __future__ import annotations

import pytest
from django.db.models import TextField, Value

from accounts.models import Organization
from msp_portal.spreadsheets import looks_like_formula, neutralise_formula, neutralise_formula_sql

SAMPLES = ["=1+1", "+81", "-5", "@SUM(A1)", "\tx", "\rx", "株式会社", "a=b", "＝全角", "'=quoted", ""]


@pytest.mark.parametrize("text", ["=1+1", "+81", "-5", "@SUM(A1)", "\tx", "\rx"])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert looks_like_formula(text)
    assert neutralise_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["株式会社", "a=b", "＝全角", "'=quoted", "", None])
def test_other_text_is_left_as_it_is(text):
    assert not looks_like_formula(text)
    assert neutralise_formula(text) == text


@pytest.mark.django_db
def test_the_database_expression_neutralises_exactly_what_python_does(msp_org):
    queryset = Organization.objects.filter(pk=msp_org.pk)
    for text in SAMPLES:
        sql = queryset.annotate(cell=neutralise_formula_sql(Value(text, output_field=TextField())))
        assert sql.values_list("cell", flat=True).get() == neutralise_formula(text), repr(text)
