"""An amendment replaces a record of its own assignment: the line of revisions is read under that assignment's
lock, so a record of another assignment (a withdrawn team's, another case's) is not one to replace."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.extensions import db
from server.models import Case, User, Visit
from server.operations.visits import assign_visit
from tests.integration.test_sync_api import (  # noqa: F401 (the fixture)
    TODAY,
    att,
    envelope,
    field,
    png,
    visit_ready,
)


def _amendment_for(assignment: dict, original: dict, org) -> dict:
    fresh = png((12, 34, 56))
    edit = envelope(assignment, [original["attachments"][0], att(fresh, "signature", "applicant", "image/png")],
                    [org.gc_inv1, org.gc_inv2])
    return {**edit, "supersedes": original["visit_id"]}, fresh


def test_a_record_of_a_withdrawn_assignment_is_not_amended_under_the_new_one(app, field):  # noqa: F811
    a = field["phones"][0]
    org = field["org"]
    original, _ = visit_ready(field)
    with app.app_context():   # the caseworker gives the visit again (the first assignment is withdrawn)
        assign_visit(db.session.get(Case, field["case_id"]), db.session.get(User, org.gc_case),
                     [org.gc_inv1, org.gc_inv2], today=TODAY)
    pulled = a.pull().json["assignments"]
    new = next(x for x in pulled if x["assignment_id"] != original["assignment_id"])
    edit, fresh = _amendment_for(new, original, org)
    assert a.put(fresh, "image/png").status_code == 201
    with app.app_context():
        before = db.session.scalar(select(func.count(Visit.id)))
    r = a.post_visit(edit)
    assert r.status_code == 422 and r.json["error"] == "supersedes_other_assignment", r.json
    assert r.json["message"] and r.json["message_en"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == before
        assert db.session.get(Visit, original["visit_id"]).status != "superseded"


def test_an_amendment_of_the_same_assignment_is_still_taken(app, field):  # noqa: F811
    a = field["phones"][0]
    org = field["org"]
    original, _ = visit_ready(field)
    assignment = next(x for x in a.pull().json["assignments"] if x["assignment_id"] == original["assignment_id"])
    edit, fresh = _amendment_for(assignment, original, org)
    edit["visit_id"] = str(uuid.uuid4())
    assert a.put(fresh, "image/png").status_code == 201
    assert a.post_visit(edit).status_code == 201
