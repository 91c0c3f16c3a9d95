"""The console's case screens: search, intake, the case page with its actions, printable documents."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from fractions import Fraction

from flask import abort, redirect, render_template, request, send_file, session, url_for
from sqlalchemy import or_, select
from werkzeug.datastructures import MultiDict

from server import services, today
from server.domain import workflow
from server.domain.declaration import INCOME_SOURCES, MONTHS, PROPERTY_ITEMS, parse_declaration
from server.domain.roster import add_months_to_date
from server.extensions import db
from server.models import Case, CaseEvent, Member, Unit, User, Visit, VisitAssignment
from server.models.households import HOUSEHOLD_CLASSES, MEMBER_FLAGS, RELATIONS
from server.models.orgs import LEVEL_NAMES, OFFICE_LEVELS
from server.models.visits import VISIT_KINDS, VISIT_STATUSES
from server.operations import OperationError
from server.operations.cases import (
    actor_of,
    benefit_working,
    perform,
    register_application,
    state_of,
    visible_cases,
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
from server.web import bp
from server.web.auth import current_user, login_required
from server.web.forms import READERS, FormError, Reader
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
    """The search form posts here: what was typed (often an ID number) is kept in the session under a
    random key and the browser is sent to ``/cases?s=<key>``, so no name or ID number ever appears in a
    URL — not in access logs (ours, gunicorn's, the reverse proxy's), browser history or Referer."""
    q = (request.form.get("q") or "").strip()[:100]
    status = request.form.get("status") or ""
    if status and status not in workflow.STATES:
        abort(400)
    if not q:
        return redirect(url_for("web.case_list", status=status or None), 303)
    key = secrets.token_urlsafe(9)
    saved = dict(list(session.get("case_searches", {}).items())[-(SEARCH_SLOTS - 1):])
    saved[key] = q
    session["case_searches"] = saved
    return redirect(url_for("web.case_list", s=key, status=status or None), 303)


@bp.get("/cases")
@login_required
def case_list():
    user = current_user()
    query = visible_cases(user)
    key = request.args.get("s") or ""
    # ?q= still works (old links, scripts); the console's form never puts the query in the URL.
    q = (session.get("case_searches", {}).get(key, "") if key else request.args.get("q") or "").strip()
    status = request.args.get("status") or ""
    if status and status not in workflow.STATES:
        abort(400)
    if status:
        query = query.where(Case.status == status)
    if q:
        like = f"%{q}%"
        members = select(Member.household_id).where(or_(Member.name.like(like), Member.id_number == q.upper()))
        query = query.where(or_(Case.household_id.in_(members), Case.number.like(like)))
    cases = db.session.scalars(query.order_by(Case.id.desc()).limit(200)).all()
    return render_template("cases/list.html", cases=cases, q=q, status=status, expired=bool(key) and not q)


# --- intake -----------------------------------------------------------------------------------

def _communities(user: User) -> list[Unit]:
    office = db.session.get(Unit, user.unit_id)
    return [u for u in office.children if u.level in ("community", "village")]


def _intake_form(user: User, form=None, error=None, status: int = 200):
    office = user.unit
    profile = services().profiles[office.profile_id]
    return render_template("cases/new.html", office=office, profile=profile, communities=_communities(user),
                           form=form or MultiDict(), error=error, rows=range(MEMBER_ROWS), relations=RELATIONS,
                           classes=HOUSEHOLD_CLASSES, flags=MEMBER_FLAGS, sources=INCOME_SOURCES,
                           items=PROPERTY_ITEMS, months=range(1, MONTHS + 1)), status


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
                  "hukou_place": form.get(f"m{i}_hukou", "").strip(),
                  "co_residing": form.get(f"m{i}_co_residing") == "1", "covered": form.get(f"m{i}_covered") == "1"}
        member.update({flag: form.get(f"m{i}_{flag}") == "1" for flag in MEMBER_FLAGS})
        members.append(member)
    declaration, errors = parse_declaration(form)
    if errors:
        err = FormError([(e.field, e.message, e.message_en) for e in errors])
        return _intake_form(user, form, err, 422)
    try:
        community = db.session.get(Unit, int(form.get("community") or 0))
    except ValueError:
        community = None
    if community is None or community not in _communities(user):
        return _intake_form(user, form, FormError([("community", "请选择申请人户籍所在的社区（村）",
                                                    "choose the applicant's community or village")]), 422)
    try:
        case = register_application(
            community=community, members=members, actor=user, today=today(), address=form.get("address", "").strip(),
            area=form.get("area", "urban"), household_class=form.get("household_class", "stable"),
            phone=form.get("phone", "").strip(), materials=form.getlist("materials"), declaration=declaration,
            submitted_by_committee=form.get("committee") == "1", staff_relative=form.get("staff_relative") == "1",
            staff_relative_note=form.get("staff_relative_note", "").strip()[:200])
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
    missing = workflow.missing_materials(profile, case.materials)
    visit_view = _visit_view(case, visits)
    return render_template(
        "cases/detail.html", **visit_view, case=case, profile=profile, actions=actions, state=state,
        deadlines=workflow.pending_deadlines(state, profile, svc.calendar), error=error, form=form or MultiDict(),
        working=working, investigators=investigators, assignments=assignments, visits=visits, users=users,
        missing=missing, boards=_board_choices(case, profile), panel_categories=workflow.PANEL_CATEGORIES,
        step_names=workflow.STEP_NAMES, sources=INCOME_SOURCES, items=PROPERTY_ITEMS,
        can_assign=user.role == "caseworker" and assignable("home_visit", case.status),
        can_assign_appraisal=user.role == "caseworker" and assignable("appraisal", case.status),
        visit_kinds=VISIT_KINDS,
        can_paper_visit=user.role == "caseworker" and "record_home_visit" in actions,
        office_staff=user.role in OFFICE_ROLES, today=today(),   # investigators: masked IDs, no phone
        level_names=LEVEL_NAMES, relations=RELATIONS, classes=HOUSEHOLD_CLASSES,
        default_valid_until=add_months_to_date(today(), profile.certificate.validity_months)
        - dt.timedelta(days=1)), status


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
    try:
        reader.done()
        assign_visit(case, current_user(), team, kind=kind, today=today(), note=reader.text("note", 500))
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _detail(case, exc, exc.status, request.form)
    return redirect(url_for("web.case_detail", case_id=case.id) + "#visits")


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


def _visit_view(case: Case, visits) -> dict:
    """What the case page and the print need to show visits: each visit's findings shape, the case's own visit
    (the newest one standing), its reconciliation rows, the photo facts, statuses in Chinese."""
    from server.models.attachments import Attachment
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
            declared[source] = f"{sum(Decimal(m or '0') for m in months):.2f}"
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

PRINTS = ("approval_form", "missing_notice", "refusal_notice", "visit_form", "appraisal_record", "certificate")


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
              "appraisal_record": "record_appraisal", "certificate": "issue_certificate"}.get(doc)
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
        named = (events["record_home_visit"].data or {}).get("visit_id")
        extra["case_visit"] = extra["case_visit"] or next((v for v in visits if v.id == named), None)
        if extra["case_visit"] is not None:
            extra["case_findings"] = extra["findings"][extra["case_visit"].id]
            users.update({u.id: u for u in db.session.scalars(select(User).where(
                User.id.in_(extra["case_findings"]["investigators"])))})
    return render_template(f"print/{doc}.html", case=case, profile=profile, events=events, users=users, **extra,
                           working=working, qr_svg=qr_svg, panel_categories=workflow.PANEL_CATEGORIES,
                           relations=RELATIONS, sources=INCOME_SOURCES, items=PROPERTY_ITEMS, today=today())


# --- attachments ------------------------------------------------------------------------------

@bp.get("/files/<sha>/<variant>")
@login_required
def attachment(sha: str, variant: str):
    """An uploaded file, for whoever may read a case or record that uses it (see :mod:`server.web.scope`)."""
    from server.models.attachments import Attachment
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
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}

