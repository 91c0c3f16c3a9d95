"""A date typed in the console is YYYY-MM-DD (what <input type=date> sends) and nothing else: not an ISO
week date (2026-W41-1), nor the basic form (20261005), nor any other form Python's date.fromisoformat
takes.  Others are refused (422, in both languages, nothing stored, what was typed kept)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from server.extensions import db
from server.models.money import ChangeReport, RosterStep
from server.web.forms import Reader
from tests.integration.test_console import Console, on, signature
from tests.integration.test_rosters import generate, paid_case

NOT_DATES = [
    "2026-W41-1",             # ISO week date: Monday 2026-10-05
    "2026W411",
    "20261005",               # ISO basic format
    "2026-278",               # ordinal date
    "2026-10-5",
    "2026/10/05",
    "05-10-2026",
    "２０２６-１０-０５",       # full-width digits
    "٢٠٢٦-١٠-٠٥",             # Arabic-Indic digits
    "2026-10-05T00:00",
    "+2026-10-05",
    "2026-13-01",
    "2026-02-30",
]


@pytest.mark.parametrize("raw", NOT_DATES)
def test_the_reader_takes_only_yyyy_mm_dd(raw):
    r = Reader(MultiDict({"on": raw}))
    assert r.date("on", "报告日期", "Report date") is None
    assert r.errors == [("on", "报告日期应为 YYYY-MM-DD 格式的日期", "Report date must be a YYYY-MM-DD date")]


@pytest.mark.parametrize("raw, day", [("2026-10-05", dt.date(2026, 10, 5)), (" 2026-10-05 ", dt.date(2026, 10, 5)),
                                      ("2000-02-29", dt.date(2000, 2, 29))])
def test_the_reader_reads_yyyy_mm_dd(raw, day):
    r = Reader(MultiDict({"on": raw}))
    assert r.date("on", "报告日期", "Report date") == day and r.errors == []


def reports(app, cid: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ChangeReport).where(ChangeReport.case_id == cid))


@pytest.fixture
def reporting(app, org):
    cid = paid_case(app, org, seq=24)
    on(app, dt.date(2026, 10, 10))
    return Console(app, "gc_case"), cid


@pytest.mark.parametrize("raw", NOT_DATES)
def test_a_change_report_s_date_must_be_yyyy_mm_dd(app, reporting, raw):
    gc, cid = reporting
    url = f"/dynamic/cases/{cid}/report"
    r = gc.post(url, {"kind": "income", "description": "户主失业（日期写错）", "reported_on": raw})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "报告日期应为 YYYY-MM-DD 格式的日期" in page
    assert "户主失业（日期写错）" in page
    r = gc.post(url + "?lang=en", {"kind": "income", "description": "户主失业", "reported_on": raw})
    assert r.status_code == 422 and "Report date must be a YYYY-MM-DD date" in r.get_data(as_text=True)
    assert reports(app, cid) == 0


def test_a_change_report_dated_yyyy_mm_dd_is_recorded(app, reporting):
    gc, cid = reporting
    assert gc.post(f"/dynamic/cases/{cid}/report", {"kind": "income", "description": "户主失业",
                                                    "reported_on": "2026-10-05"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ChangeReport.reported_on).where(ChangeReport.case_id == cid)) == \
            dt.date(2026, 10, 5)


@pytest.mark.parametrize("raw, status", [("2026-W51-3", 422), ("20261216", 422), ("2026-12-16", 302)])
def test_a_roster_step_s_date_must_be_yyyy_mm_dd(app, org, raw, status):
    paid_case(app, org, office="yj", seq=25)
    on(app, dt.date(2026, 12, 3))
    yj, lead, bureau = Console(app, "yj_case"), Console(app, "yj_lead"), Console(app, "yj_bureau")
    rid = generate(yj, "2026-12")
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 302
    on(app, dt.date(2026, 12, 20))
    r = bureau.post(f"/rosters/{rid}/steps", {"step": "finance", "on": raw, "note": "已送财政"})
    assert r.status_code == status
    with app.app_context():
        steps = db.session.scalars(select(RosterStep).where(RosterStep.roster_id == rid)).all()
    if status == 422:
        assert "办理日期应为 YYYY-MM-DD 格式的日期" in r.get_data(as_text=True) and steps == []
    else:
        assert [s.on_date for s in steps] == [dt.date(2026, 12, 16)]
