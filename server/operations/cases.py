"""Case use cases: register an application, and perform any step of the workflow on a case."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, select
from sqlalchemy.exc import IntegrityError

from server import services
from server.domain import workflow
from server.domain.declaration import MONTHS, Declaration
from server.domain.ids import InvalidIdNumber, parse_id_number
from server.extensions import db
from server.models import Case, CaseEvent, Household, Member, Unit, User
from server.models.cases import STATE_DATES, OpenApplicant, RecordSnapshot
from server.models.households import HOUSEHOLD_CLASSES, MEMBER_FLAGS, RELATIONS
from server.models.orgs import OFFICE_LEVELS
from server.operations import OperationError, audit
from sync.merge import income_total


def actor_of(user: User) -> workflow.Actor:
    return workflow.Actor(user_id=user.id, role=user.role, unit_id=user.unit_id, name=user.name)


def _lineage_statement():
    chain = select(Unit.id, Unit.parent_id, literal(0).label("depth")).where(Unit.id == bindparam("unit_id")).cte(
        "chain", recursive=True)
    chain = chain.union_all(select(Unit.id, Unit.parent_id, chain.c.depth + 1)
                            .join(chain, Unit.id == chain.c.parent_id).where(chain.c.depth < 16))
    return select(Unit).join(chain, Unit.id == chain.c.id)


_LINEAGE = _lineage_statement()   # built once: building a recursive query costs more than running it


def _load_lineage(unit_id: int) -> list[Unit]:
    """A unit and its ancestors into the session in one query, unless it is there already (then the walk up
    its parents finds them there too, or loads a missing one by its key).  The caller holds on to the list
    while it walks: the session keeps unchanged rows only as long as something refers to them."""
    if db.session.identity_key(Unit, unit_id) in db.session.identity_map:
        return []
    return list(db.session.scalars(_LINEAGE, {"unit_id": unit_id}))


def state_of(case: Case) -> workflow.CaseState:
    """The pure core's view of a case row."""
    held = _load_lineage(case.community_unit_id)
    lineage = tuple(u.id for u in case.community.lineage())
    del held
    return workflow.CaseState(
        status=case.status, office_unit_id=case.office_unit_id, lineage=lineage,
        recommendation=case.recommendation, publicity_rounds=case.publicity_rounds,
        needs_republication=case.needs_republication, exit_month=case.exit_month, applied_on=case.applied_on,
        **{name: getattr(case, name) for name in STATE_DATES})


def _snapshot(case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {"status": case.status}
    for name in STATE_DATES:
        value = getattr(case, name)
        if value is not None:
            out[name] = value.isoformat()
    if case.amount is not None:
        out["amount"] = str(case.amount)
    if case.assessed_income_6m is not None:   # what a review assessed: a correction after a return shows in the log
        out["assessed_income_6m"] = f"{Decimal(case.assessed_income_6m):.2f}"
    return out


def _refuse_clash(clash, numbers: list[str], rows: list[Member], office: Unit) -> None:
    """A member's ID number is already in an open case.  The message names only what the caseworker
    typed (which member of the form) and, for a case of their own office, its number; a case elsewhere
    is never described (no name as stored there, no office): only whom to ask."""
    position = numbers.index(clash.id_number)
    who = rows[position].name
    field = f"members[{position}].id_number"
    if clash.office_unit_id == office.id:
        raise OperationError("already_applied",
                             f"第{position + 1}位成员{who}的身份证号码已在本街道（乡镇）的在办或在保案件{clash.number}中",
                             f"the ID number of member {position + 1} ({who}) is already in this office's open "
                             f"case {clash.number}", 409, field=field)
    raise OperationError("already_applied",
                         f"第{position + 1}位成员{who}的身份证号码已在其他街道（乡镇）的在办或在保案件中。"
                         "请与申请人核实；需要核查的，请联系区（县）民政局。",
                         f"the ID number of member {position + 1} ({who}) is already in an open case elsewhere. "
                         "Check with the applicant; to have it looked into, contact the district / county civil "
                         "affairs bureau.", 409, field=field)


def _member_from(raw: Mapping[str, Any], position: int, today: dt.date) -> Member:
    name = str(raw.get("name") or "").strip()
    if not name:
        raise OperationError("member_name_required", f"第{position + 1}位成员缺少姓名",
                             f"member {position + 1} has no name", field=f"members[{position}].name")
    try:
        info = parse_id_number(str(raw.get("id_number") or ""), today)
    except InvalidIdNumber as exc:
        raise OperationError("id_number_invalid", f"{name}的身份证号码无效：{exc.message}",
                             f"{name}'s ID number is invalid: {exc.message_en}",
                             field=f"members[{position}].id_number", reason=exc.code) from None
    relation = raw.get("relation") or ("head" if position == 0 else "other")
    if relation not in RELATIONS:
        raise OperationError("relation_invalid", f"与户主关系无效：{relation}", f"unknown relation: {relation}",
                             field=f"members[{position}].relation")
    flags = {flag: bool(raw.get(flag)) for flag in MEMBER_FLAGS}
    return Member(position=position, name=name, id_number=info.number, relation=relation,
                  birth_date=info.birth_date, sex=info.sex, hukou_place=str(raw.get("hukou_place") or ""),
                  co_residing=bool(raw.get("co_residing", True)), covered=bool(raw.get("covered", True)), **flags)


def _hukou_code(raw: Mapping[str, Any], position: int, community: Unit) -> str:
    """The member's registered place as an administrative-division code; blank = the community the
    application is registered at (the window registers it where the household is registered)."""
    code = str(raw.get("hukou_code") or "").strip()
    if not code:
        return community.code
    if not code.isdigit() or not 6 <= len(code) <= 12:
        raise OperationError("hukou_code_invalid", f"第{position + 1}位成员的户籍地行政区划代码应为6至12位数字",
                             f"member {position + 1}'s registered-place division code must be 6 to 12 digits",
                             field=f"members[{position}].hukou_code")
    return code


def register_application(*, community: Unit, members: Sequence[Mapping[str, Any]], actor: User,
                         today: dt.date, address: str = "", area: str = "urban", household_class: str = "stable",
                         phone: str = "", materials: Sequence[str] = (), declaration: Declaration | None = None,
                         submitted_by_committee: bool = False, staff_relative: bool = False,
                         staff_relative_note: str = "", applied_on: dt.date | None = None) -> Case:
    """Register a household's application at the window of its street office / township.

    Every ID number is validated; a person may not be in two open applications.  The case starts in
    ``application``; acceptance (which starts the clock) is a separate step.
    """
    office = community.office()
    if office is None or community.level in OFFICE_LEVELS:
        raise OperationError("community_required", "须选择申请人户籍所在的社区（村）",
                             "choose the applicant's community or village")
    if actor.role != "caseworker" or actor.unit_id != office.id:
        raise OperationError("out_of_scope", "只有本街道（乡镇）的经办人可以登记申请",
                             "only a caseworker of this office may register an application", 403)
    if not members:
        raise OperationError("members_required", "至少登记一名家庭成员（户主）", "register at least the head", )
    if area not in ("urban", "rural"):
        raise OperationError("area_invalid", "城乡类别无效", "area must be urban or rural")
    if household_class not in HOUSEHOLD_CLASSES:
        raise OperationError("household_class_invalid", "家庭类别无效", "unknown household class")
    declaration = declaration or Declaration(income={}, property={}, total=Decimal("0"))
    profile = services().profiles[community.profile_id]
    if submitted_by_committee and not profile.intake.committee_may_submit:
        raise OperationError("committee_may_not_submit", "本地规则不允许居（村）民委员会代为提交申请",
                             "the local rules do not let the committee submit on a family's behalf")
    # 经办人员填写申请表和授权书: the forms the window staff fill in exist once the application is registered.
    materials = [*materials, *profile.intake.staff_fill_forms]
    known = {m.code for m in profile.materials}
    unknown = [c for c in materials if c not in known]
    if unknown:
        raise OperationError("material_unknown", "未知材料：" + "、".join(unknown), "unknown material: " + ", ".join(unknown))
    rows = [_member_from(raw, i, today) for i, raw in enumerate(members)]
    for i, (raw, row) in enumerate(zip(members, rows, strict=True)):
        row.hukou_code = _hukou_code(raw, i, community)
    numbers = [m.id_number for m in rows]
    if len(set(numbers)) != len(numbers):
        raise OperationError("id_number_duplicate", "同一家庭中身份证号码重复", "the same ID number appears twice")
    if sum(1 for m in rows if m.relation == "head") != 1:
        raise OperationError("head_required", "须且只能有一名户主", "exactly one member must be the head")
    _refuse_if_open(numbers, rows, office)
    for attempt in range(3):
        try:
            return _insert_application(office, community, rows, actor, today, address, area, household_class,
                                       phone, materials, declaration, submitted_by_committee, staff_relative,
                                       staff_relative_note, applied_on)
        except IntegrityError:
            # Another request registered at the same moment: the database let one in.  The same person
            # -> the same answer as a sequential duplicate; else the case number was taken -> try again.
            db.session.rollback()
            _refuse_if_open(numbers, rows, office)
            if attempt == 2:
                raise OperationError("register_conflict", "同时提交的登记过多，请重试",
                                     "too many registrations at the same moment: try again", 409) from None
            rows = [_member_from(raw, i, today) for i, raw in enumerate(members)]
    raise AssertionError("unreachable")


def _refuse_if_open(numbers: Sequence[str], rows: list[Member], office: Unit) -> None:
    """A person may be in one open case only (the open_applicants table enforces it in the database);
    the refusal names only what the caseworker typed (``_refuse_clash``)."""
    numbers = list(numbers)
    open_states = set(workflow.STATES) - workflow.TERMINAL
    clashes = db.session.execute(
        select(Member.id_number, Case.office_unit_id, Case.number).select_from(Member)
        .join(Household, Member.household_id == Household.id).join(Case, Case.household_id == Household.id)
        .where(Member.id_number.in_(numbers), Case.status.in_(open_states)).order_by(Case.id)).all()
    if not clashes:
        clashes = db.session.execute(
            select(OpenApplicant.id_number, Case.office_unit_id, Case.number)
            .join(Case, Case.id == OpenApplicant.case_id)
            .where(OpenApplicant.id_number.in_(numbers))).all()
    if clashes:
        clash = min(clashes, key=lambda c: numbers.index(c.id_number))   # the first member of the form
        _refuse_clash(clash, numbers, rows, office)


def _insert_application(office, community, rows, actor, today, address, area, household_class, phone, materials,
                        declaration, submitted_by_committee, staff_relative, staff_relative_note, applied_on) -> Case:
    household = Household(unit=community, address=address, area=area, household_class=household_class,
                          phone=phone, members=rows)
    applied = applied_on or today
    n = db.session.scalar(select(func.count(Case.id)).where(Case.office_unit_id == office.id)) or 0
    case = Case(number=f"{office.code}-{applied.year}-{n + 1:05d}", household=household, office=office,
                community=community, profile_id=community.profile_id, status="application", applied_on=applied,
                materials=sorted(set(materials)), declaration=declaration.as_json(),
                declared_income_6m=declaration.total, assessed_income_6m=declaration.total,
                submitted_by_committee=submitted_by_committee, staff_relative=staff_relative,
                staff_relative_note=staff_relative_note)
    case.record = household_record(rows, declaration)
    case.record_version = 1
    db.session.add(case)
    db.session.flush()
    db.session.add_all([OpenApplicant(id_number=m.id_number, case_id=case.id) for m in rows])
    db.session.flush()
    db.session.add(RecordSnapshot(case_id=case.id, record_version=1, record=case.record))
    db.session.add(CaseEvent(case=case, seq=1, action="register", from_status="", to_status="application",
                             actor_id=actor.id, on_date=applied,
                             data={"members": len(rows), "materials": case.materials,
                                   "staff_relative": staff_relative}))
    audit.record("case.register", "case", case.id, actor=actor, after=_snapshot(case))
    db.session.commit()
    return case


def household_record(members: Sequence[Member], declaration: Declaration) -> dict[str, Any]:
    """The household as declared, in the sync field space that phones' visits are merged against:
    ``member/<ID number>/<field>``, ``income/<source>`` (six-month total) and ``property/<item>``."""
    record: dict[str, Any] = {}
    for m in members:
        key = f"member/{m.id_number}"
        record.update({f"{key}/name": m.name, f"{key}/relation": m.relation, f"{key}/co_residing": m.co_residing,
                       f"{key}/disabled": m.disabled, f"{key}/student": m.student,
                       f"{key}/able_to_work": m.able_to_work})
    # The same totals as a visit's.  A source not declared has no figure: unknown (shown "—"), never "0.00"
    # (records made before hold "0.00" for it; they are merged and shown as they are).
    for source, months in declaration.income.items():
        record[f"income/{source}"] = income_total(months)
    for item, text in declaration.property.items():
        record[f"property/{item}"] = text
    return record


def _payload_for(case: Case, action: str, payload: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """Turn ids in the payload into the plain data the core checks (team members, panel, materials)."""
    p = dict(payload)
    if action in ("accept", "notify_missing"):
        p.setdefault("materials", case.materials)
        p["materials"] = [*p["materials"], *services().profiles[case.profile_id].intake.staff_fill_forms]
        p["member_flags"] = member_flags(case.household.members)
    if action == "request_verification":
        by_id = {m.id: m.name for m in case.household.members}
        p["members"] = [by_id.get(m, m) if isinstance(m, int) else m for m in p.get("members") or []]
        p["required_members"] = [m.name for m in support_duty_members(case.household.members)]
    if action == "open_publicity":
        _publicity_boards(case, p)
    if action == "complete_rereview":
        p["evidence"] = rereview_evidence(case, p)
    if action == "record_home_visit":
        signed = set(p.get("signed") or [])
        team = []
        for uid in p.get("investigators") or []:
            user = db.session.get(User, uid)
            if user is None:
                raise OperationError("investigator_unknown", f"调查人员不存在：{uid}", f"no such investigator: {uid}")
            team.append(workflow.TeamMember(user.id, user.role, user.unit_id, user.id in signed))
        p["team"] = team
    if action == "record_meeting":
        p["eligibility"] = eligibility_of(case, Decimal(case.assessed_income_6m), case.assessed_property or [], today)
    if action == "approve":
        p["amount"] = benefit_working(case, today).total
        p["eligibility"] = eligibility_of(case, Decimal(case.assessed_income_6m), case.assessed_property or [], today)
    if action == "review_opinion" and isinstance(p.get("assessed_income_6m"), Decimal):
        found = [str(c) for c in p.get("property_found") or []]
        p["property_found"] = found
        p["eligibility"] = eligibility_of(case, p["assessed_income_6m"], found, today)
    if action == "record_appraisal":
        p["panel"] = [workflow.PanelMember(str(m.get("name", "")).strip(), m.get("category", ""),
                                           bool(m.get("signed"))) for m in p.get("panel") or []]
    return p


# Relations with a legal duty of support (赡养、抚养、扶养) to or from the applicant; "other" has none.
SUPPORT_RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling")


def support_duty_members(members: Sequence[Member]) -> list[Member]:
    """The members the verification request must name: the applicant and every co-residing member with a
    legal duty of support (管城 操作细则：具有法定赡养、抚养、扶养义务关系并长期共同居住的人员)."""
    return [m for m in members if m.relation == "head" or (m.co_residing and m.relation in SUPPORT_RELATIONS)]


def member_flags(members: Sequence[Member]) -> list[tuple[str, list[str]]]:
    """(name, flags set at intake) per member: what the situational materials are derived from."""
    return [(m.name, [f for f in MEMBER_FLAGS if getattr(m, f)]) for m in members]


def rereview_evidence(case: Case, p: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the re-review found since it opened: visits recorded for the case on or after the day the
    latest re-review started, and a verification report given with the decision (file and date)."""
    from server.models import Visit

    started = next((e.on_date for e in reversed(case.events) if e.action == "start_rereview"), None)
    if started is None:
        return []
    out: list[dict[str, Any]] = [
        {"kind": "visit", "visit_id": v.id, "visit_on": v.visit_on.isoformat()}
        for v in db.session.scalars(select(Visit).where(Visit.case_id == case.id, Visit.visit_on >= started,
                                                        Visit.kind != "appraisal",
                                                        Visit.status.in_(("recorded", "accepted")))
                                    .order_by(Visit.visit_on))]
    report_on, report_file = p.get("report_on"), p.get("report_file")
    if report_file and isinstance(report_on, dt.date) and started <= report_on:
        out.append({"kind": "verification_report", "file": report_file, "report_on": report_on.isoformat()})
    return out


def _publicity_boards(case: Case, p: dict[str, Any]) -> None:
    """Resolve the chosen boards to the levels they stand on, and the levels this case must reach."""
    from server.operations.boards import publicity_levels

    profile = services().profiles[case.profile_id]
    codes = [str(c) for c in p.get("boards") or []]
    required, chosen, unknown = publicity_levels(case, profile, codes)
    p["boards"], p["required_levels"], p["board_levels"], p["unknown_boards"] = codes, required, chosen, unknown


def perform(case: Case, action: str, user: User, payload: Mapping[str, Any] | None = None, *,
            today: dt.date, remote_addr: str = "", commit: bool = True) -> CaseEvent:
    """Do one workflow step on ``case`` as ``user``: the core decides, this persists and audits."""
    svc = services()
    profile = svc.profiles[case.profile_id]
    before = _snapshot(case)
    core_payload = _payload_for(case, action, payload or {}, today)
    try:
        outcome = workflow.apply(state_of(case), action, actor_of(user), profile, svc.calendar, today, core_payload)
    except workflow.WorkflowError as exc:
        raise OperationError(exc.code, exc.message, exc.message_en, exc.status, details=exc.details) from None

    data = dict(outcome.event.data)
    if action == "issue_certificate" and db.session.scalar(
            select(Case.id).where(Case.certificate_number == data["number"], Case.id != case.id)):
        raise OperationError("certificate_number_taken", "低保证编号已被使用", "certificate number already used", 409)

    new = outcome.state
    case.status = new.status
    case.recommendation = new.recommendation
    case.publicity_rounds = new.publicity_rounds
    case.needs_republication = new.needs_republication
    case.exit_month = new.exit_month
    for name in STATE_DATES:
        setattr(case, name, getattr(new, name))
    if action == "approve":
        case.amount = Decimal(data["amount"])
    if action in ("record_change",) or (action == "complete_rereview" and data.get("outcome") == "change"):
        case.amount = Decimal(data["amount"])
    if action == "issue_certificate":
        case.certificate_number = data["number"]
        case.certificate_from = dt.date.fromisoformat(data["valid_from"])
        case.certificate_token = secrets.token_urlsafe(18)
    if new.status in workflow.TERMINAL:   # the people may apply again
        db.session.execute(delete(OpenApplicant).where(OpenApplicant.case_id == case.id))
    _record_details(case, action, core_payload, data)
    case.updated_at = dt.datetime.now(dt.UTC)
    ev = CaseEvent(case=case, seq=next_event_seq(case.id), action=action, from_status=outcome.event.from_status,
                   to_status=outcome.event.to_status, actor_id=user.id, on_date=outcome.event.on or today,
                   recorded_on=today, data=data,
                   note=str((payload or {}).get("note") or ""))
    db.session.add(ev)
    audit.record(f"case.{action}", "case", case.id, actor=user, before=before, after=_snapshot(case),
                 remote_addr=remote_addr)
    if commit:
        db.session.commit()
    return ev


def next_event_seq(case_id: int):
    """The event's number in its case, worked out by the database inside the INSERT (one statement less than
    reading the highest number first; two steps on one case at once are still kept apart by the case's version
    and by the unique (case, seq))."""
    return (select(func.coalesce(func.max(CaseEvent.seq), 0) + 1).where(CaseEvent.case_id == case_id)
            .scalar_subquery())


# The keys of a step's payload kept in its event's data that name a stored file (a SHA-256).  Who may read a
# file is decided from these (and the other structured places listed in ``server.web.scope``), never from text.
EVENT_FILE_KEYS = ("signature_file", "scan_file", "fingerprint_file", "applicant_signature_file", "notice_file")


def _record_details(case: Case, action: str, payload: Mapping[str, Any], data: dict[str, Any]) -> None:
    """Keep what a step recorded beyond the state: verification data, the panel, the assessed income."""
    if action == "request_verification":
        case.verification = {**(case.verification or {}), "members": list(payload.get("members") or []),
                             "requested_on": data["requested_on"]}
    elif action == "record_verification_report":
        report = {k: payload[k] for k in ("found_property", "file", "note") if payload.get(k)}
        report.update({k: data[k] for k in ("found_income_6m", "no_income_found") if k in data})
        report["report_on"] = data["report_on"]
        case.verification = {**(case.verification or {}), "report": report}
        data["report"] = report
    elif action == "record_appraisal":
        data["members"] = [{"name": m.name, "category": m.category, "signed": m.signed}
                           for m in payload.get("panel") or []]
    elif action == "review_opinion" and payload.get("assessed_income_6m") is not None:
        data["assessed_income_6m"] = str(payload["assessed_income_6m"])
        case.assessed_income_6m = Decimal(payload["assessed_income_6m"])
        case.assessed_property = list(payload.get("property_found") or [])
        data["property_found"] = case.assessed_property
    for key in (*EVENT_FILE_KEYS, "visit_id", "findings"):
        if payload.get(key):
            data[key] = payload[key]


CATEGORY_NAMES = {
    "elderly": ("老年人", "Elderly"), "minor": ("未成年人", "Minors"),
    "severely_disabled": ("重度残疾人", "Severely disabled"), "seriously_ill": ("重病患者", "Seriously ill"),
}


def member_categories(member: Member, on: dt.date, profile: Any) -> list[str]:
    """The supplement categories (分类施保) a covered member falls into on ``on``."""
    b = profile.benefit
    born = member.birth_date
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    cats = []
    if age >= b.elderly_age:
        cats.append("elderly")
    if age < b.minor_age:
        cats.append("minor")
    if member.severely_disabled:
        cats.append("severely_disabled")
    if member.seriously_ill:
        cats.append("seriously_ill")
    return [c for c in cats if c in b.supplements]


def benefit_working(case: Case, on: dt.date):
    """The monthly amount for ``case`` with its working, from the benefit core and the case's profile."""
    from server.domain.benefit import NoStandardInForce, compute_benefit, standard_in_force

    profile = services().profiles[case.profile_id]
    covered = case.household.covered
    if not covered:
        raise OperationError("nobody_covered", "没有纳入保障的共同生活成员", "no co-residing member is covered")
    try:
        standard = standard_in_force(profile.standards, case.household.area, on)
    except NoStandardInForce as exc:
        raise OperationError("no_standard", str(exc), str(exc)) from None
    percentage = 100
    if case.status == "gradual_exit":
        schedule = profile.gradual_exit.percentages
        percentage = schedule[min(case.exit_month, len(schedule) - 1)] if schedule else 0
    return compute_benefit(
        standard_monthly=standard.monthly(), household_income=Fraction(Decimal(case.assessed_income_6m)) / MONTHS,
        people=len(covered), method=profile.benefit.method, tiers=profile.tiers,
        supplement_rates=dict(profile.benefit.supplements),
        member_categories=[member_categories(m, on, profile) for m in covered], percentage=percentage)


def eligibility_of(case: Case, income_6m: Decimal, property_found: Sequence[str], on: dt.date):
    """The household's eligibility (server.domain.eligibility) from the case's members and profile."""
    from server.domain.benefit import NoStandardInForce, standard_in_force
    from server.domain.eligibility import MemberHukou, assess

    profile = services().profiles[case.profile_id]
    members = case.household.members
    try:
        standard = standard_in_force(profile.standards, case.household.area, on)
    except NoStandardInForce as exc:
        raise OperationError("no_standard", str(exc), str(exc)) from None
    try:
        return assess(income_6m=income_6m, co_residing=sum(1 for m in members if m.co_residing),
                      standard_monthly=standard.monthly(),
                      members=[MemberHukou(m.name, m.relation, m.hukou_code or "") for m in members],
                      hukou_prefixes=profile.eligibility.hukou_prefixes, property_found=property_found,
                      property_rules=profile.property_rules)
    except ValueError:
        raise OperationError("property_unknown", "财产情形无效（不在规则列表中）", "unknown property item",
                             field="property_found") from None


def visible_cases(user: User):
    """A query of the cases this user may see: their office's; an investigator's own assignments; the
    bureau's whole district; else none.  Every console page of a case checks against this same query,
    so a list never shows a case whose page would answer 404."""
    query = select(Case)
    if user.role in ("caseworker", "leader", "director"):
        return query.where(Case.office_unit_id == user.unit_id)
    if user.role == "investigator":
        # Investigators work on phones; in the console they see only the cases they are assigned to
        # (an open or finished assignment, not a cancelled one), in their office.
        from server.models.visits import VisitAssignment, assignment_members

        office = user.unit.office()
        mine = (select(VisitAssignment.case_id)
                .join(assignment_members, assignment_members.c.assignment_id == VisitAssignment.id)
                .where(assignment_members.c.user_id == user.id, VisitAssignment.status != "cancelled"))
        return query.where(Case.office_unit_id == (office.id if office else -1), Case.id.in_(mine))
    if user.role == "bureau_supervisor":
        return query.where(Case.office_unit_id.in_(select(Unit.id).where(Unit.parent_id == user.unit_id)))
    return query.where(Case.id == -1)


def deadline_rows(user: User, today: dt.date, urgency: str | None = None) -> list[dict[str, Any]]:
    """Every running case the user may see with its next time limit and mark (overdue / due_soon / ok),
    the most urgent first.  ``urgency`` keeps only the cases with that mark."""
    svc = services()
    running = set(workflow.STATES) - workflow.TERMINAL - {"application", "certified", "in_payment", "rereview",
                                                          "gradual_exit", "approved"}
    rows = []
    for case in db.session.scalars(visible_cases(user).where(Case.status.in_(running))):
        profile = svc.profiles[case.profile_id]
        state = state_of(case)
        step = workflow.next_deadline(state, profile, svc.calendar)
        if step is None:
            continue
        mark = workflow.urgency(state, profile, svc.calendar, today)
        if urgency and mark != urgency:
            continue
        rows.append({"case": case, "step": step.step, "step_names": step.label, "due": step.due.date,
                     "provisional": step.due.provisional, "urgency": mark,
                     "left": svc.calendar.workdays_between(today, step.due.date).days})
    order = {"overdue": 0, "due_soon": 1, "ok": 2}
    rows.sort(key=lambda r: (order[r["urgency"]], r["due"], r["case"].number))
    return rows


# --- the household's members follow its record (a reconciliation, a director's decision) ---------------------

def _record_flags(record: Mapping[str, Any], number: str) -> dict[str, Any]:
    """A member's columns from the record's fields (the visit's answers in the field space)."""
    get = lambda f: record.get(f"member/{number}/{f}")  # noqa: E731
    flags = {"disabled": get("disabled") is True, "student": get("student") is True,
             "able_to_work": get("able_to_work") is True, "seriously_ill": get("health") == "seriously_ill",
             "unemployed": get("work") == "unemployed", "severely_disabled": get("disability_grade") in ("1", "2")}
    return flags


def apply_to_household(case: Case, record: Mapping[str, Any], changed: set[str], new_members: list[str],
                       left: list[str], today: dt.date) -> None:
    """Make the household's members say what the reconciled record says: new members join (ID number checked,
    not in another open case), members who left stop living with it (and are no longer covered), changed
    facts of existing members are copied."""
    from server.domain.ids import InvalidIdNumber, parse_id_number
    from server.models import Household, Member
    from server.models.households import RELATIONS

    household = case.household
    by_number = {m.id_number: m for m in household.members}
    open_states = set(workflow.STATES) - workflow.TERMINAL
    for number in new_members:
        name = record.get(f"member/{number}/name") or ""
        try:
            info = parse_id_number(number, today)
        except InvalidIdNumber as exc:
            raise OperationError("id_number_invalid", f"新增成员{name}的身份证号码无效：{exc.message}",
                                 f"the new member {name}'s ID number is invalid: {exc.message_en}", 422) from None
        clash = db.session.scalar(select(Case.number).join(Household, Case.household_id == Household.id)
                                  .join(Member, Member.household_id == Household.id)
                                  .where(Member.id_number == info.number, Case.id != case.id,
                                         Case.status.in_(open_states)).limit(1))
        if clash:
            raise OperationError("already_applied", f"新增成员{name}已在其他在办或在保案件（{clash}）中",
                                 f"the new member {name} is already in another open case ({clash})", 409)
        if info.number in by_number:
            continue
        relation = record.get(f"member/{number}/relation")
        co_residing = record.get(f"member/{number}/co_residing") is not False
        member = Member(position=len(household.members), name=name[:50], id_number=info.number,
                        relation=relation if relation in RELATIONS else "other", birth_date=info.birth_date,
                        sex=info.sex, co_residing=co_residing, covered=co_residing,
                        **_record_flags(record, number))
        household.members.append(member)
        by_number[info.number] = member
    for number in left:
        if number in by_number:
            by_number[number].co_residing = False
            by_number[number].covered = False
    for path in changed:
        parts = path.split("/")
        if parts[0] != "member" or len(parts) != 3 or parts[1] in new_members or parts[1] not in by_number:
            continue
        member, fid = by_number[parts[1]], parts[2]
        value = record.get(path)
        if fid == "name" and isinstance(value, str) and value:
            member.name = value[:50]
        elif fid == "relation" and value in RELATIONS:
            member.relation = value
        elif fid == "co_residing" and isinstance(value, bool):
            member.co_residing = value
            if not value:
                member.covered = False
        else:
            for column, flag in _record_flags(record, parts[1]).items():
                setattr(member, column, flag)
