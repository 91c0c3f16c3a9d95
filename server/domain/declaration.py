"""The household's declaration of income (previous 6 months, by source) and property — pure.

The console and the phone forms both collect it; this module says what the items are and turns
raw strings into checked data.  Income is kept as the six-month total so the benefit core can take
the monthly average exactly (total / 6) and round only once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

MONTHS = 6  # 申请前6个月

INCOME_SOURCES = {
    "wages": ("工资性收入", "Wages"),
    "business": ("经营净收入", "Net business income"),
    "property_income": ("财产净收入（租金、利息等）", "Net property income (rent, interest)"),
    "pensions": ("养老金、离退休金", "Pensions"),
    "support": ("赡养费、抚养费、扶养费", "Support payments from relatives"),
    "transfers": ("其他转移性收入", "Other transfers"),
    "other": ("其他收入", "Other income"),
}

PROPERTY_ITEMS = {
    "housing": ("房产（套数、面积、地址）", "Housing (number, area, address)"),
    "vehicles": ("机动车辆", "Vehicles"),
    "deposits": ("银行存款（元）", "Bank deposits (yuan)"),
    "securities": ("有价证券、基金、保险", "Securities, funds, insurance"),
    "business": ("工商登记、经营实体", "Registered businesses"),
    "other": ("其他财产", "Other property"),
}

_AMOUNT = re.compile(r"\d{1,9}(\.\d{1,2})?", re.ASCII)
# Thousands grouping: "1,200", "12,345.60", "1,234,567" — a comma only between groups of three digits.
_GROUPED = re.compile(r"\d{1,3}(,\d{3}){1,2}(\.\d{1,2})?", re.ASCII)
UNKNOWN = "—"   # how a month nobody filled in (old records) or an income kind nobody declared is shown

BAD_AMOUNT = ("金额无效（应为不小于0、最多两位小数的数字）", "not a valid amount (0 or more, at most 2 decimals)")
BAD_COMMA = ("金额中的逗号只能用作千位分隔符（如1,200或12,345.60），小数点请用“.”",
             "a comma may only group thousands (1,200 or 12,345.60); write decimals with a point")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    message_en: str
    blank_months: tuple[int, ...] = ()   # a partly filled income: its blank months (1-based)


@dataclass(frozen=True)
class Declaration:
    income: dict[str, list[str]]     # source -> six monthly amounts as "0.00" strings, oldest first
    property: dict[str, str]         # item -> what was declared (free text)
    total: Decimal                   # six-month income total

    @property
    def monthly_average(self) -> Fraction:
        return Fraction(self.total) / MONTHS

    def as_json(self) -> dict:
        return {"income": self.income, "property": self.property, "total": str(self.total)}


def _normalised(text: str) -> str:
    """Full-width forms as people type them on Chinese keyboards (１２００．５０, １，２００) read as ASCII."""
    return unicodedata.normalize("NFKC", text or "").strip()


def amount_problem(text: str) -> tuple[str, str] | None:
    """Why a non-blank amount is not one, as (Chinese, English); None when it is one (or is blank)."""
    text = _normalised(text)
    if text == "" or _AMOUNT.fullmatch(text) or _GROUPED.fullmatch(text):
        return None
    # a comma out of place in what would otherwise be an amount ("12,50", "1,80"): say so, never drop it
    return BAD_COMMA if "," in text and _AMOUNT.fullmatch(text.replace(",", "")) else BAD_AMOUNT


def amount(text: str) -> Decimal | None:
    """A non-negative yuan amount with at most two decimals; None when blank or malformed.

    A blank is no amount at all, never 0: callers that allow a blank check for it first.  A comma (also the
    full-width "，") is read only as thousands grouping ("1,200", "12,345.60"); "12,50" or "1,80" is malformed
    (see ``amount_problem`` for the message), never 1250 or 180.
    """
    text = _normalised(text)
    if _AMOUNT.fullmatch(text):
        return Decimal(text)
    if _GROUPED.fullmatch(text):
        return Decimal(text.replace(",", ""))
    return None


def blank_months(months: Sequence[object]) -> list[int]:
    """The 1-based months left blank (None or an empty/whitespace string) of a six-month list."""
    return [i for i, m in enumerate(months, 1) if m is None or (isinstance(m, str) and not m.strip())]


def partial_months_message(label_zh: str, label_en: str, blanks: Sequence[int]) -> tuple[str, str]:
    """The message for a six-month income filled in only partly: it names the field and the blank months."""
    zh_months = "、".join(f"第{m}个月" for m in blanks)
    en_months = ", ".join(str(m) for m in blanks)
    return (f"“{label_zh}”{zh_months}未填写：6个月须全部填写（没有收入的月份填0），或全部留空（没有此项收入）",
            f"{label_en}: month {en_months} left blank; fill in all 6 months (0 for a month without income) "
            "or leave all 6 blank (no income of this kind)")


def parse_declaration(form: Mapping[str, str]) -> tuple[Declaration | None, list[FieldError]]:
    """Read ``income_<source>_<1..6>`` and ``property_<item>`` fields.  Returns all errors at once.

    An income source is either left entirely blank (none declared: it is not in ``income``) or filled in
    for all six months (0 typed for a month without income); a partly filled one is an error on its first
    blank month, naming every blank month.  A blank is never read as 0.
    """
    errors: list[FieldError] = []
    income: dict[str, list[str]] = {}
    total = Decimal("0")
    for source, (zh, en) in INCOME_SOURCES.items():
        raw = [form.get(f"income_{source}_{m}") or "" for m in range(1, MONTHS + 1)]
        blanks = blank_months(raw)
        if len(blanks) == MONTHS:
            continue
        months: list[str] = []
        for m, text in enumerate(raw, 1):
            if m in blanks:
                continue
            value = amount(text)
            if value is None:
                why_zh, why_en = amount_problem(text) or BAD_AMOUNT
                errors.append(FieldError(f"income_{source}_{m}", f"{zh}第{m}个月的{why_zh}", f"{en}, month {m}: {why_en}"))
                continue
            months.append(f"{value:.2f}")
            total += value
        if blanks:
            message, message_en = partial_months_message(zh, en, blanks)
            errors.append(FieldError(f"income_{source}_{blanks[0]}", message, message_en, tuple(blanks)))
        elif len(months) == MONTHS:
            income[source] = months
    prop = {item: form.get(f"property_{item}", "").strip()[:500] for item in PROPERTY_ITEMS}
    prop = {k: v for k, v in prop.items() if v}
    if errors:
        return None, errors
    return Declaration(income=income, property=prop, total=total), []
