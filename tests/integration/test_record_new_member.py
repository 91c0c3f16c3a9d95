"""A visit after the approval (an amendment, a re-review visit) that finds someone who moved in: reconciled after
the review it is evidence; the director's change decision lists the new member with "add to the household" and
"covered", and adds the ones ticked — the household, the people covered, the amount, the printed 审批表 and the
next review then include them.  One left out stays named in the history only; one already in another open case
is refused on the form (422) and nothing is stored."""
# ruff: noqa: F811 (the ``field`` fixture is imported and requested by name)

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, Unit, User
from server.operations.cases import register_application
from tests.integration.test_console import Console, on, pdf_bytes
from tests.integration.test_reconcile_after_review import _post_visit, _reconcile, _state, _to_payment
from tests.integration.test_record_after_decision import _co_residing, _printed_co_residing, _start_rereview
from tests.integration.test_sync_api import TODAY, field  # noqa: F401  (fixture)
from tests.integration.test_visit_office import GRANDCHILD


def _grandchild_moved_in(answers):
    answers["members"].append({"name": "张小宝", "id_number": GRANDCHILD, "relation": "grandchild", "co_residing": True,
                               "health": "healthy", "disabled": False, "student": True, "school": "南关小学一年级",
                               "work": "unable", "able_to_work": False})


def _evidence(app, field, wages: str) -> tuple[Console, int, tuple]:
    """In payment; an amended phone visit finds the grandchild living there (and wages of ``wages`` a month);
    the caseworker reconciles it after the review: kept as evidence, the household as it was."""
    env, gc = _to_payment(app, field)
    cid = field["case_id"]
    on(app, dt.date(2025, 11, 3))
    amendment = _post_visit(field, wages, supersedes=env["visit_id"], colour=(60, 60, 60), change=_grandchild_moved_in)
    on(app, dt.date(2025, 11, 20))
    _reconcile(app, gc, cid, amendment["visit_id"], "visit")
    state = _state(app, cid)
    assert state[:4] == ("in_payment", D("1100.00"), D("1800.00"), 2) and state[5][-1] == "reconcile_visit"
    return gc, cid, state


def _joining_row(page: str, form_id: str = "change") -> str:
    """The decision form's row for the new member: name, relation, ID number, the two boxes pre-ticked."""
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page, re.S).group(0)
    row = re.search(rf'<tr data-joining="{GRANDCHILD}">.*?</tr>', form, re.S).group(0)
    assert "张小宝" in row and "孙子女" in row and f"<td>{GRANDCHILD}</td>" in row   # in full, as the case page to staff
    assert f'name="join" value="{GRANDCHILD}" checked' in row and f'name="join_covered" value="{GRANDCHILD}" checked' in row
    return row


def _covered_ids(app, cid: int) -> list[str]:
    with app.app_context():
        return [str(m.id) for m in db.session.get(Case, cid).household.members if m.covered]


def _change_audits(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "dynamic.change_basis"))


def test_the_director_adds_the_new_member_found_and_covers_them(app, field):
    gc, cid, before = _evidence(app, field, "300")
    director = Console(app, "gc_dir")
    _joining_row(director.get(f"/dynamic/cases/{cid}").get_data(as_text=True))
    r = director.post(f"/dynamic/cases/{cid}/change", {
        "assessed_income_6m": "1800.00", "covered_listed": "1", "covered": _covered_ids(app, cid),
        "join": [GRANDCHILD], "join_covered": [GRANDCHILD], "reasons": "孙子女迁入共同生活"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    status, amount, assessed, people, version, events = _state(app, cid)
    # 1800 / 6 = 300 a month for three people: (700 - 100) x 3
    assert (status, amount, assessed, people, events[-1]) == ("in_payment", D("1800.00"), D("1800.00"), 3, "record_change")
    assert version == before[4] + 1

    page = gc.get(f"/cases/{cid}").get_data(as_text=True)
    assert _co_residing(page) == {"张建国": "是", "李秀英": "是", "张小宝": "是"}
    assert "认定人均月收入 100.00 元（3人）" in page
    printed = gc.get(f"/cases/{cid}/print/approval_form").get_data(as_text=True)
    assert _printed_co_residing(printed) == {"张建国": "yes", "李秀英": "yes", "张小宝": "yes"}
    with app.app_context():
        case = db.session.get(Case, cid)
        child = next(m for m in case.household.members if m.id_number == GRANDCHILD)
        assert (child.name, child.relation, child.covered, child.student) == ("张小宝", "grandchild", True, True)
        assert case.record[f"member/{GRANDCHILD}/name"] == "张小宝"          # the next review's phone sees them
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "dynamic.change_basis")
                                   .order_by(AuditEntry.id.desc())).first()
        assert entry.after["record"]["joined"] == [{"id_number": GRANDCHILD, "name": "张小宝", "covered": True}]
    # settled: the page no longer offers the evidence
    assert 'data-joining=' not in director.get(f"/dynamic/cases/{cid}").get_data(as_text=True)


def test_a_new_member_the_director_leaves_out_is_not_added(app, field):
    gc, cid, before = _evidence(app, field, "200")
    director = Console(app, "gc_dir")
    _joining_row(director.get(f"/dynamic/cases/{cid}").get_data(as_text=True))
    r = director.post(f"/dynamic/cases/{cid}/change", {
        "assessed_income_6m": "1200.00", "covered_listed": "1", "covered": _covered_ids(app, cid),
        "join_covered": [GRANDCHILD], "reasons": "户主收入减少；孙子女户籍未迁入，不计入家庭"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    status, amount, assessed, people, _version, _events = _state(app, cid)
    # 1200 / 6 = 200 a month for the two: (700 - 100) x 2
    assert (status, amount, assessed, people) == ("in_payment", D("1200.00"), D("1200.00"), 2)
    page = gc.get(f"/cases/{cid}").get_data(as_text=True)
    assert _co_residing(page) == {"张建国": "是", "李秀英": "是"}
    assert "新增成员：张小宝" in page[page.index('id="history"'):]          # named in the history only
    printed = gc.get(f"/cases/{cid}/print/approval_form").get_data(as_text=True)
    assert "张小宝" not in _printed_co_residing(printed)
    with app.app_context():
        case = db.session.get(Case, cid)
        assert len(case.household.members) == 2
        assert not [k for k in case.record if GRANDCHILD in k]
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "dynamic.change_basis")
                                   .order_by(AuditEntry.id.desc())).first()
        assert entry.after["record"]["joined"] == []


def test_a_new_member_in_another_open_case_is_refused_on_the_form_and_nothing_is_stored(app, field, org):
    gc, cid, before = _evidence(app, field, "300")
    with app.app_context():
        register_application(community=db.session.get(Unit, org.c2), actor=db.session.get(User, org.gc_case),
                             today=TODAY, members=[{"name": "张小宝", "relation": "head", "id_number": GRANDCHILD}])
    audits = _change_audits(app)
    director = Console(app, "gc_dir")
    r = director.post(f"/dynamic/cases/{cid}/change", {
        "assessed_income_6m": "1800.00", "covered_listed": "1", "covered": _covered_ids(app, cid),
        "join": [GRANDCHILD], "join_covered": [GRANDCHILD], "reasons": "孙子女迁入共同生活"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "新增成员张小宝已在其他在办或在保案件" in page
    assert ">孙子女迁入共同生活</textarea>" in page                       # the typed reasons kept
    _joining_row(page)
    assert _state(app, cid) == before
    assert _change_audits(app) == audits
    with app.app_context():
        assert len(db.session.get(Case, cid).household.members) == 2


def test_a_rereview_ending_in_a_change_adds_the_new_member_as_decided(app, field):
    gc, cid, _before = _evidence(app, field, "300")
    on(app, dt.date(2025, 12, 1))
    _start_rereview(app, gc, cid)
    director = Console(app, "gc_dir")
    _joining_row(director.get(f"/dynamic/cases/{cid}").get_data(as_text=True), "rereview-decision")
    r = director.post(f"/dynamic/cases/{cid}/rereview-decision", {
        "outcome": "change", "assessed_income_6m": "1800.00", "covered_listed": "1", "covered": _covered_ids(app, cid),
        "join": [GRANDCHILD], "reasons": "孙子女迁入共同生活，暂不纳入保障", "report_on": "2025-12-01"},
        files={"report_file": (pdf_bytes(), "report.pdf", "application/pdf")})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    status, amount, _assessed, people, _version, events = _state(app, cid)
    assert (status, amount, people, events[-1]) == ("in_payment", D("1100.00"), 2, "complete_rereview")
    with app.app_context():
        child = next(m for m in db.session.get(Case, cid).household.members if m.id_number == GRANDCHILD)
        assert child.co_residing and not child.covered                  # in the household, not covered
