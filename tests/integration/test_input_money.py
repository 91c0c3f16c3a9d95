"""A blank amount is never read as 0.00: where the figure decides the money (the director's change of an
amount) a blank is refused (422, in both languages, nothing stored, what was typed kept); where the form
says it may be left blank (a change report's, a spot check's income) it stays unknown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from server.extensions import db
from server.models import Case
from server.models.money import ChangeReport
from server.models.oversight import SpotCheckDraw, SpotCheckResult
from server.web.forms import Reader
from tests.integration.test_console import Console, on, pdf_bytes
from tests.integration.test_dynamic import case_row
from tests.integration.test_oversight import Desk, draw, result_form, world  # noqa: F401  (a fixture)
from tests.integration.test_rosters import paid_case

REQUIRED_ZH = "请填写认定的6个月家庭收入（没有请填 0）"
REQUIRED_EN = "Assessed 6-month income is required (type 0 for none)"


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_the_reader_refuses_a_blank_amount(blank):
    r = Reader(MultiDict({"income": blank}))
    assert r.money("income", "收入", "Income") is None
    assert r.errors == [("income", "请填写收入（没有请填 0）", "Income is required (type 0 for none)")]
    r = Reader(MultiDict({"income": blank}))
    assert r.optional_money("income", "收入", "Income") is None and r.errors == []


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_cleared_income_in_a_change_decision_is_refused(app, org, blank):
    cid = paid_case(app, org, people=3, seq=21)          # 1800.00 assessed over 6 months
    on(app, dt.date(2026, 10, 10))
    with app.app_context():
        members = [str(m.id) for m in db.session.get(Case, cid).household.members]
    director = Console(app, "gc_dir")
    url = f"/dynamic/cases/{cid}/change"
    page = director.get(f"/dynamic/cases/{cid}").get_data(as_text=True)
    assert 'name="assessed_income_6m" value="1800.00" inputmode="decimal" required>' in page
    # covering fewer members changes the amount: a cleared income must not let it through on the old figure
    data = {"assessed_income_6m": blank, "covered_listed": "1", "covered": members[:2],
            "reasons": "子女外出就业，不再共同生活（清空了收入）"}
    before = case_row(app, cid)
    r = director.post(url, data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and REQUIRED_ZH in page
    assert "子女外出就业，不再共同生活（清空了收入）" in page                # what was typed is kept
    assert f'name="assessed_income_6m" value="{blank}"' in page
    assert case_row(app, cid) == before
    r = director.post(url + "?lang=en", data)
    assert r.status_code == 422 and REQUIRED_EN in r.get_data(as_text=True)
    assert case_row(app, cid) == before
    # 0 typed is read as 0
    assert director.post(url, {**data, "assessed_income_6m": "0"}).status_code == 302
    row = case_row(app, cid)
    assert row["income"] == Decimal("0.00") and len(row["covered"]) == 2


def test_a_rereview_changing_the_amount_needs_the_income(app, org):
    cid = paid_case(app, org, seq=22, target="rereview")
    on(app, dt.date(2026, 10, 1))
    director = Console(app, "gc_dir")
    url = f"/dynamic/cases/{cid}/rereview-decision"
    report = {"report_file": (pdf_bytes(), "report.pdf", "application/pdf")}
    before = case_row(app, cid)
    r = director.post(url, {"outcome": "change", "assessed_income_6m": "", "report_on": "2026-10-01",
                            "reasons": "复核发现收入减少"}, files=report)
    assert r.status_code == 422 and REQUIRED_ZH in r.get_data(as_text=True)
    assert case_row(app, cid) == before
    # continuing does not rest on the income: a cleared one is not asked for
    assert director.post(url, {"outcome": "continue", "assessed_income_6m": "", "report_on": "2026-10-01"},
                         files=report).status_code == 302
    row = case_row(app, cid)
    assert row["status"] == "in_payment" and row["income"] == before["income"]


def test_a_change_report_may_leave_the_income_blank(app, org):
    cid = paid_case(app, org, seq=23)
    on(app, dt.date(2026, 10, 10))
    gc = Console(app, "gc_case")
    page = gc.get(f"/dynamic/cases/{cid}").get_data(as_text=True)
    assert """name="reported_income_6m" value="" inputmode="decimal">""" in page      # not required
    assert gc.post(f"/dynamic/cases/{cid}/report", {"kind": "income", "description": "户主失业",
                                                    "reported_income_6m": " "}).status_code == 302
    with app.app_context():
        report = db.session.scalar(select(ChangeReport).where(ChangeReport.case_id == cid))
        assert report.reported_income_6m is None                              # unknown, not 0.00


def test_a_spot_check_may_leave_the_income_found_blank(app, world):  # noqa: F811
    draw_id = draw(app, world)
    with app.app_context():
        case_id = db.session.get(SpotCheckDraw, draw_id).drawn_case_ids[0]
    r = Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/results",
                                    result_form(case_id, income_found_6m=""))
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SpotCheckResult.income_found_6m)) is None
