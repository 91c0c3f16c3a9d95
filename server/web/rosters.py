"""Console pages: the monthly payment roster (unit and bureau) and dynamic management (re-reviews,
change reports, raise / lower / stop, gradual exit), with their printed notices.

Views parse the form, call one operation, and render; a refusal re-renders the page with the error and
its status.  Other units' rosters and cases answer 404; a role that may not act answers 403.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from server import services, today
from server.domain import roster as core
from server.domain import workflow
from server.extensions import db
from server.models import Case, Unit, User
from server.models.households import HOUSEHOLD_CLASSES, RELATIONS
from server.models.money import (
    CHANGE_REPORT_KINDS,
    CHANGE_REPORT_STATUSES,
    LINE_KINDS,
    ROSTER_STATUSES,
    ROSTER_STEPS,
    ChangeReport,
    Roster,
    RosterLine,
)
from server.operations import OperationError, case_lists
from server.operations import dynamic as dyn
from server.operations import rosters as ops
from server.operations.cases import actor_of, benefit_working, state_of
from server.web import bp
from server.web.auth import current_user, login_required
from server.web.forms import FormError, Reader, rereview_report

OFFICE_ROLES = ("caseworker", "leader", "director")


def _addr() -> str:
    return request.remote_addr or ""


# --- rosters ---------------------------------------------------------------------------------------

def _roster_or_404(roster_id: int) -> Roster:
    roster = db.session.get(Roster, roster_id)
    if roster is None or not ops.can_view(current_user(), roster):
        abort(404)
    return roster


def _unit_page(user: User, error=None, status: int = 200, form=None):
    unit = user.unit
    profile = services().profiles[unit.profile_id]
    page = case_lists.page_of(list(db.session.scalars(ops.visible_rosters(user).order_by(Roster.month.desc()))),
                              request.args)
    rows = [(r, ops.filing_of(r, r.due_on, today())) for r in page.items]
    month = ops.default_month(unit, today()) if unit.level in ops.OFFICE_LEVELS else core.month_of(today())
    due, finance, paid = ops.due_dates(unit, month) if unit.level in ops.OFFICE_LEVELS else (None, None, None)
    waiting = db.session.scalars(select(Case).where(Case.office_unit_id == unit.id, Case.status == "certified")
                                 .order_by(Case.number)).all()
    return render_template("rosters/list.html", unit=unit, profile=profile, rows=rows, month=month, due=due,
                           finance=finance, paid=paid, waiting=waiting, error=error, form=form or MultiDict(),
                           statuses=ROSTER_STATUSES, filing_names=ops.FILING_NAMES, page=page,
                           page_sizes=case_lists.PAGE_SIZES), status


@bp.get("/rosters")
@login_required
def roster_index():
    user = current_user()
    if user.role == "bureau_supervisor":
        return redirect(url_for("web.roster_bureau"))
    if user.role not in OFFICE_ROLES:
        abort(403)
    return _unit_page(user)


@bp.post("/rosters/generate")
@login_required
def roster_generate():
    user = current_user()
    if user.role not in OFFICE_ROLES:
        abort(403)
    try:
        roster = ops.generate_roster(user.unit, request.form.get("month", ""), actor=user, today=today(),
                                     remote_addr=_addr())
    except OperationError as exc:
        db.session.rollback()
        existing = None
        month = (request.form.get("month") or "").strip()
        if exc.code in ("roster_locked", "roster_submitted"):
            existing = ops.find(user.unit, month)
        if existing is not None:
            return _roster_page(existing, exc, exc.status)
        return _unit_page(user, exc, exc.status, request.form)
    return redirect(url_for("web.roster_detail", roster_id=roster.id))


def _roster_page(roster: Roster, error=None, status: int = 200, form=None):
    user = current_user()
    editable = roster.status in ops.EDITABLE
    filing = ops.filing_of(roster, roster.due_on, today())
    previous = ops.previous_approved(roster.unit, roster.month)
    approved_months = db.session.scalars(select(Roster.month).where(
        Roster.unit_id == roster.unit_id, Roster.status == "approved", Roster.month < roster.month)
        .order_by(Roster.month.desc())).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        {i for i in (roster.generated_by_id, roster.submitted_by_id, roster.reviewed_by_id) if i})))}
    return render_template(
        "rosters/detail.html", roster=roster, error=error, form=form or MultiDict(), filing=filing,
        previous=previous, approved_months=approved_months, users=users, statuses=ROSTER_STATUSES,
        filing_names=ops.FILING_NAMES, changes=core.CHANGES, reasons=core.REASONS, line_kinds=LINE_KINDS,
        can_generate=editable and user.role in ops.GENERATORS and user.unit_id == roster.unit_id,
        can_adjust=editable and user.role == "caseworker" and user.unit_id == roster.unit_id,
        can_submit=editable and user.role == ops.roster_signer(roster.unit) and user.unit_id == roster.unit_id,
        signer_names=ops.SIGNER_NAMES[ops.roster_signer(roster.unit)], steps=ops.steps_of(roster),
        open_steps=ops.steps_open(roster), step_names=ROSTER_STEPS, today=today(),
        can_record_steps=roster.status == "approved" and user.role == "bureau_supervisor",
        can_review=roster.status == "submitted" and user.role == "bureau_supervisor"), status


@bp.get("/rosters/<int:roster_id>")
@login_required
def roster_detail(roster_id: int):
    return _roster_page(_roster_or_404(roster_id))


@bp.post("/rosters/<int:roster_id>/submit")
@login_required
def roster_submit(roster_id: int):
    roster = _roster_or_404(roster_id)
    user = current_user()
    if user.role not in ("leader", "director"):
        abort(403)
    reader = Reader(request.form, request.files, user, today())
    try:
        if roster.status not in ops.EDITABLE:
            ops.check_editable(roster)
        sha = reader.signature("signature")
        opinion = reader.text("opinion")
        reader.done()
        ops.submit_roster(roster, user, signature=sha, opinion=opinion, today=today(),
                          remote_addr=_addr())
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _roster_page(roster, exc, exc.status, request.form)
    return redirect(url_for("web.roster_detail", roster_id=roster.id))


@bp.post("/rosters/<int:roster_id>/steps")
@login_required
def roster_step(roster_id: int):
    """The bureau records when the roster went to the finance bureau, and when the money was paid."""
    roster = _roster_or_404(roster_id)
    user = current_user()
    if user.role != "bureau_supervisor":
        abort(403)
    reader = Reader(request.form, request.files, user, today())
    on_ = reader.date("on", "办理日期", "Date")
    note = reader.text("note", line=True)
    try:
        reader.done()
        ops.record_step(roster, user, step=request.form.get("step", ""), on=on_, today=today(),
                        note=note, remote_addr=_addr())
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _roster_page(roster, exc, exc.status, request.form)
    return redirect(url_for("web.roster_detail", roster_id=roster.id) + "#money-steps")


@bp.post("/rosters/<int:roster_id>/review")
@login_required
def roster_review(roster_id: int):
    """The bureau's decision: ``decision`` is "approve" or "return" (with comments)."""
    roster = _roster_or_404(roster_id)
    user = current_user()
    if user.role != "bureau_supervisor":
        abort(403)
    decision = request.form.get("decision")
    comments = (request.form.get("comments") or "").strip()
    try:
        if decision == "approve":
            ops.approve_roster(roster, user, comments=comments, remote_addr=_addr())
        elif decision == "return":
            ops.return_roster(roster, user, comments=comments, remote_addr=_addr())
        else:
            raise OperationError("decision_invalid", "请选择审批通过或退回", "choose approve or return")
    except OperationError as exc:
        db.session.rollback()
        return _roster_page(roster, exc, exc.status, request.form)
    return redirect(url_for("web.roster_detail", roster_id=roster.id))


@bp.post("/rosters/<int:roster_id>/adjustments")
@login_required
def roster_adjust(roster_id: int):
    roster = _roster_or_404(roster_id)
    user = current_user()
    if user.role != "caseworker":
        abort(403)
    form = request.form
    try:
        amount = ops.parse_signed_amount(form.get("amount", ""))
        ops.add_adjustment(roster, user, case_number=form.get("case_number", ""), amount=amount,
                           reason=form.get("reason", ""), corrects_month=form.get("corrects_month", ""),
                           remote_addr=_addr())
    except OperationError as exc:
        db.session.rollback()
        return _roster_page(roster, exc, exc.status, form)
    return redirect(url_for("web.roster_detail", roster_id=roster.id) + "#lines")


@bp.post("/rosters/<int:roster_id>/adjustments/<int:line_id>/delete")
@login_required
def roster_adjust_delete(roster_id: int, line_id: int):
    roster = _roster_or_404(roster_id)
    user = current_user()
    if user.role != "caseworker":
        abort(403)
    line = db.session.get(RosterLine, line_id)
    if line is None or line.roster_id != roster.id:
        abort(404)
    try:
        ops.remove_adjustment(roster, line, user, remote_addr=_addr())
    except OperationError as exc:
        db.session.rollback()
        return _roster_page(roster, exc, exc.status)
    return redirect(url_for("web.roster_detail", roster_id=roster.id) + "#lines")


@bp.get("/rosters/<int:roster_id>/export.<fmt>")
@login_required
def roster_export(roster_id: int, fmt: str):
    roster = _roster_or_404(roster_id)
    if fmt == "csv":
        body, mime = ops.export_csv(roster), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body, mime = ops.export_xlsx(roster), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(404)
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="{ops.export_name(roster, fmt)}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@bp.get("/rosters/<int:roster_id>/print")
@login_required
def roster_print(roster_id: int):
    roster = _roster_or_404(roster_id)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        {i for i in (roster.submitted_by_id, roster.reviewed_by_id) if i})))}
    return render_template("print/roster.html", roster=roster, users=users, changes=core.CHANGES,
                           reasons=core.REASONS, statuses=ROSTER_STATUSES)


@bp.get("/rosters/bureau")
@login_required
def roster_bureau():
    user = current_user()
    if user.role != "bureau_supervisor":
        abort(403)
    district = user.unit
    month = request.args.get("month") or ""
    if not month:
        offices = ops.offices_of(district)
        month = ops.default_month(offices[0], today()) if offices else core.month_of(today())
    try:
        rows = ops.late_units(district, month, today())
    except OperationError as exc:
        return render_template("rosters/bureau.html", district=district, month=month, rows=[], error=exc,
                               statuses=ROSTER_STATUSES, filing_names=ops.FILING_NAMES, months=[]), exc.status
    months = [core.add_months(month, n) for n in (-2, -1, 0, 1)]
    steps = {r["roster"].id: ops.steps_of(r["roster"]) for r in rows if r.get("roster") is not None}
    return render_template("rosters/bureau.html", district=district, month=month, rows=rows, error=None,
                           statuses=ROSTER_STATUSES, filing_names=ops.FILING_NAMES, months=months, steps=steps,
                           step_names=ROSTER_STEPS)


# --- dynamic management ----------------------------------------------------------------------------

def _office_user() -> User:
    user = current_user()
    if user.role not in OFFICE_ROLES:
        abort(403)
    return user


def _dynamic_case_or_404(case_id: int) -> Case:
    user = _office_user()
    case = db.session.get(Case, case_id)
    if case is None or not workflow.can_read(actor_of(user), state_of(case)):
        abort(404)
    return case


def _until(choice: str, now: dt.date) -> dt.date:
    if choice == "month":
        return core.last_day(core.month_of(now))
    if choice == "next_month":
        return core.last_day(core.add_months(core.month_of(now), 1))
    return now


def _investigators(unit: Unit) -> list[User]:
    ids = [unit.id] + [c.id for c in unit.children]
    return db.session.scalars(select(User).where(User.role == "investigator", User.active.is_(True),
                                                 User.unit_id.in_(ids)).order_by(User.id)).all()


def _dynamic_page(user: User, error=None, status: int = 200, form=None):
    unit = user.unit
    choice = request.values.get("until") or "today"
    if choice not in ("today", "month", "next_month"):
        abort(400)
    page = case_lists.page_of(list(dyn.rereview_rows(unit, today(), _until(choice, today()))), request.values)
    rows = page.items
    exits = db.session.scalars(select(Case).where(Case.office_unit_id == unit.id, Case.status == "gradual_exit")
                               .order_by(Case.number)).all()
    reports = db.session.scalars(select(ChangeReport).join(Case).where(
        Case.office_unit_id == unit.id, ChangeReport.status == "open").order_by(ChangeReport.reported_on)).all()
    return render_template("dynamic/index.html", unit=unit, rows=rows, until=choice, page=page,
                           page_sizes=case_lists.PAGE_SIZES,
                           exits=[(c, dyn.exit_schedule(c)) for c in exits], reports=reports,
                           investigators=_investigators(unit), classes=HOUSEHOLD_CLASSES,
                           report_kinds=CHANGE_REPORT_KINDS, month=core.month_of(today()),
                           min_team=services().profiles[unit.profile_id].home_visit.min_team,
                           error=error, form=form or MultiDict()), status


@bp.get("/dynamic")
@login_required
def dynamic_index():
    return _dynamic_page(_office_user())


@bp.post("/dynamic/cases/<int:case_id>/start-rereview")
@login_required
def dynamic_start_rereview(case_id: int):
    case = _dynamic_case_or_404(case_id)
    user = current_user()
    reader = Reader(request.form, request.files, user, today())
    team = reader.ids("team")
    reason, note = reader.text("reason", 500, line=True), reader.text("note", 500, line=True)
    try:
        reader.done()
        dyn.start_rereview(case, user, team, today=today(), reason=reason, note=note, remote_addr=_addr())
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _dynamic_page(user, exc, exc.status, request.form)
    return redirect(url_for("web.dynamic_index") + f"#case-{case.id}")


@bp.post("/dynamic/advance")
@login_required
def dynamic_advance_all():
    user = _office_user()
    if user.role != "caseworker":
        abort(403)
    try:
        dyn.advance_all(user.unit, user, month=(request.form.get("month") or "").strip(), today=today(),
                        remote_addr=_addr())
    except OperationError as exc:
        db.session.rollback()
        return _dynamic_page(user, exc, exc.status, request.form)
    return redirect(url_for("web.dynamic_index") + "#gradual-exit")


def _case_page(case: Case, error=None, status: int = 200, form=None):
    user = current_user()
    working = None
    if case.status in dyn.PAYING:
        try:
            working = benefit_working(case, today())
        except OperationError as exc:
            working = exc
    reports = db.session.scalars(select(ChangeReport).where(ChangeReport.case_id == case.id)
                                 .order_by(ChangeReport.id.desc())).all()
    lines = db.session.scalars(select(RosterLine).join(Roster).where(RosterLine.case_id == case.id)
                               .order_by(Roster.month.desc()).limit(12)).all()
    is_director = user.role == "director" and user.unit_id == case.office_unit_id
    is_caseworker = user.role == "caseworker" and user.unit_id == case.office_unit_id
    return render_template(
        "dynamic/case.html", case=case, profile=services().profiles[case.profile_id], working=working, reports=reports, lines=lines,
        decisions=dyn.decisions(case), schedule=dyn.exit_schedule(case), error=error, form=form or MultiDict(),
        report_kinds=CHANGE_REPORT_KINDS, report_statuses=CHANGE_REPORT_STATUSES,
        stop_categories=dyn.STOP_CATEGORIES, relations=RELATIONS, classes=HOUSEHOLD_CLASSES,
        changes=core.CHANGES, notice_actions=dyn.NOTICE_ACTIONS, today=today(), month=core.month_of(today()),
        evidence=dyn.pending_visit_evidence(case),
        can_report=is_caseworker and case.status in dyn.PAYING,
        can_change=is_director and case.status == "in_payment",
        can_rereview_decide=is_director and case.status == "rereview",
        can_exit=is_director and case.status == "in_payment",
        can_stop=is_director and case.status in ("in_payment", "gradual_exit"),
        can_advance=is_caseworker and case.status == "gradual_exit",
        open_reports=[r for r in reports if r.status == "open"]), status


@bp.get("/dynamic/cases/<int:case_id>")
@login_required
def dynamic_case(case_id: int):
    return _case_page(_dynamic_case_or_404(case_id))


def _report_id(form) -> int | None:
    raw = (form.get("report_id") or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise OperationError("report_unknown", "没有这份待决定的变化报告", "no such open change report") from None


def _covered(reader: Reader, case: Case) -> list[int] | None:
    """The members ticked as covered, when the form lists them (``covered_listed``)."""
    if not reader.flag("covered_listed"):
        return None
    return reader.ids("covered")


def _case_post(case_id: int, roles: tuple[str, ...], run):
    """Common shape of the case decisions: scope, role, read, one operation, redirect or re-render."""
    case = _dynamic_case_or_404(case_id)
    user = current_user()
    if user.role not in roles:
        abort(403)
    reader = Reader(request.form, request.files, user, today())
    try:
        run(case, user, reader)
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _case_page(case, exc, exc.status, request.form)
    return redirect(url_for("web.dynamic_case", case_id=case.id) + "#decisions")


@bp.post("/dynamic/cases/<int:case_id>/report")
@login_required
def dynamic_report(case_id: int):
    def run(case, user, r: Reader):
        income = r.optional_money("reported_income_6m", "报告的6个月收入", "Reported 6-month income")
        reported_on = r.date("reported_on", "报告日期", "Report date", r.today)
        description = r.text("description", 4000)
        r.done()
        dyn.record_change_report(case, user, kind=r.form.get("kind", ""), description=description,
                                 reported_income_6m=income, reported_on=reported_on, today=today(),
                                 remote_addr=_addr())
    return _case_post(case_id, ("caseworker",), run)


def _basis(r: Reader, case: Case, changes: bool = True):
    """The decided income, the members covered and the new members a visit kept as evidence found that join
    the household (ID number -> covered; ticked "join" and "join_covered").  The page always sends the income,
    filled in: when the decision ``changes`` the amount, a cleared income is refused (never read as 0, nor as
    "as it was"); a request without the field keeps the income as it is."""
    if changes and "assessed_income_6m" in r.form:
        income = r.money("assessed_income_6m", "认定的6个月家庭收入", "Assessed 6-month income")
    else:
        income = r.optional_money("assessed_income_6m", "认定的6个月家庭收入", "Assessed 6-month income")
    covered_new = set(r.form.getlist("join_covered"))
    joining = {n: n in covered_new for n in r.form.getlist("join")}
    return income, _covered(r, case), joining


@bp.post("/dynamic/cases/<int:case_id>/change")
@login_required
def dynamic_change(case_id: int):
    def run(case, user, r: Reader):
        income, covered, joining = _basis(r, case)
        reasons = r.text("reasons")
        r.done()
        dyn.decide_change(case, user, reasons=reasons, assessed_income_6m=income, covered_ids=covered,
                          joining=joining, report_id=_report_id(r.form), today=today(), remote_addr=_addr())
    return _case_post(case_id, ("director",), run)


@bp.post("/dynamic/cases/<int:case_id>/rereview-decision")
@login_required
def dynamic_rereview_decision(case_id: int):
    def run(case, user, r: Reader):
        income, covered, joining = _basis(r, case, r.form.get("outcome") == "change")
        report = rereview_report(r)
        reasons = r.text("reasons")
        r.done()
        dyn.decide_rereview(case, user, outcome=r.form.get("outcome", ""), reasons=reasons,
                            assessed_income_6m=income, covered_ids=covered, joining=joining,
                            category=r.form.get("category", ""),
                            today=today(), remote_addr=_addr(), **report)
    return _case_post(case_id, ("director",), run)


@bp.post("/dynamic/cases/<int:case_id>/gradual-exit")
@login_required
def dynamic_gradual_exit(case_id: int):
    def run(case, user, r: Reader):
        reasons = r.text("reasons")
        r.done()
        dyn.start_gradual_exit(case, user, reasons=reasons, report_id=_report_id(r.form), today=today(),
                               remote_addr=_addr())
    return _case_post(case_id, ("director",), run)


@bp.post("/dynamic/cases/<int:case_id>/stop")
@login_required
def dynamic_stop(case_id: int):
    def run(case, user, r: Reader):
        reasons = r.text("reasons")
        r.done()
        dyn.stop_case(case, user, reasons=reasons, category=r.form.get("category", ""),
                      report_id=_report_id(r.form), today=today(), remote_addr=_addr())
    return _case_post(case_id, ("director",), run)


@bp.post("/dynamic/cases/<int:case_id>/advance")
@login_required
def dynamic_advance(case_id: int):
    def run(case, user, r: Reader):
        dyn.advance_gradual_exit(case, user, month=(r.form.get("month") or "").strip(), today=today(),
                                 remote_addr=_addr())
    return _case_post(case_id, ("caseworker",), run)


@bp.get("/dynamic/cases/<int:case_id>/notice/<int:event_id>")
@login_required
def dynamic_notice(case_id: int, event_id: int):
    case = _dynamic_case_or_404(case_id)
    ev = dyn.notice_event(case, event_id)
    if ev is None:
        abort(404)
    previous = next((e for e in reversed(case.events) if e.seq < ev.seq and (e.data or {}).get("amount")), None)
    profile = services().profiles[case.profile_id]
    outcome = (ev.data or {}).get("outcome")
    kind = "change" if ev.action == "record_change" or outcome == "change" else \
        "exit" if ev.action == "start_gradual_exit" or outcome == "gradual_exit" else "stop"
    return render_template("print/dynamic_notice.html", case=case, ev=ev, profile=profile, kind=kind,
                           previous_amount=(previous.data.get("amount") if previous else None),
                           stop_categories=dyn.STOP_CATEGORIES, schedule=list(profile.gradual_exit.percentages))
