"""Dynamic management through the console and the CLI: re-reviews due per household class and sent to a
team, change reports, raise / lower / stop decisions with reasons and printed notices, gradual exit month
by month, and every refusal (wrong role, other unit, missing reasons, CSRF) changing nothing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent, User, VisitAssignment
from server.models.money import ChangeReport
from tests.integration.test_console import Console, on, pdf_bytes
from tests.integration.test_rosters import DAY, paid_case

D = Decimal
APPROVED = DAY + dt.timedelta(days=8)     # paid_case approves on day + 8: 2026-09-09


def case_row(app, case_id: int) -> dict:
    with app.app_context():
        c = db.session.get(Case, case_id)
        return {"status": c.status, "amount": c.amount, "income": c.assessed_income_6m, "exit_month": c.exit_month,
                "covered": sorted(m.id for m in c.household.members if m.covered),
                "events": [e.action for e in c.events]}


def team(app, *usernames) -> list[str]:
    with app.app_context():
        return [str(db.session.scalar(select(User.id).where(User.username == u))) for u in usernames]


# --- re-reviews ----------------------------------------------------------------------------------

@pytest.mark.parametrize("office, klass, today, due, listed", [
    ("gc", "stable", dt.date(2027, 3, 9), "2027-03-09", True),        # guancheng: every half year
    ("gc", "stable", dt.date(2027, 3, 8), "2027-03-09", False),
    ("yj", "stable", dt.date(2027, 3, 9), "2027-09-09", False),       # yijun: stable households yearly
    ("yj", "irregular_income", dt.date(2027, 3, 9), "2027-03-09", True),
])
def test_rereviews_due_per_household_class(app, org, office, klass, today, due, listed):
    cid = paid_case(app, org, office=office, household_class=klass, seq=1)
    on(app, today)
    page = Console(app, f"{office}_case").get("/dynamic").get_data(as_text=True)
    assert due in page
    with app.app_context():
        number = db.session.get(Case, cid).number
    marks = 'data-mark="due"' if listed else 'data-mark="upcoming"'
    assert f'data-case="{number}" data-mark' in page and marks in page
    r = app.test_cli_runner().invoke(args=["rereviews", "due", "--unit", "410104005" if office == "gc" else "610222002",
                                           "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [d["case_number"] for d in data] == ([number] if listed else [])
    if listed:
        assert data[0]["due"] == due and data[0]["interval_months"] == 6


def test_rereviews_due_until_the_end_of_the_month(app, org):
    cid = paid_case(app, org, seq=2)
    on(app, dt.date(2027, 3, 1))
    r = app.test_cli_runner().invoke(args=["rereviews", "due", "--unit", "410104005", "--until", "2027-03-31"])
    assert r.exit_code == 0 and "2027-03-09" in r.output
    page = Console(app, "gc_case").get("/dynamic?until=month").get_data(as_text=True)
    assert 'data-mark="due"' in page
    assert Console(app, "gc_case").get("/dynamic?until=someday").status_code == 400
    bad = app.test_cli_runner().invoke(args=["rereviews", "due", "--unit", "410104005", "--until", "March"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
    assert case_row(app, cid)["status"] == "in_payment"


def test_start_rereview_sends_a_team(app, org):
    cid = paid_case(app, org, seq=3)
    on(app, dt.date(2027, 3, 10))
    gc = Console(app, "gc_case")
    url = f"/dynamic/cases/{cid}/start-rereview"
    for console, data, kw, status in [
        (gc, {"team": team(app, "gc_inv1")}, {}, 422),                       # a team of one
        (gc, {"team": team(app, "gc_inv1", "other_inv")}, {}, 422),          # another office's investigator
        (gc, {"team": ["x"]}, {}, 422),
        (gc, {"team": team(app, "gc_inv1", "gc_inv2")}, {"csrf": False}, 400),
        (Console(app, "gc_lead"), {"team": team(app, "gc_inv1", "gc_inv2")}, {}, 403),
        (Console(app, "other_case"), {"team": team(app, "gc_inv1", "gc_inv2")}, {}, 404),
        (Console(app, "gc_bureau"), {"team": team(app, "gc_inv1", "gc_inv2")}, {}, 403),
    ]:
        assert console.post(url, data, **kw).status_code == status, (data, status)
        assert case_row(app, cid)["status"] == "in_payment"     # nothing changed, not even half
    assert gc.post(url, {"team": team(app, "gc_inv1", "gc_inv2"), "note": "带上核对报告"}).status_code == 302
    assert case_row(app, cid)["status"] == "rereview"
    with app.app_context():
        a = db.session.scalar(select(VisitAssignment).where(VisitAssignment.case_id == cid))
        assert a.kind == "rereview" and a.status == "open" and {u.username for u in a.team} == {"gc_inv1", "gc_inv2"}
    page = gc.get("/dynamic").get_data(as_text=True)
    assert 'data-mark="in_progress"' in page
    assert gc.post(url, {"team": team(app, "gc_inv1", "gc_inv2")}).status_code == 409   # already under re-review


def test_rereview_conclusions(app, org):
    a = paid_case(app, org, seq=4, target="rereview")
    b = paid_case(app, org, seq=5, target="rereview")
    c = paid_case(app, org, seq=6, target="rereview")
    on(app, dt.date(2026, 10, 1))
    director = Console(app, "gc_dir")
    url = "/dynamic/cases/{}/rereview-decision"
    r = director.post(url.format(a), {"outcome": "change", "assessed_income_6m": "0", "reasons": ""})
    assert r.status_code == 422 and case_row(app, a)["income"] == D("1800.00")   # rolled back
    assert Console(app, "gc_case").post(url.format(a), {"outcome": "continue"}).status_code == 403
    # Issue 12: a re-review could be closed at once with nothing found; now it needs a visit or a new report
    before = case_row(app, b)
    r = director.post(url.format(b), {"outcome": "continue"})
    assert r.status_code == 422 and "复核结论须有启动复核后的入户调查或家庭经济状况核对报告" in r.get_data(as_text=True)
    assert case_row(app, b) == before
    report = {"report_file": (pdf_bytes(), "report.pdf", "application/pdf")}
    r = director.post(url.format(b), {"outcome": "continue", "report_on": "2026-09-01"}, files=report)
    assert r.status_code == 422 and case_row(app, b) == before     # a report from before the re-review opened
    r = director.post(url.format(b), {"outcome": "continue", "report_on": "2026-10-02"}, files=report)
    assert r.status_code == 422 and "不能晚于今天" in r.get_data(as_text=True)
    assert director.post(url.format(a), {"outcome": "change", "assessed_income_6m": "0", "report_on": "2026-10-01",
                                         "reasons": "复核发现收入减少"}, files=report).status_code == 302
    assert case_row(app, a)["status"] == "in_payment" and case_row(app, a)["amount"] == D("1400.00")
    assert director.post(url.format(b), {"outcome": "continue", "report_on": "2026-09-30"},
                         files=report).status_code == 302
    assert case_row(app, b)["status"] == "in_payment" and case_row(app, b)["amount"] == D("1100.00")
    with app.app_context():
        ev = db.session.get(Case, b).events[-1]
        assert ev.action == "complete_rereview" and ev.data["evidence"][0]["kind"] == "verification_report"
        assert ev.data["evidence"][0]["report_on"] == "2026-09-30"
    assert director.post(url.format(c), {"outcome": "stop", "category": "bogus", "reasons": "x"},
                         files=report).status_code == 422
    # a family that refuses the re-review can be stopped on that ground alone
    assert director.post(url.format(c), {"outcome": "stop", "category": "refused",
                                         "reasons": "无正当理由拒不配合复核"}).status_code == 302
    assert case_row(app, c)["status"] == "stopped"


# --- change reports and decisions ------------------------------------------------------------------

def test_change_report_and_raise_decision_with_notice(app, org):
    cid = paid_case(app, org, seq=7)
    on(app, dt.date(2026, 10, 10))
    gc, director = Console(app, "gc_case"), Console(app, "gc_dir")
    url = f"/dynamic/cases/{cid}/report"
    assert gc.post(url, {"kind": "income", "description": " "}).status_code == 422
    assert gc.post(url, {"kind": "weather", "description": "x"}).status_code == 422
    assert gc.post(url, {"kind": "income", "description": "x", "reported_income_6m": "-5"}).status_code == 422
    assert gc.post(url, {"kind": "income", "description": "x", "reported_on": "2026-12-01"}).status_code == 422
    assert director.post(url, {"kind": "income", "description": "失业"}).status_code == 403
    assert gc.post(url, {"kind": "income", "description": "失业"}, csrf=False).status_code == 400
    assert gc.post(url, {"kind": "income", "description": "户主失业", "reported_income_6m": "600"}).status_code == 302
    with app.app_context():
        report = db.session.scalar(select(ChangeReport).where(ChangeReport.case_id == cid))
        report_id = report.id
        assert report.status == "open" and report.reported_income_6m == D("600.00")
    assert "户主失业" in gc.get("/dynamic").get_data(as_text=True)

    change = f"/dynamic/cases/{cid}/change"
    ok = {"assessed_income_6m": "600", "reasons": "户主失业，家庭收入减少", "report_id": str(report_id)}
    for console, data, status in [
        (director, {**ok, "reasons": ""}, 422),                       # written reasons required
        (director, {**ok, "assessed_income_6m": "abc"}, 422),
        (director, {**ok, "assessed_income_6m": "1800"}, 422),        # the same amount: nothing to change
        (director, {**ok, "report_id": "99999"}, 422),
        (gc, ok, 403), (Console(app, "gc_lead"), ok, 403), (Console(app, "other_case"), ok, 404),
    ]:
        before = case_row(app, cid)
        r = console.post(change, data)
        assert r.status_code == status, (data, r.status_code)
        assert case_row(app, cid) == before
    assert director.post(change, ok).status_code == 302
    row = case_row(app, cid)
    assert row["amount"] == D("1300.00") and row["income"] == D("600.00") and row["events"][-1] == "record_change"
    with app.app_context():
        ev = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action == "record_change"))
        assert ev.data["direction"] == "raise" and ev.data["amount"] == "1300.00"
        report = db.session.get(ChangeReport, report_id)
        assert report.status == "decided" and report.decision_event_id == ev.id
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "dynamic.change_basis")) == 1
        event_id = ev.id
    notice = director.get(f"/dynamic/cases/{cid}/notice/{event_id}").get_data(as_text=True)
    assert "最低生活保障金调整通知书" in notice and "1100.00" in notice and "1300.00" in notice
    assert "户主失业，家庭收入减少" in notice and "行政复议" in notice
    assert Console(app, "other_case").get(f"/dynamic/cases/{cid}/notice/{event_id}").status_code == 404


def test_lower_by_covering_fewer_members(app, org):
    cid = paid_case(app, org, people=3, income_6m="0.00", seq=8)     # 700 * 3 = 2100.00
    on(app, dt.date(2026, 10, 10))
    with app.app_context():
        members = [m.id for m in db.session.get(Case, cid).household.members]
    url = f"/dynamic/cases/{cid}/change"
    director = Console(app, "gc_dir")
    r = director.post(url, {"covered_listed": "1", "reasons": "无人"})
    assert r.status_code == 422 and case_row(app, cid)["covered"] == members
    assert director.post(url, {"covered_listed": "1", "covered": [str(members[0]), str(members[1])],
                               "reasons": "子女外出就业，不再共同生活"}).status_code == 302
    row = case_row(app, cid)
    assert row["amount"] == D("1400.00") and row["covered"] == members[:2]
    with app.app_context():
        ev = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action == "record_change"))
        assert ev.data["direction"] == "lower"


def test_stop_with_category_and_reasons(app, org):
    cid = paid_case(app, org, seq=9)
    on(app, dt.date(2026, 10, 10))
    director = Console(app, "gc_dir")
    url = f"/dynamic/cases/{cid}/stop"
    assert director.post(url, {"category": "", "reasons": "已死亡"}).status_code == 422
    assert director.post(url, {"category": "death", "reasons": ""}).status_code == 422
    assert Console(app, "gc_case").post(url, {"category": "death", "reasons": "x"}).status_code == 403
    assert director.post(url, {"category": "death", "reasons": "x"}, csrf=False).status_code == 400
    assert case_row(app, cid)["status"] == "in_payment"
    assert director.post(url, {"category": "death", "reasons": "户主于9月去世，单人户"}).status_code == 302
    assert case_row(app, cid)["status"] == "stopped"
    with app.app_context():
        ev = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action == "stop"))
        assert ev.note == "death"
        event_id = ev.id
    notice = director.get(f"/dynamic/cases/{cid}/notice/{event_id}").get_data(as_text=True)
    assert "停发最低生活保障金通知书" in notice and "保障对象死亡" in notice and "户主于9月去世" in notice
    assert director.post(url, {"category": "death", "reasons": "again"}).status_code == 409


# --- gradual exit ----------------------------------------------------------------------------------

def test_gradual_exit_month_by_month(app, org):
    cid = paid_case(app, org, people=1, income_6m="0.00", seq=10)
    on(app, dt.date(2026, 10, 15))
    director, gc = Console(app, "gc_dir"), Console(app, "gc_case")
    url = f"/dynamic/cases/{cid}/gradual-exit"
    assert director.post(url, {"reasons": ""}).status_code == 422
    assert gc.post(url, {"reasons": "就业"}).status_code == 403
    assert director.post(url, {"reasons": "户主稳定就业，收入超过标准"}).status_code == 302
    assert case_row(app, cid)["status"] == "gradual_exit"
    page = gc.get(f"/dynamic/cases/{cid}").get_data(as_text=True)
    assert "2027-04" in page      # October + 6 months: stopped from April
    with app.app_context():
        event_id = db.session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == cid,
                                                                CaseEvent.action == "start_gradual_exit"))
    notice = gc.get(f"/dynamic/cases/{cid}/notice/{event_id}").get_data(as_text=True)
    assert "最低生活保障渐退通知书" in notice and "80%" in notice and "60%" in notice

    advance = f"/dynamic/cases/{cid}/advance"
    assert gc.post(advance, {"month": "2026-11"}).status_code == 422          # a future month
    assert gc.post(advance, {"month": "11/2026"}).status_code == 422
    assert director.post(advance, {"month": "2026-10"}).status_code == 403
    for today, month, exit_month, status in [
        (dt.date(2026, 10, 31), "2026-10", 0, "gradual_exit"),
        (dt.date(2026, 12, 1), "2026-12", 2, "gradual_exit"),       # a skipped month is caught up
        (dt.date(2026, 12, 2), "2026-12", 2, "gradual_exit"),       # idempotent
        (dt.date(2027, 3, 1), "2027-03", 5, "gradual_exit"),
        (dt.date(2027, 4, 1), "2027-04", 5, "stopped"),             # the schedule is over
    ]:
        on(app, today)
        assert gc.post(advance, {"month": month}).status_code == 302
        row = case_row(app, cid)
        assert (row["exit_month"], row["status"]) == (exit_month, status), month
    assert row["events"][-1] == "finish_gradual_exit"
    assert row["events"].count("gradual_exit_month") == 2
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "case.gradual_exit_month")) == 2


def test_advance_every_gradual_exit_of_the_unit(app, org):
    a = paid_case(app, org, people=1, income_6m="0.00", seq=11, target="gradual_exit", day=dt.date(2026, 3, 1))
    b = paid_case(app, org, people=1, income_6m="0.00", seq=12, target="gradual_exit", day=dt.date(2026, 7, 1))
    on(app, dt.date(2026, 9, 5))
    gc = Console(app, "gc_case")
    assert Console(app, "gc_lead").post("/dynamic/advance", {"month": "2026-09"}).status_code == 403
    assert gc.post("/dynamic/advance", {"month": "2026-09"}).status_code == 302
    assert case_row(app, a)["status"] == "stopped"                       # March .. August: over
    assert (case_row(app, b)["status"], case_row(app, b)["exit_month"]) == ("gradual_exit", 2)


# --- scope -------------------------------------------------------------------------------------

def test_pages_and_scope(app, org):
    cid = paid_case(app, org, seq=13)
    on(app, dt.date(2026, 10, 10))
    for username, status in [("gc_case", 200), ("gc_dir", 200), ("gc_lead", 200), ("other_case", 404),
                             ("yj_case", 404), ("gc_bureau", 403), ("gc_inv1", 403)]:
        assert Console(app, username).get(f"/dynamic/cases/{cid}").status_code == status, username
    for username, status in [("gc_case", 200), ("gc_bureau", 403), ("gc_inv1", 403)]:
        assert Console(app, username).get("/dynamic").status_code == status
    page = Console(app, "gc_dir").get(f"/dynamic/cases/{cid}").get_data(as_text=True)
    assert 'id="change"' in page and 'id="stop"' in page and "1100.00" in page
    page = Console(app, "gc_case").get(f"/dynamic/cases/{cid}").get_data(as_text=True)
    assert 'id="change"' not in page and 'id="report"' in page
    assert Console(app, "gc_dir").get(f"/dynamic/cases/{cid}/notice/1").status_code == 404


def test_a_rereview_visit_since_it_opened_is_evidence(app, org):
    """A re-review visit that came back from the phones (accepted) lets the director conclude; one from
    before the re-review opened does not."""
    import uuid

    from server.models import Visit

    cid = paid_case(app, org, seq=31, target="rereview")          # re-review opened 2026-09-09
    on(app, dt.date(2026, 10, 1))
    director = Console(app, "gc_dir")
    url = f"/dynamic/cases/{cid}/rereview-decision"

    def visit(day, status="accepted"):
        with app.app_context():
            inv = db.session.scalar(select(User.id).where(User.username == "gc_inv1"))
            v = Visit(id=str(uuid.uuid4()), case_id=cid, kind="rereview", source="device", visit_on=day,
                      investigator_ids=[inv], findings={}, attachments={}, status=status, recorded_by_id=inv)
            db.session.add(v)
            db.session.commit()
            return v.id

    visit(dt.date(2026, 9, 1))                                     # before the re-review: not evidence
    visit(dt.date(2026, 9, 20), status="incomplete")               # not yet complete and attested
    assert director.post(url, {"outcome": "continue"}).status_code == 422
    vid = visit(dt.date(2026, 9, 20))
    assert director.post(url, {"outcome": "continue"}).status_code == 302
    with app.app_context():
        ev = db.session.get(Case, cid).events[-1]
        assert ev.data["evidence"] == [{"kind": "visit", "visit_id": vid, "visit_on": "2026-09-20"}]
