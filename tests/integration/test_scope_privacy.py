"""Least privilege through HTTP: what a message may say about people outside the user's scope, what an
investigator may see in the console, and who may read a stored file."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Case
from tests.conftest import id_number
from tests.integration.test_console import START, Console, intake_form, on, pdf_bytes, register, signature


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


# --- item 4: investigators see their own assignments, masked; files follow the cases that use them ----

def _verification_stage(app, org, console, case_id):
    """Accept the application and request verification (the case can then take a visit team and a report)."""
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    assert console.act(case_id, "accept", accept).status_code == 302
    with app.app_context():
        member_ids = [str(m.id) for m in db.session.get(Case, case_id).household.members]
    assert console.act(case_id, "request_verification", {"members": member_ids}).status_code == 302


def _report(console, case_id, content: bytes) -> None:
    r = console.act(case_id, "record_verification_report", {"found_income_6m": "2400.00", "found_property": "无"},
                    files={"report_file": (content, "report.pdf", "application/pdf")})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]


def _file_of(app, case_id) -> str:
    with app.app_context():
        return db.session.get(Case, case_id).verification["report"]["file"]


def _status(console, path) -> int:
    with console.get(path) as r:
        return r.status_code


@pytest.fixture
def two_communities(app, org, gc):
    """Case A in 和平社区 (team: the office's gc_inv1 and c1's gc_inv2) and case B in 幸福社区 (gc_inv1 and
    c2's gc_inv3), each with a verification report."""
    a = register(app, gc, org, unit="c1")
    b = register(app, gc, org, unit="c2", m0_id=id_number("410104", dt.date(1970, 1, 1), 31),
                 m1_id=id_number("410104", dt.date(1971, 2, 2), 32), m0_name="赵大成", m1_name="钱小红")
    for case_id, second in ((a, org.gc_inv2), (b, org.gc_inv3)):
        _verification_stage(app, org, gc, case_id)
        assert gc.post(f"/cases/{case_id}/assign", {"team": [str(org.gc_inv1), str(second)]}).status_code == 302
    _report(gc, a, pdf_bytes() + b"%A")
    _report(gc, b, pdf_bytes() + b"%B")
    return a, b


def test_investigators_see_only_their_assignments_and_lists_agree_with_pages(app, org, two_communities):
    a, b = two_communities
    for username, mine in (("gc_inv1", {a, b}), ("gc_inv2", {a}), ("gc_inv3", {b})):
        inv = Console(app, username)
        listed = {int(i) for i in re.findall(r'href="/cases/(\d+)"', inv.get("/cases").get_data(as_text=True))}
        assert listed == mine, username
        for case_id in (a, b):                                  # every listed case opens; no other does
            assert inv.get(f"/cases/{case_id}").status_code == (200 if case_id in mine else 404), (username, case_id)
        assert {int(i) for i in re.findall(r'href="/cases/(\d+)"', inv.get("/cases?q=张建国").get_data(
            as_text=True))} <= mine


def test_an_investigators_page_masks_id_numbers_and_prints_are_refused(app, org, two_communities):
    a, _ = two_communities
    inv = Console(app, "gc_inv2")
    page = inv.get(f"/cases/{a}").get_data(as_text=True)
    for key in ("m0_id", "m1_id"):
        full = intake_form(org)[key]
        assert full not in page and full[:3] + "*" * 11 + full[-4:] in page
    for doc in ("approval_form", "visit_form"):
        assert inv.get(f"/cases/{a}/print/{doc}").status_code == 403
    assert full in Console(app, "gc_case").get(f"/cases/{a}").get_data(as_text=True)   # office staff see it


def test_an_investigator_reads_the_files_of_their_cases_only(app, org, two_communities):
    a, b = two_communities
    file_a, file_b = _file_of(app, a), _file_of(app, b)
    assert _status(Console(app, "gc_inv2"), f"/files/{file_a}/original") == 200
    assert _status(Console(app, "gc_inv2"), f"/files/{file_b}/original") == 404   # the other community's report
    assert _status(Console(app, "gc_inv3"), f"/files/{file_b}/original") == 200
    assert _status(Console(app, "gc_inv3"), f"/files/{file_a}/original") == 404
    assert _status(Console(app, "gc_inv1"), f"/files/{file_a}/original") == 200
    assert _status(Console(app, "gc_bureau"), f"/files/{file_b}/original") == 200
    assert _status(Console(app, "other_case"), f"/files/{file_a}/original") == 404
    assert _status(Console(app, "yj_case"), f"/files/{file_a}/original") == 404


def test_identical_bytes_first_stored_by_another_office_are_readable_where_a_case_holds_them(app, org, gc):
    shared = pdf_bytes() + b"%the same scanned report"
    other = Console(app, "other_case")
    theirs = register(app, other, org, unit="oc", m0_id=id_number("410104", dt.date(1950, 1, 1), 41),
                      m1_id=id_number("410104", dt.date(1951, 1, 1), 42))
    _verification_stage(app, org, other, theirs)
    _report(other, theirs, shared)                      # the other office stores the bytes first
    sha = _file_of(app, theirs)
    assert _status(gc, f"/files/{sha}/original") == 404   # no case of this office uses them yet
    ours = register(app, gc, org)
    _verification_stage(app, org, gc, ours)
    _report(gc, ours, shared)
    assert _file_of(app, ours) == sha
    with gc.get(f"/files/{sha}/original") as r:
        assert r.status_code == 200 and r.get_data() == shared
    assert _status(other, f"/files/{sha}/original") == 200
    assert _status(Console(app, "yj_case"), f"/files/{sha}/original") == 404
    assert _status(gc, f"/files/{'0' * 64}/original") == 404


def test_a_roster_signature_is_read_where_the_roster_is(app, org):
    from server.models.money import Roster
    from tests.integration.test_rosters import TODAY, generate, paid_case

    paid_case(app, org, people=2, income_6m="1800.00", seq=1)
    on(app, TODAY)
    rid = generate(Console(app, "gc_case"), "2026-12")
    assert Console(app, "gc_dir").post(f"/rosters/{rid}/submit", {"signature": signature()}).status_code == 302
    with app.app_context():
        sha = db.session.get(Roster, rid).signature_sha256
    for username, status in (("gc_case", 200), ("gc_lead", 200), ("gc_bureau", 200), ("other_case", 404),
                             ("yj_case", 404), ("yj_bureau", 404)):
        assert _status(Console(app, username), f"/files/{sha}/display") == status, username
