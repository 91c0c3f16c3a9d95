"""A visit reconciled after the review is evidence; the director's decision that applies it (a change, or a
re-review concluded with a change) also puts it into the household record — the income rows and the members
who left — as reconciliation before the review does, so that the case page, the printed 审批表 and the next
re-review read the family as decided.  What the director changed of the pre-filled figures is what the record
keeps, not the visit's."""
# ruff: noqa: F811 (the ``field`` fixture is imported and requested by name)

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal as D

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Case, User, Visit
from tests.integration.test_console import Console, on
from tests.integration.test_reconcile_after_review import (
    _post_visit,
    _reconcile,
    _spouse_moved_out,
    _state,
    _to_payment,
)
from tests.integration.test_record_blank_income import assessed_column, printed_record
from tests.integration.test_sync_api import att, field, png  # noqa: F401  (fixture)


def _co_residing(page: str) -> dict[str, str]:
    """The case page's members table: name -> its 共同生活 cell."""
    table = re.search(r'<table class="members">.*?</table>', page, re.S).group(0)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    return {cells[0]: cells[4] for cells in rows if cells}


def _printed_co_residing(page: str) -> dict[str, str]:
    """The printed 审批表's members: name -> whether they live with the household (yes / no)."""
    return {name: flag for flag, name in re.findall(r'data-co-residing="(\w+)">([^（<]+)（', page)}


def _start_rereview(app, gc: Console, cid: int) -> None:
    """The caseworker starts a re-review and sends the two investigators."""
    with app.app_context():
        team = [str(db.session.scalar(select(User.id).where(User.username == u))) for u in ("gc_inv1", "gc_inv2")]
    assert gc.post(f"/dynamic/cases/{cid}/start-rereview", {"team": team}).status_code == 302


def _rereview_visit(field, org, wages: str, spouse_here: bool, day: dt.date, colour=(77, 1, 1)) -> tuple[dict, dict]:
    """A re-review visit from the phones: the pulled assignment and the visit sent (both phones attest)."""
    a, b = field["phones"]
    asg = next(x for x in a.pull().json["assignments"] if x["kind"] == "rereview" and x["status"] == "open")
    sig = png(colour)
    a.put(sig, "image/png")
    members = [{"name": m["name"], "id_number": m["id_number"], "co_residing": spouse_here or m["relation"] == "head",
                "health": "healthy", "work": "employed"} for m in asg["members"]]
    env = {"protocol": 1, "visit_id": str(uuid.uuid4()), "assignment_id": asg["assignment_id"], "case_id": asg["case_id"],
           "form_id": asg["form_id"], "form_version": asg["form_version"], "base_version": asg["base_version"],
           "supersedes": None, "answers": {"members": members, "income": {"wages": [wages] * 6},
                                           "findings": {"changes": "户主已就业", "recommendation": "lower"}},
           "attachments": [att(sig, "signature", "applicant", "image/png")], "investigators": [org.gc_inv1, org.gc_inv2],
           "gps": {"start": {"refused": True}, "finish": {"refused": True}},
           "started_at": f"{day}T09:00:00+08:00", "finished_at": f"{day}T09:30:00+08:00"}
    r = a.post_visit(env)
    assert r.status_code == 201, r.json.get("problems")
    for phone in (a, b):
        assert phone.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    return asg, env


def _prefilled(page: str, form_id: str) -> tuple[str, list[str]]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page, re.S).group(0)
    return (re.search(r'name="assessed_income_6m" value="([^"]*)"', form).group(1),
            re.findall(r'name="covered" value="(\d+)" checked', form))


def test_the_directors_change_puts_the_visits_findings_into_the_household_record(app, field, org):
    env, gc = _to_payment(app, field)
    cid = field["case_id"]
    on(app, dt.date(2025, 11, 3))
    amendment = _post_visit(field, "200", supersedes=env["visit_id"], colour=(50, 50, 50), change=_spouse_moved_out)
    on(app, dt.date(2025, 11, 20))
    _reconcile(app, gc, cid, amendment["visit_id"], "visit")
    version = _state(app, cid)[4]
    director = Console(app, "gc_dir")
    income, covered = _prefilled(director.get(f"/dynamic/cases/{cid}").get_data(as_text=True), "change")
    assert income == "1200.00" and len(covered) == 1            # the spouse pre-unticked
    r = director.post(f"/dynamic/cases/{cid}/change", {"assessed_income_6m": income, "covered_listed": "1",
                                                        "covered": covered, "reasons": "配偶不再共同生活，户主收入减少"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    status, amount, assessed, people, new_version, events = _state(app, cid)
    # 1200 / 6 = 200 a month for the head alone: (700 - 200) x 1
    assert (status, amount, assessed, people, events[-1]) == ("in_payment", D("500.00"), D("1200.00"), 1, "record_change")
    assert new_version == version + 1

    page = gc.get(f"/cases/{cid}").get_data(as_text=True)
    assert assessed_column(page)["wages"] == "1200.00"
    assert _co_residing(page) == {"张建国": "是", "李秀英": "否"}
    printed = gc.get(f"/cases/{cid}/print/approval_form").get_data(as_text=True)
    assert printed_record(printed)["wages"] == "1200.00"
    assert _printed_co_residing(printed) == {"张建国": "yes", "李秀英": "no"}
    with app.app_context():
        case = db.session.get(Case, cid)
        spouse = case.household.members[1]
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "dynamic.change_basis")
                                   .order_by(AuditEntry.id.desc())).first()
        assert entry.before["record_version"] == version and entry.after["record_version"] == version + 1
        assert entry.after["record"]["visit"] == amendment["visit_id"]
        assert entry.after["record"]["left"] == [spouse.id_number]
        assert entry.after["record"]["changes"]["income/wages"] == {"before": "1800.00", "after": "1200.00"}
        assert case.events[-1].data["visit_id"] == amendment["visit_id"]

    # the next re-review starts from the record as decided: the phone sees the spouse gone, and a visit that
    # finds the family as decided proposes nothing about the income or the spouse
    on(app, dt.date(2025, 12, 1))
    _start_rereview(app, gc, cid)
    asg, visit = _rereview_visit(field, org, "200", spouse_here=False, day=dt.date(2025, 12, 1))
    assert asg["base_version"] == version + 1
    assert {m["name"]: m["co_residing"] for m in asg["members"]} == {"张建国": True, "李秀英": False}
    with app.app_context():
        merge = db.session.get(Visit, visit["visit_id"]).merge
        assert "income/wages" in merge["agreed"] and f"member/{spouse.id_number}/co_residing" in merge["agreed"]
        assert not [p for p in merge["proposals"] if p.startswith("income/") or p.endswith("/co_residing")]


def test_what_the_director_changed_of_the_visits_figures_is_what_the_record_keeps(app, field, org):
    _env, gc = _to_payment(app, field)
    cid = field["case_id"]
    on(app, dt.date(2025, 11, 3))
    _start_rereview(app, gc, cid)
    _asg, visit = _rereview_visit(field, org, "600", spouse_here=False, day=dt.date(2025, 11, 4))
    on(app, dt.date(2025, 11, 20))
    _reconcile(app, gc, cid, visit["visit_id"], "visit")
    director = Console(app, "gc_dir")
    income, covered = _prefilled(director.get(f"/dynamic/cases/{cid}").get_data(as_text=True), "rereview-decision")
    assert income == "3600.00" and len(covered) == 1
    with app.app_context():
        everyone = [str(m.id) for m in db.session.get(Case, cid).household.members]
    # the director finds the spouse still lives there and assesses another income than the visit's
    r = director.post(f"/dynamic/cases/{cid}/rereview-decision",
                      {"outcome": "change", "assessed_income_6m": "3000.00", "covered_listed": "1", "covered": everyone,
                       "reasons": "户主已就业；配偶仍共同生活"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    status, amount, assessed, people, _version, events = _state(app, cid)
    assert (status, assessed, people, events[-1]) == ("in_payment", D("3000.00"), 2, "complete_rereview")
    page = gc.get(f"/cases/{cid}").get_data(as_text=True)
    assert assessed_column(page)["wages"] == "1800.00"           # not the visit's 3600.00
    assert _co_residing(page) == {"张建国": "是", "李秀英": "是"}
    printed = gc.get(f"/cases/{cid}/print/approval_form").get_data(as_text=True)
    assert printed_record(printed)["wages"] == "1800.00"
    assert _printed_co_residing(printed) == {"张建国": "yes", "李秀英": "yes"}
    with app.app_context():
        case = db.session.get(Case, cid)
        head = case.household.members[0]
        assert case.record[f"member/{head.id_number}/work"] == "employed" and not head.unemployed   # a fact found
    on(app, dt.date(2025, 12, 1))
    _start_rereview(app, gc, cid)
    a = field["phones"][0]
    asg = next(x for x in a.pull().json["assignments"] if x["kind"] == "rereview" and x["status"] == "open")
    assert {m["name"]: m["co_residing"] for m in asg["members"]} == {"张建国": True, "李秀英": True}
