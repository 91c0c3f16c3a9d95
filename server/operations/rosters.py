"""Monthly payment rosters: generate, adjust, sign and submit, return or approve, late units, exports.

Every function loads rows, calls the pure core (``server.domain.roster`` and the benefit core through
``benefit_working``), persists and writes its audit entry in one transaction.  Who may do what:

* generate / regenerate, adjustments — the unit's caseworker or leader (adjustments: caseworker);
  ``ruhu rosters generate`` acts as "cli";
* sign and submit — the unit's leader, with a drawn signature;
* return with comments / approve — a bureau supervisor of the district the unit belongs to.

An approved roster is locked (also in the ORM, ``server.models.money``); a correction is an adjustment
line in a later roster.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from server import services
from server.domain import roster as core
from server.domain.benefit import InvalidMoney, money
from server.extensions import db
from server.models import Case, CaseEvent, Household, Unit, User
from server.models.money import ROSTER_STATUSES, Roster, RosterLine, RosterStep
from server.models.orgs import OFFICE_LEVELS
from server.operations import OperationError, audit, check_length
from server.operations.cases import benefit_working
from server.operations.cells import safe_cell

PAYING = ("in_payment", "rereview", "gradual_exit")
OFFICE_ROLES = ("caseworker", "leader", "director")
GENERATORS = ("caseworker", "leader")
EDITABLE = ("draft", "returned")


# --- who may see and do what -------------------------------------------------------------------

def can_view(user: User, roster: Roster) -> bool:
    """The unit's office staff, and the bureau of the district above it."""
    if user.role in OFFICE_ROLES:
        return user.unit_id == roster.unit_id
    if user.role == "bureau_supervisor":
        return roster.unit.parent_id == user.unit_id
    return False


def visible_rosters(user: User):
    query = select(Roster)
    if user.role in OFFICE_ROLES:
        return query.where(Roster.unit_id == user.unit_id)
    if user.role == "bureau_supervisor":
        return query.where(Roster.unit_id.in_(select(Unit.id).where(Unit.parent_id == user.unit_id)))
    return query.where(Roster.id == -1)


def _forbidden(zh: str, en: str) -> OperationError:
    return OperationError("role_not_permitted", zh, en, 403)


def _need_office(unit: Unit) -> None:
    if unit.level not in OFFICE_LEVELS:
        raise OperationError("unit_not_office", f"{unit.name}不是街道办事处或乡镇，没有发放名册",
                             f"{unit.code} is not a street office or township: it has no roster", 422)


def check_editable(roster: Roster) -> None:
    if roster.status == "approved":
        raise OperationError("roster_locked", "名册已审批并锁定，不能修改；更正请在下月名册中作调整",
                             "the roster is approved and locked; correct it with an adjustment in a later roster", 409)
    if roster.status == "submitted":
        raise OperationError("roster_submitted", "名册已上报，待民政局审核，不能修改",
                             "the roster has been submitted and awaits the bureau: it cannot change", 409)


def parse_month(text: str) -> str:
    try:
        year, month = core.parse_month(text or "")
    except ValueError:
        raise OperationError("month_invalid", "月份应为 YYYY-MM 格式，例如 2026-12",
                             "the month must be YYYY-MM, e.g. 2026-12") from None
    return f"{year:04d}-{month:02d}"


def default_month(unit: Unit, today: dt.date) -> str:
    """The month the unit prepares now (next month or the current one, per its profile)."""
    return core.roster_month_for(today, services().profiles[unit.profile_id].money.roster_for)


def due_dates(unit: Unit, month: str) -> tuple[dt.date, dt.date | None, dt.date | None]:
    m = services().profiles[unit.profile_id].money
    return (core.roster_due(month, m.roster_due_day, m.roster_for),
            core.finance_due(month, m.finance_day, m.roster_for), core.payment_due(month, m.payment_day))


def find(unit: Unit, month: str) -> Roster | None:
    return db.session.scalar(select(Roster).where(Roster.unit_id == unit.id, Roster.month == month))


# --- generation --------------------------------------------------------------------------------

class _AtExitMonth:
    """A case seen in a given month of its gradual exit (for the benefit core), without changing the row."""

    def __init__(self, case: Case, exit_month: int):
        self._case, self.exit_month = case, exit_month

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


def _events(case_ids_query, actions: Iterable[str]) -> dict[int, list[CaseEvent]]:
    """The cases' events of these kinds, oldest first, in one query."""
    out: dict[int, list[CaseEvent]] = {}
    rows = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids_query),
                                                      CaseEvent.action.in_(tuple(actions)))
                              .order_by(CaseEvent.case_id, CaseEvent.seq))
    for ev in rows:
        out.setdefault(ev.case_id, []).append(ev)
    return out


def exit_started(events: Iterable[CaseEvent]) -> dt.date | None:
    """The day the case's (latest) gradual exit was decided."""
    day = None
    for ev in events:
        if ev.action == "start_gradual_exit" or (ev.action == "complete_rereview"
                                                 and (ev.data or {}).get("outcome") == "gradual_exit"):
            day = ev.on_date
    return day


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _decision_reason(events: Iterable[CaseEvent], since: dt.datetime | None) -> str:
    """The written reasons of the latest raise/lower decision recorded after ``since`` (the last approved
    roster's generation: what that roster could not yet show)."""
    reason = ""
    for ev in events:
        data = ev.data or {}
        if since is not None and _utc(ev.at) < since:
            continue
        if ev.action == "record_change" or (ev.action == "complete_rereview" and data.get("outcome") == "change"):
            reason = data.get("reasons", "")
    return reason


def _stop_info(events: Iterable[CaseEvent]) -> core.StopInfo:
    info = core.StopInfo()
    for ev in events:
        data = ev.data or {}
        if ev.action == "stop" or (ev.action == "complete_rereview" and data.get("outcome") == "stop"):
            info = core.StopInfo("stopped", data.get("reasons", ""))
        elif ev.action == "finish_gradual_exit":
            info = core.StopInfo("gradual_exit_ended", "")
    return info


def previous_approved(unit: Unit, month: str) -> Roster | None:
    return db.session.scalar(select(Roster).where(Roster.unit_id == unit.id, Roster.month < month,
                                                  Roster.status == "approved").order_by(Roster.month.desc()).limit(1))


def _line_of(row: RosterLine) -> core.Line:
    return core.Line(row.kind, row.case_id, row.case_number, row.head_name, row.people, Decimal(row.amount),
                     None if row.previous_amount is None else Decimal(row.previous_amount), row.change,
                     row.reason_code, row.reason, row.exit_percentage, row.corrects_month, row.differs_from_decided)


def _row_of(line: core.Line, position: int, created_by_id: int | None = None) -> RosterLine:
    return RosterLine(position=position, kind=line.kind, case_id=line.case_id, case_number=line.case_number,
                      head_name=line.head_name, people=line.people, amount=line.amount,
                      previous_amount=line.previous_amount, change=line.change, reason_code=line.reason_code,
                      reason=line.reason, exit_percentage=line.exit_percentage, corrects_month=line.corrects_month,
                      differs_from_decided=line.differs_from_decided, created_by_id=created_by_id)


def _set_totals(roster: Roster, totals: core.Totals) -> None:
    roster.households, roster.people = totals.households, totals.people
    roster.payments_total, roster.adjustments_total, roster.total = totals.payments, totals.adjustments, totals.total


def _totals_dict(roster: Roster) -> dict[str, Any]:
    return {"status": roster.status, "households": roster.households, "people": roster.people,
            "payments": str(roster.payments_total), "adjustments": str(roster.adjustments_total),
            "total": str(roster.total), "lines": len(roster.lines)}


def compute_for(unit: Unit, month: str) -> core.RosterResult:
    """The month's lines for the unit, from the cases in payment now and the last approved roster."""
    profile = services().profiles[unit.profile_id]
    on = core.first_day(month)
    paying_ids = select(Case.id).where(Case.office_unit_id == unit.id, Case.status.in_(PAYING))
    cases = db.session.scalars(select(Case).where(Case.id.in_(paying_ids)).options(
        selectinload(Case.household).selectinload(Household.members)).order_by(Case.number)).all()
    previous = previous_approved(unit, month)
    prev_lines = [core.PrevLine(r.case_id, r.case_number, r.head_name, r.people, Decimal(r.amount), r.change,
                                r.exit_percentage)
                  for r in (previous.lines if previous else []) if r.kind == "payment"]
    since = _utc(previous.generated_at) if previous else None
    relevant = ("record_change", "complete_rereview", "start_gradual_exit", "stop", "finish_gradual_exit")
    paying_ids_set = {c.id for c in cases}
    gone = [p.case_id for p in prev_lines if p.case_id not in paying_ids_set and p.change != "stopped"]
    events = _events(select(Case.id).where(Case.id.in_(paying_ids) | Case.id.in_(gone)), relevant)

    paying, stopped, problems = [], {}, []
    exit_months = profile.gradual_exit.months
    for case in cases:
        if not core.paid_from(case.decided_on, month):   # approved after this month: not paid for it
            continue
        evs = events.get(case.id, [])
        view: Any = case
        percentage = None
        if case.status == "gradual_exit":
            started = exit_started(evs) or case.decided_on or on
            position = core.exit_position(core.month_of(started), month, exit_months)
            if position is None:   # the schedule is over: not paid this month
                stopped[case.id] = core.StopInfo("gradual_exit_ended", "")
                continue
            view = _AtExitMonth(case, position)
            percentage = core.exit_percentage(position, profile.gradual_exit.percentages)
        try:
            working = benefit_working(view, on)
        except OperationError as exc:
            problems.append((case.number, exc.message, exc.message_en))
            continue
        head = case.household.head
        paying.append(core.PayInput(case.id, case.number, head.name if head else "", working.people, working.total,
                                    percentage, _decision_reason(evs, since),
                                    Decimal(case.amount) if case.amount is not None else None))
    if problems:
        raise OperationError("benefit_failed",
                             "以下案件无法计算保障金额：" + "；".join(f"{n}：{zh}" for n, zh, _en in problems),
                             "the amount cannot be computed for: " + "; ".join(f"{n}: {en}" for n, _zh, en in problems),
                             422, cases=[n for n, _zh, _en in problems])
    for case_id in gone:
        stopped.setdefault(case_id, _stop_info(events.get(case_id, [])))
    return core.compute_roster(paying, prev_lines, stopped)


def generate_roster(unit: Unit, month: str, *, actor: User | None, today: dt.date, actor_label: str = "",
                    remote_addr: str = "") -> Roster:
    """Create the unit's roster for ``month`` or bring its draft up to date.

    Idempotent: generating again while the roster is a draft (or returned) recomputes the payment lines,
    keeps the adjustment lines, and writes nothing when nothing changed.  A submitted roster waits for the
    bureau; an approved one is locked.  Changing a returned roster's lines turns it back into a draft
    (the leader signs again).
    """
    _need_office(unit)
    if actor is not None and (actor.role not in GENERATORS or actor.unit_id != unit.id):
        raise _forbidden("只有本街道（乡镇）的经办人或分管领导可以生成发放名册",
                         "only the unit's caseworker or leader may generate its roster")
    month = parse_month(month)
    allowed = core.roster_months_open(today)
    if month not in allowed:
        raise OperationError("roster_month_closed",
                             f"只能生成本月或下月（{allowed[0]} 或 {allowed[1]}）的发放名册；过去月份的更正请作调整",
                             f"a roster can only be made for the current or next month ({allowed[0]} or {allowed[1]}); "
                             "correct a past month with an adjustment", month=month)
    try:
        return _generate(unit, month, actor, actor_label, remote_addr)
    except IntegrityError:   # someone created the same unit's roster for the month at the same moment
        db.session.rollback()
        return _generate(unit, month, actor, actor_label, remote_addr)


def _generate(unit: Unit, month: str, actor: User | None, actor_label: str, remote_addr: str) -> Roster:
    roster = find(unit, month)
    if roster is not None:
        check_editable(roster)
    result = compute_for(unit, month)
    if roster is None:
        due, finance, paid = due_dates(unit, month)
        roster = Roster(unit=unit, month=month, profile_id=unit.profile_id, status="draft", due_on=due,
                        finance_due_on=finance, payment_due_on=paid, generated_by_id=actor.id if actor else None,
                        generated_by_label=actor.username if actor else (actor_label or "system"))
        db.session.add(roster)
        before = None
    else:
        before = _totals_dict(roster)
    adjustments = [_line_of(r) for r in roster.lines if r.kind == "adjustment"]
    payments = [ln for ln in result.lines if ln.kind == "payment"]
    new_lines = payments + adjustments
    old_keys = [_line_of(r).key() for r in roster.lines]
    if before is not None and old_keys == [ln.key() for ln in new_lines]:
        return roster   # nothing changed: nothing to write
    creators = {r.case_id: r.created_by_id for r in roster.lines if r.kind == "adjustment"}
    roster.lines.clear()
    db.session.flush()
    for i, line in enumerate(new_lines, start=1):
        roster.lines.append(_row_of(line, i, creators.get(line.case_id) if line.kind == "adjustment" else None))
    _set_totals(roster, core.totals_of(new_lines))
    roster.generated_at = dt.datetime.now(dt.UTC)
    roster.generated_by_id = actor.id if actor else None
    roster.generated_by_label = actor.username if actor else (actor_label or "system")
    _back_to_draft(roster)
    db.session.flush()
    audit.record("roster.generate", "roster", roster.id, actor=actor, actor_label=actor_label, before=before,
                 after={**_totals_dict(roster), "unit": unit.code, "month": month}, remote_addr=remote_addr)
    db.session.commit()
    return roster


def _back_to_draft(roster: Roster) -> None:
    """Lines changed after a return: the old signature no longer covers them."""
    if roster.status == "returned":
        roster.status = "draft"
        roster.signature_sha256 = None
        roster.submitted_at = roster.submitted_on = roster.submitted_by_id = None


# --- adjustments ---------------------------------------------------------------------------------

def parse_signed_amount(text: str) -> Decimal:
    """"-120.50" or "30" -> Decimal; refuses zero, more than two decimals and anything not a number."""
    raw = (text or "").strip()
    negative = raw.startswith("-")
    try:
        value = money(raw[1:].strip() if negative else raw)
    except (InvalidMoney, InvalidOperation):
        raise OperationError("amount_invalid", "调整金额应为最多两位小数的金额，扣减写负数，如 -120.50",
                             "the adjustment must be an amount with at most two decimals; a recovery is negative, "
                             "e.g. -120.50") from None
    if value == 0:
        raise OperationError("amount_zero", "调整金额不能为0", "the adjustment cannot be zero")
    return -value if negative else value


def add_adjustment(roster: Roster, actor: User, *, case_number: str, amount: Decimal, reason: str,
                   corrects_month: str, remote_addr: str = "") -> RosterLine:
    """A correction of an approved roster: paid (positive) or recovered (negative) with this month's money."""
    if actor.role != "caseworker" or actor.unit_id != roster.unit_id:
        raise _forbidden("只有本街道（乡镇）的经办人可以登记名册调整", "only the unit's caseworker may add an adjustment")
    check_editable(roster)
    reason = (reason or "").strip()
    if not reason:
        raise OperationError("reason_required", "必须填写调整理由", "the reason for the adjustment must be given in writing")
    corrects = parse_month(corrects_month)
    if corrects >= roster.month:
        raise OperationError("corrects_month_invalid", "只能更正本月以前的名册", "only an earlier month's roster can be corrected")
    earlier = db.session.scalar(select(Roster).where(Roster.unit_id == roster.unit_id, Roster.month == corrects))
    if earlier is None or earlier.status != "approved":
        raise OperationError("corrected_roster_not_approved", f"{corrects}的名册尚未审批，请直接修改该名册",
                             f"the roster for {corrects} is not approved: change that roster instead")
    case = db.session.scalar(select(Case).where(Case.number == (case_number or "").strip(),
                                                Case.office_unit_id == roster.unit_id))
    if case is None:
        raise OperationError("case_unknown", "本单位没有此案件编号", "no case with this number in this unit")
    head = case.household.head
    line = core.Line("adjustment", case.id, case.number, head.name if head else "", len(case.household.covered) or 1,
                     amount, None, "adjustment", "correction", reason, None, corrects)
    core.compute_roster([], [], {}, [core.Adjustment(line.case_id, line.case_number, line.head_name, line.people,
                                                    amount, reason, corrects)])   # the core's checks
    row = _row_of(line, len(roster.lines) + 1, actor.id)
    before = _totals_dict(roster)
    roster.lines.append(row)
    _set_totals(roster, core.totals_of(_line_of(r) for r in roster.lines))
    _back_to_draft(roster)
    db.session.flush()
    audit.record("roster.adjustment", "roster", roster.id, actor=actor, before=before,
                 after={**_totals_dict(roster), "case": case.number, "amount": str(amount), "corrects": corrects,
                        "reason": reason}, remote_addr=remote_addr)
    db.session.commit()
    return row


def remove_adjustment(roster: Roster, line: RosterLine, actor: User, *, remote_addr: str = "") -> None:
    if actor.role != "caseworker" or actor.unit_id != roster.unit_id:
        raise _forbidden("只有本街道（乡镇）的经办人可以删除名册调整", "only the unit's caseworker may remove an adjustment")
    check_editable(roster)
    if line.roster_id != roster.id or line.kind != "adjustment":
        raise OperationError("line_unknown", "没有这条调整", "no such adjustment", 404)
    before = _totals_dict(roster)
    gone = {"case": line.case_number, "amount": str(line.amount), "corrects": line.corrects_month}
    roster.lines.remove(line)
    for i, r in enumerate(roster.lines, start=1):
        r.position = i
    _set_totals(roster, core.totals_of(_line_of(r) for r in roster.lines))
    _back_to_draft(roster)
    db.session.flush()
    audit.record("roster.adjustment_removed", "roster", roster.id, actor=actor, before={**before, **gone},
                 after=_totals_dict(roster), remote_addr=remote_addr)
    db.session.commit()


# --- signing, review -----------------------------------------------------------------------------

def submit_roster(roster: Roster, actor: User, *, signature: str | None, opinion: str = "", today: dt.date,
                  remote_addr: str = "") -> Roster:
    """The signer the unit's profile names (``money.roster_signer``: guancheng 主要领导 = the director)
    signs with a drawn signature and files the roster with the bureau."""
    signer = roster_signer(roster.unit)
    zh, en = SIGNER_NAMES[signer]
    if actor.role != signer or actor.unit_id != roster.unit_id:
        raise _forbidden(f"只有本街道（乡镇）的{zh}可以签字上报名册", f"only the unit's {en} may sign and submit the roster")
    check_editable(roster)
    if not signature:
        raise OperationError("signature_required", f"{zh}须在名册上签字", f"the {en} must sign the roster")
    opinion = check_length((opinion or "").strip(), 2000, field="opinion", zh="签字意见", en="The opinion")
    before = _totals_dict(roster)
    roster.status = "submitted"
    roster.signature_sha256 = signature
    roster.leader_opinion = opinion
    roster.submitted_at = dt.datetime.now(dt.UTC)
    roster.submitted_on = today
    roster.submitted_by_id = actor.id
    filing = core.filing_status(roster.due_on, today, today)
    audit.record("roster.submit", "roster", roster.id, actor=actor, before=before,
                 after={**_totals_dict(roster), "signature": signature, "submitted_on": today.isoformat(),
                        "filing": filing}, remote_addr=remote_addr)
    db.session.commit()
    return roster


SIGNER_NAMES = {"leader": ("分管领导", "leader in charge"), "director": ("主要领导（主任）", "director")}


def roster_signer(unit: Unit) -> str:
    """Who signs the unit's roster, from its profile (``money.roster_signer``)."""
    return services().profiles[unit.profile_id].money.roster_signer


def _bureau_check(roster: Roster, actor: User) -> None:
    if actor.role != "bureau_supervisor" or roster.unit.parent_id != actor.unit_id:
        raise _forbidden("只有本区（县）民政局监管人员可以审核名册", "only a supervisor of the district's bureau may review the roster")
    if roster.status != "submitted":
        if roster.status == "approved":
            check_editable(roster)
        raise OperationError("roster_not_submitted", "名册尚未上报，不能审核", "the roster has not been submitted", 409)


def return_roster(roster: Roster, actor: User, *, comments: str, remote_addr: str = "") -> Roster:
    """The bureau sends the roster back with written comments; the unit corrects it and submits again."""
    _bureau_check(roster, actor)
    comments = (comments or "").strip()
    if not comments:
        raise OperationError("comments_required", "退回名册须写明意见", "write the comments when returning a roster")
    check_length(comments, 4000, field="comments", zh="审核意见", en="The comments")
    before = _totals_dict(roster)
    roster.status = "returned"
    roster.reviewed_by_id = actor.id
    roster.review_comments = comments
    roster.returned_at = dt.datetime.now(dt.UTC)
    roster.times_returned = (roster.times_returned or 0) + 1
    audit.record("roster.return", "roster", roster.id, actor=actor, before=before,
                 after={**_totals_dict(roster), "comments": roster.review_comments}, remote_addr=remote_addr)
    db.session.commit()
    return roster


def approve_roster(roster: Roster, actor: User, *, comments: str = "", remote_addr: str = "") -> Roster:
    """The bureau approves: the roster is locked from now on."""
    _bureau_check(roster, actor)
    comments = check_length((comments or "").strip(), 4000, field="comments", zh="审核意见", en="The comments")
    before = _totals_dict(roster)
    roster.status = "approved"
    roster.reviewed_by_id = actor.id
    roster.review_comments = comments
    roster.approved_at = dt.datetime.now(dt.UTC)
    audit.record("roster.approve", "roster", roster.id, actor=actor, before=before,
                 after={**_totals_dict(roster), "comments": roster.review_comments}, remote_addr=remote_addr)
    db.session.commit()
    return roster


# --- after approval: the finance bureau and the payment ----------------------------------------------

def step_due(roster: Roster, step: str) -> dt.date | None:
    return roster.finance_due_on if step == "finance" else roster.payment_due_on


def steps_open(roster: Roster) -> list[str]:
    """The money steps this roster's profile has (finance only where ``money.finance_day`` is set)."""
    m = services().profiles[roster.profile_id].money
    return (["finance"] if m.finance_day else []) + ["payment"]


def record_step(roster: Roster, actor: User, *, step: str, on: dt.date | None, today: dt.date, note: str = "",
                remote_addr: str = "") -> RosterStep:
    """The bureau records the day a money step happened after approving the roster: the filing with the
    finance bureau (yijun: by the 15th) or the payment into the families' accounts (guancheng: by the
    10th).  Each step once; the day may not be in the future or before the roster was filed; late is kept."""
    if actor.role != "bureau_supervisor" or roster.unit.parent_id != actor.unit_id:
        raise _forbidden("只有本区（县）民政局监管人员可以登记资金环节", "only the district's bureau may record money steps")
    if step not in steps_open(roster):
        raise OperationError("step_invalid", "本规则没有此资金环节", "this profile has no such money step")
    if roster.status != "approved":
        raise OperationError("roster_not_approved", "名册审批后才能登记资金环节",
                             "the roster must be approved before its money steps", 409)
    note = check_length((note or "").strip(), 2000, field="note", zh="备注", en="The note")
    if on is None:
        raise OperationError("step_date_required", "须填写办理日期", "the date it happened is required")
    if on > today or (roster.submitted_on is not None and on < roster.submitted_on):
        raise OperationError("step_date_invalid", "办理日期不能晚于今天，也不能早于名册上报",
                             "the date cannot be in the future or before the roster was submitted")
    if step == "payment" and "finance" in steps_open(roster):
        finance = db.session.scalar(select(RosterStep).where(RosterStep.roster_id == roster.id,
                                                             RosterStep.step == "finance"))
        if finance is None or on < finance.on_date:
            raise OperationError("finance_step_first", "须先登记向财政局提交的日期，发放日期不能早于它",
                                 "record the filing with the finance bureau first; payment cannot precede it", 409)
    if db.session.scalar(select(RosterStep).where(RosterStep.roster_id == roster.id, RosterStep.step == step)):
        raise OperationError("step_recorded", "此环节已登记", "this step has already been recorded", 409)
    due = step_due(roster, step)
    row = RosterStep(roster_id=roster.id, step=step, on_date=on, due_on=due, late=core.step_late(on, due),
                     note=note, recorded_by_id=actor.id)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:   # the same step recorded by someone else at the same moment
        db.session.rollback()
        raise OperationError("step_recorded", "此环节已登记", "this step has already been recorded", 409) from None
    audit.record(f"roster.{step}", "roster", roster.id, actor=actor, remote_addr=remote_addr,
                 after={"step": step, "on": on.isoformat(), "due": due.isoformat() if due else None,
                        "late": row.late})
    db.session.commit()
    return row


def steps_of(roster: Roster) -> dict[str, RosterStep]:
    return {s.step: s for s in db.session.scalars(select(RosterStep).where(RosterStep.roster_id == roster.id))}


# --- the bureau's view -------------------------------------------------------------------------

FILING_ORDER = {"overdue": 0, "late": 1, "pending": 2, "on_time": 3}
FILING_NAMES = {
    "overdue": ("逾期未报", "Overdue, not filed"),
    "late": ("逾期上报", "Filed late"),
    "pending": ("未到期", "Not yet due"),
    "on_time": ("按时上报", "Filed on time"),
}


def offices_of(district: Unit) -> list[Unit]:
    return [u for u in district.children if u.level in OFFICE_LEVELS]


def filing_of(roster: Roster | None, due: dt.date, today: dt.date) -> str:
    filed = roster.submitted_on if roster is not None and roster.status in ("submitted", "approved") else None
    return core.filing_status(due, filed, today)


def late_units(district: Unit, month: str, today: dt.date) -> list[dict[str, Any]]:
    """Every street office / township of the district with its roster for ``month`` (or none), the due day
    from its profile and whether it filed on time, late, is overdue or not yet due — the late ones first."""
    month = parse_month(month)
    rows = []
    rosters = {r.unit_id: r for r in db.session.scalars(select(Roster).where(
        Roster.month == month, Roster.unit_id.in_(select(Unit.id).where(Unit.parent_id == district.id))))}
    for unit in offices_of(district):
        due, finance, paid = due_dates(unit, month)
        roster = rosters.get(unit.id)
        filing = filing_of(roster, due, today)
        rows.append({"unit": unit, "roster": roster, "due_on": due, "finance_due_on": finance, "payment_due_on": paid,
                     "filing": filing, "late": filing in ("late", "overdue")})
    rows.sort(key=lambda r: (FILING_ORDER[r["filing"]], r["unit"].code))
    return rows


# --- exports -------------------------------------------------------------------------------------

HEADERS = ["序号", "类型", "案件编号", "户主姓名", "保障人数", "上月金额（元）", "本月金额（元）", "变化情况", "变化原因",
           "渐退发放比例", "更正月份"]


def _rows(roster: Roster) -> list[list[Any]]:
    out = []
    for i, ln in enumerate(roster.lines, start=1):
        reason = ln.reason or (core.REASONS[ln.reason_code][0] if ln.reason_code in core.REASONS else "")
        if ln.reason_code == "gradual_exit" and not ln.reason and ln.exit_percentage is not None:
            reason = f"渐退，按{ln.exit_percentage}%发放"
        out.append([i, "调整" if ln.kind == "adjustment" else "发放", ln.case_number, ln.head_name, ln.people,
                    None if ln.previous_amount is None else Decimal(ln.previous_amount).quantize(Decimal("0.01")),
                    Decimal(ln.amount).quantize(Decimal("0.01")), core.CHANGES[ln.change][0], reason,
                    "" if ln.exit_percentage is None else f"{ln.exit_percentage}%", ln.corrects_month or ""])
    return out


def _title(roster: Roster) -> str:
    return f"{roster.unit.name} {roster.month} 最低生活保障金发放名册（{ROSTER_STATUSES[roster.status][0]}）"


def export_csv(roster: Roster) -> bytes:
    """UTF-8 with a byte-order mark (so spreadsheet programs read the Chinese), one line per row, amounts
    with two decimals, and a last row 合计 whose amounts are the sums of the lines above it."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADERS)
    for row in _rows(roster):
        w.writerow(["" if v is None else (f"{v:.2f}" if isinstance(v, Decimal) else safe_cell(v)) for v in row])
    previous = sum((Decimal(ln.previous_amount) for ln in roster.lines if ln.previous_amount is not None),
                   Decimal("0.00"))
    w.writerow(["合计", "", "", f"{roster.households}户", roster.people, f"{previous:.2f}", f"{Decimal(roster.total):.2f}",
                "", f"其中发放{Decimal(roster.payments_total):.2f}元，调整{Decimal(roster.adjustments_total):.2f}元",
                "", ""])
    return buf.getvalue().encode("utf-8-sig")


def export_xlsx(roster: Roster) -> bytes:
    """A workbook for the bank and the finance bureau: the lines with a 合计 row, and a summary sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "发放名册"
    ws.append([_title(roster)])
    ws["A1"].font = Font(bold=True, size=14)
    due = f"应报日期 {roster.due_on.isoformat()}"
    if roster.finance_due_on:
        due += f"；报财政局 {roster.finance_due_on.isoformat()}"
    if roster.payment_due_on:
        due += f"；发放日期 {roster.payment_due_on.isoformat()}前"
    ws.append([due])
    ws.append(HEADERS)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    first = ws.max_row + 1
    for row in _rows(roster):
        ws.append([safe_cell(v) for v in row])
    previous = sum((Decimal(ln.previous_amount) for ln in roster.lines if ln.previous_amount is not None),
                   Decimal("0.00"))
    ws.append(["合计", "", "", f"{roster.households}户", roster.people, previous, Decimal(roster.total), "",
               f"其中发放{Decimal(roster.payments_total):.2f}元，调整{Decimal(roster.adjustments_total):.2f}元"])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for r in range(first, ws.max_row + 1):
        for col in ("F", "G"):
            ws[f"{col}{r}"].number_format = "0.00"
    for col, width in zip("ABCDEFGHIJK", (6, 6, 22, 12, 9, 13, 13, 10, 40, 12, 10), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = ws[f"A{first}"]

    summary = wb.create_sheet("汇总")
    summary.append(["项目", "数值"])
    summary.append(["单位", roster.unit.name])
    summary.append(["月份", roster.month])
    summary.append(["状态", ROSTER_STATUSES[roster.status][0]])
    summary.append(["保障户数", roster.households])
    summary.append(["保障人数", roster.people])
    summary.append(["本月发放（元）", Decimal(roster.payments_total)])
    summary.append(["调整（元）", Decimal(roster.adjustments_total)])
    summary.append(["合计（元）", Decimal(roster.total)])
    for code, (zh, _en) in core.CHANGES.items():
        summary.append([f"{zh}（户）", sum(1 for ln in roster.lines if ln.change == code)])
    for r in range(7, 10):
        summary[f"B{r}"].number_format = "0.00"
    summary.column_dimensions["A"].width = 18
    summary.column_dimensions["B"].width = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_name(roster: Roster, fmt: str) -> str:
    return f"roster-{roster.unit.code}-{roster.month}.{fmt}"


# --- demo ----------------------------------------------------------------------------------------

def _demo_signature(user: User) -> str:
    from PIL import Image, ImageDraw

    from server.operations.attachments import save

    img = Image.new("RGB", (240, 90), "white")
    draw = ImageDraw.Draw(img)
    draw.line([(20, 60), (60, 25), (95, 62), (130, 30), (170, 58), (215, 28)], fill=(25, 25, 90), width=4)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return save(buf.getvalue(), declared_type="image/png", user=user)


def create_demo_rosters() -> None:
    """Demo rosters for 南关街 (guancheng) and 彭镇 (yijun): last month approved, then a change decided,
    and this period's roster generated — a draft waiting for the leader at 南关街, submitted and waiting
    for the bureau at 彭镇.  Also one open change report at each."""
    from server import today as today_fn
    from server.operations import dynamic

    now = today_fn()
    for code in ("410104005", "610222002"):
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            continue
        staff = {u.role: u for u in db.session.scalars(select(User).where(User.unit_id == unit.id,
                                                                          User.role.in_(OFFICE_ROLES)))}
        bureau = db.session.scalar(select(User).where(User.unit_id == unit.parent_id,
                                                      User.role == "bureau_supervisor"))
        month = default_month(unit, now)
        last = core.add_months(month, -1)
        signer = staff[roster_signer(unit)]
        # last period's roster, made back then (a roster is only made for its own or the coming month)
        first = generate_roster(unit, last, actor=staff["caseworker"], today=core.first_day(last))
        submit_roster(first, signer, signature=_demo_signature(signer), opinion="经审核，名册属实。",
                      today=first.due_on)
        approve_roster(first, bureau, comments="同意。")
        paying = db.session.scalars(select(Case).where(Case.office_unit_id == unit.id, Case.status == "in_payment")
                                    .order_by(Case.id)).all()
        if paying and Decimal(paying[0].assessed_income_6m) > 0:
            case = paying[0]
            lower = (Decimal(case.assessed_income_6m) / 2).quantize(Decimal("0.01"))
            report = dynamic.record_change_report(case, staff["caseworker"], kind="income", today=now,
                                                  description="户主临时工作结束，家庭收入减少。",
                                                  reported_income_6m=lower)
            try:
                dynamic.decide_change(case, staff["director"], reasons="家庭收入减少，按核定收入增发。",
                                      assessed_income_6m=lower, report_id=report.id, today=now)
            except OperationError:   # the amount would not change: the report stays open for the demo
                pass
        if len(paying) > 1:
            dynamic.record_change_report(paying[1], staff["caseworker"], kind="members", today=now,
                                         description="家中子女外出务工，户籍未迁出。")
        current = generate_roster(unit, month, actor=staff["caseworker"], today=now)
        if code == "610222002":
            submit_roster(current, signer, signature=_demo_signature(signer),
                          opinion="经审核，名册属实，请审批。", today=now)
