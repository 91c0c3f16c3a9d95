"""The dibao case workflow: an explicit state table and the rules of every transition.

Pure: no Flask, no SQLAlchemy, no clock.  The operations layer loads a case into a
:class:`CaseState`, calls :func:`apply` with the acting user, the case's rules profile, the working-day
calendar, ``today`` and the action's payload, then persists the returned state and event.  Every
refusal is a :class:`WorkflowError` subclass with a machine code and a Chinese and English message.

States (guancheng; yijun adds ``meeting_held``)::

    application ─accept─▶ accepted ─record_home_visit─▶ visited ─record_appraisal─▶ appraised
         │                   ▲  (verification request / report recorded alongside)   │
         └abandon            └──── appraisal disputed: new investigation ─────────────┘
    appraised ─review_opinion─▶ review_signing ─sign_review─▶ reviewed [─record_meeting─▶ meeting_held]
    ─open_publicity─▶ publicity ─close_publicity─▶ publicity_closed ─approve─▶ approved
                        │ record_objection                 └refuse─▶ refused
                        ▼
                    objection ─resolve_objection─▶ reviewed (new publicity required) | refuse
    approved ─issue_certificate─▶ certified ─start_payment─▶ in_payment
    in_payment ─start_rereview─▶ rereview ─complete_rereview─▶ in_payment | gradual_exit | stopped
    in_payment ─record_change─▶ in_payment;  ─start_gradual_exit─▶ gradual_exit ─finish_gradual_exit─▶ stopped
    in_payment | rereview | gradual_exit ─stop─▶ stopped

Return for correction (退回, written reasons required; the overall clock keeps running)::

    review_signing (leader) | reviewed, meeting_held, publicity_closed (director)
        ─return_for_correction─▶ appraised (to the caseworker's review) | accepted (to re-investigation)
    objection ─resolve_objection─▶ reviewed (uphold: publicise again; founded: proposed refusal, the director
        refuses) | appraised (revise: back to the caseworker's review with revised figures)
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from server.domain.calendar import Deadline, WorkCalendar, deadline_status
from server.domain.roles import ROLE_NAMES
from server.domain.stepdates import STEP_DATE_KEYS, certificate_valid_until, step_due, step_timing

ROLES = ("investigator", "caseworker", "leader", "director", "bureau_supervisor", "admin")

STATES = (
    "application", "accepted", "visited", "appraised", "review_signing", "reviewed", "meeting_held",
    "publicity", "objection", "publicity_closed", "approved", "refused", "abandoned", "certified",
    "in_payment", "rereview", "gradual_exit", "stopped",
)

STATE_NAMES = {
    "application": ("申请", "Application"),
    "accepted": ("已受理·调查核对中", "Accepted, under investigation"),
    "visited": ("已入户调查", "Home visit done"),
    "appraised": ("已民主评议", "Appraised"),
    "review_signing": ("待分管领导签署审核意见", "Review awaiting the leader's signature"),
    "reviewed": ("已审核", "Reviewed"),
    "meeting_held": ("已会议研究", "Meeting held"),
    "publicity": ("公示中", "In publicity"),
    "objection": ("公示有异议·重新调查", "Objection: re-investigating"),
    "publicity_closed": ("公示期满", "Publicity closed"),
    "approved": ("已批准", "Approved"),
    "refused": ("不予批准", "Refused"),
    "abandoned": ("视为放弃申请", "Application abandoned"),
    "certified": ("已发低保证", "Certificate issued"),
    "in_payment": ("保障中", "In payment"),
    "rereview": ("复核中", "Under re-review"),
    "gradual_exit": ("渐退中", "Gradual exit"),
    "stopped": ("已停保", "Stopped"),
}

TERMINAL = frozenset({"refused", "abandoned", "stopped"})
# States whose time limit counts towards the overall limit from acceptance to decision.
UNDECIDED = frozenset({"accepted", "visited", "appraised", "review_signing", "reviewed", "meeting_held",
                       "publicity", "objection", "publicity_closed"})


# --- errors ------------------------------------------------------------------------------------

class WorkflowError(Exception):
    """A refused action.  ``status`` is the HTTP status that fits it."""

    status = 409
    code = "workflow_error"

    def __init__(self, message: str, message_en: str, code: str | None = None, **details: Any):
        if code:
            self.code = code
        self.message, self.message_en, self.details = message, message_en, details
        super().__init__(f"{self.code}: {message_en}")


class IllegalTransition(WorkflowError):
    code = "illegal_transition"


class NotPermitted(WorkflowError):
    status = 403
    code = "role_not_permitted"


class OutOfScope(WorkflowError):
    status = 403
    code = "out_of_scope"


class PreconditionFailed(WorkflowError):
    status = 422
    code = "precondition_failed"


# --- plain data --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    unit_id: int
    name: str = ""


@dataclass(frozen=True)
class TeamMember:
    """An investigator on a home visit, as the operation found them in the database."""
    user_id: int
    role: str
    unit_id: int
    signed: bool


@dataclass(frozen=True)
class PanelMember:
    name: str
    category: str   # one of PANEL_CATEGORIES
    signed: bool


PANEL_CATEGORIES = {
    "office_staff": ("街道办事处（乡镇）工作人员", "Street office / township staff"),
    "party_branch": ("社区（村）党支部成员", "Community party branch member"),
    "committee": ("居（村）民委员会成员", "Residents' / villagers' committee member"),
    "supervisory": ("居务（村务）监督委员会成员", "Supervisory committee member"),
    "party_member": ("党员代表", "Party member representative"),
    "resident": ("居（村）民代表", "Resident representative"),
}


@dataclass(frozen=True)
class CaseState:
    """Everything the rules need to know about a case.  Dates are ``datetime.date``."""
    status: str
    office_unit_id: int
    lineage: tuple[int, ...]            # unit ids from the district down to the community/village
    accepted_on: dt.date | None = None
    investigation_from: dt.date | None = None   # acceptance, or the day a disputed appraisal sent it back
    verification_requested_on: dt.date | None = None
    verification_report_on: dt.date | None = None
    visit_on: dt.date | None = None
    appraisal_on: dt.date | None = None
    review_opinion_on: dt.date | None = None
    recommendation: str | None = None   # "approve" | "refuse"
    reviewed_on: dt.date | None = None
    meeting_on: dt.date | None = None
    publicity_opened_on: dt.date | None = None
    publicity_earliest_close: dt.date | None = None
    publicity_closed_on: dt.date | None = None
    publicity_rounds: int = 0
    objection_on: dt.date | None = None
    needs_republication: bool = False
    decided_on: dt.date | None = None
    certificate_until: dt.date | None = None
    exit_month: int = 0
    applied_on: dt.date | None = None           # the application's date: no step may precede it
    returned_on: dt.date | None = None          # the last return for correction (退回): the step's limit restarts


@dataclass(frozen=True)
class Event:
    """What happened, for the append-only case history (and the audit log)."""
    action: str
    from_status: str
    to_status: str
    data: Mapping[str, Any] = field(default_factory=dict)
    on: dt.date | None = None   # the day the step happened (None: the day it was recorded)


@dataclass(frozen=True)
class Outcome:
    state: CaseState
    event: Event


# --- scope ---------------------------------------------------------------------------------------

def in_scope(actor: Actor, case: CaseState) -> bool:
    """May this user act on this case at all?

    Office roles act for the handling street office / township only; investigators also from the
    communities below it; the bureau from the district / county above it.
    """
    lineage = case.lineage
    if case.office_unit_id not in lineage:
        return False
    at = lineage.index(case.office_unit_id)
    if actor.role == "investigator":
        return actor.unit_id in lineage[at:]
    if actor.role == "bureau_supervisor":
        return actor.unit_id in lineage[:at]
    if actor.role in ("caseworker", "leader", "director"):
        return actor.unit_id == case.office_unit_id
    return False


def can_read(actor: Actor, case: CaseState) -> bool:
    return in_scope(actor, case)


# --- helpers -----------------------------------------------------------------------------------

def _need_text(payload: Mapping[str, Any], key: str, zh: str, en: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PreconditionFailed(f"必须填写{zh}", f"{en} must be given in writing", code=f"{key}_required")
    return value.strip()


def _need_date(payload: Mapping[str, Any], key: str, today: dt.date, zh: str, en: str) -> dt.date:
    value = payload.get(key, today)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise PreconditionFailed(f"{zh}不是有效日期", f"{en} is not a valid date", code=f"{key}_invalid")
    if value > today:
        raise PreconditionFailed(f"{zh}不能晚于今天", f"{en} cannot be in the future", code=f"{key}_future")
    return value


def _not_before(on: dt.date, ref: dt.date | None, key: str, zh: str, en: str, ref_zh: str, ref_en: str) -> None:
    """A step's date may not precede the step it depends on (or the application)."""
    if ref is not None and on < ref:
        raise PreconditionFailed(f"{zh}（{on.isoformat()}）不能早于{ref_zh}（{ref.isoformat()}）",
                                 f"the {en} ({on.isoformat()}) cannot precede {ref_en} ({ref.isoformat()})",
                                 code=f"{key}_too_early", earliest=ref.isoformat())


def _need_amount(payload: Mapping[str, Any]) -> Decimal:
    value = payload.get("amount")
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise PreconditionFailed("须核定保障金额（不小于0的金额）", "a monthly amount (not negative) must be set",
                                 code="amount_required")
    return value


def situational_needs(profile: Any, member_flags: Iterable[tuple[str, Iterable[str]]]) -> dict[str, list[str]]:
    """The situational materials (残疾证、学生证 …) the members' flags call for, through the profile's
    ``intake.situational`` table: material code -> the names of the members it is needed for."""
    out: dict[str, list[str]] = {}
    for name, flags in member_flags:
        have = set(flags)
        for flag, code in profile.situational:
            if flag in have and name not in out.setdefault(code, []):
                out[code].append(name)
    return {code: names for code, names in out.items() if names}


def missing_materials(profile: Any, present: Iterable[str],
                      member_flags: Iterable[tuple[str, Iterable[str]]] = ()) -> list[Any]:
    """Every required material of the profile that is not in ``present`` (一次性告知: all at once), and every
    situational material a member's flags call for (``member_flags``: (name, flags) per member)."""
    have = set(present)
    needed = situational_needs(profile, member_flags)
    return [m for m in profile.materials if (m.required or m.code in needed) and m.code not in have]


BOARD_LEVEL_NAMES = {
    "township": ("乡镇（综合服务中心）、街道办事处", "Township / service centre / street office"),
    "street_office": ("街道办事处", "Street office"),
    "community": ("社区（居委会）", "Community (residents' committee)"),
    "village": ("村（村委会）", "Village (villagers' committee)"),
    "natural_village": ("自然村", "Natural village"),
    "busy_place": ("人员密集场所", "Busy place"),
}


def missing_board_levels(required: Iterable[str], chosen: Iterable[str]) -> list[str]:
    """The board levels a publicity must reach (``required``, from the profile as they exist for the case)
    that none of the chosen boards is on, in the profile's order."""
    have = set(chosen)
    out: list[str] = []
    for level in required:
        if level not in have and level not in out:
            out.append(level)
    return out


def earliest_publicity_close(profile: Any, cal: WorkCalendar, opened: dt.date) -> Deadline:
    """The first day on which publicity may close: at least the profile's minimum after opening."""
    pub = profile.publicity
    if pub.unit == "working_days":
        return cal.add_workdays(opened, pub.minimum)
    return cal.add_calendar_days(opened, pub.minimum)


# --- the transitions -----------------------------------------------------------------------------
# Each handler gets (case, actor, profile, cal, today, payload) and returns (new fields, event data,
# to_status or None for the rule's default).

Handler = Callable[..., tuple[dict[str, Any], dict[str, Any], str | None]]


@dataclass(frozen=True)
class Rule:
    action: str
    from_states: tuple[str, ...]
    to_state: str
    roles: tuple[str, ...]
    handler: Handler
    zh: str
    en: str


def _accept(case, actor, profile, cal, today, p):
    missing = missing_materials(profile, p.get("materials", ()), p.get("member_flags", ()))
    if missing:
        raise PreconditionFailed(
            "材料不齐备，不能受理；缺少：" + "、".join(m.name for m in missing),
            "materials incomplete, cannot accept; missing: " + ", ".join(m.name_en for m in missing),
            code="materials_missing", missing=[m.code for m in missing])
    if profile.intake.applicant_signature and not p.get("applicant_signed"):
        raise PreconditionFailed("申请人须签字确认", "the applicant must sign", code="applicant_signature_required")
    if profile.intake.fingerprint and not p.get("fingerprint_file"):
        # 由申请人签字并按手印: the print itself (a photo or scan of it), not a tick that says it was left.
        raise PreconditionFailed("申请人须按手印，并上传手印图像", "the applicant's fingerprint image is required",
                                 code="fingerprint_required")
    accepted = _need_date(p, "accepted_on", today, "受理日期", "acceptance date")
    _not_before(accepted, case.applied_on, "accepted_on", "受理日期", "acceptance date", "申请日期", "the application")
    return ({"accepted_on": accepted, "investigation_from": accepted}, {"accepted_on": accepted.isoformat()},
            None)


def _notify_missing(case, actor, profile, cal, today, p):
    missing = missing_materials(profile, p.get("materials", ()), p.get("member_flags", ()))
    if not missing:
        raise PreconditionFailed("材料已齐备，无需一次性告知，请直接受理",
                                 "nothing is missing: accept the application instead", code="nothing_missing")
    needs = situational_needs(profile, p.get("member_flags", ()))
    data: dict[str, Any] = {"missing": [m.code for m in missing]}
    if any(m.code in needs for m in missing):
        data["for_members"] = {m.code: needs[m.code] for m in missing if m.code in needs}
    return {}, data, None


def _abandon(case, actor, profile, cal, today, p):
    reason = _need_text(p, "reason", "放弃申请的原因（如提供虚假信息、拒绝调查）",
                        "The reason (false information, refusing the investigation)")
    return {"decided_on": today}, {"reason": reason}, None


def _request_verification(case, actor, profile, cal, today, p):
    members = p.get("members") or []
    if not members:
        raise PreconditionFailed("须选择提交核对的家庭成员", "choose the family members sent for verification",
                                 code="members_required")
    # 申请人及家庭成员（具有法定赡养、抚养、扶养义务关系并长期共同居住的人员）: every one of them is sent;
    # leaving one out needs a written reason.
    omitted = [name for name in p.get("required_members") or () if name not in members]
    reason = str(p.get("omission_reason") or "").strip()
    if omitted and not reason:
        raise PreconditionFailed(
            "核对须包括申请人及共同生活的有法定赡养、抚养、扶养义务的家庭成员；未选：" + "、".join(omitted)
            + "。如确需不报，请写明理由",
            "verification must name the applicant and every co-residing family member with support duties; "
            "not chosen: " + ", ".join(omitted) + ". Give a written reason to leave them out",
            code="verification_member_omitted", omitted=omitted)
    on = _need_date(p, "requested_on", today, "核对发起日期", "request date")
    if case.accepted_on and on < case.accepted_on:
        raise PreconditionFailed("核对发起日期不能早于受理日期", "the request cannot predate acceptance",
                                 code="requested_on_before_acceptance")
    data = {"members": list(members), "requested_on": on.isoformat()}
    if omitted:
        data.update(omitted=omitted, omission_reason=reason)
    return {"verification_requested_on": on}, data, None


def _record_verification_report(case, actor, profile, cal, today, p):
    if case.verification_requested_on is None:
        raise PreconditionFailed("尚未发起家庭经济状况核对", "no verification request has been sent yet",
                                 code="verification_not_requested")
    on = _need_date(p, "report_on", today, "核对报告日期", "report date")
    if on < case.verification_requested_on:
        raise PreconditionFailed("报告日期不能早于发起核对日期", "the report cannot predate the request",
                                 code="report_on_before_request")
    data = {"report_on": on.isoformat(), **check_report_findings(p)}
    return {"verification_report_on": on}, data, None


def check_report_findings(p: Mapping[str, Any]) -> dict[str, Any]:
    """A verification report must say what it found: the six-month income it found, or the explicit choice
    "核对未发现收入" together with the report's file.  A blank figure is never read as 0."""
    found = p.get("found_income_6m")
    none_found = bool(p.get("no_income_found"))
    if found in (None, ""):
        if not none_found:
            raise PreconditionFailed("须填写“核对出的6个月收入（元）”，或选择“核对未发现收入”并上传核对报告文件",
                                     "give the report's 'income found over 6 months', or choose 'no income found' "
                                     "and upload the report file", code="found_income_6m_required")
        if not p.get("file"):
            raise PreconditionFailed("选择“核对未发现收入”时须上传核对报告文件",
                                     "'no income found' needs the report file", code="report_file_required")
        return {"no_income_found": True}
    try:
        value = Decimal(str(found))
        valid = value.is_finite() and 0 <= value < 10**12 and value == value.quantize(Decimal("0.01"))
    except ArithmeticError:
        valid = False
    if not valid:
        raise PreconditionFailed("核对出的6个月收入应为不小于0、最多两位小数的金额",
                                 "the income found must be an amount (0 or more, 2 decimals)",
                                 code="found_income_6m_invalid")
    if none_found and value != 0:
        raise PreconditionFailed("已选择“核对未发现收入”，核对出的收入须为空",
                                 "'no income found' was chosen but an income was given", code="found_income_conflict")
    if value == 0 and not none_found:
        raise PreconditionFailed("核对出的收入为0时，请选择“核对未发现收入”并上传核对报告文件",
                                 "a found income of 0: choose 'no income found' and upload the report file",
                                 code="found_income_6m_required")
    if value == 0 and not p.get("file"):
        raise PreconditionFailed("选择“核对未发现收入”时须上传核对报告文件",
                                 "'no income found' needs the report file", code="report_file_required")
    return {"found_income_6m": f"{value:.2f}"} if value else {"no_income_found": True}


def _record_home_visit(case, actor, profile, cal, today, p):
    team: list[TeamMember] = list(p.get("team") or [])
    hv = profile.home_visit
    distinct = {m.user_id for m in team}
    if len(distinct) < hv.min_team:
        raise PreconditionFailed(f"入户调查每组不少于{hv.min_team}人（不同的调查人员）",
                                 f"a home visit needs at least {hv.min_team} distinct investigators",
                                 code="team_too_small", min_team=hv.min_team)
    for m in team:
        if m.role != "investigator" or not in_scope(Actor(m.user_id, m.role, m.unit_id), case):
            raise PreconditionFailed("调查人员须为本街道（乡镇）或其社区（村）的调查人员",
                                     "every investigator must belong to the case's office or its communities",
                                     code="investigator_out_of_scope", user_id=m.user_id)
    if actor.role == "investigator" and actor.user_id not in distinct:
        raise PreconditionFailed("调查人员只能登记本人参加的入户调查（谁入户、谁签字、谁负责）",
                                 "an investigator may only record a visit they were on", code="recorder_not_on_team")
    if hv.investigator_signatures and not all(m.signed for m in team):
        raise PreconditionFailed("所有调查人员须在入户调查表上签字（谁入户、谁签字、谁负责）",
                                 "every investigator must sign the survey form", code="investigator_signature_missing")
    if hv.applicant_signature and not (p.get("applicant_signed") or p.get("applicant_fingerprint")):
        raise PreconditionFailed("申请人须在入户调查表上签字（或按手印）",
                                 "the applicant must sign the survey form (or leave a fingerprint)",
                                 code="applicant_signature_required")
    on = _need_date(p, "visit_on", today, "入户调查日期", "visit date")
    if case.accepted_on and on < case.accepted_on:
        raise PreconditionFailed("入户调查日期不能早于受理日期", "the visit cannot predate acceptance",
                                 code="visit_on_before_acceptance")
    if case.investigation_from and case.investigation_from > case.accepted_on and on < case.investigation_from:
        raise PreconditionFailed(f"重新调查的入户日期不能早于重新调查开始日期（{case.investigation_from.isoformat()}）",
                                 f"the new visit cannot predate the re-investigation "
                                 f"({case.investigation_from.isoformat()})", code="visit_on_before_reinvestigation")
    return ({"visit_on": on}, {"visit_on": on.isoformat(), "team": sorted(distinct)}, None)


def person_key(name: str) -> str:
    """A name as compared for "the same person": width-folded (NFKC), case-folded, without any spaces."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def check_panel(panel: list[PanelMember], profile: Any) -> None:
    """The appraisal panel's own rules (members listed, each person once, at least the profile's size, known
    categories, the residents' share, every member signed where the profile asks it); raises
    PreconditionFailed naming the first one broken.  The console and the phones' appraisal record both
    come through here."""
    if not panel:
        raise PreconditionFailed("须登记民主评议小组成员", "the appraisal panel must be listed", code="panel_required")
    seen: dict[str, str] = {}
    twice = []
    for m in panel:
        key = person_key(m.name)
        if key in seen and m.name not in twice:
            twice.append(m.name)
        seen.setdefault(key, m.name)
    if twice:
        raise PreconditionFailed("同一人不能在评议小组中重复登记：" + "、".join(twice),
                                 "the same person is listed twice on the panel: " + ", ".join(twice),
                                 code="panel_member_duplicate", names=twice)
    minimum = profile.appraisal.min_panel
    if len(panel) < minimum:
        raise PreconditionFailed(f"民主评议小组不少于{minimum}人（现为 {len(panel)} 人）",
                                 f"the appraisal panel needs at least {minimum} members (now {len(panel)})",
                                 code="panel_too_small", minimum=minimum, panel=len(panel))
    unknown = [m.category for m in panel if m.category not in PANEL_CATEGORIES]
    if unknown:
        raise PreconditionFailed("评议人员类别无效：" + "、".join(unknown), "unknown panel category: " + ", ".join(unknown),
                                 code="panel_category_invalid")
    residents = sum(1 for m in panel if m.category == "resident")
    share = profile.resident_share
    if residents * share.denominator < share.numerator * len(panel):
        raise PreconditionFailed(
            f"居（村）民代表人数须不小于评议小组总人数的{share.numerator}/{share.denominator}"
            f"（现为 {residents}/{len(panel)}）",
            f"resident representatives must be at least {share.numerator}/{share.denominator} of the panel "
            f"(now {residents}/{len(panel)})", code="resident_share_too_low", residents=residents, panel=len(panel))
    if profile.appraisal.all_members_sign and not all(m.signed for m in panel):
        raise PreconditionFailed("所有参加评议人员须签字确认评议结果", "every panel member must sign",
                                 code="panel_signature_missing")


# The stages in which a reconciled visit becomes the household's record (its members, who is covered and the
# assessed income): before the review opinion, a return for correction (退回) included — it reopens the review
# at ``appraised`` or the investigation at ``accepted``.  Later, what the leader and director signed is what is
# published and paid; a visit's findings change it only through the director's decision.
RECORD_STAGES = frozenset({"accepted", "visited", "appraised"})


MEETING_TEXTS = ("place", "host", "recorder")   # 评议地点, 主持人, 记录人 (as the meeting's sheet names them)
MEETING_FLAGS = ("policy_briefed", "applicant_present", "investigators_present")


def _meeting_facts(meeting: Any, votes: Any, panel: int) -> dict[str, Any]:
    """The appraisal meeting's own facts, when the record carries them (a phone's appraisal does): where, who
    chaired and who took the minutes, whether the policy was explained and the applicant and the investigators
    spoke, and the votes — printed on the 民主评议记录 as the meeting recorded them."""
    out: dict[str, Any] = {}
    if isinstance(meeting, Mapping):
        # (lengths are the form's to check: the phone's record was validated against it; nothing is cut here)
        facts = {k: meeting[k].strip() for k in MEETING_TEXTS if isinstance(meeting.get(k), str) and meeting[k].strip()}
        facts.update({k: meeting[k] for k in MEETING_FLAGS if isinstance(meeting.get(k), bool)})
        if facts:
            out["meeting"] = facts
    if isinstance(votes, Mapping):
        counted = {k: votes[k] for k in ("for", "against")
                   if isinstance(votes.get(k), int) and not isinstance(votes.get(k), bool) and 0 <= votes[k] <= panel}
        if counted:
            out["votes"] = counted
    return out


def _record_appraisal(case, actor, profile, cal, today, p):
    panel: list[PanelMember] = list(p.get("panel") or [])
    check_panel(panel, profile)
    residents = sum(1 for m in panel if m.category == "resident")
    minutes = _need_text(p, "minutes", "详细的评议记录", "Detailed minutes")
    conclusion = p.get("conclusion")
    if conclusion not in ("agree", "disputed"):
        raise PreconditionFailed("评议结论须为“属实”或“争议较大”", "the conclusion must be agree or disputed",
                                 code="conclusion_invalid")
    on = _need_date(p, "appraisal_on", today, "评议日期", "appraisal date")
    if case.visit_on and on < case.visit_on:
        raise PreconditionFailed("评议日期不能早于入户调查日期", "the appraisal cannot predate the visit",
                                 code="appraisal_on_before_visit")
    data = {"conclusion": conclusion, "residents": residents, "panel": len(panel), "minutes": minutes,
            "appraisal_on": on.isoformat()}
    data.update(_meeting_facts(p.get("meeting"), p.get("votes"), len(panel)))
    if conclusion == "disputed" and profile.appraisal.disputed_returns_to_investigation:
        # 争议较大：重新组织家庭经济状况调查核实 — the visit must be done again.
        return {"visit_on": None, "appraisal_on": None, "investigation_from": on}, data, "accepted"
    return {"appraisal_on": on}, data, None


def _review_opinion(case, actor, profile, cal, today, p):
    if case.verification_report_on is None:
        raise PreconditionFailed("核对报告出具后才能审核", "the review needs the verification report",
                                 code="verification_report_missing")
    recommendation = p.get("recommendation")
    if recommendation not in ("approve", "refuse"):
        raise PreconditionFailed("审核意见须为“拟批准”或“拟不予批准”", "the recommendation must be approve or refuse",
                                 code="recommendation_invalid")
    assessed = p.get("assessed_income_6m")
    if not isinstance(assessed, Decimal) or not assessed.is_finite() or assessed < 0:
        raise PreconditionFailed("须填写“认定的6个月家庭收入（元）”（不能为空）",
                                 "the 'assessed 6-month income' must be given (it cannot be blank)",
                                 code="assessed_income_6m_required")
    if not p.get("property_checked"):
        raise PreconditionFailed("须逐项核对家庭财产状况（勾选符合的财产情形，并确认“已逐项核对”）",
                                 "check the household's property item by item (tick what applies and confirm)",
                                 code="property_checked_required")
    opinion = _need_text(p, "opinion", "审核意见", "The review opinion")
    data: dict[str, Any] = {"recommendation": recommendation, "opinion": opinion}
    elig = p.get("eligibility")
    if elig is not None:
        data["eligibility"] = elig.as_json()
        if recommendation == "approve" and not elig.ok:
            raise PreconditionFailed("家庭不符合低保条件，应提出拟不予批准意见：" + elig.text("zh"),
                                     "the household does not qualify; propose refusal: " + elig.text("en"),
                                     code="not_eligible", **elig.as_json())
    return ({"review_opinion_on": today, "recommendation": recommendation}, data, None)


def _sign_review(case, actor, profile, cal, today, p):
    if not p.get("signature"):
        raise PreconditionFailed("分管领导须签署审核意见", "the leader must sign the review opinion",
                                 code="signature_required")
    opinion = _need_text(p, "opinion", "分管领导的审核意见", "The leader's review opinion")
    return {"reviewed_on": today}, {"opinion": opinion}, None


def _record_meeting(case, actor, profile, cal, today, p):
    if not profile.has_meeting:
        raise IllegalTransition("本规则不设会议研究环节", "this profile has no meeting step", code="no_meeting_step")
    record = _need_text(p, "record", "会议记录", "The meeting record")
    on = _need_date(p, "meeting_on", today, "会议日期", "meeting date")
    _not_before(on, case.reviewed_on, "meeting_on", "会议日期", "meeting date", "分管领导签署审核意见日期",
                "the leader's signed review")
    attendees = [str(a).strip() for a in p.get("attendees") or [] if str(a).strip()]
    if len(set(attendees)) != len(attendees):
        raise PreconditionFailed("参会人员姓名重复", "an attendee is named twice", code="attendees_duplicate")
    need = profile.meeting.min_attendees
    if len(attendees) < need:
        raise PreconditionFailed(f"参会人员至少{need}人", f"at least {need} attendees are required",
                                 code="attendees_too_few", minimum=need)
    decision = p.get("decision")
    if decision not in ("approve", "refuse"):
        raise PreconditionFailed("会议意见须为“拟批准”或“拟不予批准”", "the decision must be approve or refuse",
                                 code="decision_invalid")
    elig = p.get("eligibility")
    if decision == "approve" and elig is not None and not elig.ok:
        raise PreconditionFailed("家庭不符合低保条件，会议不能提出拟批准意见：" + elig.text("zh"),
                                 "the household does not qualify; the meeting cannot propose approval: "
                                 + elig.text("en"), code="not_eligible", **elig.as_json())
    data = {"record": record, "decision": decision, "meeting_on": on.isoformat(), "attendees": attendees}
    if p.get("scan_file"):
        data["scan_file"] = p["scan_file"]
    return {"meeting_on": on, "recommendation": decision}, data, None


def _open_publicity(case, actor, profile, cal, today, p):
    if case.status == "reviewed" and profile.has_meeting and not case.needs_republication:
        raise PreconditionFailed("公示前须提出拟保障意见并会议研究", "the meeting must study the case before publicity",
                                 code="meeting_required")
    if case.recommendation != "approve":
        raise PreconditionFailed("审核意见为拟不予批准，不进行公示，请作出不予批准决定",
                                 "the review recommends refusal: refuse instead of publicising",
                                 code="recommendation_not_approve")
    boards = list(p.get("boards") or [])
    if not boards:
        raise PreconditionFailed("须选择公示栏", "choose at least one notice board", code="boards_required")
    unknown = list(p.get("unknown_boards") or ())
    if unknown:
        raise PreconditionFailed("不是本案的公示栏：" + "、".join(unknown), "not a notice board of this case: "
                                 + ", ".join(unknown), code="board_unknown", boards=unknown)
    missing = missing_board_levels(p.get("required_levels", profile.publicity.board_levels),
                                   (p.get("board_levels") or {}).values())
    if missing:
        raise PreconditionFailed(
            "公示须覆盖规则要求的每一级公示栏；缺少：" + "、".join(BOARD_LEVEL_NAMES[lv][0] for lv in missing),
            "publicity must be on a board of every level the rules name; missing: "
            + ", ".join(BOARD_LEVEL_NAMES[lv][1] for lv in missing), code="board_level_missing", missing=missing)
    close = earliest_publicity_close(profile, cal, today)
    fields = {"publicity_opened_on": today, "publicity_earliest_close": close.date, "publicity_closed_on": None,
              "publicity_rounds": case.publicity_rounds + 1, "needs_republication": False, "objection_on": None}
    return fields, {"boards": boards, "earliest_close": close.date.isoformat(),
                    "provisional": close.provisional, "round": case.publicity_rounds + 1}, None


# Where an objection came in: the case page offers exactly these (a board's QR report arrives as "board").
OBJECTION_SOURCES = {
    "window": ("窗口", "At the window"),
    "phone": ("电话", "By phone"),
    "board": ("公示栏扫码", "From a notice board's QR code"),
}


def _record_objection(case, actor, profile, cal, today, p):
    text = _need_text(p, "text", "异议内容", "The objection")
    source = p.get("source", "window")
    if source not in OBJECTION_SOURCES:
        raise PreconditionFailed("异议来源须为：窗口、电话或公示栏扫码",
                                 "the objection's source must be window, phone or board", code="source_invalid")
    due = cal.add_workdays(today, profile.deadlines.objection_redecision)
    return ({"objection_on": today}, {"text": text, "source": source,
                                      "redecision_due": due.date.isoformat(), "provisional": due.provisional}, None)


def _resolve_objection(case, actor, profile, cal, today, p):
    finding = _need_text(p, "finding", "重新调查核实的结论", "The re-investigation's finding")
    outcome = p.get("outcome")
    if outcome not in OBJECTION_OUTCOMES:
        raise PreconditionFailed("核实结论须为：异议不成立（维持拟批准）、异议成立（报主任不予批准）或修正认定（退回经办人审核）",
                                 "the outcome must be uphold, founded (to the director for refusal) or revise "
                                 "(back to the caseworker's review)", code="outcome_invalid")
    if outcome == "founded":
        # 异议成立: the proposal becomes refusal; the director decides (refuse) with the reasons.
        return ({"objection_on": None, "recommendation": "refuse", "reviewed_on": today, "needs_republication": False},
                {"finding": finding, "outcome": outcome}, "reviewed")
    if outcome == "revise":
        # 部分成立: the figures are revised at the caseworker's review, signed again and publicised again.
        return ({**_REVIEW_CLEARED, "objection_on": None, "returned_on": today},
                {"finding": finding, "outcome": outcome}, "appraised")
    if not profile.publicity.republish_after_objection:
        return ({"objection_on": None, "publicity_closed_on": today}, {"finding": finding, "outcome": outcome},
                "publicity_closed")
    return ({"needs_republication": True, "objection_on": None, "reviewed_on": today},
            {"finding": finding, "outcome": outcome}, None)


OBJECTION_OUTCOMES = {
    "uphold": ("异议不成立，维持拟批准", "Objection unfounded: the proposal stands"),
    "founded": ("异议成立，报主任作出不予批准决定", "Objection founded: to the director for refusal"),
    "revise": ("部分成立，退回经办人修正认定后重新审核", "Partly founded: back to the caseworker's review to revise"),
}

# What a return to the caseworker's review undoes: the review, its signature, the meeting and publicity.
_REVIEW_CLEARED: dict[str, Any] = {
    "review_opinion_on": None, "recommendation": None, "reviewed_on": None, "meeting_on": None,
    "publicity_opened_on": None, "publicity_earliest_close": None, "publicity_closed_on": None,
    "needs_republication": False,
}

RETURN_TARGETS = {
    "review": ("appraised", "退回经办人重新审核", "Back to the caseworker's review"),
    "investigation": ("accepted", "退回重新调查核实", "Back to re-investigation"),
}
# Who may return a case, and from where: the leader at signing, the director at approval (or refusal).
RETURN_FROM = {"leader": ("review_signing",), "director": ("reviewed", "meeting_held", "publicity_closed")}


def _return_for_correction(case, actor, profile, cal, today, p):
    """退回: the leader at signing, or the director at approval, sends the case back with written reasons.
    The overall clock keeps running (acceptance is untouched); the returned step's own limit restarts."""
    if case.status not in RETURN_FROM.get(actor.role, ()):
        zh, en = STATE_NAMES[case.status]
        raise IllegalTransition(f"案件处于“{zh}”状态，不能由此角色退回", f"this role cannot return a case in state '{en}'",
                                code="return_not_here", state=case.status)
    to = p.get("to")
    if to not in RETURN_TARGETS:
        raise PreconditionFailed("请选择退回到经办人审核或重新调查核实", "choose: back to review or to re-investigation",
                                 code="return_to_invalid")
    reasons = _need_text(p, "reasons", "退回理由", "The reasons for returning the case")
    fields = {**_REVIEW_CLEARED, "returned_on": today}
    if to == "investigation":
        fields.update(visit_on=None, appraisal_on=None, investigation_from=today)
    return fields, {"reasons": reasons, "to": to}, RETURN_TARGETS[to][0]


def _close_publicity(case, actor, profile, cal, today, p):
    if case.publicity_earliest_close and today < case.publicity_earliest_close:
        raise PreconditionFailed(
            f"公示期不少于{profile.publicity.minimum}天，最早 {case.publicity_earliest_close.isoformat()} 可结束",
            f"publicity lasts at least {profile.publicity.minimum} days; it may close on "
            f"{case.publicity_earliest_close.isoformat()} at the earliest", code="publicity_too_short",
            earliest=case.publicity_earliest_close.isoformat())
    return {"publicity_closed_on": today}, {}, None


def _approve(case, actor, profile, cal, today, p):
    if not p.get("signature"):
        raise PreconditionFailed("主任须在审批表上签署审批意见", "the director must sign the approval form",
                                 code="signature_required")
    if case.objection_on is not None:
        raise PreconditionFailed("有未处理的异议，不能审批", "an objection is still open", code="objection_open")
    opinion = _need_text(p, "opinion", "主任的审批意见", "The director's approval opinion")
    elig = p.get("eligibility")
    if elig is not None and not elig.ok:
        raise PreconditionFailed("家庭不符合低保条件，不能批准：" + elig.text("zh"),
                                 "the household does not qualify and cannot be approved: " + elig.text("en"),
                                 code="not_eligible", **elig.as_json())
    amount = _need_amount(p)
    return {"decided_on": today}, {"amount": str(amount), "opinion": opinion}, None


def _refuse(case, actor, profile, cal, today, p):
    reasons = _need_text(p, "reasons", "不予批准的理由", "The reasons for refusal")
    return {"decided_on": today}, {"reasons": reasons}, None


# A certificate's number is printed on it and shown on the public check page (/v/<token>): a code, not a text.
_CERTIFICATE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{3,39}", re.ASCII)
_DIGIT_RUN = re.compile(r"[0-9]+", re.ASCII)
_MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)


def certificate_number(text: str) -> str:
    """The certificate number as it is printed and published (uppercase), or PreconditionFailed: ASCII letters,
    digits and hyphens, 4-40 characters, starting with a letter or digit, and no run of digits that reads as a
    mainland mobile number or an ID number (the public page must never show one, whoever typed it)."""
    number = text.strip() if isinstance(text, str) else ""
    if not _CERTIFICATE_NUMBER.fullmatch(number):
        raise PreconditionFailed("低保证编号只能由英文字母、数字和连字符（-）组成，以字母或数字开头，共4至40个字符",
                                 "the certificate number may hold only letters A-Z, digits and hyphens, start with "
                                 "a letter or digit and have 4-40 characters", code="number_invalid", field="number")
    number = number.upper()
    for run in _DIGIT_RUN.finditer(number):
        digits = run.group(0)
        if (len(digits) in (15, 18) or (len(digits) == 17 and number[run.end():run.end() + 1] == "X")
                or _MOBILE.fullmatch(digits)):
            raise PreconditionFailed("低保证编号会公开显示在核验页面上，不能含有手机号码或身份证号码",
                                     "the certificate number is shown on the public check page: it must not hold "
                                     "a mobile or ID number", code="number_invalid", field="number")
    return number


def publishable_certificate_number(text: str | None) -> bool:
    """May a stored number be shown on the public page?  Rows stored before the check may hold anything."""
    try:
        certificate_number(text or "")
    except PreconditionFailed:
        return False
    return True


def _issue_certificate(case, actor, profile, cal, today, p):
    number = certificate_number(_need_text(p, "number", "低保证编号", "The certificate number"))
    valid_from, valid_until = p.get("valid_from", today), p.get("valid_until")
    if not isinstance(valid_from, dt.date) or not isinstance(valid_until, dt.date) or valid_until <= valid_from:
        raise PreconditionFailed("低保证须标明有效期限（截止日期晚于起始日期）",
                                 "the certificate needs a validity period ending after it starts",
                                 code="validity_invalid")
    if case.decided_on and valid_from < case.decided_on:
        raise PreconditionFailed(f"低保证有效期不能早于批准日期（{case.decided_on.isoformat()}）",
                                 f"the certificate cannot be valid before the approval ({case.decided_on.isoformat()})",
                                 code="valid_from_before_approval", approved_on=case.decided_on.isoformat())
    months = profile.certificate.validity_months
    longest = certificate_valid_until(valid_from, months)
    if valid_until > longest:
        raise PreconditionFailed(f"低保证有效期最长{months}个月（自 {valid_from.isoformat()} 起至 {longest.isoformat()}）",
                                 f"a certificate is valid for at most {months} months (from {valid_from.isoformat()} "
                                 f"to {longest.isoformat()})", code="validity_too_long", longest=longest.isoformat())
    return ({"certificate_until": valid_until},
            {"number": number, "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat()}, None)


def _start_payment(case, actor, profile, cal, today, p):
    return {}, {"month": p.get("month", today.strftime("%Y-%m"))}, None


def _start_rereview(case, actor, profile, cal, today, p):
    return {}, {"reason": (p.get("reason") or "scheduled").strip()}, None


def _complete_rereview(case, actor, profile, cal, today, p):
    outcome = p.get("outcome")
    if outcome not in ("continue", "change", "gradual_exit", "stop"):
        raise PreconditionFailed("复核结论无效", "unknown re-review outcome", code="outcome_invalid")
    # 定期核查: a conclusion rests on what was found after the re-review opened — a visit, or the
    # verification platform's report.  A family that refuses the re-review is the one exception.
    evidence = list(p.get("evidence") or [])
    if not evidence and not (outcome == "stop" and p.get("category") == "refused"):
        raise PreconditionFailed("复核结论须有启动复核后的入户调查或家庭经济状况核对报告",
                                 "a re-review decision needs a visit or a verification report made after the "
                                 "re-review opened", code="rereview_evidence_required")
    data: dict[str, Any] = {"outcome": outcome}
    if evidence:
        data["evidence"] = evidence
    if outcome != "continue":
        data["reasons"] = _need_text(p, "reasons", "调整或停保的理由", "The reasons")
    if outcome == "change":
        data["amount"] = str(_need_amount(p))
    target = {"continue": "in_payment", "change": "in_payment", "gradual_exit": "gradual_exit",
              "stop": "stopped"}[outcome]
    fields = {"exit_month": 0} if target == "gradual_exit" else {}
    if target == "stopped":
        fields["decided_on"] = today
    return fields, data, target


def _record_change(case, actor, profile, cal, today, p):
    direction = p.get("direction")
    if direction not in ("raise", "lower"):
        raise PreconditionFailed("调整方向须为增发或减发", "direction must be raise or lower", code="direction_invalid")
    reasons = _need_text(p, "reasons", "调整理由", "The reasons")
    return {}, {"direction": direction, "reasons": reasons, "amount": str(_need_amount(p))}, None


def _start_gradual_exit(case, actor, profile, cal, today, p):
    if profile.gradual_exit.months == 0:
        raise IllegalTransition("本规则不设渐退", "this profile has no gradual exit", code="no_gradual_exit")
    reasons = _need_text(p, "reasons", "渐退理由", "The reasons")
    return {"exit_month": 0}, {"reasons": reasons, "months": profile.gradual_exit.months}, None


def _finish_gradual_exit(case, actor, profile, cal, today, p):
    return {"decided_on": today}, {}, None


def _stop(case, actor, profile, cal, today, p):
    reasons = _need_text(p, "reasons", "停保（取消）理由", "The reasons for stopping")
    return {"decided_on": today}, {"reasons": reasons}, None


_OFFICE = ("caseworker",)
_VISITORS = ("caseworker", "investigator")

RULES: dict[str, Rule] = {r.action: r for r in (
    Rule("notify_missing", ("application",), "application", _OFFICE, _notify_missing, "一次性告知补齐材料",
         "Notify all missing materials"),
    Rule("accept", ("application",), "accepted", _OFFICE, _accept, "受理", "Accept"),
    Rule("abandon", ("application", "accepted", "visited"), "abandoned", _OFFICE, _abandon, "视为放弃申请",
         "Treat as abandoned"),
    Rule("request_verification", ("accepted", "visited", "appraised"), "", _OFFICE, _request_verification,
         "发起家庭经济状况核对", "Request verification"),
    Rule("record_verification_report", ("accepted", "visited", "appraised"), "", _OFFICE,
         _record_verification_report, "登记核对报告", "Record the verification report"),
    Rule("record_home_visit", ("accepted",), "visited", _VISITORS, _record_home_visit, "登记入户调查",
         "Record the home visit"),
    Rule("record_appraisal", ("visited",), "appraised", _OFFICE, _record_appraisal, "登记民主评议",
         "Record the democratic appraisal"),
    Rule("review_opinion", ("appraised",), "review_signing", _OFFICE, _review_opinion, "经办人审核",
         "Caseworker's review"),
    Rule("sign_review", ("review_signing",), "reviewed", ("leader",), _sign_review, "分管领导签署审核意见",
         "Leader signs the review"),
    Rule("record_meeting", ("reviewed",), "meeting_held", ("caseworker", "leader", "director"), _record_meeting,
         "会议研究", "Record the meeting"),
    Rule("open_publicity", ("reviewed", "meeting_held"), "publicity", _OFFICE, _open_publicity, "公示",
         "Open publicity"),
    Rule("return_for_correction", ("review_signing", "reviewed", "meeting_held", "publicity_closed"), "appraised",
         ("leader", "director"), _return_for_correction, "退回修正", "Return for correction"),
    Rule("record_objection", ("publicity",), "objection", _OFFICE, _record_objection, "登记公示异议",
         "Record an objection"),
    Rule("resolve_objection", ("objection",), "reviewed", ("caseworker", "leader"), _resolve_objection,
         "重新调查核实后作出审核决定", "Decide after re-investigating"),
    Rule("close_publicity", ("publicity",), "publicity_closed", _OFFICE, _close_publicity, "公示期满",
         "Close publicity"),
    Rule("approve", ("publicity_closed",), "approved", ("director",), _approve, "审批（批准）", "Approve"),
    Rule("refuse", ("reviewed", "meeting_held", "objection", "publicity_closed"), "refused",
         ("director",), _refuse, "不予批准", "Refuse"),
    Rule("issue_certificate", ("approved",), "certified", _OFFICE, _issue_certificate, "发放低保证",
         "Issue the certificate"),
    Rule("start_payment", ("certified",), "in_payment", _OFFICE, _start_payment, "纳入发放", "Start payment"),
    Rule("start_rereview", ("in_payment",), "rereview", _OFFICE, _start_rereview, "启动复核", "Start a re-review"),
    Rule("complete_rereview", ("rereview",), "in_payment", ("director",), _complete_rereview, "复核结论",
         "Decide the re-review"),
    Rule("record_change", ("in_payment",), "in_payment", ("director",), _record_change, "增发/减发",
         "Raise or lower the payment"),
    Rule("start_gradual_exit", ("in_payment",), "gradual_exit", ("director",), _start_gradual_exit, "渐退",
         "Start gradual exit"),
    Rule("finish_gradual_exit", ("gradual_exit",), "stopped", _OFFICE, _finish_gradual_exit, "渐退期满停保",
         "Finish gradual exit"),
    Rule("stop", ("in_payment", "rereview", "gradual_exit"), "stopped", ("director",), _stop, "停保（取消）",
         "Stop payment"),
)}


def allowed_actions(case: CaseState, actor: Actor, profile: Any) -> list[str]:
    """The actions this actor could attempt now (preconditions are checked on :func:`apply`)."""
    if not in_scope(actor, case):
        return []
    out = []
    for rule in RULES.values():
        if case.status in rule.from_states and actor.role in rule.roles:
            if rule.action == "record_meeting" and not profile.has_meeting:
                continue
            if rule.action == "return_for_correction" and case.status not in RETURN_FROM.get(actor.role, ()):
                continue
            if rule.action == "open_publicity" and case.status == "reviewed" and profile.has_meeting \
                    and not case.needs_republication:
                continue
            out.append(rule.action)
    return out


def apply(case: CaseState, action: str, actor: Actor, profile: Any, cal: WorkCalendar, today: dt.date,
          payload: Mapping[str, Any] | None = None) -> Outcome:
    """Attempt ``action``; return the new state and the event, or raise a :class:`WorkflowError`."""
    rule = RULES.get(action)
    if rule is None:
        raise IllegalTransition(f"未知操作：{action}", f"unknown action: {action}", code="unknown_action")
    if not in_scope(actor, case):
        raise OutOfScope("无权处理其他单位的案件", "this case belongs to another unit")
    if actor.role not in rule.roles:
        allowed = "、".join(ROLE_NAMES[r][0] if r in ROLE_NAMES else r for r in rule.roles)
        allowed_en = ", ".join(ROLE_NAMES[r][1] if r in ROLE_NAMES else r for r in rule.roles)
        raise NotPermitted(f"“{rule.zh}”只能由以下角色办理：{allowed}",
                           f"'{rule.en}' may only be done by: {allowed_en}", roles=list(rule.roles))
    if case.status not in rule.from_states:
        zh, en = STATE_NAMES[case.status]
        raise IllegalTransition(f"案件处于“{zh}”状态，不能“{rule.zh}”",
                                f"cannot '{rule.en}' a case in state '{en}'", state=case.status)
    fields, data, target = rule.handler(case, actor, profile, cal, today, dict(payload or {}))
    to_status = target or rule.to_state or case.status
    on = today
    if action in STEP_DATE_KEYS and data.get(STEP_DATE_KEYS[action]):
        on = dt.date.fromisoformat(data[STEP_DATE_KEYS[action]])
        data = {**data, **step_timing(on, today, step_due(case, action, profile, cal), profile.dates.backdating_workdays, cal)}
    new_state = replace(case, status=to_status, **fields)
    return Outcome(new_state, Event(action, case.status, to_status, data, on))


# --- deadlines -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepDeadline:
    step: str
    due: Deadline

    @property
    def label(self) -> tuple[str, str]:
        return STEP_NAMES[self.step]


STEP_NAMES = {
    "overall": ("受理至审批总时限", "Overall limit from acceptance to decision"),
    "verification_request": ("发起核对", "Verification request"),
    "home_visit": ("入户调查", "Home visit"),
    "appraisal": ("民主评议", "Democratic appraisal"),
    "review": ("签署审核意见", "Review signed"),
    "meeting": ("会议研究", "Meeting"),
    "publicity_close": ("公示最早结束", "Earliest end of publicity"),
    "objection_redecision": ("异议重新审核决定", "Decision after objection"),
    "approval": ("主任审批", "Director's decision"),
}


def pending_deadlines(case: CaseState, profile: Any, cal: WorkCalendar) -> list[StepDeadline]:
    """The time limits still running for this case, earliest first."""
    d, out = profile.deadlines, []
    add = out.append
    if case.status in UNDECIDED and case.accepted_on:
        add(StepDeadline("overall", cal.add_workdays(case.accepted_on, d.overall)))
        if case.verification_requested_on is None:
            add(StepDeadline("verification_request", cal.add_workdays(case.accepted_on, d.verification_request)))
    if case.status == "accepted" and (case.investigation_from or case.accepted_on):
        start = case.investigation_from or case.accepted_on
        add(StepDeadline("home_visit", cal.add_workdays(start, d.home_visit)))
    if case.status == "visited" and case.visit_on:
        add(StepDeadline("appraisal", cal.add_workdays(case.visit_on, d.appraisal)))
    if case.status in ("appraised", "review_signing") and case.verification_report_on:
        start = max(case.verification_report_on, case.returned_on or case.verification_report_on)
        add(StepDeadline("review", cal.add_workdays(start, d.review)))
    if case.status == "reviewed" and profile.has_meeting and not case.needs_republication and case.reviewed_on:
        add(StepDeadline("meeting", cal.add_workdays(case.reviewed_on, d.meeting)))
    if case.status == "publicity" and case.publicity_earliest_close:
        add(StepDeadline("publicity_close", Deadline(case.publicity_earliest_close, False)))
    if case.status == "objection" and case.objection_on:
        add(StepDeadline("objection_redecision", cal.add_workdays(case.objection_on, d.objection_redecision)))
    if case.status == "publicity_closed" and case.publicity_closed_on:
        add(StepDeadline("approval", cal.add_workdays(case.publicity_closed_on, d.approval)))
    return sorted(out, key=lambda s: s.due.date)


def next_deadline(case: CaseState, profile: Any, cal: WorkCalendar) -> StepDeadline | None:
    """The earliest running time limit that is a duty (publicity's earliest close is not a duty)."""
    duties = [s for s in pending_deadlines(case, profile, cal) if s.step != "publicity_close"]
    return duties[0] if duties else None


def urgency(case: CaseState, profile: Any, cal: WorkCalendar, today: dt.date) -> str | None:
    """"overdue", "due_soon" or "ok" for the case's next duty; None when nothing is running."""
    step = next_deadline(case, profile, cal)
    if step is None:
        return None
    return deadline_status(today, step.due.date, cal, profile.deadlines.warn_workdays)
