"""The start page's "what I must do now", per role: the steps that wait for the signed-in user, overdue first.

- caseworker: every running time limit of the office, then applications to accept, certificates to issue and
  payments to start;
- leader: review opinions waiting for the leader's signature;
- director: approvals and refusals after publicity, and re-reviews to decide;
- bureau supervisor: rosters the district's offices submitted, and spot-check draws with households unchecked;
- investigator: the office's running time limits (their visits are on the phone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from server import services
from server.domain import workflow
from server.extensions import db
from server.models import Case, Unit, User
from server.operations.cases import deadline_rows, state_of, visible_cases

# Stage → the step waiting in it, for the role whose queue it is.
ROLE_STAGES: dict[str, dict[str, tuple[str, str]]] = {
    "caseworker": {"application": ("受理或一次性告知补齐材料", "Accept, or notify all missing materials"),
                   "approved": ("发放低保证", "Issue the certificate"),
                   "certified": ("纳入发放", "Start payment")},
    "leader": {"review_signing": ("签署审核意见", "Sign the review opinion")},
    "director": {"publicity_closed": ("审批：批准或不予批准", "Decide: approve or refuse"),
                 "rereview": ("复核结论", "Decide the re-review")},
}
ORDER = {"overdue": 0, "due_soon": 1, "ok": 2, None: 3}


@dataclass
class QueueRow:
    endpoint: str                      # the console page the row opens, with its arguments
    args: dict
    label: str                         # the case number, roster or draw
    who: str                           # head of household / office
    what: tuple[str, str]              # the step, zh / en
    due: dt.date | None = None
    urgency: str | None = None
    left: int | None = None
    provisional: bool = False
    staff_relative: bool = False


def _case_row(case: Case, what: tuple[str, str], today: dt.date) -> QueueRow:
    svc = services()
    profile = svc.profiles[case.profile_id]
    state = state_of(case)
    step = workflow.next_deadline(state, profile, svc.calendar)
    head = case.household.head
    row = QueueRow(endpoint="web.case_detail", args={"case_id": case.id}, label=case.number,
                   who=head.name if head else "", what=what, staff_relative=case.staff_relative)
    if step is not None:
        row.due, row.provisional = step.due.date, step.due.provisional
        row.urgency = workflow.urgency(state, profile, svc.calendar, today)
        row.left = svc.calendar.workdays_between(today, step.due.date).days
    return row


def my_queue(user: User, today: dt.date, limit: int = 200) -> tuple[list[QueueRow], int]:
    """The rows waiting for ``user`` (at most ``limit``, overdue first) and how many there are in all."""
    rows: list[QueueRow] = []
    if user.role in ("caseworker", "investigator"):
        for r in deadline_rows(user, today):
            case = r["case"]
            head = case.household.head
            rows.append(QueueRow(endpoint="web.case_detail", args={"case_id": case.id}, label=case.number,
                                 who=head.name if head else "", what=r["step_names"], due=r["due"],
                                 urgency=r["urgency"], left=r["left"], provisional=r["provisional"],
                                 staff_relative=case.staff_relative))
    stages = ROLE_STAGES.get(user.role, {})
    if stages:
        cases = db.session.scalars(visible_cases(user).where(Case.status.in_(stages)).order_by(Case.id)).all()
        rows += [_case_row(c, stages[c.status], today) for c in cases]
    if user.role == "bureau_supervisor":
        rows += _bureau_rows(user, today)
    rows.sort(key=lambda r: (ORDER.get(r.urgency, 3), r.due or dt.date.max, r.label))
    return rows[:limit], len(rows)


def _bureau_rows(user: User, today: dt.date) -> list[QueueRow]:
    from server.models.money import Roster
    from server.models.oversight import SpotCheckDraw

    offices = select(Unit.id).where(Unit.parent_id == user.unit_id)
    out = []
    for roster in db.session.scalars(select(Roster).where(Roster.unit_id.in_(offices), Roster.status == "submitted")
                                     .order_by(Roster.due_on, Roster.id)):
        due = roster.finance_due_on or roster.payment_due_on
        out.append(QueueRow(endpoint="web.roster_detail", args={"roster_id": roster.id},
                            label=f"{roster.month}", who=roster.unit.name,
                            what=("审核发放名册", "Review the payment roster"), due=due,
                            urgency=("overdue" if due < today else "ok") if due else None))
    draws = db.session.scalars(select(SpotCheckDraw).where(
        SpotCheckDraw.unit_id.in_(list(db.session.scalars(offices)) + [user.unit_id]))
        .order_by(SpotCheckDraw.id)).all()
    for draw in draws:
        left = len(draw.drawn_case_ids) - len(draw.results)
        if left > 0:
            out.append(QueueRow(endpoint="web.oversight_draw_detail", args={"draw_id": draw.id},
                                label=f"{draw.year} #{draw.id}", who=draw.unit.name,
                                what=(f"抽查：尚有{left}户未录入结果", f"Spot check: {left} households unchecked")))
    return out
