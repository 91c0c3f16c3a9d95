"""Rules profiles: every number and option of the dibao procedure, read from TOML and validated.

A profile is a TOML file (``guancheng.toml`` and ``yijun.toml`` ship here; a deployment adds its
own in a directory named by ``RUHU_PROFILE_DIRS``).  Loading is strict: an unknown, missing or
ill-typed key raises :class:`ProfileError` naming the file and the dotted key, so a mistyped
profile stops the application at start-up instead of deciding cases wrongly.

This module is plain Python (no Flask, no SQLAlchemy) so the domain core can take a
:class:`Profile` as an argument.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from server.domain.benefit import Standard, Tier

BUILTIN_DIR = Path(__file__).resolve().parent

UNIT_LEVELS = ("district", "street_office", "township", "service_center", "community", "village",
               "natural_village")
BOARD_LEVELS = ("township", "street_office", "community", "village", "natural_village", "busy_place")


class ProfileError(ValueError):
    """A rules profile cannot be used.  ``message`` is Chinese, ``message_en`` English."""

    def __init__(self, source: str, key: str, problem_zh: str, problem_en: str):
        self.source, self.key = source, key
        self.message = f"规则文件 {source} 的 {key}：{problem_zh}"
        self.message_en = f"rules profile {source}, key {key}: {problem_en}"
        super().__init__(f"{self.message_en} / {self.message}")


# --- the schema -------------------------------------------------------------------------------
# A schema is a dict of key -> kind.  Kinds: a type name string, a tuple ("choice", options),
# ("list", kind), ("tables", schema) for an array of tables, or a nested dict for a table.

_MATERIAL = {"code": "str", "name": "str", "name_en": "str", "required": "bool"}
# Member flags (as the intake form records them) that can call for a situational material.
MEMBER_FLAGS = ("disabled", "severely_disabled", "seriously_ill", "student", "unemployed", "able_to_work")
_SITUATIONAL = {"flag": ("choice", MEMBER_FLAGS), "material": "str"}
_STANDARD = {"area": ("choice", ("urban", "rural")), "effective": "date", "amount": "money",
             "period": ("choice", ("month", "year"))}
_TIER = {"max_per_capita_income": "money_or_empty", "per_person": "money"}
_ASSESSMENT_ITEM = {"key": "ident", "name": "str", "name_en": "str", "points": "nonneg"}
_PROPERTY_RULE = {"code": "ident", "name": "str", "name_en": "str"}

SCHEMA: dict[str, Any] = {
    "profile": {
        "id": "ident", "name": "str", "name_en": "str", "region": "str",
        "approving_unit_levels": ("list", ("choice", UNIT_LEVELS)),
        "approval_form_title": "str",
    },
    "deadlines": {
        "overall": "posint", "verification_request": "posint", "home_visit": "posint",
        "appraisal": "posint", "review": "posint", "meeting": "nonneg", "approval": "posint",
        "objection_redecision": "posint", "missing_materials_reply": "nonneg", "warn_workdays": "nonneg",
    },
    "publicity": {
        "minimum": "posint", "unit": ("choice", ("calendar_days", "working_days")),
        "board_levels": ("list", ("choice", BOARD_LEVELS)),
        "republish_after_objection": "bool",
        "long_term_board_levels": ("list", ("choice", BOARD_LEVELS)),
    },
    "public_list": {
        "name": ("choice", ("masked", "full")), "show_household_size": "bool", "show_amount": "bool",
        "show_income": "bool", "show_category": "bool", "show_visit_result": "bool",
        "show_appraisal_result": "bool", "show_opinions": "bool", "show_tipoff_phone": "bool",
        "tipoff_phone": "str_or_empty",
    },
    "intake": {
        "applicant_signature": "bool", "fingerprint": "bool", "staff_fill_forms": ("list", "str"),
        "committee_may_submit": "bool", "materials": ("tables", _MATERIAL),
        "situational": ("tables", _SITUATIONAL),
    },
    "home_visit": {"min_team": "posint", "applicant_signature": "bool", "investigator_signatures": "bool"},
    "appraisal": {
        "resident_share_numerator": "posint", "resident_share_denominator": "posint", "min_panel": "posint",
        "all_members_sign": "bool", "disputed_returns_to_investigation": "bool",
    },
    "meeting": {"required": "bool", "min_attendees": "posint"},
    "standards": {"placeholder": "bool", "items": ("tables", _STANDARD)},
    "benefit": {
        "method": ("choice", ("gap", "tiers")), "tiers": ("tables", _TIER),
        "supplements": ("map", "money"), "elderly_age": "posint", "minor_age": "posint",
    },
    "gradual_exit": {"months": "nonneg", "percentages": ("list", "percent")},
    "review_intervals": ("map", "posint"),
    "money": {
        "roster_due_day": "day", "roster_for": ("choice", ("next_month", "current_month")),
        "payment_day": "day_or_zero", "finance_day": "day_or_zero",
        "roster_signer": ("choice", ("leader", "director")),
    },
    "certificate": {"validity_months": "posint", "title": "str"},
    "eligibility": {"hukou_prefixes": ("list", "str"), "property_exclusions": ("tables", _PROPERTY_RULE)},
    "dates": {"backdating_workdays": "nonneg"},
    "spot_check": {"share": "share"},
    "assessment": {
        "enabled": "bool", "quarterly_points": "nonneg", "quarters": "nonneg",
        "annual_points": "nonneg", "bonus_cap": "nonneg", "last_place_share": "share",
        "minor_issue_credit": "share",
        "quarterly_items": ("tables", _ASSESSMENT_ITEM), "annual_items": ("tables", _ASSESSMENT_ITEM),
    },
}

_KIND_TEXT = {
    "str": ("非空文本", "a non-empty string"),
    "str_or_empty": ("文本", "a string"),
    "ident": ("小写字母、数字或下划线组成的标识", "an identifier of lowercase letters, digits and _"),
    "bool": ("true 或 false", "true or false"),
    "posint": ("正整数", "a positive integer"),
    "nonneg": ("非负整数", "a non-negative integer"),
    "percent": ("0 到 100 的整数", "an integer from 0 to 100"),
    "day": ("1 到 28 的整数（每月的日）", "an integer from 1 to 28 (day of the month)"),
    "day_or_zero": ("0 到 28 的整数（0 表示无此环节）", "an integer from 0 to 28 (0 = no such step)"),
    "date": ("日期，如 2025-10-01", "a date such as 2025-10-01"),
    "money": ("金额字符串，最多两位小数，如 \"682.00\"", "an amount string with at most 2 decimals, e.g. \"682.00\""),
    "money_or_empty": ("金额字符串或空字符串", "an amount string or an empty string"),
    "share": ("0 到 1 之间的小数字符串，如 \"0.30\"", "a decimal string between 0 and 1, e.g. \"0.30\""),
}


def _fail(source: str, key: str, kind: Any, value: Any) -> ProfileError:
    if isinstance(kind, tuple) and kind[0] == "choice":
        opts = ", ".join(kind[1])
        return ProfileError(source, key, f"应为以下之一：{opts}（现为 {value!r}）",
                            f"must be one of {opts} (got {value!r})")
    zh, en = _KIND_TEXT.get(kind if isinstance(kind, str) else "", ("正确的类型", "of the right type"))
    return ProfileError(source, key, f"应为{zh}（现为 {value!r}）", f"must be {en} (got {value!r})")


_MONEY_RE = re.compile(r"\d{1,9}(\.\d{1,2})?")
_SHARE_RE = re.compile(r"[01](\.\d{1,4})?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _money(text: str) -> Decimal:
    """Plain digits with at most two decimals ("682", "682.50"): no exponent, sign or separator."""
    if not _MONEY_RE.fullmatch(text):
        raise InvalidOperation(text)
    return Decimal(text)


def _scalar(source: str, key: str, kind: Any, value: Any) -> Any:
    """Check one value against a scalar kind and return it converted."""
    if isinstance(kind, tuple) and kind[0] == "choice":
        if isinstance(value, str) and value in kind[1]:
            return value
        raise _fail(source, key, kind, value)
    ok = False
    if kind in ("str", "ident", "str_or_empty"):
        ok = isinstance(value, str) and (kind == "str_or_empty" or value.strip() != "")
        if ok and kind == "ident":
            ok = all(c.islower() or c.isdigit() or c == "_" for c in value)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind in ("posint", "nonneg", "percent", "day", "day_or_zero"):
        lo, hi = {"posint": (1, 10**6), "nonneg": (0, 10**6), "percent": (0, 100), "day": (1, 28),
                  "day_or_zero": (0, 28)}[kind]
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    elif kind == "date":
        if isinstance(value, str) and _DATE_RE.fullmatch(value):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    elif kind in ("money", "money_or_empty", "share"):
        if kind == "money_or_empty" and value == "":
            return None
        if isinstance(value, str):
            try:
                if kind == "share" and not _SHARE_RE.fullmatch(value):
                    raise InvalidOperation(value)
                value = _money(value) if kind != "share" else Decimal(value)
                ok = kind != "share" or (value.is_finite() and 0 <= value <= 1)
            except InvalidOperation:
                ok = False
    if not ok:
        raise _fail(source, key, kind, value)
    return value


def _check(source: str, prefix: str, schema: Any, value: Any) -> Any:
    """Validate ``value`` against ``schema`` recursively; return plain converted data."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise ProfileError(source, prefix or "(文件)", "应为表（[section]）", "must be a table ([section])")
        out = {}
        for key in value:
            if key not in schema:
                name = f"{prefix}.{key}" if prefix else key
                raise ProfileError(source, name, "未知的键（拼写错误？）", "unknown key (misspelt?)")
        for key, sub in schema.items():
            name = f"{prefix}.{key}" if prefix else key
            if key not in value:
                raise ProfileError(source, name, "缺少此键", "missing key")
            out[key] = _check(source, name, sub, value[key])
        return out
    if isinstance(schema, tuple) and schema[0] == "tables":
        if not isinstance(value, list):
            raise ProfileError(source, prefix, "应为表数组（[[...]]）", "must be an array of tables ([[...]])")
        return [_check(source, f"{prefix}[{i}]", schema[1], item) for i, item in enumerate(value)]
    if isinstance(schema, tuple) and schema[0] == "list":
        if not isinstance(value, list):
            raise ProfileError(source, prefix, "应为数组", "must be an array")
        return [_scalar(source, f"{prefix}[{i}]", schema[1], item) for i, item in enumerate(value)]
    if isinstance(schema, tuple) and schema[0] == "map":
        if not isinstance(value, dict) or not value:
            raise ProfileError(source, prefix, "应为非空的表", "must be a non-empty table")
        return {k: _scalar(source, f"{prefix}.{k}", schema[1], v) for k, v in value.items()}
    return _scalar(source, prefix, schema, value)


class Section(Mapping):
    """Read-only attribute access over a validated table."""

    def __init__(self, data: Mapping[str, Any]):
        self._data = {k: (Section(v) if isinstance(v, dict) else v) for k, v in data.items()}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    name_en: str
    required: bool


@dataclass(frozen=True)
class Profile:
    """A validated rules profile.  Sections are reachable as attributes (``profile.deadlines.overall``)."""

    id: str
    source: str
    data: Section

    def __getattr__(self, name: str) -> Any:
        if name in ("id", "source", "data"):
            raise AttributeError(name)
        return getattr(self.data, name)

    @property
    def name(self) -> str:
        return self.data.profile.name

    @property
    def materials(self) -> tuple[Material, ...]:
        return tuple(Material(**m) for m in self.data.intake.materials)

    @property
    def situational(self) -> tuple[tuple[str, str], ...]:
        """(member flag, material code) pairs: a member with the flag needs the material (一次性告知)."""
        return tuple((s["flag"], s["material"]) for s in self.data.intake.situational)

    @property
    def standards(self) -> tuple[Standard, ...]:
        return tuple(Standard(area=s["area"], effective=s["effective"], amount=s["amount"],
                              period=s["period"]) for s in self.data.standards["items"])

    @property
    def standards_placeholder(self) -> bool:
        """True when the profile's standards are not verified figures (shown as a warning)."""
        return bool(self.data.standards.placeholder)

    @property
    def tiers(self) -> tuple[Tier, ...]:
        return tuple(Tier(max_per_capita_income=t["max_per_capita_income"], per_person=t["per_person"])
                     for t in self.data.benefit.tiers)

    @property
    def resident_share(self) -> Fraction:
        a = self.data.appraisal
        return Fraction(a.resident_share_numerator, a.resident_share_denominator)

    @property
    def has_meeting(self) -> bool:
        return bool(self.data.meeting.required)

    @property
    def property_rules(self) -> dict[str, tuple[str, str]]:
        """The property exclusions a caseworker ticks at review: code -> (zh, en), in the profile's order."""
        return {r["code"]: (r["name"], r["name_en"]) for r in self.data.eligibility.property_exclusions}

    def review_interval(self, household_class: str) -> int:
        intervals = self.data.review_intervals
        return intervals[household_class] if household_class in intervals else intervals["default"]


def _semantics(source: str, d: dict) -> None:
    """Checks across keys that a per-key type cannot express."""
    a = d["appraisal"]
    if a["resident_share_numerator"] > a["resident_share_denominator"]:
        raise ProfileError(source, "appraisal.resident_share_numerator", "不能大于分母",
                           "must not exceed the denominator")
    g = d["gradual_exit"]
    if len(g["percentages"]) != g["months"]:
        raise ProfileError(source, "gradual_exit.percentages", "项数应等于 gradual_exit.months",
                           "must have as many items as gradual_exit.months")
    if not d["standards"]["items"]:
        raise ProfileError(source, "standards.items", "至少需要一个保障标准", "needs at least one standard")
    seen: set[tuple] = set()
    for i, s in enumerate(d["standards"]["items"]):
        if s["amount"] <= 0:
            raise ProfileError(source, f"standards.items[{i}].amount", "保障标准须大于0", "a standard must be above 0")
        k = (s["area"], s["effective"])
        if k in seen:
            raise ProfileError(source, f"standards.items[{i}]", "同一地区同一生效日期重复",
                               "duplicate area and effective date")
        seen.add(k)
    if d["benefit"]["method"] == "tiers" and not d["benefit"]["tiers"]:
        raise ProfileError(source, "benefit.tiers", "分档发放需要至少一档", "tiers method needs at least one tier")
    if "default" not in d["review_intervals"]:
        raise ProfileError(source, "review_intervals.default", "缺少此键", "missing key")
    codes = [m["code"] for m in d["intake"]["materials"]]
    if len(set(codes)) != len(codes):
        raise ProfileError(source, "intake.materials", "材料代码重复", "duplicate material code")
    for key in ("situational", "staff_fill_forms"):
        for i, item in enumerate(d["intake"][key]):
            code = item["material"] if key == "situational" else item
            if code not in codes:
                where = f"intake.{key}[{i}]" + (".material" if key == "situational" else "")
                raise ProfileError(source, where, f"不是 intake.materials 中的材料代码（{code}）",
                                   f"is not a material code of intake.materials ({code})")
    if d["meeting"]["required"] and d["deadlines"]["meeting"] == 0:
        raise ProfileError(source, "deadlines.meeting", "需要会议研究时应为正整数",
                           "must be positive when meeting.required is true")
    if not d["profile"]["approving_unit_levels"]:
        raise ProfileError(source, "profile.approving_unit_levels", "不能为空", "must not be empty")
    a = d["assessment"]
    for items, total in (("quarterly_items", "quarterly_points"), ("annual_items", "annual_points")):
        keys = [i["key"] for i in a[items]]
        if len(set(keys)) != len(keys):
            raise ProfileError(source, f"assessment.{items}", "考核项目代码重复", "duplicate item key")
        if sum(i["points"] for i in a[items]) != a[total]:
            raise ProfileError(source, f"assessment.{items}", f"各项分值之和应等于 assessment.{total}",
                               f"the items' points must add up to assessment.{total}")
    if a["last_place_share"] < d["spot_check"]["share"]:
        raise ProfileError(source, "assessment.last_place_share", "不能低于 spot_check.share",
                           "must not be below spot_check.share")
    e = d["eligibility"]
    if not e["hukou_prefixes"] or not all(p.isdigit() and 2 <= len(p) <= 12 for p in e["hukou_prefixes"]):
        raise ProfileError(source, "eligibility.hukou_prefixes", "应为至少一个2至12位数字的行政区划代码前缀",
                           "must list at least one administrative-division code prefix of 2 to 12 digits")
    codes = [r["code"] for r in e["property_exclusions"]]
    if len(set(codes)) != len(codes):
        raise ProfileError(source, "eligibility.property_exclusions", "财产情形代码重复", "duplicate code")
    if not d["publicity"]["board_levels"]:
        raise ProfileError(source, "publicity.board_levels", "不能为空", "must not be empty")


def parse_profile(text: str, source: str) -> Profile:
    """Parse and validate one profile's TOML text.  Raises :class:`ProfileError`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, "(TOML)", f"语法错误：{exc}", f"syntax error: {exc}") from None
    data = _check(source, "", SCHEMA, raw)
    _semantics(source, data)
    return Profile(id=data["profile"]["id"], source=source, data=Section(data))


def load_profile_file(path: str | Path) -> Profile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), "(文件)", f"无法读取：{exc}", f"cannot be read: {exc}") from None
    profile = parse_profile(text, str(path))
    if profile.id != path.stem:
        raise ProfileError(str(path), "profile.id", f"应与文件名一致（{path.stem}）",
                           f"must match the file name ({path.stem})")
    return profile


def load_profiles(extra_dirs: Iterable[str | Path] = ()) -> dict[str, Profile]:
    """Load the built-in profiles, then every ``*.toml`` in ``extra_dirs`` in order.

    A deployment's file with the id of a built-in profile replaces it (so a district can put in
    its real standard without editing the package).
    """
    profiles: dict[str, Profile] = {}
    for directory in (BUILTIN_DIR, *map(Path, extra_dirs)):
        if not directory.is_dir():
            raise ProfileError(str(directory), "(目录)", "不存在或不是目录", "does not exist or is not a directory")
        for path in sorted(directory.glob("*.toml")):
            p = load_profile_file(path)
            profiles[p.id] = p
    return profiles
