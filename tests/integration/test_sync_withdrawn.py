"""Through the phone API: a team taken off a visit (its assignment given to another team) cannot put a visit into
the case, and a phone cannot "use" a stored file by naming its hash — it must hold the bytes."""

# ruff: noqa: F811 (the ``field`` fixture is imported from test_sync_api and requested by name)
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import delete, func, select

from server.extensions import db
from server.models import Attestation, Case, User, Visit, VisitAssignment
from server.models.attachments import PendingAttachment
from server.models.visits import assignment_members
from server.operations.visits import assign_visit
from tests.conftest import sign_in
from tests.integration.test_sync_api import (  # noqa: F401
    TODAY,
    att,
    envelope,
    field,
    jpeg,
    png,
    r_hash,
    visit_ready,
)
from tests.integration.test_visit_bundle import bundle

CHINA = dt.timezone(dt.timedelta(hours=8))


def _now_on(env: dict) -> dict:
    """The envelope as started now (China time), after anything the test did before."""
    start = (dt.datetime.now(CHINA) + dt.timedelta(seconds=1)).replace(microsecond=0)   # (to the second)
    return {**env, "started_at": start.isoformat(), "finished_at": (start + dt.timedelta(minutes=1)).isoformat()}


def _reassign(app, field) -> int:
    """The caseworker gives the home visit to gc_inv4 and gc_inv5: the first assignment is cancelled.  Returns
    the new assignment's id."""
    from server.operations.accounts import add_user

    with app.app_context():
        team = [add_user(name, "investigator", "410104005", "correct-horse-1").id for name in ("gc_inv4", "gc_inv5")]
        db.session.commit()
        return assign_visit(db.session.get(Case, field["case_id"]), db.session.get(User, field["org"].gc_case), team,
                            today=TODAY).id


def _case_state(app, field) -> tuple[str, int, list[str]]:
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        return case.status, case.record_version, [e.action for e in case.events]


def _nothing_stored(app, visit_id: str) -> None:
    with app.app_context():
        assert db.session.get(Visit, visit_id) is None
        assert db.session.scalar(select(func.count()).select_from(PendingAttachment)
                                 .where(PendingAttachment.visit_id == visit_id)) == 0


# --- a team taken off the visit ----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["json", "bundle"])
def test_a_visit_started_after_its_assignment_was_withdrawn_is_refused(app, field, how):
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    _reassign(app, field)
    assert a.pull().json["assignments"] == []
    before = _case_state(app, field)
    photo, signature = jpeg((9, 9, 90)), png((9, 90, 9))
    env = _now_on(envelope(assignment, [att(photo, "photo", "house_outside"),
                                        att(signature, "signature", "applicant", "image/png")],
                           [field["org"].gc_inv1, field["org"].gc_inv2]))
    if how == "json":
        for data, mime in ((photo, "image/jpeg"), (signature, "image/png")):
            assert a.put(data, mime).status_code in (200, 201)
        r = a.post_visit(env)
    else:
        r = bundle(a, env, [(photo, "image/jpeg"), (signature, "image/png")])
    assert r.status_code == 409 and r.json["error"] == "assignment_withdrawn", r.json
    assert "撤回" in r.json["message"] and "withdrawn" in r.json["message_en"]
    _nothing_stored(app, env["visit_id"])
    assert b.attest(env["visit_id"], r_hash(env)).status_code == 404   # nothing to attest
    assert _case_state(app, field) == before


def test_a_visit_made_before_the_withdrawal_is_kept_and_attested_but_not_taken_into_the_case(app, field):
    """The team was offline when it was taken off: its record (started before) is stored and attested — nothing
    entered is lost — but stays out of the case, visible to the caseworker as complete."""
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    new_assignment = _reassign(app, field)   # meanwhile, at the office
    photo, signature = jpeg((1, 80, 160)), png((160, 80, 1))
    for data, mime in ((photo, "image/jpeg"), (signature, "image/png")):
        assert a.put(data, mime).status_code in (200, 201)
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])   # started 2025-11-04, before the reassignment
    r = a.post_visit(env)
    assert r.status_code == 201 and r.json["status"] == "complete", r.json
    before = _case_state(app, field)
    assert a.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    r = b.attest(env["visit_id"], r.json["content_hash"])
    assert r.status_code == 201 and r.json["status"] == "complete"
    assert a.post_visit(env).json["status"] == "complete"            # a resend (a re-check) does not take it in
    assert app.test_cli_runner().invoke(args=["sync", "sweep"]).output.strip().endswith("0")
    assert _case_state(app, field) == before == ("accepted", 1, before[2]) and "record_home_visit" not in before[2]
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "complete"
        assert db.session.scalar(select(func.count(Attestation.id))
                                 .where(Attestation.visit_id == env["visit_id"])) == 2
        assert db.session.get(VisitAssignment, assignment["assignment_id"]).status == "cancelled"
        assert db.session.get(VisitAssignment, new_assignment).status == "open"
    console = app.test_client()
    sign_in(console, "gc_case")
    page = console.get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert f'data-visit="{env["visit_id"]}" data-status="complete"' in page


@pytest.mark.parametrize("how", ["taken_off_the_team", "withdrawn_before_the_visit_started"])
def test_an_attestation_from_someone_no_longer_on_the_team_is_refused(app, field, how):
    a, b = field["phones"]
    env, body = visit_ready(field)
    assert a.attest(env["visit_id"], body["content_hash"]).status_code == 201
    with app.app_context():
        assignment = db.session.get(Visit, env["visit_id"]).assignment_id
        if how == "taken_off_the_team":
            db.session.execute(delete(assignment_members).where(assignment_members.c.assignment_id == assignment,
                                                                assignment_members.c.user_id == field["org"].gc_inv2))
            db.session.commit()
    if how == "withdrawn_before_the_visit_started":
        # A record stored before such visits were refused: its assignment was withdrawn before it was started.
        _reassign(app, field)
        with app.app_context():
            row = db.session.get(VisitAssignment, assignment)
            row.updated_at = dt.datetime(2025, 11, 4, 0, 30, tzinfo=dt.UTC)   # 08:30 in China; visit at 09:00
            db.session.commit()
    before = _case_state(app, field)
    r = b.attest(env["visit_id"], body["content_hash"])
    assert r.status_code == 403 and r.json["error"] == "not_on_team", r.json
    assert "调查组" in r.json["message"] and "team" in r.json["message_en"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Attestation.id)).where(Attestation.user_id == field["org"].gc_inv2)) == 0
        assert db.session.get(Visit, env["visit_id"]).status == "complete"
    assert _case_state(app, field) == before


def test_a_resent_attestation_is_answered_as_before_after_its_sender_left_the_team(app, field):
    """A's attestation was stored but its answer lost; then A was taken off the assignment. A's phone sends it
    again: the retry is answered 200 as stored (a retry is never refused), and nothing is stored twice."""
    a, _ = field["phones"]
    env, body = visit_ready(field)
    assert a.attest(env["visit_id"], body["content_hash"]).status_code == 201
    with app.app_context():   # taken off the team (as in the test above)
        assignment = db.session.get(Visit, env["visit_id"]).assignment_id
        db.session.execute(delete(assignment_members).where(assignment_members.c.assignment_id == assignment,
                                                            assignment_members.c.user_id == field["org"].gc_inv1))
        db.session.commit()
    r = a.attest(env["visit_id"], body["content_hash"])
    assert r.status_code == 200 and r.json["status"] == "complete", r.json
    with app.app_context():
        assert db.session.scalar(select(func.count(Attestation.id)).where(
            Attestation.visit_id == env["visit_id"])) == 1


def test_a_done_assignment_takes_amendments_but_no_new_record(app, field):
    a, b = field["phones"]
    env, body = visit_ready(field)
    for phone in (a, b):
        assert phone.attest(env["visit_id"], body["content_hash"]).status_code == 201
    assert _case_state(app, field)[0] == "visited"
    # A new record started after the assignment was done: refused (the one record is amended instead).
    fresh = png((33, 44, 55))
    assert a.put(fresh, "image/png").status_code == 201
    again = _now_on({**json.loads(json.dumps(env)), "visit_id": str(uuid.uuid4()),
                     "attachments": [env["attachments"][0], att(fresh, "signature", "applicant", "image/png")]})
    r = a.post_visit(again)
    assert r.status_code == 409 and r.json["error"] == "assignment_closed" and r.json["message_en"], r.json
    _nothing_stored(app, again["visit_id"])
    # An amendment of the record, even started later: stored, attested, replaces the record; no second step.
    edit = {**again, "visit_id": str(uuid.uuid4()), "supersedes": env["visit_id"]}
    edit["answers"]["living"]["notes"] = "更正：住房漏雨"
    r = a.post_visit(edit)
    assert r.status_code == 201 and r.json["status"] == "complete", r.json
    for phone in (a, b):
        assert phone.attest(edit["visit_id"], r.json["content_hash"]).status_code == 201
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "superseded"
        assert db.session.get(Visit, edit["visit_id"]).status == "accepted"
    status, _, events = _case_state(app, field)
    assert status == "visited" and events.count("record_home_visit") == 1


# --- a listed file the phone never sent ---------------------------------------------------------------

def _stored_by_office_008(app) -> tuple[bytes, str]:
    """A fingerprint JPEG another office stored on its own case (uploaded at its console)."""
    from server.operations.attachments import save

    data = jpeg((200, 10, 10))
    with app.app_context():
        sha = save(data, declared_type="image/jpeg", user=db.session.scalar(
            select(User).where(User.username == "other_case")))
        db.session.commit()
    return data, sha


def _visit_naming(field, data: bytes) -> dict:
    """gc_inv1's visit listing ``data`` as its fingerprint, beside its own signature (uploaded by its phone)."""
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    signature = png((70, 70, 70))
    assert a.put(signature, "image/png").status_code == 201
    return envelope(assignment, [att(data, "fingerprint", "applicant"), att(signature, "signature", "applicant", "image/png")],
                    [field["org"].gc_inv1, field["org"].gc_inv2])


def test_naming_a_file_someone_else_stored_does_not_make_it_present(app, field):
    a, b = field["phones"]
    data, sha = _stored_by_office_008(app)
    env = _visit_naming(field, data)
    r = a.post_visit(env)
    assert r.status_code == 201 and r.json["status"] == "incomplete" and r.json["missing_attachments"] == [sha]
    first = r.json
    for _ in range(2):   # a resend is idempotent: same answer, nothing new
        r = a.post_visit(env)
        assert r.status_code == 200 and r.json == first
    for phone in (a, b):
        assert phone.attest(env["visit_id"], first["content_hash"]).status_code == 201
    got = field["client"].get(f"/api/v1/visits/{env['visit_id']}", headers=a.auth).json
    assert got["status"] == "incomplete" and got["missing_attachments"] == [sha]
    assert _case_state(app, field)[0] == "accepted"
    # The partner's phone sending the bytes does not show that this phone holds them.
    assert b.put(data).status_code == 200
    assert field["client"].get(f"/api/v1/visits/{env['visit_id']}", headers=a.auth).json["status"] == "incomplete"
    # The phone sends the bytes (as the outbox does for a missing file): now the visit is complete and goes on.
    assert a.put(data).status_code == 200
    got = field["client"].get(f"/api/v1/visits/{env['visit_id']}", headers=a.auth).json
    assert got["status"] == "accepted" and got["missing_attachments"] == []
    assert a.post_visit(env).json["missing_attachments"] == []
    assert _case_state(app, field)[0] == "visited"


def test_a_bundle_carrying_the_bytes_makes_a_file_someone_else_stored_present(app, field):
    a, _ = field["phones"]
    data, sha = _stored_by_office_008(app)
    env = _visit_naming(field, data)
    r = bundle(a, env, [], attest=False)   # the bytes not sent: waiting for them
    assert r.status_code == 201 and r.json["missing_attachments"] == [sha]
    r = bundle(a, env, [(data, "image/jpeg")], attest=False)   # the resend carries them
    assert r.status_code == 200 and r.json["status"] == "complete" and r.json["missing_attachments"] == []


def test_a_first_bundle_carrying_the_bytes_of_a_file_someone_else_stored_is_complete(app, field):
    a, _ = field["phones"]
    data, _ = _stored_by_office_008(app)
    r = bundle(a, _visit_naming(field, data), [(data, "image/jpeg")], attest=False)
    assert r.status_code == 201 and r.json["status"] == "complete" and r.json["missing_attachments"] == []
