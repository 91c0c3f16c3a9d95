"""Reconciling a visit after the review (DOMAIN §6, 8, 11): the figures the leader and director signed are what
is published and paid; a visit's findings change the income, the people covered and the money only through the
director's decision.  And "keep current" never recomputes the assessed income."""
# ruff: noqa: F811 (the ``field`` fixture is imported and requested by name)

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal as D

from sqlalchemy import select

from server.extensions import db
from server.models import Case, User, Visit
from server.models.money import RosterLine
from tests.integration.test_console import Console, on, pdf_bytes, signature
from tests.integration.test_sync_api import att, envelope, field, jpeg, png  # noqa: F401  (fixture)

PANEL = {"panel_name": ["王干事", "居民甲", "居民乙", "居民丙", "居民丁", "居民戊"],
         "panel_category": ["office_staff", "resident", "resident", "resident", "resident", "resident"],
         "panel_signed": [str(i) for i in range(6)], "minutes": "评议", "conclusion": "agree"}


def _post_visit(field, wages: str, *, supersedes: str | None = None, colour=(9, 9, 9), change=None) -> dict:
    """A home visit (or its amendment) sent by the first phone and attested by both."""
    a, b = field["phones"]
    pulled = a.pull().json["assignments"]
    assignment = field["assignment"] = pulled[0] if pulled else field["assignment"]
    photo, sig, isig = jpeg(), png(colour), png((colour[0] + 1, 3, 3))
    for data, mime in ((photo, "image/jpeg"), (sig, "image/png"), (isig, "image/png")):
        a.put(data, mime)
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(sig, "signature", "applicant", "image/png"),
                                att(isig, "signature", "investigators", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    env["answers"]["income"]["wages"] = [wages] * 6
    if change:
        change(env["answers"])
    env["supersedes"] = supersedes
    r = a.post_visit(env)
    assert r.status_code == 201, r.json
    for phone in (a, b):
        assert phone.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    return env


def _reconcile(app, gc: Console, case_id: int, visit_id: str, pick: str):
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    keys = set(re.findall(r'name="pick:(r\d+)"', page))
    assert keys
    r = gc.post(f"/cases/{case_id}/visits/{visit_id}/reconcile", {f"pick:{k}": pick for k in keys})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Visit, visit_id).reconciled_at is not None


def _to_review(app, field, wages: str, found: str) -> tuple[dict, Console]:
    """Visit, reconcile, verification report, appraisal and the caseworker's review opinion on ``found``."""
    env = _post_visit(field, wages)
    cid = field["case_id"]
    on(app, dt.date(2025, 11, 5))
    gc = Console(app, "gc_case")
    with app.app_context():
        mids = [str(m.id) for m in db.session.get(Case, cid).household.members]
    assert gc.act(cid, "request_verification", {"members": mids}).status_code == 302
    assert gc.post(f"/cases/{cid}/visits/{env['visit_id']}/reconcile", {}).status_code == 302
    assert gc.act(cid, "record_verification_report", {"found_income_6m": found},
                  files={"report_file": (pdf_bytes(), "r.pdf", "application/pdf")}).status_code == 302
    on(app, dt.date(2025, 11, 6))
    assert gc.act(cid, "record_appraisal", PANEL).status_code == 302
    assert gc.act(cid, "review_opinion", {"recommendation": "approve", "opinion": "按核对报告认定",
                                          "assessed_income_6m": found, "property_checked": "1"}).status_code == 302
    return env, gc


def _to_payment(app, field) -> tuple[dict, Console]:
    env, gc = _to_review(app, field, "300", "1800.00")
    cid = field["case_id"]
    assert Console(app, "gc_lead").act(cid, "sign_review", {"opinion": "同意", "signature": signature()}).status_code == 302
    assert gc.act(cid, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    on(app, dt.date(2025, 11, 14))
    assert gc.act(cid, "close_publicity").status_code == 302
    assert Console(app, "gc_dir").act(cid, "approve", {"signature": signature(), "opinion": "同意"}).status_code == 302
    assert gc.act(cid, "issue_certificate", {"number": "GC-0001", "valid_from": "2025-11-14",
                                             "valid_until": "2026-11-13"}).status_code == 302
    assert gc.act(cid, "start_payment").status_code == 302
    assert _state(app, cid)[:4] == ("in_payment", D("1100.00"), D("1800.00"), 2)
    return env, gc


def _state(app, cid: int) -> tuple:
    with app.app_context():
        c = db.session.get(Case, cid)
        return (c.status, c.amount, c.assessed_income_6m, sum(1 for m in c.household.members if m.covered),
                c.record_version, [e.action for e in c.events])


def _roster_line(app, gc: Console, cid: int, month: str) -> tuple[int, D, bool]:
    assert gc.post("/rosters/generate", {"month": month}).status_code == 302
    with app.app_context():
        line = db.session.scalars(select(RosterLine).where(RosterLine.case_id == cid, RosterLine.kind == "payment")
                                  .order_by(RosterLine.id.desc())).first()
        return line.people, line.amount, line.differs_from_decided


def _spouse_moved_out(answers):
    answers["members"][1]["co_residing"] = False


def test_an_amendment_reconciled_in_payment_is_evidence_not_a_decision(app, field, org):
    env, gc = _to_payment(app, field)
    cid = field["case_id"]
    assert _roster_line(app, gc, cid, "2025-12")[:2] == (2, D("1100.00"))
    on(app, dt.date(2025, 11, 3))
    amendment = _post_visit(field, "900", supersedes=env["visit_id"], colour=(50, 50, 50), change=_spouse_moved_out)
    with app.app_context():
        assert db.session.get(Visit, amendment["visit_id"]).status == "accepted"
    on(app, dt.date(2025, 11, 20))
    before = _state(app, cid)
    _reconcile(app, gc, cid, amendment["visit_id"], "visit")
    after = _state(app, cid)
    # the signed figures stand: income, people covered, amount, record; only the history line is added
    assert after[:5] == before[:5] == ("in_payment", D("1100.00"), D("1800.00"), 2, before[4])
    assert after[5] == before[5] + ["reconcile_visit"]
    with app.app_context():
        case = db.session.get(Case, cid)
        ev = case.events[-1]
        spouse = case.household.members[1]
        assert ev.data["evidence_only"] and ev.data["proposed"]["assessed_income_6m"] == "5400.00"
        assert ev.data["proposed"]["left"] == [spouse.id_number] and spouse.covered and spouse.co_residing
        assert "5400.00" in ev.data["finding"] and spouse.name in ev.data["finding"]
        spouse_id, spouse_name = spouse.id, spouse.name
    assert _roster_line(app, gc, cid, "2025-12") == (2, D("1100.00"), False)
    assert spouse_name in gc.get(f"/cases/{cid}/print/certificate").get_data(as_text=True)
    assert "5400.00" in gc.get(f"/cases/{cid}").get_data(as_text=True)      # shown to the caseworker
    # the director's change decision starts from the reconciled findings, and only it would apply them
    page = Console(app, "gc_dir").get(f"/dynamic/cases/{cid}").get_data(as_text=True)
    assert 'id="visit-evidence"' in page and 'data-proposed-income="5400.00"' in page
    change = re.search(r'<form[^>]*id="change".*?</form>', page, re.S).group(0)
    assert 'name="assessed_income_6m" value="5400.00"' in change
    assert re.search(rf'value="{spouse_id}"\s*>', change)          # the spouse pre-unticked
    assert _state(app, cid)[:4] == ("in_payment", D("1100.00"), D("1800.00"), 2)


def test_a_rereview_visit_changes_the_money_only_with_the_directors_conclusion(app, field, org):
    _env, gc = _to_payment(app, field)
    cid = field["case_id"]
    on(app, dt.date(2025, 11, 3))
    with app.app_context():
        team = [str(db.session.scalar(select(User.id).where(User.username == u))) for u in ("gc_inv1", "gc_inv2")]
    assert gc.post(f"/dynamic/cases/{cid}/start-rereview", {"team": team}).status_code == 302
    a, b = field["phones"]
    asg = next(x for x in a.pull().json["assignments"] if x["kind"] == "rereview")
    sig = png((77, 1, 1))
    a.put(sig, "image/png")
    members = [{"name": m["name"], "id_number": m["id_number"], "co_residing": True, "health": "healthy",
                "work": "employed"} for m in asg["members"]]
    env = {"protocol": 1, "visit_id": str(uuid.uuid4()), "assignment_id": asg["assignment_id"], "case_id": cid,
           "form_id": asg["form_id"], "form_version": asg["form_version"], "base_version": asg["base_version"],
           "supersedes": None, "answers": {"members": members, "income": {"wages": ["600"] * 6},
                                           "findings": {"changes": "户主已就业", "recommendation": "lower"}},
           "attachments": [att(sig, "signature", "applicant", "image/png")], "investigators": [org.gc_inv1, org.gc_inv2],
           "gps": {"start": {"refused": True}, "finish": {"refused": True}},
           "started_at": "2025-11-04T09:00:00+08:00", "finished_at": "2025-11-04T09:30:00+08:00"}
    r = a.post_visit(env)
    assert r.status_code == 201, r.json
    for phone in (a, b):
        assert phone.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    on(app, dt.date(2025, 11, 20))
    _reconcile(app, gc, cid, env["visit_id"], "visit")
    assert _state(app, cid)[:4] == ("rereview", D("1100.00"), D("1800.00"), 2)     # before the director decided
    assert _roster_line(app, gc, cid, "2025-12") == (2, D("1100.00"), False)
    director = Console(app, "gc_dir")
    page = director.get(f"/dynamic/cases/{cid}").get_data(as_text=True)
    form = re.search(r'<form[^>]*id="rereview-decision".*?</form>', page, re.S).group(0)
    assert 'name="assessed_income_6m" value="3600.00"' in form
    income = re.search(r'name="assessed_income_6m" value="([^"]*)"', form).group(1)
    covered = re.findall(r'name="covered" value="(\d+)" checked', form)
    assert len(covered) == 2
    r = director.post(f"/dynamic/cases/{cid}/rereview-decision",
                      {"outcome": "change", "assessed_income_6m": income, "covered_listed": "1", "covered": covered,
                       "reasons": "复核入户调查：户主已就业，收入增加"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    status, amount, assessed, people, _v, events = _state(app, cid)
    assert (status, assessed, people) == ("in_payment", D("3600.00"), 2) and amount < D("1100.00")
    assert events[-1] == "complete_rereview"
    assert _roster_line(app, gc, cid, "2025-12") == (2, amount, False)
    assert 'id="visit-evidence"' not in director.get(f"/dynamic/cases/{cid}").get_data(as_text=True)


def test_keep_current_after_the_review_opinion_keeps_the_reviewed_income(app, field, org):
    env, gc = _to_review(app, field, "300", "2400.00")
    cid = field["case_id"]
    on(app, dt.date(2025, 11, 3))
    amendment = _post_visit(field, "320", supersedes=env["visit_id"], colour=(60, 60, 60))
    with app.app_context():
        assert db.session.get(Visit, amendment["visit_id"]).merge["conflicts"]
    on(app, dt.date(2025, 11, 6))
    before = _state(app, cid)
    assert before[:3] == ("review_signing", None, D("2400.00"))
    _reconcile(app, gc, cid, amendment["visit_id"], "current")
    assert _state(app, cid)[:5] == before[:5]


def test_keep_current_after_a_return_for_correction_keeps_the_reviewed_income(app, field, org):
    """A return to the caseworker's review reopens the record: the visit's values taken are applied, but a
    conflict kept "as it is now" leaves the reviewed income alone."""
    env, gc = _to_review(app, field, "300", "2400.00")
    cid = field["case_id"]
    assert Console(app, "gc_lead").act(cid, "return_for_correction",
                                       {"to": "review", "reasons": "请核实工资收入"}).status_code == 302
    on(app, dt.date(2025, 11, 3))
    first = _post_visit(field, "320", supersedes=env["visit_id"], colour=(60, 60, 60))
    on(app, dt.date(2025, 11, 6))
    before = _state(app, cid)
    assert before[:3] == ("appraised", None, D("2400.00"))
    _reconcile(app, gc, cid, first["visit_id"], "current")
    status, _amount, assessed, people, version, _events = _state(app, cid)
    assert (status, assessed, people, version) == ("appraised", D("2400.00"), 2, before[4] + 1)
    # taking the visit's value in this stage does set the income from the record
    on(app, dt.date(2025, 11, 3))
    second = _post_visit(field, "350", supersedes=first["visit_id"], colour=(70, 70, 70))
    on(app, dt.date(2025, 11, 6))
    _reconcile(app, gc, cid, second["visit_id"], "visit")
    assert _state(app, cid)[2] == D("2100.00")
