"""An income kind nobody declared or found has no figure in the household record: the 认定 column and the
printed 审批表 show it as unknown ("—"), never 0.00; a visit that finds 0 for it makes it 0.00, and the
assessed income sums the figures that are known (docs/decisions.md, "A blank figure is never read as 0")."""
# ruff: noqa: F811 (the ``field`` fixture is imported and requested by name)

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

from sqlalchemy import select

from server.extensions import db
from server.models import Case, Visit
from server.models.cases import RecordSnapshot
from tests.integration.test_console import Console, intake_form, on, register
from tests.integration.test_reconcile_after_review import _post_visit, _reconcile
from tests.integration.test_sync_api import field  # noqa: F401  (fixture)

START = dt.date(2025, 11, 3)
NOT_DECLARED = ("business", "property_income", "pensions", "support", "transfers", "other")


def assessed_column(page: str) -> dict[str, str]:
    """The case page's 认定 column of the income rows: source -> the text of its last cell."""
    rows = re.findall(r'<tr data-row="income-(\w+)">(.*?)</tr>', page, re.S)
    return {source: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-1].strip() for source, row in rows}


def printed_record(page: str) -> dict[str, str]:
    """The printed 审批表's record row: source -> figure."""
    row = re.search(r'<tr data-row="record-income">.*?</tr>', page, re.S).group(0)
    return {source: text.split("：")[-1] for source, text in re.findall(r'data-source="(\w+)">(.*?)</span>', row)}


def test_a_kind_of_income_never_declared_is_unknown_on_the_case_page_and_the_print(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)                       # wages declared for six months, nothing else
    shown = assessed_column(gc.get(f"/cases/{case_id}").get_data(as_text=True))
    assert shown["wages"] == "1800.00"
    assert {shown[s] for s in NOT_DECLARED} == {"—"}
    printed = printed_record(gc.get(f"/cases/{case_id}/print/approval_form").get_data(as_text=True))
    assert printed["wages"] == "1800.00" and {printed[s] for s in NOT_DECLARED} == {"—"}


def test_a_household_that_declares_no_income_is_unknown_by_kind_and_still_assessed(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    no_income = {k: "" for k in intake_form(org) if k.startswith("income_")}
    case_id = register(app, gc, org, **no_income)
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert set(assessed_column(page).values()) == {"—"}
    # the declared total is the sum of what was declared (nothing: 0.00), so the household can be assessed
    assert 'data-per-capita="0.00"' in page and "低于保障标准" in page
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.declared_income_6m, case.assessed_income_6m) == (D("0.00"), D("0.00"))
        assert not [k for k in case.record if k.startswith("income/")]


def test_a_visit_makes_known_only_what_it_found(app, field):
    """The phone found wages and no pension (0 typed for six months) and left the other kinds blank."""
    def found(answers):
        answers["income"] = {"wages": ["450.00"] * 6, "pensions": ["0.00"] * 6}

    env = _post_visit(field, "450.00", change=found)
    case_id = field["case_id"]
    gc = Console(app, "gc_case")
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    form = page[page.index(f'id="reconcile-{env["visit_id"]}"'):]
    assert "养老金、离退休金" in form and "经营净收入" not in form     # a found 0 is a change; a blank is none
    _reconcile(app, gc, case_id, env["visit_id"], "visit")
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    shown = assessed_column(page)
    assert (shown["wages"], shown["pensions"]) == ("2700.00", "0.00")
    assert {shown[s] for s in NOT_DECLARED if s != "pensions"} == {"—"}
    with app.app_context():
        assert db.session.get(Case, case_id).assessed_income_6m == D("2700.00")   # the known figures' sum
    # 2700 over 6 months for 2 people
    assert re.search(r'class="per-capita">225\.00（2人）', page)


def test_a_record_stored_with_0_00_for_undeclared_kinds_still_merges(app, field):
    """Records made before kept "0.00" for every kind not declared: a visit finding 0 there agrees with them."""
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        old = {**case.record, **{f"income/{s}": "0.00" for s in NOT_DECLARED}}
        case.record = old
        db.session.scalar(select(RecordSnapshot).where(RecordSnapshot.case_id == case.id)).record = old
        db.session.commit()
    env = _post_visit(field, "450.00")                    # every kind answered, 0 for all but wages
    with app.app_context():
        merge = db.session.get(Visit, env["visit_id"]).merge
        assert [p for p in merge["proposals"] if p.startswith("income/")] == ["income/wages"]
    gc = Console(app, "gc_case")
    _reconcile(app, gc, field["case_id"], env["visit_id"], "visit")
    shown = assessed_column(gc.get(f"/cases/{field['case_id']}").get_data(as_text=True))
    assert shown["wages"] == "2700.00" and {shown[s] for s in NOT_DECLARED} == {"0.00"}
    with app.app_context():
        assert db.session.get(Case, field["case_id"]).assessed_income_6m == D("2700.00")
