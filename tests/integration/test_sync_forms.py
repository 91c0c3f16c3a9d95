"""Which form goes on which assignment, through the sync API: the two-rates survey made during a spot check
does not close it, the democratic-appraisal record from the phones is recorded on the case, a form of the
wrong kind is refused, and an amended visit (``supersedes``) replaces the one it amends."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, Visit, VisitAssignment
from tests.conftest import csrf_token, sign_in
from tests.integration.test_pages_i18n import visible_text
from tests.integration.test_sync_api import (  # noqa: F401 (the fixture)
    TODAY,
    att,
    envelope,
    field,
    jpeg,
    png,
    visit_ready,
)

LATER = TODAY + dt.timedelta(days=7)


def accept_home_visit(field) -> None:  # noqa: F811
    env, body = visit_ready(field)
    for phone in field["phones"]:
        assert phone.attest(env["visit_id"], body["content_hash"]).status_code == 201


def console(app, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def assign(app, case_id: int, team: list[int], kind: str = "appraisal"):
    client = console(app, "gc_case")
    return client.post(f"/cases/{case_id}/assign", data={
        "csrf_token": csrf_token(client, f"/cases/{case_id}"), "kind": kind, "team": [str(t) for t in team]})


def panel(residents: int, others: int, signed: bool = True) -> list[dict]:
    return ([{"name": f"居民{i}", "category": "resident", "signed": signed} for i in range(residents)]
            + [{"name": f"干部{i}", "category": "committee", "signed": signed} for i in range(others)])


def appraisal_envelope(assignment: dict, sheet: bytes, team: list[int], members: list[dict],
                       conclusion: str = "agree") -> dict:
    return {
        "protocol": 1, "visit_id": str(uuid.uuid4()), "assignment_id": assignment["assignment_id"],
        "case_id": assignment["case_id"], "form_id": "appraisal", "form_version": 1,
        "base_version": assignment["base_version"], "supersedes": None,
        "answers": {
            "meeting": {"appraisal_on": LATER.isoformat(), "place": "社区会议室", "host": "王主任", "recorder": "李干事",
                        "policy_briefed": True, "applicant_present": True, "investigators_present": True},
            "panel": members,
            "result": {"conclusion": conclusion, "votes_for": len(members), "votes_against": 0,
                       "minutes": "宣讲政策；申请人介绍家庭情况；调查人员介绍调查结果；评议人员逐一发表意见，一致认为情况属实。"},
        },
        "attachments": [att(sheet, "photo", "signed_record")], "investigators": team,
        "gps": {"start": {"refused": True}, "finish": {"refused": True}},
        "started_at": f"{LATER.isoformat()}T15:00:00+08:00", "finished_at": f"{LATER.isoformat()}T16:10:00+08:00",
    }


def test_the_appraisal_record_from_the_phones_is_recorded_on_the_case(app, field):  # noqa: F811
    accept_home_visit(field)
    org, (a, b) = field["org"], field["phones"]
    app.config["RUHU_TODAY"] = LATER
    assert assign(app, field["case_id"], [org.gc_inv1, org.gc_inv2]).status_code == 302
    assignment = next(x for x in a.pull().json["assignments"] if x["kind"] == "appraisal")
    assert (assignment["form_id"], assignment["extra_forms"]) == ("appraisal", [])
    assert assignment["deadline"] is not None          # the 5-working-day limit after the visit

    sheet = jpeg((30, 60, 90))
    assert a.put(sheet).status_code == 201
    env = appraisal_envelope(assignment, sheet, [org.gc_inv1, org.gc_inv2], panel(6, 3))
    r = a.post_visit(env)
    assert r.status_code == 201, r.json
    assert a.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    with app.app_context():
        assert db.session.get(Case, field["case_id"]).status == "visited"     # one signature is not enough
    assert b.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        refused = db.session.scalars(select(AuditEntry.after).where(AuditEntry.action == "visit.accept_refused")).all()
        assert case.status == "appraised", refused
        event = case.events[-1]
        assert event.action == "record_appraisal"
        assert (event.data["residents"], event.data["panel"], event.data["conclusion"]) == (6, 9, "agree")
        assert db.session.get(Visit, env["visit_id"]).status == "accepted"
        assert db.session.get(VisitAssignment, assignment["assignment_id"]).status == "done"
    page = console(app, "gc_case").get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert 'data-kind="appraisal"' in page and "民主评议记录" in page
    # The printed 民主评议记录 carries what the meeting recorded: where, who chaired and who took the minutes (not
    # the caseworker who sent the assignment), the three facts of the procedure, the votes, the signed sheet.
    printed = console(app, "gc_case").get(f"/cases/{field['case_id']}/print/appraisal_record").get_data(as_text=True)
    text = visible_text(printed)
    assert "社区会议室" in printed and "王主任" in printed and "记录人：" in text
    assert re.search(r"记录人：\s*<span class=\"ud\">李干事</span>", printed), printed[-800:]
    assert printed.count('data-fact="') == 3 and "是否进行了政策宣讲" in text
    assert "认为属实的人数：9 · 有异议的人数：0" in text
    sheet_sha = att(sheet, "photo", "signed_record")["sha256"]
    assert f"/files/{sheet_sha}/display" in printed and "全体评议人员签字的评议表" in text
    assert f'class="scan-file" href="/files/{sheet_sha}/original"' in page          # and the case page links it


@pytest.mark.parametrize("members, code", [
    (panel(5, 3), "resident_share_too_low"),            # 5 of 8 is under 2/3
    (panel(6, 3, signed=False), "panel_signature_missing"),
    (panel(1, 0), "panel_too_small"),                    # issue 12: a panel of one resident
    (panel(4, 2) + [{"name": "居民 0", "category": "resident", "signed": True}], "panel_member_duplicate"),
])
def test_an_appraisal_panel_against_the_rules_is_refused_when_it_arrives(app, field, members, code):  # noqa: F811
    accept_home_visit(field)
    org, (a, _) = field["org"], field["phones"]
    app.config["RUHU_TODAY"] = LATER
    assert assign(app, field["case_id"], [org.gc_inv1, org.gc_inv2]).status_code == 302
    assignment = next(x for x in a.pull().json["assignments"] if x["kind"] == "appraisal")
    sheet = jpeg((30, 60, 91))
    a.put(sheet)
    r = a.post_visit(appraisal_envelope(assignment, sheet, [org.gc_inv1, org.gc_inv2], members))
    assert r.status_code == 422
    assert [(p["path"], p["code"]) for p in r.json["problems"]] == [("answers/panel", code)]
    assert r.json["problems"][0]["message"] and r.json["problems"][0]["message_en"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id)).where(Visit.form_id == "appraisal")) == 0


def test_the_appraisal_cannot_be_sent_to_phones_before_the_visit(app, field):  # noqa: F811
    org = field["org"]
    r = assign(app, field["case_id"], [org.gc_inv1, org.gc_inv2])
    assert r.status_code == 409
    r = assign(app, field["case_id"], [org.gc_inv1, org.gc_inv2], kind="payment")
    assert r.status_code == 422 and "请选择派发的调查类别" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(VisitAssignment.id))
                                 .where(VisitAssignment.kind != "home_visit")) == 0


def test_a_form_of_another_kind_is_refused_on_an_assignment(app, field):  # noqa: F811
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    env = envelope(assignment, [], [field["org"].gc_inv1, field["org"].gc_inv2])
    env["form_id"] = "two_rates"
    env["answers"] = {"respondent": {"kind": "household"}, "awareness": {"knows_policy": "yes"},
                      "satisfaction": {"rating": "satisfied"}}
    r = a.post_visit(env)
    assert r.status_code == 422
    assert [(p["path"], p["code"]) for p in r.json["problems"]] == [("form_id", "form_not_for_assignment")]
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 0


def fresh_signatures(phone, env: dict, colour=(90, 90, 90)) -> None:
    """An amendment with changed content carries freshly drawn signatures (the original's cannot vouch for it)."""
    signature = png(colour)
    assert phone.put(signature, "image/png").status_code in (200, 201)
    env["attachments"] = [a for a in env["attachments"] if a["role"] != "signature"] + [
        att(signature, "signature", "applicant", "image/png")]


def test_an_amended_visit_replaces_the_one_it_amends(app, field):  # noqa: F811
    a, b = field["phones"]
    first, body = visit_ready(field)
    assert a.attest(first["visit_id"], body["content_hash"]).status_code == 201
    second = {**first, "visit_id": str(uuid.uuid4()), "supersedes": first["visit_id"]}
    second["answers"] = {**first["answers"], "findings": {"summary": "更正：配偶有零工收入", "recommendation": "eligible"}}
    fresh_signatures(a, second)
    r = a.post_visit(second)
    assert r.status_code == 201, r.json
    with app.app_context():   # posted is not accepted: the original stays the record for now
        assert db.session.get(Visit, first["visit_id"]).status == "complete"
    waiting = b.pull().json["to_attest"]
    assert [w["visit_id"] for w in waiting] == [second["visit_id"]]          # the partner is offered the newest
    assert b.attest(first["visit_id"], body["content_hash"]).status_code == 201   # the original, attested by QR
    with app.app_context():
        assert db.session.get(Visit, first["visit_id"]).status == "accepted"
        assert db.session.get(Case, field["case_id"]).status == "visited"
    for phone in (a, b):
        assert phone.attest(second["visit_id"], r.json["content_hash"]).status_code == 201
    with app.app_context():
        assert db.session.get(Visit, second["visit_id"]).status == "accepted"
        assert db.session.get(Visit, first["visit_id"]).status == "superseded"
        assert db.session.get(Case, field["case_id"]).status == "visited"
    # amending the replaced record again is stale
    third = {**first, "visit_id": str(uuid.uuid4()), "supersedes": first["visit_id"]}
    assert a.post_visit(third).status_code == 409


def test_a_superseded_visit_is_not_reconciled(app, field):  # noqa: F811
    a, b = field["phones"]
    first, body = visit_ready(field, income="900.00")
    for phone in (a, b):
        phone.attest(first["visit_id"], body["content_hash"])
    with app.app_context():
        assert db.session.get(Visit, first["visit_id"]).merge["proposals"]      # something to reconcile
    second = {**first, "visit_id": str(uuid.uuid4()), "supersedes": first["visit_id"]}
    second["answers"] = {**first["answers"], "findings": {"summary": "更正", "recommendation": "eligible"}}
    fresh_signatures(a, second)
    r = a.post_visit(second)
    assert r.status_code == 201
    client = console(app, "gc_case")
    page = client.get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert f'id="reconcile-{first["visit_id"]}"' in page      # still the case's visit until the amendment is attested
    for phone in (a, b):
        assert phone.attest(second["visit_id"], r.json["content_hash"]).status_code == 201
    client = console(app, "gc_case")
    page = client.get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert f'id="reconcile-{first["visit_id"]}"' not in page
    r = client.post(f"/cases/{field['case_id']}/visits/{first['visit_id']}/reconcile",
                    data={"csrf_token": csrf_token(client, f"/cases/{field['case_id']}")})
    assert r.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "visit.reconcile")) == 0
