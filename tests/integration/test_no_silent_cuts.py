"""Nothing a user typed is ever lost: a text one character over its limit is refused (422, the limit named,
the form shown again with all that was typed, nothing stored); a text exactly at its limit is stored whole.
Also: a change report cannot be dated before the case's application."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Case, CaseEvent, User, Visit, VisitAssignment
from server.models.money import ChangeReport, Roster, RosterStep
from tests.integration.test_console import (
    START,
    Console,
    intake_form,
    on,
    png_bytes,
    register,
    signature,
    status_of,
)
from tests.integration.test_oversight import Desk, draw, world  # noqa: F401  (a fixture)
from tests.integration.test_rosters import generate, paid_case, two_cases  # noqa: F401  (a fixture)


def text(n: int, ch: str = "记") -> str:
    return ch * n


def rows(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def refused(r, limit: int, typed: str) -> str:
    page = r.get_data(as_text=True)
    assert r.status_code == 422, page[:2000]
    assert f"不能超过{limit}个字" in page
    assert typed in page              # shown again, all of it
    return page


def events(app, case_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, json.dumps(e.data, ensure_ascii=False) + e.note)
                for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                            .order_by(CaseEvent.seq))]


def ids(app, *usernames) -> list[str]:
    with app.app_context():
        return [str(db.session.scalar(select(User.id).where(User.username == u))) for u in usernames]


# --- the console's case pages -----------------------------------------------------------------------

@pytest.fixture
def accepted(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    assert gc.act(case_id, "accept", accept).status_code == 302
    return gc, case_id


def test_assign_note_over_and_at_its_limit(app, org, accepted):
    gc, case_id = accepted
    team = [str(org.gc_inv1), str(org.gc_inv2)]
    r = gc.post(f"/cases/{case_id}/assign", {"team": team, "note": text(501)})
    refused(r, 500, text(501))
    assert rows(app, VisitAssignment, VisitAssignment.case_id == case_id) == 0
    assert gc.post(f"/cases/{case_id}/assign", {"team": team, "note": text(500)}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(VisitAssignment.note).where(VisitAssignment.case_id == case_id)) == text(500)


def _paper(org, **extra):
    inv = [str(org.gc_inv1), str(org.gc_inv2)]
    return {"team": inv, "signed": inv, "applicant_signed": "1", "visit_on": START.isoformat(),
            "income_wages_1": "1800", **{f"income_wages_{m}": "0" for m in range(2, 7)},
            "living_notes": "住房简陋", "summary": "情况属实", "recommendation": "eligible", **extra}


@pytest.mark.parametrize("field, limit, label", [
    ("summary", 2000, "调查情况"), ("property_housing", 500, "住房"), ("living_notes", 2000, "")])
def test_paper_visit_texts_over_and_at_their_limits(app, org, accepted, field, limit, label):
    gc, case_id = accepted
    scan = {"scan": (png_bytes(), "form.png", "image/png")}
    r = gc.post(f"/cases/{case_id}/paper-visit", _paper(org, **{field: text(limit + 1)}), files=scan)
    page = refused(r, limit, text(limit + 1))
    assert label in page
    assert rows(app, Visit, Visit.case_id == case_id) == 0 and status_of(app, case_id) == "accepted"
    r = gc.post(f"/cases/{case_id}/paper-visit", _paper(org, **{field: text(limit)}),
                files={"scan": (png_bytes(), "form.png", "image/png")})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        visit = db.session.scalar(select(Visit).where(Visit.case_id == case_id))
        stored = json.dumps({c.name: getattr(visit, c.name) for c in Visit.__table__.columns}, default=str,
                            ensure_ascii=False)
    assert text(limit) in stored and text(limit + 1) not in stored


# --- rosters -----------------------------------------------------------------------------------------

def roster(app, rid: int) -> Roster:
    with app.app_context():
        r = db.session.get(Roster, rid)
        db.session.expunge(r)
        return r


def test_roster_opinion_and_review_comments(app, org, two_cases):  # noqa: F811
    gc, lead, bureau = Console(app, "gc_case"), Console(app, "gc_dir"), Console(app, "gc_bureau")
    rid = generate(gc, "2026-12")
    refused(lead.post(f"/rosters/{rid}/submit", {"signature": signature(), "opinion": text(2001)}), 2000, text(2001))
    assert roster(app, rid).status == "draft" and roster(app, rid).signature_sha256 is None
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature(), "opinion": text(2000)}).status_code == 302
    assert roster(app, rid).leader_opinion == text(2000)
    for decision in ("return", "approve"):
        r = bureau.post(f"/rosters/{rid}/review", {"decision": decision, "comments": text(4001)})
        refused(r, 4000, text(4001))
        assert roster(app, rid).status == "submitted" and not roster(app, rid).review_comments
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "return", "comments": text(4000)}).status_code == 302
    assert (roster(app, rid).status, roster(app, rid).review_comments) == ("returned", text(4000))


def test_roster_step_note(app, org):
    paid_case(app, org, office="yj", seq=14)
    on(app, dt.date(2026, 12, 3))
    yj, lead, bureau = Console(app, "yj_case"), Console(app, "yj_lead"), Console(app, "yj_bureau")
    rid = generate(yj, "2026-12")
    assert lead.post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    assert bureau.post(f"/rosters/{rid}/review", {"decision": "approve"}).status_code == 302
    on(app, dt.date(2026, 12, 20))
    step = {"step": "finance", "on": "2026-12-16"}
    refused(bureau.post(f"/rosters/{rid}/steps", {**step, "note": text(2001)}), 2000, text(2001))
    assert rows(app, RosterStep, RosterStep.roster_id == rid) == 0
    assert bureau.post(f"/rosters/{rid}/steps", {**step, "note": text(2000)}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(RosterStep.note).where(RosterStep.roster_id == rid)) == text(2000)


# --- dynamic management ----------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["reason", "note"])
def test_start_rereview_reason_and_note(app, org, field):
    cid = paid_case(app, org, seq=3)
    on(app, dt.date(2027, 3, 10))
    gc = Console(app, "gc_case")
    url, team = f"/dynamic/cases/{cid}/start-rereview", ids(app, "gc_inv1", "gc_inv2")
    refused(gc.post(url, {"team": team, field: text(501)}), 500, text(501))
    assert status_of(app, cid) == "in_payment" and rows(app, VisitAssignment, VisitAssignment.case_id == cid) == 0
    assert gc.post(url, {"team": team, field: text(500)}).status_code == 302
    assert status_of(app, cid) == "rereview"
    with app.app_context():
        note = db.session.scalar(select(VisitAssignment.note).where(VisitAssignment.case_id == cid))
    assert text(500) in (note if field == "note" else events(app, cid)[-1][1])


def test_change_report_description_and_date(app, org):
    cid = paid_case(app, org, seq=7)
    on(app, dt.date(2026, 10, 10))
    gc = Console(app, "gc_case")
    url = f"/dynamic/cases/{cid}/report"
    refused(gc.post(url, {"kind": "income", "description": text(4001)}), 4000, text(4001))
    assert rows(app, ChangeReport, ChangeReport.case_id == cid) == 0
    with app.app_context():
        applied = db.session.get(Case, cid).applied_on
    for day in ("0001-01-01", (applied - dt.timedelta(days=1)).isoformat()):
        r = gc.post(url, {"kind": "income", "description": "户主失业", "reported_on": day})
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and "报告日期不能早于申请日期" in page and "户主失业" in page
        assert rows(app, ChangeReport, ChangeReport.case_id == cid) == 0
    assert gc.post(url, {"kind": "income", "description": text(4000), "reported_on": applied.isoformat()}
                   ).status_code == 302
    with app.app_context():
        report = db.session.scalar(select(ChangeReport).where(ChangeReport.case_id == cid))
        assert (report.description, report.reported_on) == (text(4000), applied)


@pytest.mark.parametrize("path, data, status", [
    ("change", {"assessed_income_6m": "600"}, "in_payment"),
    ("gradual-exit", {}, "gradual_exit"),
    ("stop", {"category": "death"}, "stopped"),
])
def test_decision_reasons(app, org, path, data, status):
    cid = paid_case(app, org, seq=9)
    on(app, dt.date(2026, 10, 10))
    director = Console(app, "gc_dir")
    url = f"/dynamic/cases/{cid}/{path}"
    before = events(app, cid)
    refused(director.post(url, {**data, "reasons": text(2001)}), 2000, text(2001))
    assert events(app, cid) == before and status_of(app, cid) == "in_payment"
    r = director.post(url, {**data, "reasons": text(2000)})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    after = events(app, cid)
    assert len(after) == len(before) + 1 and text(2000) in after[-1][1] and status_of(app, cid) == status


# --- oversight -----------------------------------------------------------------------------------

def test_spot_check_assignment_note(app, world):  # noqa: F811
    draw_id = draw(app, world)
    desk = Desk(app, "gc_bureau")
    team = [str(world.gc_bureau), str(world.gc_bureau2)]
    url = f"/oversight/spotchecks/{draw_id}/assign"
    refused(desk.post(url, {"team": team, "note": text(401)}), 400, text(401))
    assert rows(app, VisitAssignment, VisitAssignment.kind == "spot_check") == 0
    assert desk.post(url, {"team": team, "note": text(400)}).status_code == 302
    with app.app_context():
        notes = db.session.scalars(select(VisitAssignment.note).where(VisitAssignment.kind == "spot_check")).all()
    assert notes and all(n.endswith("：" + text(400)) for n in notes)
