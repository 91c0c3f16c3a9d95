"""Cases through the operations layer on a real database: registration, every step, history and audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent, Unit, User
from server.models.cases import AppendOnlyError
from server.operations import OperationError
from server.operations.cases import perform, register_application
from tests.conftest import id_number

DAY = dt.date(2025, 11, 3)  # a Monday


def members(region="410104", n=2, income_seq=10):
    out = [{"name": "张建国", "relation": "head", "id_number": id_number(region, dt.date(1962, 5, 1), income_seq + 1)}]
    if n > 1:
        out.append({"name": "李秀英", "relation": "spouse", "id_number": id_number(region, dt.date(1965, 3, 8), 22)})
    return out


def register(org, *, unit="c1", actor="gc_case", region="410104", materials=None, **kw):
    community = db.session.get(Unit, getattr(org, unit))
    from server import services

    required = [m.code for m in services().profiles[community.profile_id].materials if m.required]
    return register_application(community=community, members=kw.pop("members", members(region)),
                                actor=db.session.get(User, getattr(org, actor)), today=DAY,
                                materials=required if materials is None else materials, **kw)


def declare(six_month_total: int):
    from server.domain.declaration import parse_declaration

    declaration, errors = parse_declaration({"income_wages_1": str(six_month_total), **{f"income_wages_{m}": "0" for m in range(2, 7)}})
    assert not errors
    return declaration


def counts():
    return (db.session.scalar(select(func.count(CaseEvent.id))), db.session.scalar(select(func.count(AuditEntry.id))))


def user(org, name):
    return db.session.get(User, getattr(org, name))


def walk(case, org, prefix, steps, start=DAY):
    """Perform steps one working day apart; returns the last date used."""
    from server import services

    cal, day = services().calendar, start
    for action, who, payload in steps:
        day = cal.add_workdays(day, 1).date
        if action == "close_publicity":
            day = max(day, case.publicity_earliest_close)
        perform(case, action, user(org, prefix + who), payload, today=day)
    return day


def approval_steps(case, org, prefix, inv=("inv1", "inv2"), meeting=False):
    ids = [getattr(org, prefix + i) for i in inv]
    steps = [
        ("accept", "case", {"applicant_signed": True, "fingerprint_file": "f" * 64}),
        ("request_verification", "case", {"members": [m.id for m in case.household.members]}),
        ("record_home_visit", inv[0], {"investigators": ids, "signed": ids, "applicant_signed": True}),
        ("record_verification_report", "case", {"found_income_6m": str(case.declared_income_6m)}),
        ("record_appraisal", "case", {"panel": [{"name": "甲", "category": "office_staff", "signed": True}]
                                      + [{"name": f"民{i}", "category": "resident", "signed": True} for i in range(2)],
                                      "minutes": "评议记录", "conclusion": "agree"}),
        ("review_opinion", "case", {"recommendation": "approve", "opinion": "拟批准",
                                    "assessed_income_6m": case.declared_income_6m, "property_checked": True}),
        ("sign_review", "lead", {"signature": "drawn", "opinion": "同意"}),
    ]
    if meeting:
        steps.append(("record_meeting", "case", {"record": "会议记录", "decision": "approve", "attendees": ["王镇长", "李干事"]}))
    steps += [("open_publicity", "case", {"boards": [case.office.code, case.community.code]}),
              ("close_publicity", "case", {}),
              ("approve", "dir", {"signature": "drawn", "opinion": "同意"}),
              ("issue_certificate", "case", {"number": f"C-{case.id:04d}", "valid_until": dt.date(2026, 10, 31)}),
              ("start_payment", "case", {})]
    return steps


def test_guancheng_case_from_window_to_payment(app, org):
    with app.app_context():
        case = register(org, declaration=declare(1800))
        walk(case, org, "gc_", approval_steps(case, org, "gc_"))
        assert case.status == "in_payment"
        # guancheng placeholder standard 700/month urban, 2 people, income 300: (700 - 150) * 2 = 1100.00
        assert case.amount == Decimal("1100.00")
        history = [(e.action, e.from_status, e.to_status) for e in case.events]
        assert history[0] == ("register", "", "application")
        assert history[-1] == ("start_payment", "certified", "in_payment")
        assert [e.seq for e in case.events] == list(range(1, len(history) + 1))
        audits = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "case",
                                                                    AuditEntry.object_id == str(case.id))
                                     .order_by(AuditEntry.id)).all()
        assert audits == ["case." + a for a, _f, _t in history]


def test_yijun_case_needs_the_meeting_and_pays_the_real_standard(app, org):
    with app.app_context():
        case = register(org, unit="village", actor="yj_case", region="610222", declaration=declare(3000),
                        area="urban")
        steps = approval_steps(case, org, "yj_", inv=("inv1", "inv2"))
        walk(case, org, "yj_", steps[:7])
        with pytest.raises(OperationError) as err:
            perform(case, "open_publicity", user(org, "yj_case"), {"boards": ["610222002"]}, today=dt.date(2025, 11, 20))
        assert err.value.code == "meeting_required"
        walk(case, org, "yj_", [("record_meeting", "case", {"record": "会议", "decision": "approve", "attendees": ["王镇长", "李干事"]})] + steps[7:],
             start=dt.date(2025, 11, 20))
        # 宜君 urban standard from 2025-10-01: 682/month; 2 people, income 500: (682 - 250) * 2 = 864.00
        assert case.status == "in_payment" and case.amount == Decimal("864.00")


@pytest.mark.parametrize("actor, action, payload, code, status", [
    ("gc_lead", "accept", {"applicant_signed": True}, "role_not_permitted", 403),
    ("other_case", "accept", {"applicant_signed": True}, "out_of_scope", 403),
    ("gc_bureau", "accept", {"applicant_signed": True}, "role_not_permitted", 403),
    ("gc_case", "approve", {"signature": "x"}, "role_not_permitted", 403),
    ("gc_case", "open_publicity", {"boards": ["b"]}, "illegal_transition", 409),
])
def test_refusals_change_nothing(app, org, actor, action, payload, code, status):
    with app.app_context():
        case = register(org)
        before = counts()
        with pytest.raises(OperationError) as err:
            perform(case, action, user(org, actor), payload, today=DAY)
        assert (err.value.code, err.value.status) == (code, status)
        assert err.value.message and err.value.message_en
        db.session.rollback()
        assert db.session.get(Case, case.id).status == "application"
        assert counts() == before


def test_acceptance_with_missing_materials_names_all_of_them(app, org):
    with app.app_context():
        case = register(org, materials=["application"])
        with pytest.raises(OperationError) as err:
            perform(case, "accept", user(org, "gc_case"), {"applicant_signed": True}, today=DAY)
        assert err.value.code == "materials_missing"
        assert err.value.details["missing"] == ["hukou_id", "income_property_statement", "integrity_pledge",
                                                "verification_authorisation"]
        db.session.rollback()
        ev = perform(case, "notify_missing", user(org, "gc_case"), {}, today=DAY)
        assert ev.data["missing"] == err.value.details["missing"]


def test_a_visit_by_an_investigator_of_another_office_is_refused(app, org):
    with app.app_context():
        case = register(org)
        perform(case, "accept", user(org, "gc_case"), {"applicant_signed": True}, today=DAY)
        with pytest.raises(OperationError) as err:
            perform(case, "record_home_visit", user(org, "gc_inv1"),
                    {"investigators": [org.gc_inv1, org.other_inv], "signed": [org.gc_inv1, org.other_inv],
                     "applicant_signed": True}, today=DAY)
        assert err.value.code == "investigator_out_of_scope"


@pytest.mark.parametrize("change, code", [
    (lambda m: m[0].update(id_number=m[0]["id_number"][:-1] + ("0" if m[0]["id_number"][-1] != "0" else "1")),
     "id_number_invalid"),
    (lambda m: m[1].update(id_number=m[0]["id_number"]), "id_number_duplicate"),
    (lambda m: m[1].update(relation="head"), "head_required"),
    (lambda m: m[0].update(name="  "), "member_name_required"),
    (lambda m: m[1].update(relation="cousin"), "relation_invalid"),
    (lambda m: m.clear(), "members_required"),
])
def test_registration_refuses_bad_members(app, org, change, code):
    with app.app_context():
        ms = members()
        change(ms)
        with pytest.raises(OperationError) as err:
            register(org, members=ms)
        assert err.value.code == code
        assert db.session.scalar(select(func.count(Case.id))) == 0


def test_a_person_cannot_be_in_two_open_cases(app, org):
    with app.app_context():
        register(org)
        with pytest.raises(OperationError) as err:
            register(org, unit="c2")
        assert (err.value.code, err.value.status) == ("already_applied", 409)


def test_only_the_offices_caseworker_registers(app, org):
    with app.app_context():
        with pytest.raises(OperationError) as err:
            register(org, actor="other_case")
        assert err.value.status == 403


def test_case_history_is_append_only(app, org):
    with app.app_context():
        case = register(org)
        event = case.events[0]
        event.action = "forged"
        with pytest.raises(AppendOnlyError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(CaseEvent, event.id))
        with pytest.raises(AppendOnlyError):
            db.session.commit()
        db.session.rollback()


def test_concurrent_edits_are_detected(app, org):
    """Two sessions editing the same case: the second write fails instead of silently overwriting."""
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    with app.app_context():
        case_id = register(org).id
        with Session(db.engine) as s1, Session(db.engine) as s2:
            a, b = s1.get(Case, case_id), s2.get(Case, case_id)
            a.staff_relative_note = "first"
            s1.commit()
            b.staff_relative_note = "second"
            with pytest.raises(StaleDataError):
                s2.commit()
