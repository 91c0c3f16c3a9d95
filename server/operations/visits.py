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
from server.operations import OperationError, audit, check_length
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


NOTE_MAX = 500   # a note on an assignment (the console's form has the same limit)


def assign_visit(case: Case, actor: User, team_ids: Sequence[int], *, kind: str = "home_visit",
                 today: dt.date, note: str = "") -> VisitAssignment:
    """Ask a team to visit the household; it shows on their phones until it is done or cancelled."""
    if actor.role != "caseworker" or actor.unit_id != case.office_unit_id:
        raise OperationError("role_not_permitted", "只有本街道（乡镇）的经办人可以派发入户调查",
                             "only a caseworker of the case's office may assign a visit", 403)
    if kind not in VISIT_KINDS or not assignable(kind, case.status):
        raise OperationError("illegal_transition", "案件当前环节不能派发此类调查",
                             "this kind of visit cannot be assigned at the case's stage", 409)
    note = check_length((note or "").strip(), NOTE_MAX, field="note", zh="派发备注", en="The note")
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
    assignment = VisitAssignment(case=case, kind=kind, team=team, due_on=due, note=note,
                                 created_by_id=actor.id)
    db.session.add(assignment)
    db.session.flush()
    audit.record("visit.assign", "case", case.id, actor=actor,
                 before={"cancelled_assignment": open_.id} if open_ else None,
                 after={"assignment": assignment.id, "kind": kind, "team": [u.id for u in team]})
    db.session.commit()
    return assignment


PAPER_FORM = "household_survey"   # the paper 入户调查表 is the phone's form on paper


def paper_form() -> dict[str, Any]:
    """The newest definition of the household survey: the console's paper-visit form is built from it."""
    from flask import current_app

    forms = current_app.extensions["ruhu_forms"]
    versions = [v for (fid, v) in forms if fid == PAPER_FORM]
    return forms[(PAPER_FORM, max(versions))] if versions else {"id": PAPER_FORM, "version": 1, "sections": []}


TEXT_MAX = 2000   # a paper-form text whose field names no max_length (as the phone's validator)


def paper_answers(data) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The console's paper-visit fields put into the form's answer structure (the same the phone sends):
    ``income_<source>_<1..6>``, ``property_<item>``, ``living_conditions`` (several), ``living_notes``,
    ``summary``, ``recommendation``.  Returns the answers and every problem (field, Chinese, English)."""
    import unicodedata

    from server.domain import declaration as d

    form = paper_form()
    sections = {sec["id"]: sec for sec in form.get("sections", [])}
    problems: list[tuple[str, str, str]] = []
    answers: dict[str, Any] = {}

    def text(key: str) -> str:
        return unicodedata.normalize("NFC", (data.get(key) or "")).strip()

    def too_long(key: str, field: dict[str, Any], value: str) -> bool:
        """Longer than the form's ``max_length`` is a problem worded as the phone's validator words it;
        the text is never cut."""
        limit = field.get("max_length", TEXT_MAX)
        if len(value) <= limit:
            return False
        label = field.get("label", {})
        problems.append((key, f"“{label.get('zh', key)}”不能超过{limit}个字（现有{len(value)}个）",
                         f"{label.get('en', key)}: at most {limit} characters (it has {len(value)})"))
        return True

    income = {}
    for field in sections.get("income", {}).get("fields", []):
        raw = [unicodedata.normalize("NFKC", data.get(f"income_{field['id']}_{m}") or "").strip()
               for m in range(1, d.MONTHS + 1)]
        if not any(raw):
            continue
        blanks = d.blank_months(raw)
        if blanks:   # partly filled: refused, never read as 0 (all six blank is none declared, above)
            zh, en = d.partial_months_message(field["label"]["zh"], field["label"]["en"], blanks)
            problems.append((f"income_{field['id']}_{blanks[0]}", zh, en))
        months = []
        for m, value in enumerate(raw, 1):
            if m in blanks:
                continue
            parsed = d.amount(value)
            if parsed is None:
                why_zh, why_en = d.amount_problem(value) or d.BAD_AMOUNT
                problems.append((f"income_{field['id']}_{m}", f"“{field['label']['zh']}”第{m}个月的{why_zh}",
                                 f"{field['label']['en']}, month {m}: {why_en}"))
                continue
            months.append(f"{parsed:.2f}")
        income[field["id"]] = months
    if income:
        answers["income"] = income
    prop: dict[str, Any] = {}
    for field in sections.get("property", {}).get("fields", []):
        value = text(f"property_{field['id']}")
        if not value:
            continue
        if field["type"] == "integer":
            try:
                prop[field["id"]] = int(unicodedata.normalize("NFKC", value))
            except ValueError:
                problems.append((f"property_{field['id']}", f"“{field['label']['zh']}”应为整数",
                                 f"{field['label']['en']}: must be a whole number"))
        elif not too_long(f"property_{field['id']}", field, value):
            prop[field["id"]] = value
    if prop:
        answers["property"] = prop
    living_fields = {f["id"]: f for f in sections.get("living", {}).get("fields", [])}
    allowed = [o["value"] for o in living_fields.get("conditions", {}).get("options", [])]
    conditions = [c for c in data.getlist("living_conditions") if c in allowed]
    notes = text("living_notes")
    if notes and too_long("living_notes", living_fields.get("notes", {}), notes):
        notes = ""
    if conditions or notes:
        answers["living"] = {"conditions": conditions, "notes": notes or None}
    finding_fields = {f["id"]: f for f in sections.get("findings", {}).get("fields", [])}
    recommendation = data.get("recommendation") or None
    options = [o["value"] for o in finding_fields.get("recommendation", {}).get("options", [])]
    if recommendation is not None and recommendation not in options:
        problems.append(("recommendation", "请选择调查人员意见", "choose the investigators' recommendation"))
        recommendation = None
    summary = text("summary")
    if not summary:
        problems.append(("summary", "请填写调查情况综述", "write the summary of the findings"))
    too_long("summary", finding_fields.get("summary", {}), summary)
    answers["findings"] = {"summary": summary, "recommendation": recommendation}
    return answers, problems


def visit_findings(visit: Visit) -> dict[str, Any]:
    """The findings shape (``sync.findings``) of any visit: as stored since the shape exists, or derived
    from what older rows kept (the phone's envelope; the paper form's four texts)."""
    from flask import current_app

    from server.domain.declaration import blank_months
    from sync.findings import SHAPE_VERSION, derive_findings, income_findings

    stored = visit.findings or {}
    forms = current_app.extensions["ruhu_forms"]
    if stored.get("shape") == SHAPE_VERSION:
        raw = visit.envelope or {}
        answers = raw.get("answers")
        income = answers.get("income") if isinstance(answers, dict) else None
        if isinstance(income, dict) and any(isinstance(v, list) and blank_months(v) for v in income.values()):
            # A phone's visit from before partly filled incomes were refused: its stored findings read the blank
            # months as 0.00; they are unknown ("—"), so the income is read again from the envelope.
            form = forms.get((raw.get("form_id"), raw.get("form_version"))) or {}
            rows, total = income_findings(form, answers)
            return {**stored, "income": rows, "income_total": total}
        return stored
    if visit.envelope:
        raw = visit.envelope
        form = forms.get((raw.get("form_id"), raw.get("form_version"))) or {}
        return derive_findings(form, raw.get("answers") or {}, source="device", attachments=raw.get("attachments", []),
                               investigators=raw.get("investigators", []), gps=raw.get("gps"),
                               started_at=raw.get("started_at"), finished_at=raw.get("finished_at"),
                               visit_on=visit.visit_on.isoformat())
    legacy = {"findings": {"summary": "\n".join(x for x in (stored.get("living"), stored.get("opinion")) if x)},
              "property": {"other": stored.get("property")} if stored.get("property") else {}}
    shape = derive_findings(paper_form(), legacy, source="paper", investigators=visit.investigator_ids or [],
                            visit_on=visit.visit_on.isoformat(), scan=(visit.attachments or {}).get("scan"),
                            applicant_signed=True)
    if stored.get("found_income_6m"):
        shape["income_total"] = stored["found_income_6m"]
    return shape


def record_paper_visit(case: Case, actor: User, *, team_ids: Sequence[int], signed_ids: Sequence[int],
                       applicant_signed: bool, visit_on: dt.date, answers: dict[str, Any],
                       scan_file: str | None, today: dt.date) -> Visit:
    """A home visit done on paper, entered by the caseworker: the core checks the team and signatures.  Its
    findings are derived from the same form definition as a phone's, into the same shape."""
    from sync.findings import derive_findings

    form = paper_form()
    findings = derive_findings(form, answers, source="paper", investigators=list(team_ids),
                               visit_on=visit_on.isoformat(), scan=scan_file, applicant_signed=applicant_signed)
    assignment = db.session.scalar(select(VisitAssignment).where(
        VisitAssignment.case_id == case.id, VisitAssignment.kind == "home_visit", VisitAssignment.status == "open"))
    visit_id = str(uuid.uuid4())
    perform(case, "record_home_visit", actor,
            {"investigators": list(team_ids), "signed": list(signed_ids), "applicant_signed": applicant_signed,
             "visit_on": visit_on, "scan_file": scan_file, "visit_id": visit_id,
             "findings": {"summary": findings["summary"]}},
            today=today, commit=False)
    visit = Visit(id=visit_id, case=case, assignment=assignment, kind="home_visit", source="paper",
                  visit_on=visit_on, investigator_ids=sorted(set(team_ids)), findings=findings,
                  attachments={"scan": scan_file} if scan_file else {}, recorded_by_id=actor.id,
                  form_id=form.get("id"), form_version=form.get("version"))
    db.session.add(visit)
    if assignment is not None:
        assignment.status = "done"
        assignment.updated_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    return visit
