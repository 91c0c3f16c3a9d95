"""A case's whole story for the people who decide it: the audit trail (who, when, what, before and after),
which recorded steps a later recording superseded, and the household's income against the standard."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, or_, select

from server import CHINA, services
from server.domain.declaration import MONTHS
from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent, User, Visit

# Steps that may be recorded again (a new request, a new report, a new visit or appraisal after a dispute,
# publicity reopened after an objection): the later recording supersedes the earlier one.
REPEATABLE = frozenset({"request_verification", "record_verification_report", "record_home_visit",
                        "record_appraisal", "record_meeting", "review_opinion", "sign_review", "open_publicity",
                        "close_publicity", "record_objection", "resolve_objection"})

OTHER_ACTIONS = {
    "case.register": ("登记申请", "Application registered"),
    "case.export": ("导出案件清单", "Case list exported"),
    "case.gradual_exit_month": ("渐退月份推进", "Gradual exit month advanced"),
    "visit.assign": ("派发调查任务", "Visit assigned"),
    "visit.reconcile": ("核对手机调查结果", "Phone visit reconciled"),
    "visit.submit": ("手机提交调查记录", "Visit sent from a phone"),
    "visit.attest": ("调查人员手机确认", "Investigator confirmed on a phone"),
    "visit.accept": ("调查记录登记到案件", "Visit recorded on the case"),
    "visit.accept_refused": ("调查记录未能登记", "Visit could not be recorded"),
    "dynamic.change_basis": ("变更保障依据", "Basis of payment changed"),
    "dynamic.change_report": ("登记家庭变化报告", "Change report recorded"),
}


def superseded_by(events: list[CaseEvent]) -> dict[int, int]:
    """Event id → the seq of the later event of the same step that supersedes it."""
    out: dict[int, int] = {}
    latest: dict[str, CaseEvent] = {}
    for event in sorted(events, key=lambda e: e.seq, reverse=True):
        if event.action in REPEATABLE:
            if event.action in latest:
                out[event.id] = latest[event.action].seq
            else:
                latest[event.action] = event
    return out


@dataclass
class TrailRow:
    at: dt.datetime
    who: str
    action: str
    names: tuple[str, str]
    changes: list[tuple[str, Any, Any]]      # (key, before, after) for what changed
    remote_addr: str


def audit_trail(case: Case) -> list[TrailRow]:
    """Every audit entry about the case and its visits, oldest first, with what changed."""
    from server.domain import workflow

    visit_ids = list(db.session.scalars(select(Visit.id).where(Visit.case_id == case.id)))
    cond = and_(AuditEntry.object_type == "case", AuditEntry.object_id == str(case.id))
    if visit_ids:
        cond = or_(cond, and_(AuditEntry.object_type == "visit", AuditEntry.object_id.in_(visit_ids)))
    entries = db.session.scalars(select(AuditEntry).where(cond).order_by(AuditEntry.at, AuditEntry.id)).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({e.actor_id for e in entries
                                                                                 if e.actor_id})))}
    rows = []
    for e in entries:
        step = e.action.removeprefix("case.")
        names = ((workflow.RULES[step].zh, workflow.RULES[step].en) if e.action.startswith("case.")
                 and step in workflow.RULES else OTHER_ACTIONS.get(e.action, (e.action, e.action)))
        before, after = e.before or {}, e.after or {}
        changes = [(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
                   if before.get(k) != after.get(k)]
        who = users[e.actor_id].name if e.actor_id in users else e.actor_label
        at = e.at if e.at.tzinfo else e.at.replace(tzinfo=dt.UTC)
        rows.append(TrailRow(at=at.astimezone(CHINA), who=who, action=e.action, names=names, changes=changes,
                             remote_addr=e.remote_addr))
    return rows


@dataclass
class Standing:
    per_capita: Decimal           # assessed monthly income per covered person
    standard: Decimal | None      # the standard in force per person per month
    people: int
    below: bool | None


def income_standing(case: Case, on: dt.date) -> Standing | None:
    """The assessed per-capita monthly income against the standard in force (None when nobody is covered)."""
    from server.domain.benefit import NoStandardInForce, standard_in_force, to_fen

    covered = case.household.covered
    if not covered:
        return None
    profile = services().profiles[case.profile_id]
    per_capita = Fraction(Decimal(case.assessed_income_6m)) / MONTHS / len(covered)
    try:
        standard = standard_in_force(profile.standards, case.household.area, on).monthly()
    except NoStandardInForce:
        return Standing(to_fen(per_capita), None, len(covered), None)
    return Standing(to_fen(per_capita), to_fen(standard), len(covered), per_capita < standard)
