"""The console's case screens: search, intake, the case page with its actions, printable documents."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from fractions import Fraction

from flask import abort, redirect, render_template, request, send_file, session, url_for
from flask_babel import get_locale
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from server import services, today
from server.domain import workflow
from server.domain.declaration import INCOME_SOURCES, MONTHS, PROPERTY_ITEMS, parse_declaration
from server.domain.eligibility import to_fen
from server.extensions import db
from server.models import Case, CaseEvent, Unit, User, Visit, VisitAssignment
from server.models.attachments import Attachment
from server.models.households import HOUSEHOLD_CLASSES, MEMBER_FLAGS, RELATIONS
from server.models.orgs import LEVEL_NAMES, OFFICE_LEVELS
from server.models.visits import VISIT_KINDS, VISIT_STATUSES
from server.operations import OperationError
from server.operations.cases import (
    actor_of,
    benefit_working,
    eligibility_of,
    perform,
    register_application,
    state_of,
)
from server.operations.visits import (
    CONSOLE_KINDS,
    assign_visit,
    assignable,
    paper_answers,
    paper_form,
    record_paper_visit,
    visit_findings,
)
from server.security import FILE_CSP
from server.web import bp
from server.web.auth import current_user, login_required
from server.web.forms import NOTE_LIMIT, READERS, FormError, Reader
from server.web.scope import is_visible, may_read_file

MEMBER_ROWS = 8
OFFICE_ROLES = ("caseworker", "leader", "director")


def _case_or_404(case_id: int) -> Case:
    """The case if the signed-in user may see it; otherwise 404 (other units' cases do not exist for them)."""
    case = db.session.get(Case, case_id)
    user = current_user()
    if case is None or not workflow.can_read(actor_of(user), state_of(case)) or not is_visible(user, case.id):
        abort(404)
    return case


SEARCH_SLOTS = 5   # recent searches kept in the session, each under a random key


@bp.post("/cases")
@login_required
def case_search():
    """The search form posts here: what was typed in the search box (often an ID number) is kept in the
    session under a random key and the browser is sent to ``/cases?s=<key>&<the other filters>``, so no
    name or ID number ever appears in a URL — not in access logs (ours, gunicorn's, the reverse
    proxy's), browser history or Referer.  Sort and page links carry the key, never the query."""
    q = (request.form.get("q") or "").strip()[:100]
    args = {k: v for k, v in request.form.items() if k not in ("csrf_token", "q", "s") and v}
    if q:
        key = secrets.token_urlsafe(9)
        saved = dict(list(session.get("case_searches", {}).items())[-(SEARCH_SLOTS - 1):])
        saved[key] = q
        session["case_searches"] = saved
        args["s"] = key
    return redirect(url_for("web.case_list", **args), 303)


def _case_filter():
    """The list's filter from the query string, the search text taken from the session when the URL
    names a search key (``?q=`` still works for old links and scripts).  Also: did the key expire?"""
    from server.operations import case_lists

    key = request.args.get("s") or ""
    args = request.args
    if key:
        args = MultiDict(request.args)
        args["q"] = session.get("case_searches", {}).get(key, "")
    f = case_lists.parse_filter(args)
    f.search_key = key if f.q else ""
    return f, bool(key) and not f.q


@bp.get("/cases")
@login_required
def case_list():
    """Every case the user may see, filtered, sorted and paged, with the filter's total."""
    from server.operations import case_lists

    user = current_user()
    f, expired = _case_filter()
    page = case_lists.list_page(user, f, today())
    error = FormError(f.errors) if f.errors else None
    profile = services().profiles.get(user.unit.profile_id)
    return render_template(
        "cases/list.html", page=page, f=f, error=error, stages=case_lists.stage_choices(user),
        communities=case_lists.community_choices(user), offices=case_lists.scope_units(user),
        sorts=case_lists.SORTS, page_sizes=case_lists.PAGE_SIZES,
        warn_days=profile.deadlines.warn_workdays if profile else 2, expired=expired), 400 if error else 200


@bp.get("/cases/export.<fmt>")
@login_required
def case_export(fmt: str):
    """Exactly the cases the list's filter matches, as CSV or XLSX (in the list's order, every page)."""
    from flask import Response

    from server.operations import audit, case_lists

    if fmt not in ("csv", "xlsx"):
        abort(404)
    user = current_user()
    if user.role not in OFFICE_ROLES + ("bureau_supervisor",):
        abort(403)
    f, _expired = _case_filter()
    if f.errors:
        abort(400)
    lang = "en" if str(get_locale() or "zh") == "en" else "zh"
    header, rows = case_lists.export_rows(user, f, today(), lang)
    audit.record("case.export", "case_list", fmt, actor=user,
                 after={"filter": f.args(page=1), "rows": len(rows)}, remote_addr=request.remote_addr or "")
    db.session.commit()
    name = f"cases-{today().isoformat()}.{fmt}"
    if fmt == "csv":
        body, mime = case_lists.to_csv(header, rows), "text/csv; charset=utf-8"
    else:
        body = case_lists.to_xlsx(header, rows, "cases")
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                  "Cache-Control": "private, no-store"})


# --- intake -----------------------------------------------------------------------------------

def _communities(user: User) -> list[Unit]:
    office = db.session.get(Unit, user.unit_id)
    return [u for u in office.children if u.level in ("community", "village")]


def _limit(column) -> int:
    """A text column's length in the database (the page's maxlength and the form's check use the same)."""
    return column.property.columns[0].type.length


def intake_limits() -> dict[str, int]:
    from server.models import Household, Member

    return {"address": _limit(Household.address), "phone": _limit(Household.phone),
            "staff_relative_note": _limit(Case.staff_relative_note), "name": _limit(Member.name),
            "id": _limit(Member.id_number), "hukou": _limit(Member.hukou_place), "property": PROPERTY_TEXT_LIMIT}


PROPERTY_TEXT_LIMIT = 500   # the declaration keeps at most this much per property item


def case_page_limits() -> dict[str, int]:
    """The case page's maxlength values: a column's own length where the text has a column, otherwise the
    limit the console's form reader enforces for texts kept in a step's record (server/web/forms.py)."""
    from server.models import Member
    from server.web.forms import LONG_TEXT_LIMIT, NOTE_LIMIT, TEXT_LIMIT

    return {"text": TEXT_LIMIT, "long": LONG_TEXT_LIMIT, "note": NOTE_LIMIT, "name": _limit(Member.name),
            "number": _limit(Case.certificate_number), "property": PROPERTY_TEXT_LIMIT, "amount": 16}


def intake_months(on: dt.date) -> list[tuple[int, dt.date]]:
    """The six calendar months before the application (oldest first), as (field number, first day)."""
    out = []
    for m in range(1, MONTHS + 1):
        back = MONTHS + 1 - m
        year, month = divmod(on.year * 12 + on.month - 1 - back, 12)
        out.append((m, dt.date(year, month + 1, 1)))
    return out


def _intake_form(user: User, form=None, error=None, status: int = 200):
    office = user.unit
    profile = services().profiles[office.profile_id]
    return render_template("cases/new.html", office=office, profile=profile, communities=_communities(user),
                           form=form or MultiDict(), error=error, rows=range(MEMBER_ROWS), relations=RELATIONS,
                           classes=HOUSEHOLD_CLASSES, flags=MEMBER_FLAGS, sources=INCOME_SOURCES,
                           items=PROPERTY_ITEMS, months=intake_months(today()), limits=intake_limits()), status


def _check_intake(form, user: User) -> list[tuple[str, str, str]]:
    """Every problem of an intake form at once (the operation checks again; this answers in one round)."""
    from server.domain.ids import InvalidIdNumber, parse_id_number

    reader = Reader(form)   # refuses control and text-direction characters, naming the field
    errors = reader.errors
    limits = intake_limits()

    def too_long(key: str, value: str, limit: int, zh: str, en: str) -> None:
        if len(value) > limit:
            errors.append((key, f"{zh}不能超过{limit}个字（现有{len(value)}个）",
                           f"{en} must not exceed {limit} characters (it has {len(value)})"))

    try:
        community = db.session.get(Unit, int(form.get("community") or 0))
    except ValueError:
        community = None
    if community is None or community not in _communities(user):
        errors.append(("community", "请选择申请人户籍所在的社区（村）", "choose the applicant's community or village"))
    for key in ("address", "phone", "staff_relative_note"):
        reader.check_text(key, form.get(key, ""), line=True)
    too_long("address", form.get("address", "").strip(), limits["address"], "居住地址", "The address")
    too_long("phone", form.get("phone", "").strip(), limits["phone"], "联系电话", "The phone number")
    too_long("staff_relative_note", form.get("staff_relative_note", "").strip(), limits["staff_relative_note"],
             "近亲属说明", "The note on the staff relative")
    if form.get("area", "urban") not in ("urban", "rural"):
        errors.append(("area", "城乡类别无效", "area must be urban or rural"))
    if form.get("household_class", "stable") not in HOUSEHOLD_CLASSES:
        errors.append(("household_class", "家庭类别无效", "unknown household class"))
    heads, numbers, rows = 0, {}, 0
    for i in range(MEMBER_ROWS):
        name, number = form.get(f"m{i}_name", "").strip(), form.get(f"m{i}_id", "").strip()
        if not name and not number:
            continue
        rows += 1
        label, label_en = f"第{i + 1}行成员", f"member row {i + 1}"
        if not name:
            errors.append((f"m{i}_name", f"{label}缺少姓名", f"{label_en} has no name"))
        reader.check_text(f"m{i}_name", form.get(f"m{i}_name", ""), line=True,
                          label=(f"{label}的姓名", f"The name in {label_en}"))
        reader.check_text(f"m{i}_hukou", form.get(f"m{i}_hukou", ""), line=True,
                          label=(f"{label}的户籍地", f"The place of registration in {label_en}"))
        too_long(f"m{i}_name", name, limits["name"], f"{label}的姓名", f"The name in {label_en}")
        too_long(f"m{i}_hukou", form.get(f"m{i}_hukou", "").strip(), limits["hukou"], f"{label}的户籍地",
                 f"The place of registration in {label_en}")
        try:
            info = parse_id_number(number, today())
        except InvalidIdNumber as exc:
            errors.append((f"m{i}_id", f"{label}（{name[:20]}）的身份证号码无效：{exc.message}",
                           f"{label_en} ({name[:20]}): the ID number is invalid: {exc.message_en}"))
        else:
            if info.number in numbers:
                errors.append((f"m{i}_id", f"{label}的身份证号码与第{numbers[info.number] + 1}行重复",
                               f"{label_en} repeats the ID number of row {numbers[info.number] + 1}"))
            numbers.setdefault(info.number, i)
        relation = form.get(f"m{i}_relation") or ("head" if i == 0 else "other")
        if relation not in RELATIONS:
            errors.append((f"m{i}_relation", f"{label}的与户主关系无效", f"{label_en}: unknown relation"))
        heads += relation == "head"
    if rows == 0:
        errors.append(("m0_name", "至少登记一名家庭成员（户主）", "register at least the head"))
    elif heads != 1:
        errors.append(("m0_relation", f"须且只能有一名户主（现有{heads}名）", f"exactly one member must be the head ({heads} now)"))
    for item, (zh, en) in PROPERTY_ITEMS.items():
        reader.check_text(f"property_{item}", form.get(f"property_{item}", ""), line=True)
        too_long(f"property_{item}", form.get(f"property_{item}", "").strip(), PROPERTY_TEXT_LIMIT, zh, en)
    _declaration, declaration_errors = parse_declaration(form)
    months = dict(intake_months(today()))
    for e in declaration_errors:
        number = e.field.rsplit("_", 1)[-1]
        named = [months.get(m) for m in e.blank_months or ((int(number),) if number.isdigit() else ())]
        named = [d for d in named if d]
        zh, en = (("（" + "、".join(f"{d.year}年{d.month}月" for d in named) + "）",
                   " (" + ", ".join(f"{d:%b %Y}" for d in named) + ")") if named else ("", ""))
        errors.append((e.field, e.message + zh, e.message_en + en))
    return errors


def _require_caseworker(user: User) -> None:
    if user.role != "caseworker" or user.unit.level not in OFFICE_LEVELS:
        abort(403)


@bp.get("/cases/new")
@login_required
def intake():
    user = current_user()
    _require_caseworker(user)
    return _intake_form(user)


@bp.post("/cases/new")
@login_required
def intake_submit():
    user = current_user()
    _require_caseworker(user)
    form = request.form
    members = []
    for i in range(MEMBER_ROWS):
        name, number = form.get(f"m{i}_name", "").strip(), form.get(f"m{i}_id", "").strip()
        if not name and not number:
            continue
        member = {"name": name, "id_number": number, "relation": form.get(f"m{i}_relation") or "other",
                  "hukou_place": form.get(f"m{i}_hukou", "").strip(), "hukou_code": form.get(f"m{i}_hukou_code", "").strip(),
                  "co_residing": form.get(f"m{i}_co_residing") == "1", "covered": form.get(f"m{i}_covered") == "1"}
        member.update({flag: form.get(f"m{i}_{flag}") == "1" for flag in MEMBER_FLAGS})
        members.append(member)
    problems = _check_intake(form, user)
    if problems:
        return _intake_form(user, form, FormError(problems), 422)
    declaration, _errors = parse_declaration(form)
    community = db.session.get(Unit, int(form["community"]))
    try:
        case = register_application(
            community=community, members=members, actor=user, today=today(), address=form.get("address", "").strip(),
            area=form.get("area", "urban"), household_class=form.get("household_class", "stable"),
            phone=form.get("phone", "").strip(), materials=form.getlist("materials"), declaration=declaration,
            submitted_by_committee=form.get("committee") == "1", staff_relative=form.get("staff_relative") == "1",
            staff_relative_note=form.get("staff_relative_note", "").strip())
    except OperationError as exc:
        db.session.rollback()
        return _intake_form(user, form, exc, exc.status)
    return redirect(url_for("web.case_detail", case_id=case.id))


# --- the case page ----------------------------------------------------------------------------

def _board_choices(case: Case, profile):
    """The notice boards the profile says a case is publicised on (see server.operations.boards)."""
    from server.operations.boards import board_choices

    return board_choices(case, profile)


def _detail(case: Case, error=None, status: int = 200, form=None):
    user = current_user()
    svc = services()
    profile = svc.profiles[case.profile_id]
    state = state_of(case)
    actions = workflow.allowed_actions(state, actor_of(user), profile)
    working = None
    if case.status in ("publicity_closed", "approved", "certified", "in_payment", "rereview", "gradual_exit") or \
            "approve" in actions:
        try:
            working = benefit_working(case, today())
        except OperationError as exc:
            working = exc
    investigators = db.session.scalars(select(User).where(User.role == "investigator", User.active.is_(True),
                                                          User.unit_id.in_(state.lineage))).all()
    investigators = [u for u in investigators if workflow.in_scope(actor_of(u), state)]
    assignments = db.session.scalars(select(VisitAssignment).where(VisitAssignment.case_id == case.id)
                                     .order_by(VisitAssignment.id)).all()
    visits = db.session.scalars(select(Visit).where(Visit.case_id == case.id).order_by(Visit.created_at)).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({e.actor_id for e in case.events if e.actor_id} | {i for v in visits for i in v.investigator_ids}
                    | {u.id for u in investigators})))}
    from server.operations.cases import member_flags, support_duty_members

    flags = member_flags(case.household.members)
    missing = workflow.missing_materials(profile, [*case.materials, *profile.intake.staff_fill_forms], flags)
    needs = workflow.situational_needs(profile, flags)
    duty_ids = {m.id for m in support_duty_members(case.household.members)}
    eligibility = None
    if {"review_opinion", "sign_review", "approve", "refuse", "return_for_correction"} & set(actions):
        try:
            eligibility = eligibility_of(case, case.assessed_income_6m, case.assessed_property or [], today())
        except OperationError:
            eligibility = None
    visit_view = _visit_view(case, visits)
    visit_view["attested"] = _attestations_of(visits)
    return render_template(
        "cases/detail.html", **visit_view, case=case, profile=profile, actions=actions, state=state,
        limits=case_page_limits(),
        deadlines=workflow.pending_deadlines(state, profile, svc.calendar), error=error, form=form or MultiDict(),
        working=working, investigators=investigators, assignments=assignments, visits=visits, users=users,
        missing=missing, needs=needs, duty_ids=duty_ids, boards=_board_choices(case, profile), panel_categories=workflow.PANEL_CATEGORIES,
        step_names=workflow.STEP_NAMES, sources=INCOME_SOURCES, items=PROPERTY_ITEMS,
        can_assign=user.role == "caseworker" and assignable("home_visit", case.status),
        can_assign_appraisal=user.role == "caseworker" and assignable("appraisal", case.status),
        visit_kinds=VISIT_KINDS,
        can_paper_visit=user.role == "caseworker" and "record_home_visit" in actions,
        office_staff=user.role in OFFICE_ROLES, today=today(),   # investigators: masked IDs, no phone
        level_names=LEVEL_NAMES, relations=RELATIONS, classes=HOUSEHOLD_CLASSES, **_story(case),
        default_valid_until=workflow.certificate_valid_until(case.decided_on or today(),
                                                             profile.certificate.validity_months),
        eligibility=eligibility, to_fen=to_fen, objection_outcomes=workflow.OBJECTION_OUTCOMES,
        return_targets=workflow.RETURN_TARGETS), status


def _story(case: Case) -> dict:
    """What the case page shows of the case's story: superseded steps, income against the standard."""
    from server.operations.case_story import income_standing, superseded_by

    return {"superseded": superseded_by(case.events), "standing": income_standing(case, today()),
            "member_flags": MEMBER_FLAGS}


@bp.get("/cases/<int:case_id>")
@login_required
def case_detail(case_id: int):
    return _detail(_case_or_404(case_id))


@bp.post("/cases/<int:case_id>/act/<action>")
@login_required
def case_action(case_id: int, action: str):
    case = _case_or_404(case_id)
    reader_fn = READERS.get(action)
    if reader_fn is None:
        abort(404)
    user = current_user()
    reader = Reader(request.form, request.files, user, today())
    try:
        payload = reader_fn(reader, case)
        reader.done()
        perform(case, action, user, payload, today=today(), remote_addr=request.remote_addr or "")
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _detail(case, exc, exc.status, request.form)
    return redirect(url_for("web.case_detail", case_id=case.id) + f"#{action}")


@bp.post("/cases/<int:case_id>/assign")
@login_required
def case_assign(case_id: int):
    case = _case_or_404(case_id)
    reader = Reader(request.form, request.files, current_user(), today())
    team = reader.ids("team")
    kind = request.form.get("kind", "home_visit")
    if kind not in CONSOLE_KINDS:
        reader.fail("kind", "请选择派发的调查类别", "choose what to assign")
    note = reader.text("note", NOTE_LIMIT, line=True)
    try:
        reader.done()
        assign_visit(case, current_user(), team, kind=kind, today=today(), note=note)
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _detail(case, exc, exc.status, request.form)
    return redirect(url_for("web.case_detail", case_id=case.id) + "#visits")


def _paper_texts() -> list[tuple[str, bool]]:
    """The paper visit form's typed texts, each with whether it is a field of one line (cases/_paper_visit.html:
    the property items are <input>s, the notes and the summary <textarea>s)."""
    sections = {s["id"]: s for s in paper_form().get("sections", [])}
    return [*((f"property_{f['id']}", True) for f in sections.get("property", {}).get("fields", [])
              if f["type"] == "text"), ("living_notes", False), ("summary", False)]


@bp.post("/cases/<int:case_id>/paper-visit")
@login_required
def case_paper_visit(case_id: int):
    case = _case_or_404(case_id)
    user = current_user()
    if user.role != "caseworker":
        abort(403)
    reader = Reader(request.form, request.files, user, today())
    team, signed = reader.ids("team"), reader.ids("signed")
    visit_on = reader.date("visit_on", "入户调查日期", "Visit date")
    answers, problems = paper_answers(request.form)
    for path, zh, en in problems:
        reader.fail(path, zh, en)
    for key, line in _paper_texts():
        reader.check_text(key, request.form.get(key) or "", line=line)
    scan = reader.upload("scan", documents=True, required=True)
    try:
        reader.done()
        record_paper_visit(case, user, team_ids=team, signed_ids=signed, applicant_signed=reader.flag("applicant_signed"),
                           visit_on=visit_on, answers=answers, scan_file=scan, today=today())
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _detail(case, exc, exc.status, request.form)
    return redirect(url_for("web.case_detail", case_id=case.id) + "#visits")


@bp.post("/cases/<int:case_id>/visits/<visit_id>/reconcile")
@login_required
def case_reconcile(case_id: int, visit_id: str):
    """The caseworker's pick for each row of a synced visit's reconciliation ("visit" or "current")."""
    from server.operations.sync import reconcile

    case = _case_or_404(case_id)
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.case_id != case.id or visit.merge is None:
        abort(404)
    picks = {k[5:]: v for k, v in request.form.items() if k.startswith("pick:")}
    try:
        reconcile(case, visit, picks, current_user(), today=today())
    except OperationError as exc:
        db.session.rollback()
        return _detail(case, exc, exc.status, request.form)
    return redirect(url_for("web.case_detail", case_id=case.id) + "#visits")


# --- the case's whole story ------------------------------------------------------------------------

@bp.get("/cases/<int:case_id>/audit")
@login_required
def case_audit(case_id: int):
    """The case's audit trail (who, when, what, before and after) for its office's staff and the bureau."""
    from server.operations.case_story import audit_trail, superseded_by

    case = _case_or_404(case_id)
    if current_user().role not in OFFICE_ROLES + ("bureau_supervisor",):
        abort(403)
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({e.actor_id for e in case.events if e.actor_id})))}
    return render_template("cases/audit.html", case=case, trail=audit_trail(case), users=users,
                           superseded=superseded_by(case.events))


# --- visits as people read them ------------------------------------------------------------------

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def _in_china(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(CHINA)
    return None


@bp.app_template_filter("cn_date")
def cn_date(value) -> str:
    """A stored moment (UTC) as the date it was in China."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    moment = _in_china(value)
    return moment.date().isoformat() if moment else "—"


@bp.app_template_filter("cn_time")
def cn_time(value) -> str:
    """A moment as China time, to the minute."""
    moment = _in_china(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


@bp.app_template_filter("position")
def position(value) -> str:
    """A POSITION of the envelope ({"lat", "lon", "accuracy"} or {"refused": true}) for reading."""
    from flask_babel import gettext

    if not isinstance(value, dict):
        return gettext("未记录")
    if value.get("refused") is True:
        return gettext("未定位（调查对象或调查人员拒绝）")
    try:
        lat, lon = float(value["lat"]), float(value["lon"])
    except (KeyError, TypeError, ValueError):
        return gettext("未记录")
    ns = gettext("北纬%(v)s°", v=f"{abs(lat):.5f}") if lat >= 0 else gettext("南纬%(v)s°", v=f"{abs(lat):.5f}")
    ew = gettext("东经%(v)s°", v=f"{abs(lon):.5f}") if lon >= 0 else gettext("西经%(v)s°", v=f"{abs(lon):.5f}")
    text = f"{ns}, {ew}"
    if value.get("accuracy") is not None:
        text += gettext("（误差约%(m)s米）", m=value["accuracy"])
    return text


def _photo_facts(attachments: dict):
    """When and where a photo was taken: the phone's signed facts first, the file's own EXIF otherwise."""
    def facts(photo: dict) -> dict[str, str | None]:
        row = attachments.get(photo.get("sha256"))
        time = cn_time(photo["captured_at"]) if photo.get("captured_at") else None
        if time is None and row is not None and row.captured_at:
            time = row.captured_at.replace("T", " ")[:16]
        place = position(photo["position"]) if photo.get("position") else None
        if place is None and row is not None and row.gps:
            place = position({"lat": row.gps.get("latitude"), "lon": row.gps.get("longitude")})
        return {"time": time, "place": place}
    return facts


def _attestations_of(visits) -> dict[str, dict[int, dict]]:
    """Who confirmed each phone visit on their own phone, when and on which device (one query): the case page and
    the printed survey say so beside each investigator, and name those who never did."""
    from server.models import Attestation, Device

    ids = [v.id for v in visits if v.source == "device"]
    out: dict[str, dict[int, dict]] = {}
    if ids:
        rows = db.session.execute(select(Attestation.visit_id, Attestation.user_id, Attestation.created_at, Device.name)
                                  .join(Device, Device.id == Attestation.device_id)
                                  .where(Attestation.visit_id.in_(ids)))
        for visit_id, user_id, at, device in rows:
            out.setdefault(visit_id, {})[user_id] = {"at": at, "device": device}
    return out


def _visit_view(case: Case, visits) -> dict:
    """What the case page and the print need to show visits: each visit's findings shape, the case's own visit
    (the newest one standing), its reconciliation rows, the photo facts, statuses in Chinese."""
    from server.operations.sync import reconciliation_of

    findings = {v.id: visit_findings(v) for v in visits}
    standing = [v for v in visits if v.status in ("accepted", "recorded") and v.kind in ("home_visit", "reinvestigation")]
    case_visit = standing[-1] if standing else None
    reconciliations = {v.id: reconciliation_of(case, v) for v in visits
                       if v.merge is not None and v.reconciled_at is None and v.status == "accepted"}
    shas = {p["sha256"] for f in findings.values() for p in f.get("photos", [])}
    rows = {a.sha256: a for a in db.session.scalars(select(Attachment).where(Attachment.sha256.in_(shas)))} if shas else {}
    declared = {}
    for source, months in ((case.declaration or {}).get("income") or {}).items():
        try:
            # a blank month (none since partly filled incomes are refused) is unknown, so is the total: "—"
            declared[source] = "—" if any(not m for m in months) else f"{sum(Decimal(m) for m in months):.2f}"
        except (ArithmeticError, TypeError, ValueError):
            continue
    form = paper_form()
    sections = {s["id"]: s for s in form.get("sections", [])}

    def pairs(section_id: str) -> dict:
        sec = sections.get(section_id, {"title": {"zh": "", "en": ""}, "fields": []})
        return {"title_pair": (sec["title"]["zh"], sec["title"]["en"]),
                "fields": [{"id": f["id"], "pair": (f["label"]["zh"], f["label"]["en"])} for f in sec["fields"]
                           if not (section_id == "living")]}

    living = {f["id"]: f for f in sections.get("living", {}).get("fields", [])}
    verdict = {f["id"]: f for f in sections.get("findings", {}).get("fields", [])}
    covered = len(case.household.covered)
    per_capita = Fraction(Decimal(case.assessed_income_6m or 0)) / MONTHS / covered if covered else None
    return {"findings": findings, "case_visit": case_visit, "per_capita": per_capita,
            "case_findings": findings[case_visit.id] if case_visit else None,
            "reconciliations": reconciliations, "photo_facts": _photo_facts(rows), "visit_statuses": VISIT_STATUSES,
            "household_numbers": {m.id_number for m in case.household.members}, "declared_totals": declared,
            "paper_sections": {
                "income": pairs("income"), "property": pairs("property"), "living": pairs("living"),
                "conditions": [{"value": o["value"], "pair": (o["label"]["zh"], o["label"]["en"])}
                               for o in living.get("conditions", {}).get("options", [])],
                "recommendations": [{"value": o["value"], "pair": (o["label"]["zh"], o["label"]["en"])}
                                    for o in verdict.get("recommendation", {}).get("options", [])]}}


# --- printing ---------------------------------------------------------------------------------

PRINTS = ("approval_form", "missing_notice", "refusal_notice", "visit_form", "appraisal_record", "certificate",
          "meeting_record")


def _last_event(case: Case, action: str) -> CaseEvent | None:
    return next((e for e in reversed(case.events) if e.action == action), None)


@bp.get("/cases/<int:case_id>/print/<doc>")
@login_required
def case_print(case_id: int, doc: str):
    case = _case_or_404(case_id)
    if doc not in PRINTS:
        abort(404)
    if current_user().role == "investigator":
        abort(403)   # prints carry full ID numbers; investigators work from their phones
    profile = services().profiles[case.profile_id]
    events = {a: _last_event(case, a) for a in workflow.RULES}
    needed = {"missing_notice": "notify_missing", "refusal_notice": "refuse", "visit_form": "record_home_visit",
              "appraisal_record": "record_appraisal", "certificate": "issue_certificate",
              "meeting_record": "record_meeting"}.get(doc)
    if needed and events.get(needed) is None:
        abort(404)
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({e.actor_id for e in case.events if e.actor_id} | set(
            (events["record_home_visit"].data.get("team") if events.get("record_home_visit") else []) or []))))}
    working = None
    if doc in ("approval_form", "certificate") and case.amount is not None:
        working = benefit_working(case, case.decided_on or today())
    qr_svg = None
    if doc == "certificate" and case.certificate_token:
        from server.public import certificate_url
        from server.qr import svg

        qr_svg = svg(certificate_url(case.certificate_token))
    extra = {}
    if doc == "visit_form":
        visits = db.session.scalars(select(Visit).where(Visit.case_id == case.id).order_by(Visit.created_at)).all()
        extra = _visit_view(case, visits)
        extra["attested"] = _attestations_of(visits)
        named = (events["record_home_visit"].data or {}).get("visit_id")
        extra["case_visit"] = extra["case_visit"] or next((v for v in visits if v.id == named), None)
        if extra["case_visit"] is not None:
            extra["case_findings"] = extra["findings"][extra["case_visit"].id]
            users.update({u.id: u for u in db.session.scalars(select(User).where(
                User.id.in_(extra["case_findings"]["investigators"])))})
    # Every round of a step that can happen more than once (a disputed appraisal sends the case back).
    rounds = [e for e in case.events if e.action == needed] if needed else []
    # The scanned files the rounds name (a picture prints; a PDF is named by its size and hash).
    named = {(e.data or {}).get("scan_file") for e in rounds} - {None}
    scans = {a.sha256: a for a in db.session.scalars(select(Attachment).where(Attachment.sha256.in_(named)))} \
        if named else {}
    from server.operations.case_story import superseded_by

    return render_template(f"print/{doc}.html", case=case, profile=profile, events=events, users=users, **extra,
                           rounds=rounds, scans=scans, superseded=superseded_by(case.events),
                           working=working, qr_svg=qr_svg, panel_categories=workflow.PANEL_CATEGORIES,
                           return_targets=workflow.RETURN_TARGETS,
                           relations=RELATIONS, sources=INCOME_SOURCES, items=PROPERTY_ITEMS, today=today())


# --- attachments ------------------------------------------------------------------------------

@bp.get("/files/<sha>/<variant>")
@login_required
def attachment(sha: str, variant: str):
    """An uploaded file, for whoever may read a case or record that uses it (see :mod:`server.web.scope`)."""
    from server.operations.attachments import store

    if variant not in ("original", "display", "thumb") or len(sha) != 64:
        abort(404)
    att = db.session.get(Attachment, sha.lower())
    if att is None:
        abort(404)
    if not may_read_file(current_user(), att.sha256):
        abort(404)
    st = store()
    path = {"original": st.original_path, "display": st.display_path, "thumb": st.thumb_path}[variant](att.sha256)
    if path is None or not path.exists():
        abort(404)
    mime = att.mime if variant == "original" else ("image/png" if path.suffix == ".png" else "image/jpeg")
    # Originals are kept byte for byte (a PDF, or a photo as the phone made it): download, never render inline.
    response = send_file(path, mimetype=mime, max_age=3600, as_attachment=variant == "original",
                         download_name=f"{att.sha256[:12]}{_SUFFIX.get(att.mime, '')}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}

