"""The household's declaration of income (previous 6 months, by source) and property — pure.

The console and the phone forms both collect it; this module says what the items are and turns
raw strings into checked data.  Income is kept as the six-month total so the benefit core can take
the monthly average exactly (total / 6) and round only once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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

_AMOUNT = re.compile(r"\d{1,9}(\.\d{1,2})?")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    message_en: str


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


def amount(text: str) -> Decimal | None:
    """A non-negative yuan amount with at most two decimals ("" counts as 0); None when malformed."""
    text = (text or "").strip().replace("，", "").replace(",", "")
    if text == "":
        return Decimal("0")
    if not _AMOUNT.fullmatch(text):
        return None
    return Decimal(text)


def parse_declaration(form: Mapping[str, str]) -> tuple[Declaration | None, list[FieldError]]:
    """Read ``income_<source>_<1..6>`` and ``property_<item>`` fields.  Returns all errors at once."""
    errors: list[FieldError] = []
    income: dict[str, list[str]] = {}
    total = Decimal("0")
    for source, (zh, en) in INCOME_SOURCES.items():
        months = []
        for m in range(1, MONTHS + 1):
            key = f"income_{source}_{m}"
            value = amount(form.get(key, ""))
            if value is None:
                errors.append(FieldError(key, f"{zh}第{m}个月的金额无效（应为不小于0、最多两位小数的数字）",
                                         f"{en}, month {m}: not a valid amount (0 or more, at most 2 decimals)"))
                value = Decimal("0")
            months.append(f"{value:.2f}")
            total += value
        if any(Decimal(v) for v in months):
            income[source] = months
    prop = {item: form.get(f"property_{item}", "").strip()[:500] for item in PROPERTY_ITEMS}
    prop = {k: v for k, v in prop.items() if v}
    if errors:
        return None, errors
    return Declaration(income=income, property=prop, total=total), []
