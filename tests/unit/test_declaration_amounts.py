"""server.domain.declaration: amounts as typed (a comma only groups thousands) and six-month incomes that are
filled in entirely or left entirely blank — never a blank read as 0.  The amount and money6 tables are shared
with the phone (tests/fixtures/amounts.json; tests/browser/test_pwa_units.py runs them through validate.js)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from server.domain.declaration import (
    BAD_AMOUNT,
    BAD_COMMA,
    INCOME_SOURCES,
    amount,
    amount_problem,
    blank_months,
    parse_declaration,
)
from sync.findings import derive_findings
from sync.merge import flatten_answers, income_total
from sync.validate import load_forms, validate_answers

ROOT = Path(__file__).resolve().parents[2]
TABLE = json.loads((ROOT / "tests" / "fixtures" / "amounts.json").read_text(encoding="utf-8"))
SURVEY = load_forms(ROOT / "pwa" / "forms")[("household_survey", 1)]
PROBLEMS = {"comma": BAD_COMMA, "amount": BAD_AMOUNT, None: None}


def income_problems(wages):
    """The problems of a survey whose only income is ``wages`` (the rest of the form is not the point)."""
    return [p for p in validate_answers(SURVEY, {"income": {"wages": wages}}, today=None) if p.path.startswith("income")]


@pytest.mark.parametrize("row", TABLE["amounts"], ids=lambda r: repr(r["text"]))
def test_amounts_as_typed(row):
    value = amount(row["text"])
    assert (None if value is None else f"{value:.2f}") == row["value"]
    assert amount_problem(row["text"]) == PROBLEMS[row["problem"]]


@pytest.mark.parametrize("row", TABLE["money6"], ids=lambda r: "|".join(r["months"]))
def test_a_six_month_income_is_all_filled_or_all_blank(row):
    problems = income_problems(row["months"])
    assert {(p.path, p.code) for p in problems} == {(f"income/wages{path}", code) for path, code in row["codes"]}


def test_the_partial_months_problem_names_the_field_and_the_blank_months():
    [problem] = income_problems(["1200", "", "", "0", "", ""])
    assert problem.path == "income/wages" and problem.code == "partial_months"
    assert "工资" in problem.message and "第2个月、第3个月、第5个月、第6个月未填写" in problem.message
    assert "month 2, 3, 5, 6 left blank" in problem.message_en


def test_a_misplaced_comma_is_named_in_both_languages():
    [problem] = income_problems(["12,50", "0", "0", "0", "0", "0"])
    assert (problem.path, problem.code) == ("income/wages/0", "invalid_amount")
    assert "逗号只能用作千位分隔符" in problem.message and "第1个月" in problem.message
    assert "month 1" in problem.message_en and "a comma may only group thousands" in problem.message_en


def months(source, *values):
    return {f"income_{source}_{m}": v for m, v in enumerate(values, 1)}


@pytest.mark.parametrize("form, income, total, fields", [
    # nothing typed: nothing declared, total 0 — and no source stands at 0.00
    ({}, {}, "0", []),
    (months("wages", *["300"] * 6), {"wages": ["300.00"] * 6}, "1800", []),
    (months("pensions", "1,200", "1,200", "1,200", "1,200", "1,200", "1,200"), {"pensions": ["1200.00"] * 6}, "7200", []),
    # six zeros typed: declared, and 0 — unlike a source left blank
    (months("support", *["0"] * 6), {"support": ["0.00"] * 6}, "0", []),
    (months("pensions", "800"), None, None, ["income_pensions_2"]),
    (months("wages", "300", "", "300", "300", "300", " "), None, None, ["income_wages_2"]),
    (months("wages", "12,50", "0", "0", "0", "0", "0"), None, None, ["income_wages_1"]),
    (months("wages", "1,80", *["0"] * 5) | months("business", "", "5"), None, None, ["income_wages_1", "income_business_1"]),
])
def test_parse_declaration(form, income, total, fields):
    declaration, errors = parse_declaration(form)
    assert [e.field for e in errors] == fields
    if income is None:
        assert declaration is None
    else:
        assert declaration.income == income and declaration.total == Decimal(total)


def test_a_partly_filled_income_is_refused_naming_every_blank_month():
    _, [error] = parse_declaration(months("pensions", "800"))
    assert error.blank_months == (2, 3, 4, 5, 6)
    assert error.message.startswith("“养老金、离退休金”第2个月、第3个月") and "填0" in error.message
    assert "Pensions: month 2, 3, 4, 5, 6 left blank" in error.message_en


def test_misplaced_commas_are_refused_with_their_own_message():
    _, errors = parse_declaration(months("wages", "12,50", *["0"] * 5))
    assert "千位分隔符" in errors[0].message and "thousands" in errors[0].message_en
    _, errors = parse_declaration(months("wages", "abc", *["0"] * 5))
    assert "金额无效" in errors[0].message and "thousands" not in errors[0].message_en


@pytest.mark.parametrize("values, blanks", [
    (["1", "2", "3", "4", "5", "6"], []), (["", " ", None, "0", "0", "0"], [1, 2, 3]), ([""] * 6, [1, 2, 3, 4, 5, 6]),
])
def test_blank_months(values, blanks):
    assert blank_months(values) == blanks


def test_old_records_with_blank_months_read_them_as_unknown_not_zero():
    """A phone's answers from before partly filled incomes were refused still load: blanks show "—"."""
    answers = {"income": {"wages": ["1200", "", "", "", "", ""], "pensions": ["100"] * 6, "support": [""] * 6}}
    shape = derive_findings(SURVEY, answers, source="device")
    rows = {r["source"]: r for r in shape["income"]}
    assert rows["wages"]["months"] == ["1200.00", "—", "—", "—", "—", "—"] and rows["wages"]["total"] == "—"
    assert rows["pensions"]["total"] == "600.00"
    assert "support" not in rows               # none declared: no row at all, not 0.00
    assert shape["income_total"] == "—"
    flat = flatten_answers("household_survey", answers)
    assert flat == {"income/pensions": "600.00"}   # no total for a source whose months are not all known
    with pytest.raises(ValueError):
        income_total(["1200", "", "", "", "", ""])


def test_sources_are_the_forms_income_fields():
    assert set(INCOME_SOURCES) == {f["id"] for s in SURVEY["sections"] if s["id"] == "income" for f in s["fields"]}
