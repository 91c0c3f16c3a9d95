"""Dynamic management (动态管理) of families in payment: re-reviews on the profile's schedule, families'
change reports, decisions to raise, lower or stop with written reasons, gradual exit month by month,
cancellation with reasons.

Every decision goes through :func:`server.operations.cases.perform` (the workflow core decides, the case
history and the audit log record it); what a decision changes beyond the workflow (the assessed income,
who is covered, the gradual-exit month) gets its own audit entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from server import services
from server.domain import roster as core
from server.extensions import db
from server.models import Case, CaseEvent, Unit, User, VisitAssignment
from server.models.money import CHANGE_REPORT_KINDS, ChangeReport
from server.operations import OperationError, audit, check_length
from server.operations.cases import apply_to_household, benefit_working, next_event_seq, perform
from server.operations.rosters import exit_started
from server.operations.visits import assign_visit
from sync.merge import apply as apply_choices
from sync.merge import same_value

PAYING = ("in_payment", "rereview", "gradual_exit")
OFFICE_ROLES = ("caseworker", "leader", "director")
# Actions whose printed notice tells the family what was decided (变更/停发通知书).
NOTICE_ACTIONS = ("record_change", "complete_rereview", "start_gradual_exit", "finish_gradual_exit", "stop")
STOP_CATEGORIES = {
    "income": ("家庭收入超过当地保障标准", "Household income above the local standard"),
    "moved": ("户籍迁出或不在本地居住", "Moved away or no longer living here"),
    "death": ("保障对象死亡", "The beneficiary died"),
    "refused": ("无正当理由拒不配合复核", "Refused the re-review without good reason"),
    "false_info": ("隐瞒收入或虚报冒领", "Concealed income or false claims"),
    "request": ("本人申请退出", "Asked to leave the programme"),
    "other": ("其他", "Other"),
}
REREVIEW_OUTCOMES = ("continue", "change", "gradual_exit", "stop")


def _forbidden(zh: str, en: str) -> OperationError:
    return OperationError("role_not_permitted", zh, en, 403)


def _office_staff(case: Case, actor: User, roles: Sequence[str], zh: str, en: str) -> None:
    if actor.role not in roles or actor.unit_id != case.office_unit_id:
        raise _forbidden(zh, en)


# --- re-reviews ----------------------------------------------------------------------------------

def last_review_day(case: Case, events: Iterable[CaseEvent]) -> dt.date:
    """The day the family was last re-reviewed, else approved (the schedule counts from there)."""
    day = None
    for ev in events:
        if ev.action in ("approve", "complete_rereview"):
            day = ev.on_date
    return day or case.decided_on or case.certificate_from or case.applied_on


def _events_of(case_ids_query, actions: Iterable[str]) -> dict[int, list[CaseEvent]]:
    out: dict[int, list[CaseEvent]] = {}
    for ev in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids_query),
                                                         CaseEvent.action.in_(tuple(actions)))
                                 .order_by(CaseEvent.case_id, CaseEvent.seq)):
        out.setdefault(ev.case_id, []).append(ev)
    return out


def rereview_rows(unit: Unit, today: dt.date, until: dt.date | None = None) -> list[dict[str, Any]]:
    """Families in payment at the unit with their next re-review (per household class, from the profile),
    due ones (on or before ``until``, default today) first; families under re-review now are listed too."""
    until = until or today
    profile = services().profiles[unit.profile_id]
    ids = select(Case.id).where(Case.office_unit_id == unit.id, Case.status.in_(("in_payment", "rereview")))
    cases = db.session.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.number)).all()
    events = _events_of(ids, ("approve", "complete_rereview"))
    open_visits = {a.case_id: a for a in db.session.scalars(select(VisitAssignment).where(
        VisitAssignment.case_id.in_(ids), VisitAssignment.kind == "rereview", VisitAssignment.status == "open"))}
    rows = []
    for case in cases:
        last = last_review_day(case, events.get(case.id, []))
        klass = case.household.household_class
        due = core.next_review_due(last, klass, profile)
        if case.status == "rereview":
            mark = "in_progress"
        elif due < today:
            mark = "overdue"
        elif due <= until:
            mark = "due"
        else:
            mark = "upcoming"
        rows.append({"case": case, "household_class": klass, "interval": profile.review_interval(klass),
                     "last": last, "due": due, "mark": mark, "days_overdue": max(0, (today - due).days),
                     "assignment": open_visits.get(case.id)})
    order = {"overdue": 0, "due": 1, "in_progress": 2, "upcoming": 3}
    rows.sort(key=lambda r: (order[r["mark"]], r["due"], r["case"].number))
    return rows


def due_rereviews(unit: Unit, today: dt.date, until: dt.date | None = None) -> list[dict[str, Any]]:
    """The families whose re-review is due (on or before ``until``, default today) and not yet started."""
    return [r for r in rereview_rows(unit, today, until) if r["mark"] in ("overdue", "due")]


def start_rereview(case: Case, actor: User, team_ids: Sequence[int], *, today: dt.date, reason: str = "",
                   note: str = "", remote_addr: str = "") -> VisitAssignment:
    """Start the re-review and send a team (at least the profile's team size) to the household: the visit
    shows on their phones and comes back through the sync API like a home visit."""
    try:
        perform(case, "start_rereview", actor, {"reason": reason or "定期复核"}, today=today,
                remote_addr=remote_addr, commit=False)
        return assign_visit(case, actor, team_ids, kind="rereview", today=today, note=note)
    except OperationError:
        db.session.rollback()
        raise


# --- change reports --------------------------------------------------------------------------------

def record_change_report(case: Case, actor: User, *, kind: str, description: str, today: dt.date,
                         reported_income_6m: Decimal | None = None, reported_on: dt.date | None = None,
                         remote_addr: str = "") -> ChangeReport:
    """A family reports that its circumstances changed; it waits for the director's decision."""
    _office_staff(case, actor, ("caseworker",), "只有本街道（乡镇）的经办人可以登记家庭情况变化",
                  "only a caseworker of the case's office may record a change report")
    if case.status not in PAYING:
        raise OperationError("not_in_payment", "只有保障中的家庭可以报告情况变化",
                             "only a family in payment can report a change", 409)
    if kind not in CHANGE_REPORT_KINDS:
        raise OperationError("kind_invalid", "变化类别无效", "unknown kind of change")
    description = (description or "").strip()
    if not description:
        raise OperationError("description_required", "必须写明变化情况", "describe the change in writing")
    check_length(description, 4000, field="description", zh="变化情况", en="The description")
    reported_on = reported_on or today
    if reported_on > today:
        raise OperationError("reported_on_future", "报告日期不能晚于今天", "the report date cannot be in the future")
    if case.applied_on is not None and reported_on < case.applied_on:
        raise OperationError("reported_on_too_early", f"报告日期不能早于申请日期（{case.applied_on.isoformat()}）",
                             f"the report date cannot be before the application date ({case.applied_on.isoformat()})",
                             field="reported_on")
    report = ChangeReport(case=case, kind=kind, description=description, reported_on=reported_on,
                          reported_income_6m=reported_income_6m, recorded_by_id=actor.id)
    db.session.add(report)
    db.session.flush()
    audit.record("dynamic.change_report", "case", case.id, actor=actor, remote_addr=remote_addr,
                 after={"report": report.id, "kind": kind, "description": report.description,
                        "reported_on": reported_on.isoformat(),
                        "reported_income_6m": None if reported_income_6m is None else str(reported_income_6m)})
    db.session.commit()
    return report


def open_reports(case: Case) -> list[ChangeReport]:
    return db.session.scalars(select(ChangeReport).where(ChangeReport.case_id == case.id,
                                                         ChangeReport.status == "open").order_by(ChangeReport.id)).all()


def _report_of(case: Case, report_id: int | None) -> ChangeReport | None:
    if report_id is None:
        return None
    report = db.session.get(ChangeReport, report_id)
    if report is None or report.case_id != case.id or report.status != "open":
        raise OperationError("report_unknown", "没有这份待决定的变化报告", "no such open change report")
    return report


def _close_report(report: ChangeReport | None, actor: User, event: CaseEvent, today: dt.date) -> None:
    if report is None:
        return
    db.session.flush()
    report.status, report.decision, report.decided_on = "decided", event.action, today
    report.decided_by_id, report.decision_event_id = actor.id, event.id


# --- decisions -----------------------------------------------------------------------------------

def _apply_basis(case: Case, assessed_income_6m: Decimal | None, covered_ids: Sequence[int] | None) -> dict:
    """Put the decided income and the people covered on the case; returns what changed (for the audit)."""
    changed: dict[str, Any] = {}
    if assessed_income_6m is not None:
        if not isinstance(assessed_income_6m, Decimal) or assessed_income_6m < 0:
            raise OperationError("income_invalid", "认定收入应为不小于0的金额", "the assessed income must be 0 or more")
        if Decimal(case.assessed_income_6m) != assessed_income_6m:
            changed["assessed_income_6m"] = {"before": str(case.assessed_income_6m), "after": str(assessed_income_6m)}
            case.assessed_income_6m = assessed_income_6m
    if covered_ids is not None:
        members = {m.id: m for m in case.household.members}
        unknown = [i for i in covered_ids if i not in members]
        if unknown:
            raise OperationError("member_unknown", "所选成员不属于本家庭", "a chosen member is not in this household")
        chosen = set(covered_ids)
        if not any(m.co_residing for mid, m in members.items() if mid in chosen):
            raise OperationError("nobody_covered", "至少须有一名共同生活的成员纳入保障",
                                 "at least one co-residing member must stay covered")
        for mid, m in members.items():
            if m.covered != (mid in chosen):
                changed[f"member/{mid}/covered"] = {"before": m.covered, "after": mid in chosen}
                m.covered = mid in chosen
    return changed


def _apply_found(case: Case, found: dict[str, Any], covered_ids: Sequence[int] | None,
                 joining: Mapping[str, bool] | None, today: dt.date) -> dict[str, Any] | None:
    """Bring the household record in line with a visit kept as evidence (``pending_visit_evidence``) as the
    director decided it, the way a reconciliation before the review does (``sync.merge.apply`` and the
    reconciliation's own update of the members): the visit's income rows when the decided income is the
    visit's (another figure: the rows stay as they were), the members who left that the decision no longer
    covers (one still covered stays), the new members the decision adds (``joining``: ID number -> covered;
    one left out stays named in the history only), the other facts the visit changed.  Returns the applied
    changes for the audit, or None."""
    from server.domain.ids import normalise_id_number
    from server.models.cases import RecordSnapshot

    joining = joining or {}
    unknown = sorted(set(joining) - set(found["new_members"]))
    if unknown:
        raise OperationError("member_unknown", "所选新增成员不是入户调查发现的", "a chosen new member was not found by the visit")
    proposed = (found["event"].data or {}).get("proposed") or {}
    current = case.record or {}
    by_id = {m.id: m.id_number for m in case.household.members}
    gone = {by_id[i] for i in found["left"]}
    stays = gone if covered_ids is None else {by_id[i] for i in covered_ids if i in by_id} & gone
    income_taken = found["assessed_income_6m"] is not None and \
        Decimal(case.assessed_income_6m) == found["assessed_income_6m"]
    new_members = set(found["new_members"]) - set(joining)
    choices: dict[str, Any] = {}
    for path, change in (proposed.get("changes") or {}).items():
        parts = path.split("/")
        if not same_value(current.get(path), change.get("before")):
            continue   # the record moved on since the reconciliation
        if parts[0] == "income" and not income_taken:
            continue
        if parts[0] == "member" and (parts[1] in new_members or (parts[1] in stays and parts[2] == "co_residing")):
            continue
        choices[path] = change.get("after")
    left = sorted(gone - stays)
    choices.update({f"member/{n}/co_residing": False for n in left})
    record = apply_choices(current, choices)
    changed = {k for k in choices if not same_value(current.get(k), record.get(k))}
    if not changed and not left and not joining:
        return None
    case.record = record
    case.record_version += 1
    db.session.add(RecordSnapshot(case_id=case.id, record_version=case.record_version, record=record))
    try:
        apply_to_household(case, record, changed, sorted(joining), left, today)
    except OperationError as exc:   # refused on the director's form: 422, the form kept as typed
        raise OperationError(exc.code, exc.message, exc.message_en, 422, exc.details) from None
    chosen = {normalise_id_number(n): covered for n, covered in joining.items()}   # as the household keeps it
    joined = []
    for member in case.household.members:
        if member.id_number in chosen:
            member.covered = member.co_residing and chosen[member.id_number]
            joined.append({"id_number": member.id_number, "name": member.name, "covered": member.covered})
    return {"visit": (found["event"].data or {}).get("visit_id"), "left": left, "joined": joined,
            "changes": {k: {"before": current.get(k), "after": record.get(k)} for k in sorted(changed)}}


def decide_change(case: Case, actor: User, *, reasons: str, today: dt.date,
                  assessed_income_6m: Decimal | None = None, covered_ids: Sequence[int] | None = None,
                  report_id: int | None = None, remote_addr: str = "",
                  evidence: dict[str, Any] | None = None, joining: Mapping[str, bool] | None = None) -> CaseEvent:
    """The director raises or lowers the payment: the new amount comes from the benefit core on the
    decided income and the people covered; raise or lower follows from it.  In re-review this is the
    re-review's conclusion "change".  A visit reconciled after the review and not yet decided on
    (``pending_visit_evidence``) is settled by it: the household record takes its findings as decided
    (``_apply_found``; ``joining``: the new members it found that the director adds, ID number -> covered),
    in the same audit entry as the basis."""
    _office_staff(case, actor, ("director",), "只有本街道（乡镇）主任可以决定增发或减发",
                  "only the director of the case's office may raise or lower a payment")
    if case.status not in ("in_payment", "rereview"):
        raise OperationError("illegal_transition", "只有保障中或复核中的家庭可以增发或减发",
                             "only a family in payment or under re-review can have its payment raised or lowered", 409)
    report = _report_of(case, report_id)
    found = pending_visit_evidence(case)
    old_amount = Decimal(case.amount) if case.amount is not None else None
    old_version = case.record_version
    try:
        changed = _apply_basis(case, assessed_income_6m, covered_ids)
        if joining and not found:
            raise OperationError("member_unknown", "没有待决定的入户调查发现新增成员", "no visit awaiting a decision found a new member")
        applied = _apply_found(case, found, covered_ids, joining, today) if found else None
        db.session.flush()
        amount = benefit_working(case, today).total
        if case.status == "rereview":
            action, payload = "complete_rereview", {"outcome": "change", "reasons": reasons, "amount": amount,
                                                    **(evidence or {})}
        else:
            if old_amount is not None and amount == old_amount and case.status == "in_payment":
                raise OperationError("amount_unchanged",
                                     f"按认定的收入和保障人数，月保障金仍为{amount}元，无需增发或减发",
                                     f"the monthly amount stays {amount} yuan: nothing to raise or lower")
            direction = "raise" if old_amount is None or amount > old_amount else "lower"
            action, payload = "record_change", {"direction": direction, "reasons": reasons, "amount": amount}
        if found:
            payload["visit_id"] = found["event"].data.get("visit_id")   # the decision names the visit it settles
        ev = perform(case, action, actor, payload, today=today, remote_addr=remote_addr, commit=False)
        if changed or applied:
            before: dict[str, Any] = {"amount": None if old_amount is None else str(old_amount)}
            after: dict[str, Any] = {"amount": str(amount), "changes": changed}
            if applied:   # the household record took the visit's findings as decided
                before["record_version"] = old_version
                after.update(record_version=case.record_version, record=applied)
            audit.record("dynamic.change_basis", "case", case.id, actor=actor, remote_addr=remote_addr,
                         before=before, after=after)
        _close_report(report, actor, ev, today)
        db.session.commit()
    except OperationError:
        db.session.rollback()
        raise
    return ev


def decide_rereview(case: Case, actor: User, *, outcome: str, reasons: str, today: dt.date,
                    assessed_income_6m: Decimal | None = None, covered_ids: Sequence[int] | None = None,
                    category: str = "", remote_addr: str = "", report_file: str | None = None,
                    report_on: dt.date | None = None, joining: Mapping[str, bool] | None = None) -> CaseEvent:
    """The director's conclusion of a re-review: continue, change the amount, gradual exit, or stop.  It
    rests on a visit recorded since the re-review opened or on the new verification report given here
    (``report_file`` and ``report_on``); see :func:`server.operations.cases.rereview_evidence`."""
    evidence = {"report_file": report_file, "report_on": report_on} if report_file else {}
    if outcome == "change":
        return decide_change(case, actor, reasons=reasons, today=today, assessed_income_6m=assessed_income_6m,
                             covered_ids=covered_ids, remote_addr=remote_addr, evidence=evidence, joining=joining)
    if outcome == "stop" and category and category not in STOP_CATEGORIES:
        raise OperationError("category_invalid", "停保类别无效", "unknown reason category")
    note = category if outcome == "stop" else ""
    try:
        return perform(case, "complete_rereview", actor, {"outcome": outcome, "reasons": reasons, "note": note,
                                                          "category": category, **evidence},
                       today=today, remote_addr=remote_addr)
    except OperationError:
        db.session.rollback()
        raise


def start_gradual_exit(case: Case, actor: User, *, reasons: str, today: dt.date, report_id: int | None = None,
                       remote_addr: str = "") -> CaseEvent:
    """The director moves the family to gradual exit (渐退): paid at the profile's percentages for its
    months, then stopped."""
    try:
        report = _report_of(case, report_id)
        ev = perform(case, "start_gradual_exit", actor, {"reasons": reasons}, today=today, remote_addr=remote_addr,
                     commit=False)
        _close_report(report, actor, ev, today)
        db.session.commit()
    except OperationError:
        db.session.rollback()
        raise
    return ev


def stop_case(case: Case, actor: User, *, reasons: str, category: str, today: dt.date, report_id: int | None = None,
              remote_addr: str = "") -> CaseEvent:
    """Stop (cancel) the payment, with a category and written reasons that go on the notice."""
    if category not in STOP_CATEGORIES:
        raise OperationError("category_invalid", "请选择停保（取消）类别", "choose the kind of reason for stopping")
    try:
        report = _report_of(case, report_id)
        ev = perform(case, "stop", actor, {"reasons": reasons, "note": category}, today=today,
                     remote_addr=remote_addr, commit=False)
        _close_report(report, actor, ev, today)
        db.session.commit()
    except OperationError:
        db.session.rollback()
        raise
    return ev


# --- gradual exit, month by month --------------------------------------------------------------------

def exit_schedule(case: Case) -> dict[str, Any] | None:
    """Where a family in gradual exit stands: the month it started, this month's place and percentage,
    and the first month no longer paid."""
    if case.status != "gradual_exit":
        return None
    profile = services().profiles[case.profile_id]
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).all()
    started = exit_started(events) or case.decided_on or case.applied_on
    start = core.month_of(started)
    months = profile.gradual_exit.months
    return {"started": started, "start_month": start, "months": months,
            "percentages": list(profile.gradual_exit.percentages), "position": case.exit_month,
            "percentage": core.exit_percentage(min(case.exit_month, months - 1), profile.gradual_exit.percentages),
            "end_month": core.exit_end_month(start, months)}


def advance_gradual_exit(case: Case, actor: User, *, month: str, today: dt.date, remote_addr: str = "") -> str:
    """Bring a family in gradual exit to ``month`` of its schedule: "advanced" (the month moved on),
    "finished" (the schedule is over: finish_gradual_exit stops the payment) or "unchanged"."""
    _office_staff(case, actor, ("caseworker",), "只有本街道（乡镇）的经办人可以办理渐退",
                  "only a caseworker of the case's office may move a gradual exit on")
    if case.status != "gradual_exit":
        raise OperationError("not_in_gradual_exit", "此家庭不在渐退期", "this family is not in gradual exit", 409)
    try:
        core.parse_month(month)
    except ValueError:
        raise OperationError("month_invalid", "月份应为 YYYY-MM 格式", "the month must be YYYY-MM") from None
    if month > core.month_of(today):
        raise OperationError("month_future", "不能提前办理以后月份的渐退", "a future month cannot be reached yet")
    info = exit_schedule(case)
    position = core.exit_position(info["start_month"], month, info["months"])
    if position is None:
        perform(case, "finish_gradual_exit", actor, {"note": f"渐退期满（{info['end_month']}起停发）"}, today=today,
                remote_addr=remote_addr)
        return "finished"
    if position <= case.exit_month:
        return "unchanged"
    before = case.exit_month
    percentage = core.exit_percentage(position, info["percentages"])
    case.exit_month = position
    case.updated_at = dt.datetime.now(dt.UTC)
    db.session.add(CaseEvent(case=case, seq=next_event_seq(case.id), action="gradual_exit_month", from_status=case.status,
                             to_status=case.status, actor_id=actor.id, on_date=today,
                             data={"month": month, "position": position, "percentage": percentage}))
    audit.record("case.gradual_exit_month", "case", case.id, actor=actor, remote_addr=remote_addr,
                 before={"exit_month": before}, after={"exit_month": position, "month": month, "percentage": percentage})
    db.session.commit()
    return "advanced"


def advance_all(unit: Unit, actor: User, *, month: str, today: dt.date, remote_addr: str = "") -> dict[str, int]:
    """Every family of the unit in gradual exit, brought to ``month``; counts per result."""
    if actor.role != "caseworker" or actor.unit_id != unit.id:
        raise _forbidden("只有本街道（乡镇）的经办人可以办理渐退", "only the unit's caseworker may move gradual exits on")
    counts = {"advanced": 0, "finished": 0, "unchanged": 0}
    for case in db.session.scalars(select(Case).where(Case.office_unit_id == unit.id, Case.status == "gradual_exit")
                                   .order_by(Case.number)).all():
        counts[advance_gradual_exit(case, actor, month=month, today=today, remote_addr=remote_addr)] += 1
    return counts


# --- notices -------------------------------------------------------------------------------------

def notice_event(case: Case, event_id: int) -> CaseEvent | None:
    """The decision a printed notice is about, if it is one that needs a notice."""
    ev = db.session.get(CaseEvent, event_id)
    if ev is None or ev.case_id != case.id or ev.action not in NOTICE_ACTIONS:
        return None
    if ev.action == "complete_rereview" and (ev.data or {}).get("outcome") == "continue":
        return None
    return ev


def decisions(case: Case) -> list[CaseEvent]:
    return [e for e in case.events if e.action in NOTICE_ACTIONS + ("gradual_exit_month", "start_rereview")]


# The steps after which a visit reconciled as evidence (after the review opinion) has been dealt with: the
# caseworker's review opinion (after a return for correction) or one of the director's decisions on the money.
_EVIDENCE_SETTLED = frozenset({"review_opinion", "record_change", "complete_rereview", "start_gradual_exit", "stop"})


def pending_visit_evidence(case: Case) -> dict[str, Any] | None:
    """The figures proposed by the latest visit reconciled after the review opinion and not yet decided on:
    ``{"event", "assessed_income_6m" (Decimal or None), "left" (member ids), "new_members" (ID numbers),
    "joining" (the new members as the visit found them: id_number, name, relation, co_residing)}``.
    The director's change or re-review conclusion starts from them, so that applying them is a decision."""
    for e in reversed(case.events):
        if e.action in _EVIDENCE_SETTLED:
            return None
        data = e.data or {}
        if e.action == "reconcile_visit" and data.get("evidence_only"):
            proposed = data.get("proposed") or {}
            income = proposed.get("assessed_income_6m")
            by_number = {m.id_number: m.id for m in case.household.members}
            new_members = list(proposed.get("new_members") or [])
            found = {k: (c or {}).get("after") for k, c in (proposed.get("changes") or {}).items()}
            joining = [{"id_number": n, "name": found.get(f"member/{n}/name") or "",
                        "relation": found.get(f"member/{n}/relation"),
                        "co_residing": found.get(f"member/{n}/co_residing") is not False} for n in new_members]
            return {"event": e, "assessed_income_6m": Decimal(income) if income is not None else None,
                    "left": [by_number[n] for n in proposed.get("left") or [] if n in by_number],
                    "new_members": new_members, "joining": joining}
    return None
