"""Visit assignments (what appears on the investigators' phones) and visits entered from paper."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from server import services
from server.domain import workflow
from server.extensions import db
from server.models import Case, User, Visit, VisitAssignment
from server.models.visits import VISIT_KINDS
from server.operations import OperationError, audit
from server.operations.cases import actor_of, perform, state_of

# The case states in which a visit of each kind may be assigned.
ASSIGNABLE = {"home_visit": ("accepted",), "reinvestigation": ("objection",), "rereview": ("rereview",),
              "spot_check": ("in_payment", "rereview", "gradual_exit"), "appraisal": ("visited",)}
# The case's time limit (workflow step) an assignment of each kind works to; the others have none.
DEADLINE_STEP = {"home_visit": "home_visit", "reinvestigation": "home_visit", "appraisal": "appraisal"}
# What the caseworker sends to the phones from the case page (the others come from re-reviews and spot checks).
CONSOLE_KINDS = ("home_visit", "appraisal")


def assignable(kind: str, status: str) -> bool:
    """May a visit of ``kind`` be assigned while the case is in ``status``?"""
    return status in ASSIGNABLE.get(kind, ())


def _team(case: Case, ids: Sequence[int], kind: str = "home_visit") -> list[User]:
    """The distinct visitors named, each checked against the case's scope and the profile's team size:
    investigators of the case's office or the applicant's community; for a spot check (抽查), staff of
    the bureau of the case's district/county."""
    profile = services().profiles[case.profile_id]
    team, state = [], state_of(case)
    role = "bureau_supervisor" if kind == "spot_check" else "investigator"
    for uid in dict.fromkeys(ids):
        user = db.session.get(User, uid)
        if user is None or user.role != role or not user.active or \
                not workflow.in_scope(actor_of(user), state):
            if kind == "spot_check":
                raise OperationError("inspector_out_of_scope", "抽查人员须为本区（县）民政局的监管人员",
                                     "spot-check inspectors must be bureau staff of the case's district or county")
            raise OperationError("investigator_out_of_scope", "调查人员须为本街道（乡镇）或申请人所在社区（村）的调查人员",
                                 "investigators must belong to the case's office or the applicant's community")
        team.append(user)
    if len(team) < profile.home_visit.min_team:
        n = profile.home_visit.min_team
        raise OperationError("team_too_small", f"入户调查每组不少于{n}人", f"a visit team needs at least {n} investigators")
    return team


def assign_visit(case: Case, actor: User, team_ids: Sequence[int], *, kind: str = "home_visit",
                 today: dt.date, note: str = "") -> VisitAssignment:
    """Ask a team to visit the household; it shows on their phones until it is done or cancelled."""
    if actor.role != "caseworker" or actor.unit_id != case.office_unit_id:
        raise OperationError("role_not_permitted", "只有本街道（乡镇）的经办人可以派发入户调查",
                             "only a caseworker of the case's office may assign a visit", 403)
    if kind not in VISIT_KINDS or not assignable(kind, case.status):
        raise OperationError("illegal_transition", "案件当前环节不能派发此类调查",
                             "this kind of visit cannot be assigned at the case's stage", 409)
    team = _team(case, team_ids)
    open_ = db.session.scalar(select(VisitAssignment).where(VisitAssignment.case_id == case.id,
                                                            VisitAssignment.kind == kind,
                                                            VisitAssignment.status == "open"))
    if open_ is not None:   # re-assigning replaces the open assignment
        open_.status = "cancelled"
        open_.updated_at = dt.datetime.now(dt.UTC)
    profile = services().profiles[case.profile_id]
    due = next((s.due.date for s in workflow.pending_deadlines(state_of(case), profile, services().calendar)
                if s.step == DEADLINE_STEP.get(kind)), None)
    assignment = VisitAssignment(case=case, kind=kind, team=team, due_on=due, note=note.strip()[:500],
                                 created_by_id=actor.id)
    db.session.add(assignment)
    db.session.flush()
    audit.record("visit.assign", "case", case.id, actor=actor,
                 before={"cancelled_assignment": open_.id} if open_ else None,
                 after={"assignment": assignment.id, "kind": kind, "team": [u.id for u in team]})
    db.session.commit()
    return assignment


def record_paper_visit(case: Case, actor: User, *, team_ids: Sequence[int], signed_ids: Sequence[int],
                       applicant_signed: bool, visit_on: dt.date, findings: dict[str, Any],
                       scan_file: str | None, today: dt.date) -> Visit:
    """A home visit done on paper, entered by the caseworker: the core checks the team and signatures."""
    assignment = db.session.scalar(select(VisitAssignment).where(
        VisitAssignment.case_id == case.id, VisitAssignment.kind == "home_visit", VisitAssignment.status == "open"))
    visit_id = str(uuid.uuid4())
    perform(case, "record_home_visit", actor,
            {"investigators": list(team_ids), "signed": list(signed_ids), "applicant_signed": applicant_signed,
             "visit_on": visit_on, "scan_file": scan_file, "visit_id": visit_id, "findings": findings},
            today=today, commit=False)
    visit = Visit(id=visit_id, case=case, assignment=assignment, kind="home_visit", source="paper",
                  visit_on=visit_on, investigator_ids=sorted(set(team_ids)), findings=findings,
                  attachments={"scan": scan_file} if scan_file else {}, recorded_by_id=actor.id)
    db.session.add(visit)
    if assignment is not None:
        assignment.status = "done"
        assignment.updated_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    return visit
