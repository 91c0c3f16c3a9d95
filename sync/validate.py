"""Form definitions (``pwa/forms/*.json``) and the validation of a visit's answers — pure.

The same definitions drive the PWA's renderer and the server's checks, so a visit the phone lets
through is one the server accepts.

A definition::

    {"id": "household_survey", "version": 1, "kind": "home_visit" | "reinvestigation" | "rereview" | "spot_check",
     "title": {"zh": ..., "en": ...},
     "sections": [SECTION, ...],
     "slots": [SLOT, ...]}                       (optional: where photos and signatures go)

    SECTION  {"id", "title": {"zh", "en"}, "fields": [FIELD, ...]}
             or, repeating, {"id", "title", "repeat": true, "min": 1, "max": 20, "fields": [...]}
    FIELD    {"id", "type", "label": {"zh", "en"}, "required": bool,
              "show_if": {"field": "<an earlier field of the same section>", "equals": <value>},  (optional)
              "help": {"zh", "en"},                                                        (optional)
              "unique": true,         (optional, repeating sections only: no two items share the value)
              ...the type's own keys}
    SLOT     {"id", "label": {"zh", "en"}, "roles": ["photo" | "signature" | "fingerprint", ...],
              "min": int >= 0, "max": int >= max(min, 1)}

Ids are lowercase ASCII letters, digits and underscores, starting with a letter, and unique within
their form (sections, slots), section (fields) or field (option values).

Field types and their answers (``null`` or a missing key is "not answered"; so is a string that is
empty or only whitespace)::

    text       a string of at most "max_length" characters (Unicode code points; default 2000)
    integer    an integer (not a boolean), optional "min" and "max"
    money      a yuan amount as a string: digits, at most two decimals ("1200", "850.50"), a comma
               only as thousands grouping ("1,200"); see server.domain.declaration.amount
    money6     a list of exactly 6 such strings, one per month, oldest month first: all six filled in ("0"
               for a month without income) or all six blank (the same as not answered: no income of
               this kind); a list with some months blank is refused ("partial_months", on the field)
    boolean    true or false
    choice     one of "options" (each {"value": "<string>", "label": {"zh", "en"}})
    multi      a list of distinct option values
    date       "YYYY-MM-DD"
    id_number  an 18-character resident ID number, checked with server.domain.ids.parse_id_number

``show_if`` shows a field only when the named earlier field of the same section (or of the same
item, in a repeating section) is shown and its answer equals ``equals`` (a boolean for a boolean
field, an option value for a choice field). A hidden field must be absent or null; "required" only
counts while the field is shown.

The answers of a visit are an object keyed by section id: an object of field answers for a plain
section, a list of such objects for a repeating one. ``validate_answers`` returns every problem with
a path relative to the answers (``members/0/id_number``, ``income/wages/3``); ``validate_visit``
checks a parsed envelope against its form and reports paths relative to the envelope
(``answers/members/0/id_number``, ``attachments/2/slot``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from server.domain.declaration import BAD_AMOUNT, MONTHS, amount, amount_problem, partial_months_message
from server.domain.ids import InvalidIdNumber, normalise_id_number, parse_id_number
from sync.errors import Problem, join_path
from sync.protocol import ATTACHMENT_ROLES, Attachment, Envelope

__all__ = [
    "DEFAULT_TEXT_MAX",
    "FIELD_TYPES",
    "FORM_KINDS",
    "FORMS_FOR_ASSIGNMENT",
    "form_fits_assignment",
    "is_own_form",
    "load_forms",
    "validate_answers",
    "validate_attachments",
    "validate_definition",
    "validate_visit",
]

FIELD_TYPES = ("text", "integer", "money", "money6", "boolean", "choice", "multi", "date", "id_number")
FORM_KINDS = ("home_visit", "reinvestigation", "rereview", "spot_check", "survey", "appraisal")
# Which kinds of form may be filled on each kind of assignment: (its own record, in order of preference —
# accepting one closes the assignment; extra records made on the same trip, like the two-rates survey of
# the household or a neighbour during a spot check).
FORMS_FOR_ASSIGNMENT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "home_visit": (("home_visit",), ()),
    "reinvestigation": (("reinvestigation", "home_visit"), ()),
    "rereview": (("rereview",), ()),
    "spot_check": (("spot_check",), ("survey",)),
    "appraisal": (("appraisal",), ()),
}
DEFAULT_TEXT_MAX = 2000

_ID = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

_COMMON_FIELD_KEYS = {"id", "type", "label", "required", "show_if", "help", "unique"}
_TYPE_KEYS = {
    "text": {"max_length"}, "integer": {"min", "max"}, "choice": {"options"}, "multi": {"options"},
    "money": set(), "money6": set(), "boolean": set(), "date": set(), "id_number": set(),
}
_UNIQUE_TYPES = ("text", "integer", "date", "id_number")
_SHOW_IF_TYPES = ("boolean", "choice")


# --- definitions ----------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_text_pair(value: Any, where: str, errors: list[str]) -> None:
    if not (isinstance(value, dict) and set(value) == {"zh", "en"}
            and all(isinstance(v, str) and v.strip() for v in value.values())):
        errors.append(f"{where}: needs {{'zh': ..., 'en': ...}} with two non-empty strings")


def _check_keys(obj: dict, where: str, required: set[str], optional: set[str], errors: list[str]) -> None:
    for key in sorted(required - set(obj)):
        errors.append(f"{where}: missing {key!r}")
    for key in sorted(set(obj) - required - optional):
        errors.append(f"{where}: unknown key {key!r}")


def _check_id(value: Any, where: str, errors: list[str]) -> bool:
    if not (isinstance(value, str) and _ID.fullmatch(value)):
        errors.append(f"{where}: id {value!r} must be lowercase letters, digits and underscores, starting with a letter")
        return False
    return True


def _check_field(field: Any, where: str, earlier: dict[str, dict], repeat: bool, errors: list[str]) -> None:
    if not isinstance(field, dict):
        errors.append(f"{where}: a field must be an object")
        return
    ftype = field.get("type")
    if ftype not in FIELD_TYPES:
        errors.append(f"{where}: unknown type {ftype!r}")
        return
    required = {"id", "type", "label", "required"} | ({"options"} if ftype in ("choice", "multi") else set())
    _check_keys(field, where, required, _COMMON_FIELD_KEYS | _TYPE_KEYS[ftype], errors)
    _check_text_pair(field.get("label"), f"{where}.label", errors)
    if "help" in field:
        _check_text_pair(field["help"], f"{where}.help", errors)
    if not isinstance(field.get("required"), bool):
        errors.append(f"{where}: 'required' must be true or false")
    if "unique" in field and (field["unique"] is not True or not repeat or ftype not in _UNIQUE_TYPES):
        errors.append(f"{where}: 'unique' may only be true, in a repeating section, on a {'/'.join(_UNIQUE_TYPES)} field")

    if ftype == "text" and "max_length" in field and not (_is_int(field["max_length"]) and field["max_length"] >= 1):
        errors.append(f"{where}: 'max_length' must be a positive integer")
    if ftype == "integer":
        for key in ("min", "max"):
            if key in field and not _is_int(field[key]):
                errors.append(f"{where}: {key!r} must be an integer")
        if _is_int(field.get("min")) and _is_int(field.get("max")) and field["min"] > field["max"]:
            errors.append(f"{where}: 'min' is greater than 'max'")
    if ftype in ("choice", "multi") and "options" in field:
        options = field["options"]
        if not isinstance(options, list) or not options:
            errors.append(f"{where}: 'options' must be a non-empty list")
        else:
            values: set[str] = set()
            for i, option in enumerate(options):
                at = f"{where}.options[{i}]"
                if not isinstance(option, dict):
                    errors.append(f"{at}: an option must be an object")
                    continue
                _check_keys(option, at, {"value", "label"}, set(), errors)
                _check_text_pair(option.get("label"), f"{at}.label", errors)
                value = option.get("value")
                if not (isinstance(value, str) and value and value == value.strip()):
                    errors.append(f"{at}: 'value' must be a non-empty string")
                elif value in values:
                    errors.append(f"{at}: duplicate option value {value!r}")
                else:
                    values.add(value)

    if "show_if" in field:
        show_if = field["show_if"]
        if not (isinstance(show_if, dict) and set(show_if) == {"field", "equals"}):
            errors.append(f"{where}: 'show_if' must be {{'field': ..., 'equals': ...}}")
            return
        target = earlier.get(show_if["field"]) if isinstance(show_if["field"], str) else None
        if target is None:
            errors.append(f"{where}: show_if names {show_if['field']!r}, which is not an earlier field of the section")
        elif target.get("type") not in _SHOW_IF_TYPES:
            errors.append(f"{where}: show_if may only name a boolean or choice field")
        elif target["type"] == "boolean" and not isinstance(show_if["equals"], bool):
            errors.append(f"{where}: show_if on a boolean field must compare with true or false")
        elif target["type"] == "choice" and show_if["equals"] not in _option_values(target):
            errors.append(f"{where}: show_if compares with {show_if['equals']!r}, which is not an option")


def _option_values(field: Mapping) -> list[Any]:
    options = field.get("options")
    if not isinstance(options, list):
        return []
    return [o.get("value") for o in options if isinstance(o, dict)]


def validate_definition(form: Any) -> None:
    """Raise ValueError listing everything wrong with a form definition; return None when it is sound."""
    errors: list[str] = []
    if not isinstance(form, dict):
        raise ValueError("a form definition must be a JSON object")
    name = form.get("id", "<form>")
    _check_keys(form, str(name), {"id", "version", "kind", "title", "sections"}, {"slots"}, errors)
    if "id" in form:
        _check_id(form["id"], "form", errors)
    if not (_is_int(form.get("version")) and form["version"] >= 1):
        errors.append(f"{name}: 'version' must be an integer >= 1")
    if form.get("kind") not in FORM_KINDS:
        errors.append(f"{name}: 'kind' must be one of {', '.join(FORM_KINDS)}")
    _check_text_pair(form.get("title"), f"{name}.title", errors)

    sections = form.get("sections")
    if not isinstance(sections, list) or not sections:
        errors.append(f"{name}: 'sections' must be a non-empty list")
        sections = []
    section_ids: set[str] = set()
    for i, section in enumerate(sections):
        where = f"{name}.sections[{i}]"
        if not isinstance(section, dict):
            errors.append(f"{where}: a section must be an object")
            continue
        repeat = section.get("repeat", False)
        required = {"id", "title", "fields"} | ({"min", "max"} if repeat is True else set())
        _check_keys(section, where, required, {"repeat"}, errors)
        if repeat not in (True, False):
            errors.append(f"{where}: 'repeat' must be true or false")
        if _check_id(section.get("id"), where, errors):
            if section["id"] in section_ids:
                errors.append(f"{where}: duplicate section id {section['id']!r}")
            section_ids.add(section["id"])
            where = f"{name}.{section['id']}"
        _check_text_pair(section.get("title"), f"{where}.title", errors)
        if repeat is True:
            low, high = section.get("min"), section.get("max")
            if not (_is_int(low) and _is_int(high) and 0 <= low <= high and high >= 1):
                errors.append(f"{where}: a repeating section needs integers 0 <= 'min' <= 'max', 'max' >= 1")
        fields = section.get("fields")
        if not isinstance(fields, list) or not fields:
            errors.append(f"{where}: 'fields' must be a non-empty list")
            continue
        earlier: dict[str, dict] = {}
        for j, field in enumerate(fields):
            at = f"{where}.fields[{j}]"
            if isinstance(field, dict) and _check_id(field.get("id"), at, errors):
                at = f"{where}.{field['id']}"
                if field["id"] in earlier:
                    errors.append(f"{at}: duplicate field id")
            _check_field(field, at, earlier, repeat is True, errors)
            if isinstance(field, dict) and isinstance(field.get("id"), str):
                earlier.setdefault(field["id"], field)

    slots = form.get("slots", [])
    if not isinstance(slots, list):
        errors.append(f"{name}: 'slots' must be a list")
        slots = []
    slot_ids: set[str] = set()
    for i, slot in enumerate(slots):
        where = f"{name}.slots[{i}]"
        if not isinstance(slot, dict):
            errors.append(f"{where}: a slot must be an object")
            continue
        _check_keys(slot, where, {"id", "label", "roles", "min", "max"}, set(), errors)
        if _check_id(slot.get("id"), where, errors):
            if slot["id"] in slot_ids:
                errors.append(f"{where}: duplicate slot id {slot['id']!r}")
            slot_ids.add(slot["id"])
        _check_text_pair(slot.get("label"), f"{where}.label", errors)
        roles = slot.get("roles")
        if not (isinstance(roles, list) and roles and len(set(roles)) == len(roles)
                and all(r in ATTACHMENT_ROLES for r in roles)):
            errors.append(f"{where}: 'roles' must be a non-empty list of distinct roles from {ATTACHMENT_ROLES}")
        low, high = slot.get("min"), slot.get("max")
        if not (_is_int(low) and _is_int(high) and 0 <= low <= high and high >= 1):
            errors.append(f"{where}: needs integers 0 <= 'min' <= 'max', 'max' >= 1")

    if errors:
        raise ValueError(f"form definition {name!r} is malformed:\n  " + "\n  ".join(errors))


def load_forms(directory: str | Path) -> dict[tuple[str, int], dict]:
    """Every ``*.json`` definition in ``directory``, checked, keyed by (id, version).

    Raises ValueError naming the file for a malformed definition or a repeated (id, version).
    """
    forms: dict[tuple[str, int], dict] = {}
    origin: dict[tuple[str, int], str] = {}
    for path in sorted(Path(directory).glob("*.json")):
        try:
            form = json.loads(path.read_text(encoding="utf-8"))
            validate_definition(form)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            raise ValueError(f"{path.name}: {exc}") from exc
        key = (form["id"], form["version"])
        if key in forms:
            raise ValueError(f"{path.name}: form {key[0]!r} version {key[1]} is also defined in {origin[key]}")
        forms[key] = form
        origin[key] = path.name
    return forms


# --- answers --------------------------------------------------------------------------------

def _strictly_equal(a: Any, b: Any) -> bool:
    """Equal as JSON values: true is not 1."""
    return type(a) is type(b) and a == b


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


class _Answers:
    def __init__(self, today: date) -> None:
        self.today = today
        self.problems: list[Problem] = []

    def add(self, path: str, code: str, message: str, message_en: str) -> None:
        self.problems.append(Problem(path, code, message, message_en))

    def wrong_type(self, path: str, label: Mapping[str, str], zh: str, en: str) -> None:
        self.add(path, "wrong_type", f"“{label['zh']}”应为{zh}", f"{label['en']}: must be {en}")

    def section(self, section: Mapping, value: Any, path: str) -> None:
        title = section["title"]
        if not section.get("repeat"):
            if value is None:
                value = {}
            if not isinstance(value, dict):
                self.add(path, "wrong_type", f"“{title['zh']}”应为对象", f"{title['en']}: must be an object")
                return
            self.item(section["fields"], value, path)
            return
        if value is None:
            value = []
        if not isinstance(value, list):
            self.add(path, "wrong_type", f"“{title['zh']}”应为列表", f"{title['en']}: must be a list")
            return
        if len(value) < section["min"]:
            self.add(path, "too_few", f"“{title['zh']}”至少需要{section['min']}项",
                     f"{title['en']}: at least {section['min']} needed")
        if len(value) > section["max"]:
            self.add(path, "too_many", f"“{title['zh']}”最多{section['max']}项",
                     f"{title['en']}: at most {section['max']} allowed")
        for i, item in enumerate(value):
            if isinstance(item, dict):
                self.item(section["fields"], item, f"{path}/{i}")
            else:
                self.add(f"{path}/{i}", "wrong_type", f"“{title['zh']}”第{i + 1}项应为对象",
                         f"{title['en']}, item {i + 1}: must be an object")
        for field in section["fields"]:
            if field.get("unique"):
                self.unique(field, value, path)

    def unique(self, field: Mapping, items: list, path: str) -> None:
        seen: set[Any] = set()
        for i, item in enumerate(items):
            value = item.get(field["id"]) if isinstance(item, dict) else None
            if _blank(value) or not isinstance(value, str | int) or isinstance(value, bool):
                continue
            if field["type"] == "id_number" and isinstance(value, str):
                value = normalise_id_number(value)
            elif isinstance(value, str):
                value = unicodedata.normalize("NFC", value.strip())
            if value in seen:
                label = field["label"]
                self.add(f"{path}/{i}/{field['id']}", "duplicate", f"“{label['zh']}”与前面的某一项重复",
                         f"{label['en']}: the same as an earlier item")
            seen.add(value)

    def item(self, fields: Sequence[Mapping], item: Mapping, path: str) -> None:
        by_id = {f["id"]: f for f in fields}
        for key in item:
            if key not in by_id:
                self.add(join_path(path, key), "unknown_field", "表单中没有这一项", f"Not a field of this form: {key!r}")
        for field in fields:
            value = item.get(field["id"])
            at = f"{path}/{field['id']}"
            label = field["label"]
            if not _shown(field, item, by_id):
                if value is not None:
                    self.add(at, "not_shown", f"“{label['zh']}”在当前情况下不应填写",
                             f"{label['en']}: must be left empty, as the field does not apply")
                continue
            if _blank(value):
                if field["required"]:
                    self.add(at, "required", f"“{label['zh']}”为必填项", f"{label['en']} is required")
                continue
            self.value(field, value, at)

    def value(self, field: Mapping, value: Any, path: str) -> None:
        label, ftype = field["label"], field["type"]
        if ftype == "text":
            if not isinstance(value, str):
                self.wrong_type(path, label, "文字", "text")
                return
            limit = field.get("max_length", DEFAULT_TEXT_MAX)
            if len(value) > limit:
                self.add(path, "too_long", f"“{label['zh']}”不能超过{limit}个字", f"{label['en']}: at most {limit} characters")
        elif ftype == "integer":
            if not _is_int(value):
                self.wrong_type(path, label, "整数", "a whole number")
                return
            if "min" in field and value < field["min"]:
                self.add(path, "too_small", f"“{label['zh']}”不能小于{field['min']}",
                         f"{label['en']}: at least {field['min']}")
            if "max" in field and value > field["max"]:
                self.add(path, "too_large", f"“{label['zh']}”不能大于{field['max']}",
                         f"{label['en']}: at most {field['max']}")
        elif ftype == "money":
            self.money(value, path, label, "")
        elif ftype == "money6":
            if not isinstance(value, list):
                self.wrong_type(path, label, f"{MONTHS}个月的金额列表", f"a list of {MONTHS} monthly amounts")
                return
            if len(value) != MONTHS:
                self.add(path, "wrong_length", f"“{label['zh']}”应填写{MONTHS}个月的金额，现在是{len(value)}个",
                         f"{label['en']}: needs {MONTHS} monthly amounts, has {len(value)}")
            blanks = [i for i, month in enumerate(value, 1) if isinstance(month, str) and not month.strip()]
            if len(blanks) == len(value) == MONTHS:   # all six blank: no income of this kind (not answered)
                if field["required"]:
                    self.add(path, "required", f"“{label['zh']}”为必填项", f"{label['en']} is required")
                return
            if blanks and len(value) == MONTHS:
                zh, en = partial_months_message(label["zh"], label["en"], blanks)
                self.add(path, "partial_months", zh, en)
            for i, month in enumerate(value):
                if i + 1 not in blanks:
                    self.money(month, f"{path}/{i}", label, f"第{i + 1}个月")
        elif ftype == "boolean":
            if not isinstance(value, bool):
                self.wrong_type(path, label, "“是”或“否”", "true or false")
        elif ftype == "choice":
            if not isinstance(value, str):
                self.wrong_type(path, label, "选项之一", "one of the options")
            elif value not in _option_values(field):
                self.add(path, "invalid_choice", f"“{label['zh']}”不是可选的选项", f"{label['en']}: not one of the options")
        elif ftype == "multi":
            if not isinstance(value, list):
                self.wrong_type(path, label, "选项列表", "a list of options")
                return
            allowed = _option_values(field)
            seen: list[Any] = []
            for i, choice in enumerate(value):
                if not isinstance(choice, str) or choice not in allowed:
                    self.add(f"{path}/{i}", "invalid_choice", f"“{label['zh']}”不是可选的选项",
                             f"{label['en']}: not one of the options")
                elif choice in seen:
                    self.add(f"{path}/{i}", "duplicate", f"“{label['zh']}”重复选择了同一项",
                             f"{label['en']}: the same option twice")
                seen.append(choice)
        elif ftype == "date":
            if not isinstance(value, str):
                self.wrong_type(path, label, "日期", "a date")
                return
            try:
                ok = _DATE.fullmatch(value) is not None and date.fromisoformat(value) is not None
            except ValueError:
                ok = False
            if not ok:
                self.add(path, "invalid_date", f"“{label['zh']}”应为有效日期（年-月-日，如2026-01-31）",
                         f"{label['en']}: must be a real date written YYYY-MM-DD")
        elif ftype == "id_number":
            if not isinstance(value, str):
                self.wrong_type(path, label, "身份证号码", "an ID number")
                return
            try:
                parse_id_number(value, self.today)
            except InvalidIdNumber as exc:
                self.add(path, f"id_number_{exc.code}", f"“{label['zh']}”：{exc.message}", f"{label['en']}: {exc.message_en}")
        else:  # validate_definition keeps this out
            raise ValueError(f"unknown field type {ftype!r}")

    def money(self, value: Any, path: str, label: Mapping[str, str], month_zh: str) -> None:
        if not isinstance(value, str):
            self.wrong_type(path, label, "金额（字符串）", "an amount written as a string")
        elif amount(value) is None:
            zh, en = amount_problem(value) or BAD_AMOUNT
            self.add(path, "invalid_amount", f"“{label['zh']}”{month_zh}的{zh}", f"{label['en']}{_month_en(month_zh)}: {en}")


def _month_en(month_zh: str) -> str:
    """", month 3" for "第3个月"; "" for a single amount."""
    digits = "".join(c for c in month_zh if c.isdigit())
    return f", month {digits}" if digits else ""


def _shown(field: Mapping, item: Mapping, by_id: Mapping[str, Mapping]) -> bool:
    """Whether a field applies, given the other answers of its section (or item)."""
    show_if = field.get("show_if")
    if show_if is None:
        return True
    target = by_id[show_if["field"]]
    return _shown(target, item, by_id) and _strictly_equal(item.get(target["id"]), show_if["equals"])


def validate_answers(form: Mapping, answers: Any, today: date) -> list[Problem]:
    """Every problem of ``answers`` against the (already checked) form definition; [] when valid.

    Paths are relative to the answers: ``members/0/id_number``, ``income/wages/3``, ``property``.
    ID numbers are checked as of ``today``.
    """
    check = _Answers(today)
    if not isinstance(answers, dict):
        check.add("", "wrong_type", "答案应为对象", "The answers must be an object")
        return check.problems
    sections = {s["id"]: s for s in form["sections"]}
    for key in answers:
        if key not in sections:
            check.add(join_path("", key), "unknown_field", "表单中没有这一部分", f"Not a section of this form: {key!r}")
    for section in form["sections"]:
        check.section(section, answers.get(section["id"]), section["id"])
    return check.problems


def validate_attachments(form: Mapping, attachments: Iterable[Attachment]) -> list[Problem]:
    """Check a visit's attachments against the form's slots; paths are relative to the envelope.

    Each attachment must name a slot of the form and a role the slot takes; each slot must hold
    between its "min" and "max" attachments.
    """
    problems: list[Problem] = []
    slots = {s["id"]: s for s in form.get("slots", [])}
    counts = dict.fromkeys(slots, 0)
    for i, attachment in enumerate(attachments):
        slot = slots.get(attachment.slot)
        if slot is None:
            problems.append(Problem(f"attachments/{i}/slot", "unknown_slot", "表单中没有这个照片或签字栏",
                                    f"The form has no slot {attachment.slot!r}"))
            continue
        counts[attachment.slot] += 1
        if attachment.role not in slot["roles"]:
            problems.append(Problem(f"attachments/{i}/role", "role_not_allowed",
                                    f"“{slot['label']['zh']}”栏不接受这类文件",
                                    f"{slot['label']['en']}: does not take a {attachment.role}"))
    for slot_id, slot in slots.items():
        label = slot["label"]
        if counts[slot_id] < slot["min"]:
            problems.append(Problem("attachments", "slot_too_few", f"“{label['zh']}”至少需要{slot['min']}个",
                                    f"{label['en']}: at least {slot['min']} needed"))
        if counts[slot_id] > slot["max"]:
            problems.append(Problem("attachments", "slot_too_many", f"“{label['zh']}”最多{slot['max']}个",
                                    f"{label['en']}: at most {slot['max']} allowed"))
    return problems


def is_own_form(form_kind: str | None, assignment_kind: str) -> bool:
    """Is a form of ``form_kind`` the assignment's own record (not an extra made on the same trip)?"""
    return form_kind in FORMS_FOR_ASSIGNMENT.get(assignment_kind, ((), ()))[0]


def form_fits_assignment(form_kind: str | None, assignment_kind: str) -> bool:
    """May a form of ``form_kind`` be filled on an assignment of ``assignment_kind``?"""
    own, extra = FORMS_FOR_ASSIGNMENT.get(assignment_kind, ((), ()))
    return form_kind in own or form_kind in extra


def validate_visit(forms: Mapping[tuple[str, int], Mapping], envelope: Envelope, today: date,
                   assignment_kind: str | None = None) -> list[Problem]:
    """Every problem of a parsed envelope against its form, with paths relative to the envelope
    (``answers/members/0/id_number``, ``attachments/2/slot``); [] when it is acceptable.  With
    ``assignment_kind``, the form must also be one that kind of assignment takes."""
    form = forms.get((envelope.form_id, envelope.form_version))
    if form is None:
        return [Problem("form_version", "unknown_form", "服务器上没有这个表单或版本，请更新应用",
                        f"Unknown form {envelope.form_id!r} version {envelope.form_version}; update the app")]
    if assignment_kind is not None and not form_fits_assignment(form.get("kind"), assignment_kind):
        return [Problem("form_id", "form_not_for_assignment", "这个表单不能用于此类调查任务",
                        f"form {envelope.form_id!r} cannot be filled on a {assignment_kind} assignment")]
    problems = [Problem(f"answers/{p.path}" if p.path else "answers", p.code, p.message, p.message_en)
                for p in validate_answers(form, envelope.answers, today=today)]
    return problems + validate_attachments(form, envelope.attachments)
