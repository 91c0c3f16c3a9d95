"""Reading the console's forms into the payloads the operations take.  No rule of the procedure lives
here: this only turns strings into dates, numbers, ids and stored files, and reports every field that
cannot be read, all at once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from server import services
from server.domain.declaration import BAD_COMMA, PROPERTY_ITEMS, amount, amount_problem
from server.domain.text import bad_characters_message, has_bad_characters
from server.domain.workflow import OBJECTION_SOURCES
from server.models import Case, Member, User
from server.operations import OperationError
from server.operations import attachments as files
from server.operations.visits import NOTE_MAX

TEXT_LIMIT = 2000        # a typed text kept in a step's record (opinions, reasons, findings)
LONG_TEXT_LIMIT = 20000  # minutes of an appraisal or a meeting
NOTE_LIMIT = NOTE_MAX    # a note on an assignment (the operation's limit)

ISO_DATE = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")   # what <input type=date> sends (not 2026-W05-3 nor 20260105)
# How the console's free-text fields are named when one is refused (the key itself otherwise).
TEXT_LABELS = {
    "reason": ("原因", "Reason"), "reasons": ("理由", "Reasons"), "opinion": ("意见", "Opinion"),
    "omission_reason": ("未报核对成员的理由", "Reason for members left out"),
    "found_property": ("核对出的财产", "Property found"), "note": ("备注", "Note"), "notes": ("情况说明", "Notes"),
    "minutes": ("评议记录", "Minutes"), "record": ("会议记录", "Meeting minutes"), "text": ("异议内容", "Objection"),
    "finding": ("核实结论", "Finding"), "number": ("低保证编号", "Certificate number"),
    "description": ("变化情况", "Description of the change"), "evidence": ("依据", "Evidence"),
    "label": ("加分事项", "Bonus item"), "panel_name": ("评议人员姓名", "A panel member's name"),
    "attendee": ("参会人员姓名", "An attendee's name"),
    # the intake form and the paper visit form (a member's name and place are named by their row)
    "address": ("居住地址", "Address"), "phone": ("联系电话", "Phone number"),
    "staff_relative_note": ("近亲属说明", "Note on the staff relative"),
    "living_notes": ("生活状况说明", "Notes on living conditions"), "summary": ("调查情况综述", "Summary of the findings"),
    **{f"property_{item}": pair for item, pair in PROPERTY_ITEMS.items()},
}


class FormError(Exception):
    """One or more fields could not be read.  ``errors`` is a list of (field, zh, en)."""

    status = 422

    def __init__(self, errors: list[tuple[str, str, str]]):
        self.errors = errors
        super().__init__("; ".join(e[2] for e in errors))

    @property
    def message(self) -> str:
        return "；".join(e[1] for e in self.errors)

    @property
    def message_en(self) -> str:
        return "; ".join(e[2] for e in self.errors)


class Reader:
    """Collects field errors while reading a form."""

    def __init__(self, form: MultiDict, files_: MultiDict | None = None, user: User | None = None,
                 today: dt.date | None = None):
        self.form, self.files, self.user = form, files_ or MultiDict(), user
        self.today = today or dt.date.today()
        self.errors: list[tuple[str, str, str]] = []

    def fail(self, field: str, zh: str, en: str) -> None:
        self.errors.append((field, zh, en))

    def text(self, key: str, limit: int = TEXT_LIMIT, *, line: bool = False) -> str:
        """A typed text; longer than ``limit`` is a field error (never cut silently: the page keeps it all), so is
        a control or text-direction character (and, for a field of one ``line``, a tab or a line break)."""
        raw = self.form.get(key) or ""
        self.check_text(key, raw, line=line)
        value = raw.strip()
        if len(value) > limit:
            self.fail(key, f"不能超过{limit}个字（现有{len(value)}个）",
                      f"must not exceed {limit} characters (it has {len(value)})")
        return value[:limit]

    def check_text(self, key: str, value: str, *, line: bool = False, label: tuple[str, str] | None = None) -> None:
        """A field error, naming the field (by ``label``, else as TEXT_LABELS names it), when ``value`` holds a
        control or text-direction character."""
        if has_bad_characters(value, line=line):
            error = (key, *bad_characters_message(*(label or TEXT_LABELS.get(key, (key, key)))))
            if error not in self.errors:   # once for a field of several values
                self.errors.append(error)

    def flag(self, key: str) -> bool:
        return self.form.get(key) in ("1", "on", "true", "yes")

    def date(self, key: str, zh: str, en: str, default: dt.date | None = None) -> dt.date | None:
        raw = (self.form.get(key) or "").strip()
        if not raw:
            if default is None:
                self.fail(key, f"请填写{zh}", f"{en} is required")
            return default
        try:
            if not ISO_DATE.fullmatch(raw):
                raise ValueError(raw)
            return dt.date.fromisoformat(raw)
        except ValueError:
            self.fail(key, f"{zh}应为 YYYY-MM-DD 格式的日期", f"{en} must be a YYYY-MM-DD date")
            return default

    def ids(self, key: str) -> list[int]:
        out = []
        for raw in self.form.getlist(key):
            try:
                out.append(int(raw))
            except ValueError:
                self.fail(key, "选择无效", "invalid selection")
        return out

    def money(self, key: str, zh: str, en: str):
        """A required amount: a blank is a field error, never 0 (see optional_money for a blank kept blank)."""
        raw = self.form.get(key) or ""
        if not raw.strip():
            self.fail(key, f"请填写{zh}（没有请填 0）", f"{en} is required (type 0 for none)")
            return None
        value = amount(raw)
        if value is None:
            if amount_problem(raw) == BAD_COMMA:
                self.fail(key, f"{zh}：{BAD_COMMA[0]}", f"{en}: {BAD_COMMA[1]}")
            else:
                self.fail(key, f"{zh}应为不小于0、最多两位小数的金额", f"{en} must be an amount (0 or more, 2 decimals)")
        return value

    def optional_money(self, key: str, zh: str, en: str):
        """An amount, or None when the field was left blank (a blank figure is never read as 0)."""
        if not (self.form.get(key) or "").strip():
            return None
        return self.money(key, zh, en)

    def upload(self, key: str, *, documents: bool = False, required: bool = False) -> str | None:
        f: FileStorage | None = self.files.get(key)
        if f is None or not f.filename:
            if required:
                self.fail(key, "请上传文件", "a file is required")
            return None
        try:
            return files.save(f.read(), declared_type=f.mimetype, user=self.user, documents=documents)
        except OperationError as exc:
            self.fail(key, exc.message, exc.message_en)
            return None

    def signature(self, key: str, *, required: bool = True) -> str | None:
        value = (self.form.get(key) or "").strip()
        if not value:
            if required:
                self.fail(key, "请在签名框内手写签名", "draw the signature in the box")
            return None
        try:
            return files.save_data_url(value, user=self.user)
        except OperationError as exc:
            self.fail(key, exc.message, exc.message_en)
            return None

    def done(self) -> None:
        if self.errors:
            raise FormError(self.errors)


# --- one reader per workflow action: form -> payload --------------------------------------------

def _accept(r: Reader, case: Case) -> dict[str, Any]:
    p = {"materials": r.form.getlist("materials"), "applicant_signed": r.flag("applicant_signed"),
         "accepted_on": r.date("accepted_on", "受理日期", "Acceptance date", r.today)}
    p["applicant_signature_file"] = r.signature("applicant_signature", required=False)
    p["fingerprint_file"] = r.upload("fingerprint")
    p["applicant_signed"] = p["applicant_signed"] or bool(p["applicant_signature_file"])
    p["fingerprint"] = bool(p["fingerprint_file"])   # the image, never a bare tick
    return p


def _notify_missing(r: Reader, case: Case) -> dict[str, Any]:
    return {"materials": r.form.getlist("materials")}


def _abandon(r: Reader, case: Case) -> dict[str, Any]:
    return {"reason": r.text("reason")}


def _request_verification(r: Reader, case: Case) -> dict[str, Any]:
    members = [m.name for m in case.household.members if str(m.id) in r.form.getlist("members")]
    return {"members": members, "requested_on": r.date("requested_on", "核对发起日期", "Request date", r.today),
            "omission_reason": r.text("omission_reason")}


def _record_verification_report(r: Reader, case: Case) -> dict[str, Any]:
    found = r.optional_money("found_income_6m", "核对出的6个月收入", "Income found over 6 months")
    return {"report_on": r.date("report_on", "报告日期", "Report date", r.today),
            "found_income_6m": str(found) if found is not None else None,
            "no_income_found": r.flag("no_income_found"),
            "found_property": r.text("found_property", line=True), "note": r.text("note", line=True),
            "file": r.upload("report_file", documents=True)}


def _record_appraisal(r: Reader, case: Case) -> dict[str, Any]:
    names, cats = r.form.getlist("panel_name"), r.form.getlist("panel_category")
    signed = set(r.form.getlist("panel_signed"))
    for n in names:
        r.check_text("panel_name", n, line=True)
    panel = [{"name": n.strip(), "category": c, "signed": str(i) in signed}
             for i, (n, c) in enumerate(zip(names, cats, strict=False)) if n.strip()]
    return {"panel": panel, "minutes": r.text("minutes", LONG_TEXT_LIMIT), "conclusion": r.form.get("conclusion"),
            "appraisal_on": r.date("appraisal_on", "评议日期", "Appraisal date", r.today),
            "scan_file": r.upload("scan", documents=True)}


def _review_opinion(r: Reader, case: Case) -> dict[str, Any]:
    assessed = r.optional_money("assessed_income_6m", "认定的6个月家庭收入", "Assessed 6-month income")
    return {"recommendation": r.form.get("recommendation"), "opinion": r.text("opinion"),
            "assessed_income_6m": assessed, "property_found": r.form.getlist("property_found"),
            "property_checked": r.flag("property_checked")}


def _return_for_correction(r: Reader, case: Case) -> dict[str, Any]:
    return {"to": r.form.get("to"), "reasons": r.text("reasons")}


def _signed(r: Reader, case: Case) -> dict[str, Any]:
    sha = r.signature("signature")
    return {"signature": sha, "signature_file": sha, "opinion": r.text("opinion")}


MEETING_DECISIONS = ("approve", "refuse")


def _record_meeting(r: Reader, case: Case) -> dict[str, Any]:
    """The meeting record: every problem is reported at once (the workflow then checks the same rules)."""
    need = services().profiles[case.profile_id].meeting.min_attendees
    on = r.date("meeting_on", "会议日期", "Meeting date", r.today)
    if on is not None and on > r.today:
        r.fail("meeting_on", "会议日期不能晚于今天", "the meeting date cannot be in the future")
    elif on is not None and case.reviewed_on and on < case.reviewed_on:
        r.fail("meeting_on", f"会议日期不能早于分管领导签署审核意见日期（{case.reviewed_on.isoformat()}）",
               f"the meeting date cannot precede the leader's signed review ({case.reviewed_on.isoformat()})")
    attendees = [a.strip() for a in r.form.getlist("attendee") if a.strip()]
    name_limit = Member.name.property.columns[0].type.length
    for a in attendees:
        r.check_text("attendee", a, line=True)
        if len(a) > name_limit:
            r.fail("attendee", f"参会人员姓名不能超过{name_limit}个字", f"an attendee's name exceeds {name_limit} characters")
    if len(set(attendees)) != len(attendees):
        r.fail("attendee", "参会人员姓名重复", "an attendee is named twice")
    elif len(attendees) < need:
        r.fail("attendee", f"参会人员至少{need}人（现有{len(attendees)}人）",
               f"at least {need} attendees are required (there are {len(attendees)})")
    decision = r.form.get("decision")
    if decision not in MEETING_DECISIONS:
        r.fail("decision", "请选择研究结论", "choose the meeting's conclusion")
    record = r.text("record", LONG_TEXT_LIMIT)
    if not record:
        r.fail("record", "请填写会议记录", "the minutes are required")
    return {"record": record, "decision": decision, "meeting_on": on, "attendees": attendees,
            "scan_file": r.upload("scan", documents=True)}


def _open_publicity(r: Reader, case: Case) -> dict[str, Any]:
    return {"boards": r.form.getlist("boards")}


def _record_objection(r: Reader, case: Case) -> dict[str, Any]:
    source = r.form.get("source") or "window"
    if source not in OBJECTION_SOURCES:
        r.fail("source", "请选择异议来源：窗口、电话或公示栏扫码", "choose where the objection came in: window, phone or board")
    return {"text": r.text("text"), "source": source}


def _resolve_objection(r: Reader, case: Case) -> dict[str, Any]:
    return {"finding": r.text("finding"), "outcome": r.form.get("outcome")}


def _refuse(r: Reader, case: Case) -> dict[str, Any]:
    return {"reasons": r.text("reasons")}


def _issue_certificate(r: Reader, case: Case) -> dict[str, Any]:
    return {"number": r.text("number", Case.certificate_number.property.columns[0].type.length, line=True),
            "valid_from": r.date("valid_from", "有效期起", "Valid from", case.decided_on or r.today),
            "valid_until": r.date("valid_until", "有效期至", "Valid until")}


def _reasons(r: Reader, case: Case) -> dict[str, Any]:
    return {"reasons": r.text("reasons"), "reason": r.text("reason")}


def rereview_report(r: Reader) -> dict[str, Any]:
    """A new verification report given with a re-review decision (its file and date), if any."""
    report_file = r.upload("report_file", documents=True)
    report_on = r.date("report_on", "核对报告日期", "Report date", r.today)
    if report_on is not None and report_on > r.today:
        r.fail("report_on", "核对报告日期不能晚于今天", "the report date cannot be in the future")
    return {"report_file": report_file, "report_on": report_on} if report_file else {}


def _complete_rereview(r: Reader, case: Case) -> dict[str, Any]:
    return {"outcome": r.form.get("outcome"), "reasons": r.text("reasons"), "category": r.form.get("category", ""),
            **rereview_report(r)}


def _nothing(r: Reader, case: Case) -> dict[str, Any]:
    return {}


READERS: dict[str, Callable[[Reader, Case], dict[str, Any]]] = {
    "accept": _accept, "notify_missing": _notify_missing, "abandon": _abandon,
    "request_verification": _request_verification, "record_verification_report": _record_verification_report,
    "record_appraisal": _record_appraisal, "review_opinion": _review_opinion, "sign_review": _signed,
    "record_meeting": _record_meeting, "open_publicity": _open_publicity, "record_objection": _record_objection,
    "resolve_objection": _resolve_objection, "close_publicity": _nothing, "approve": _signed, "refuse": _refuse,
    "issue_certificate": _issue_certificate, "start_payment": _nothing, "start_rereview": _reasons,
    "complete_rereview": _complete_rereview, "start_gradual_exit": _reasons, "finish_gradual_exit": _nothing,
    "stop": _reasons, "return_for_correction": _return_for_correction,
}
