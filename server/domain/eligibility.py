"""Is the household eligible?  The three conditions of an application, checked from the figures — pure.

A household qualifies when (seeds, 申请条件):

- its **per-capita income** — the assessed six-month income of the co-residing family / 6 / the number of
  co-residing members — is **below** the local standard per person per month in force (``低于``: a household
  exactly at the standard does not qualify);
- the applicant (the head) has a **local household registration** (户籍): the administrative-division code
  of the registered place starts with one of the jurisdiction's prefixes the profile names;
- its **property** meets the local rules: the caseworker ticks, from the profile's fixed list, every
  exclusion the household falls under (e.g. more than one home); any ticked exclusion fails.

:func:`assess` returns every failed condition with its reason written out in Chinese and English (the
numbers included), so a failing household can be proposed for refusal with the reason, and an approval
of it refused showing why.  No Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

MONTHS = 6


def to_fen(value: Fraction | Decimal) -> Decimal:
    """Round once, half up, to the fen (for showing a figure; the comparison uses the exact value)."""
    frac = Fraction(value)
    return (Decimal(frac.numerator) / Decimal(frac.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Reason:
    code: str       # "income_above_standard" | "hukou_not_local" | "property_excluded" | "nobody_co_residing"
    zh: str
    en: str


@dataclass(frozen=True)
class MemberHukou:
    name: str
    relation: str           # "head" for the applicant
    hukou_code: str         # administrative-division code of the registered place ("" = not recorded)


@dataclass(frozen=True)
class Eligibility:
    per_capita: Fraction | None     # monthly per-capita income (exact); None when nobody co-resides
    standard: Fraction              # the standard per person per month (exact)
    people: int                     # co-residing members counted
    reasons: tuple[Reason, ...]

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def text(self, lang: str = "zh") -> str:
        return ("；" if lang == "zh" else "; ").join(r.zh if lang == "zh" else r.en for r in self.reasons)

    def as_json(self) -> dict:
        return {"ok": self.ok, "per_capita": str(to_fen(self.per_capita)) if self.per_capita is not None else None,
                "standard": str(to_fen(self.standard)), "people": self.people, "reasons": self.codes,
                "text": self.text("zh"), "text_en": self.text("en")}


def is_local(hukou_code: str, prefixes: Sequence[str]) -> bool:
    """A registered place inside the jurisdiction: its division code starts with one of the prefixes."""
    code = (hukou_code or "").strip()
    return bool(code) and code.isdigit() and any(code.startswith(p) for p in prefixes)


def assess(*, income_6m: Decimal, co_residing: int, standard_monthly: Fraction | Decimal,
           members: Iterable[MemberHukou], hukou_prefixes: Sequence[str], property_found: Iterable[str],
           property_rules: Mapping[str, tuple[str, str]]) -> Eligibility:
    """Check the three conditions; every failed one is a :class:`Reason` (none = eligible).

    ``property_rules`` maps each exclusion code of the profile to its (zh, en) name; a found code the
    profile does not name is an error of the caller (ValueError), never silently ignored.
    """
    standard = Fraction(standard_monthly)
    reasons: list[Reason] = []
    per_capita: Fraction | None = None
    if co_residing <= 0:
        reasons.append(Reason("nobody_co_residing", "没有共同生活的家庭成员，无法计算人均收入",
                              "no co-residing member: the per-capita income cannot be computed"))
    else:
        per_capita = Fraction(Decimal(income_6m)) / MONTHS / co_residing
        if per_capita >= standard:
            pc, st = to_fen(per_capita), to_fen(standard)
            reasons.append(Reason(
                "income_above_standard",
                f"家庭月人均收入 {pc} 元（6个月收入 {Decimal(income_6m):.2f} 元 ÷ 6 ÷ {co_residing}人）"
                f"不低于当地低保标准 {st} 元",
                f"monthly per-capita income {pc} yuan ({Decimal(income_6m):.2f} / 6 / {co_residing} people) "
                f"is not below the local standard of {st} yuan"))
    members = list(members)
    head = next((m for m in members if m.relation == "head"), None)
    if head is None or not is_local(head.hukou_code, hukou_prefixes):
        name = head.name if head else ""
        code = (head.hukou_code if head else "") or "未登记"
        code_en = (head.hukou_code if head else "") or "not recorded"
        reasons.append(Reason(
            "hukou_not_local",
            f"申请人{name}户籍地（区划代码 {code}）不在本辖区（{'、'.join(hukou_prefixes)}）",
            f"the applicant {name}'s registered place (division code {code_en}) is outside the jurisdiction "
            f"({', '.join(hukou_prefixes)})"))
    found = sorted(set(property_found))
    unknown = [c for c in found if c not in property_rules]
    if unknown:
        raise ValueError(f"unknown property exclusion: {', '.join(unknown)}")
    if found:
        reasons.append(Reason(
            "property_excluded",
            "家庭财产不符合规定：" + "、".join(property_rules[c][0] for c in found),
            "property outside the local rules: " + ", ".join(property_rules[c][1] for c in found)))
    return Eligibility(per_capita=per_capita, standard=standard, people=max(co_residing, 0), reasons=tuple(reasons))
