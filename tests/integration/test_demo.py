"""The demo data: both profiles, every role, a household at every stage, histories that add up."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from server.domain.workflow import STATES
from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent, Unit, User


def test_demo_has_every_stage_under_both_profiles(app):
    from server.demo import load_demo

    with app.app_context():
        load_demo("demo-password-1")
        offices = db.session.scalars(select(Unit).where(Unit.parent.has(Unit.code == "410104"))).all()
        assert sorted(u.name for u in offices)[:2] == ["东大街街道办事处", "二里岗街道办事处"] and len(offices) == 12
        for office_code, profile, expected in [("410104005", "guancheng", set(STATES) - {"meeting_held"}),
                                               ("610222002", "yijun", set(STATES))]:
            office = db.session.scalar(select(Unit).where(Unit.code == office_code))
            assert office.profile_id == profile
            statuses = set(db.session.scalars(select(Case.status).where(Case.office_unit_id == office.id)))
            assert statuses == expected
        roles = set(db.session.scalars(select(User.role)))
        assert roles == {"investigator", "caseworker", "leader", "director", "bureau_supervisor", "admin"}
        # Every case's history is a chain from registration to its current status, each step audited.
        for case in db.session.scalars(select(Case)):
            chain = [(e.from_status, e.to_status) for e in case.events]
            assert chain[0] == ("", "application")
            assert all(a[1] == b[0] for a, b in zip(chain, chain[1:], strict=False))
            assert chain[-1][1] == case.status
            assert [e.on_date for e in case.events] == sorted(e.on_date for e in case.events)
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action.like("case.%"))) == \
            db.session.scalar(select(func.count(CaseEvent.id)))
        # Running cases have deadlines from the clock; the demo shows an overdue one and one due soon.
        from server import services, today
        from server.domain import workflow
        from server.operations.cases import state_of

        svc = services()
        marks = {workflow.urgency(state_of(c), svc.profiles[c.profile_id], svc.calendar, today())
                 for c in db.session.scalars(select(Case).where(Case.status.in_(("accepted", "visited"))))}
        assert {"overdue", "due_soon"} <= marks
        assert all(c.applied_on <= today() for c in db.session.scalars(select(Case)))
        assert isinstance(today(), dt.date)
        # The demo phones have work: each demo office's investigators a home visit and an appraisal record.
        from server.models import VisitAssignment
        for slug in ("nanguanjie", "pengzhen"):
            inv = db.session.scalar(select(User).where(User.username == f"{slug}_inv1"))
            kinds = sorted(a.kind for a in db.session.scalars(select(VisitAssignment).where(
                VisitAssignment.team.any(User.id == inv.id), VisitAssignment.status == "open")))
            assert kinds == ["appraisal", "home_visit"], slug
