"""Least privilege through HTTP: what a message may say about people outside the user's scope, what an
investigator may see in the console, and who may read a stored file."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Case
from tests.integration.test_console import START, Console, intake_form, on, register


@pytest.fixture
def gc(app, org):
    on(app, START)
    return Console(app, "gc_case")


# --- item 3: messages never name people outside the user's scope ------------------------------------

def test_intake_clash_with_another_offices_case_names_nobody(app, org, gc):
    other = Console(app, "other_case")
    stored = intake_form(org, unit="oc", m1_name="孙红凤", address="二里岗路9号")
    r = other.post("/cases/new", stored)
    assert r.status_code == 302
    with app.app_context():
        other_number = db.session.scalar(select(Case.number))
    # The same person typed under another name in another district's intake.
    r = gc.post("/cases/new", intake_form(org, m1_name="孙红", m0_name="王建国", phone="13911112222"))
    page = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "第1位成员王建国的身份证号码已在其他街道（乡镇）的在办或在保案件中" in page and "民政局" in page
    for private in ("孙红凤", "张建国", other_number, "二里岗", "二里岗路9号"):
        assert private not in page, private
    assert 'value="王建国"' in page and 'value="13911112222"' in page      # nothing typed is lost
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 1


def test_intake_clash_in_the_own_office_names_the_case(app, org, gc):
    case_id = register(app, gc, org)
    with app.app_context():
        number = db.session.get(Case, case_id).number
    r = gc.post("/cases/new", intake_form(org, unit="c2"))
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and f"已在本街道（乡镇）的在办或在保案件{number}中" in page


def test_intake_clash_message_in_english(app, org, gc):
    Console(app, "other_case").post("/cases/new", intake_form(org, unit="oc", m0_name="孙红凤"))
    r = gc.post("/cases/new?lang=en", intake_form(org, m0_name="王建国"))
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "孙红凤" not in page
    assert "is already in an open case elsewhere" in page and "civil affairs bureau" in page
