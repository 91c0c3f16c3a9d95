"""Dibao benefit (补差) arithmetic. Pure module: standard library only.

Money rules
-----------
* Amounts are ``decimal.Decimal`` (or ``int``); a ``float`` anywhere is a ``TypeError``.
* Arithmetic is EXACT. Several everyday quantities do not terminate in decimal -- a rural standard
  quoted per year divided by 12 (6277 / 12 = 523.0833...), a per-capita income (1000 / 3), a six-month
  income average -- so intermediate values are carried as ``fractions.Fraction`` (exact rationals,
  also stdlib) and the result is rounded ONCE, at the very end, to the fen (0.01) with ROUND_HALF_UP.
  A 28-digit Decimal is not good enough: yearly standard 6277.30, 3 people, income 569.33 is exactly
  999.995 -> 1000.00, but ``(Decimal("6277.30") / 12 - Decimal("569.33") / 3) * 3`` comes out as
  999.99499... -> 999.99.
* ``Standard.monthly()`` therefore returns a ``Fraction``; ``compute_benefit`` accepts Decimal, int or
  Fraction for its amounts. ``to_fen()`` accepts all three.
* ``BenefitWorking`` carries Decimals for display. Values that terminate are exact; the others
  (per-capita income 1000/3, a base built on 6277/12) are the exact value correctly rounded to 28
  significant digits. Only ``total`` is money to pay, and it is computed from the exact rationals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal
from fractions import Fraction
from types import MappingProxyType

__all__ = [
    "AREAS",
    "METHODS",
    "PERIODS",
    "BenefitWorking",
    "InvalidMoney",
    "NoStandardInForce",
    "Standard",
    "SupplementLine",
    "Tier",
    "compute_benefit",
    "money",
    "standard_in_force",
    "to_fen",
]

AREAS = ("urban", "rural")
PERIODS = ("month", "year")
METHODS = ("gap", "tiers")
MONTHS_PER_YEAR = 12

_AREA_ZH = {"urban": "城市", "rural": "农村"}

# Used only to turn exact rationals into Decimals for display.
_DISPLAY = Context(prec=28)

_MONEY_TEXT = re.compile(r"\d+(?:\.\d{1,2})?", re.ASCII)
_TOO_MANY_PLACES_TEXT = re.compile(r"\d+\.\d{3,}", re.ASCII)
_NEGATIVE_TEXT = re.compile(r"-\s*\d+(?:\.\d+)?", re.ASCII)

_NO_RATES: Mapping[str, Decimal] = MappingProxyType({})


# --- exact numbers ---------------------------------------------------------------------------


def _exact(value: object, name: str) -> Fraction:
    """Decimal / int / Fraction -> exact Fraction. Floats (and bools) are refused."""
    if isinstance(value, float):
        raise TypeError(f"{name} is a float ({value!r}); use decimal.Decimal for money")
    if isinstance(value, bool):
        raise TypeError(f"{name} is a bool; expected a Decimal")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name} must be a finite number, not {value}")
        return Fraction(value)
    if isinstance(value, int | Fraction):
        return Fraction(value)
    raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")


def _display(value: Fraction) -> Decimal:
    """Exact if the value terminates within 28 digits, else correctly rounded to 28 digits."""
    return _DISPLAY.divide(Decimal(value.numerator), Decimal(value.denominator))


def to_fen(x: Decimal | int | Fraction) -> Decimal:
    """Round to the fen (0.01), half away from zero (ROUND_HALF_UP), exactly.

    Works on the exact value of ``x`` (Decimal, int or Fraction), so there is no precision limit and
    no hidden second rounding. Always returns a Decimal with exactly two decimal places.
    """
    value = _exact(x, "amount")
    cents, remainder = divmod(abs(value.numerator) * 100, value.denominator)
    if 2 * remainder >= value.denominator:
        cents += 1
    sign = "-" if value < 0 and cents else ""
    return Decimal(f"{sign}{cents // 100}.{cents % 100:02d}")


class InvalidMoney(ValueError):
    """Text or number that is not an amount of money.

    ``code``: "empty", "format", "negative" or "decimal_places"; ``message`` (Chinese),
    ``message_en`` (English, also ``str(exc)``).
    """

    def __init__(self, code: str, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en


def money(s: str | int | Decimal) -> Decimal:
    """Parse an amount in yuan: "682", "682.5", "682.50" -> Decimal("682.50").

    Accepts a str (surrounding whitespace ignored; plain ASCII digits with an optional point and one
    or two decimals -- no sign, exponent, thousands separator or currency symbol), an int or a
    finite Decimal. Rejects negatives and anything finer than a fen with InvalidMoney (a ValueError);
    rejects floats, bools and other types with TypeError. The result has exactly two decimals.
    """
    if isinstance(s, float):
        raise TypeError(f"amount is a float ({s!r}); pass a str or a Decimal")
    if isinstance(s, bool):
        raise TypeError("amount is a bool; pass a str or a Decimal")
    if isinstance(s, str):
        text = s.strip()
        if not text:
            raise InvalidMoney("empty", "金额不能为空", "The amount is empty")
        if _NEGATIVE_TEXT.fullmatch(text):
            raise InvalidMoney("negative", "金额不能为负数", "The amount cannot be negative")
        if _TOO_MANY_PLACES_TEXT.fullmatch(text):
            raise InvalidMoney(
                "decimal_places",
                "金额最多保留两位小数（精确到分）",
                "The amount can have at most two decimal places (fen)",
            )
        if not _MONEY_TEXT.fullmatch(text):
            raise InvalidMoney(
                "format",
                "金额格式不正确，请只填写数字，例如 682 或 682.50",
                "The amount is not a number; write it like 682 or 682.50",
            )
        value = Fraction(Decimal(text))
    elif isinstance(s, int | Decimal):
        if isinstance(s, Decimal) and not s.is_finite():
            raise InvalidMoney(
                "format",
                "金额格式不正确，请只填写数字，例如 682 或 682.50",
                "The amount is not a finite number",
            )
        value = Fraction(s)
    else:
        raise TypeError(f"amount must be a str, int or Decimal, not {type(s).__name__}")

    if value < 0:
        raise InvalidMoney("negative", "金额不能为负数", "The amount cannot be negative")
    if (value * 100).denominator != 1:
        raise InvalidMoney(
            "decimal_places",
            "金额最多保留两位小数（精确到分）",
            "The amount can have at most two decimal places (fen)",
        )
    return to_fen(value)  # exact here: just fixes the representation to two places


# --- standards -------------------------------------------------------------------------------


def _require_date(value: object, name: str) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a datetime.date (not a datetime)")


@dataclass(frozen=True)
class Standard:
    """A local dibao standard (低保标准), per person, effective from a date.

    Urban standards are usually quoted per month (682 yuan/person/month), rural ones per year
    (6277 yuan/person/year). ``amount`` accepts whatever ``money()`` accepts and is stored as a
    two-place Decimal; it must be positive.
    """

    area: str  # "urban" | "rural"
    effective: date
    amount: Decimal
    period: str  # "month" | "year"

    def __post_init__(self) -> None:
        if self.area not in AREAS:
            raise ValueError(f"area must be one of {AREAS}, not {self.area!r}")
        if self.period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}, not {self.period!r}")
        _require_date(self.effective, "effective")
        amount = money(self.amount)
        if amount == 0:
            raise ValueError("a standard must be greater than zero")
        object.__setattr__(self, "amount", amount)

    def monthly(self) -> Fraction:
        """The standard per person per month, EXACT (a yearly amount / 12 is not rounded).

        A Fraction, because 6277/12 has no exact Decimal. Pass it straight to compute_benefit();
        for display use ``to_fen(std.monthly())``.
        """
        value = Fraction(self.amount)
        return value if self.period == "month" else value / MONTHS_PER_YEAR


class NoStandardInForce(LookupError):
    """No standard for the area is effective on the date. ``message`` (zh), ``message_en``."""

    def __init__(self, area: str, on: date) -> None:
        self.area = area
        self.on = on
        self.message = f"{on.isoformat()} 没有生效的{_AREA_ZH[area]}低保标准，请先在规则设置中录入"
        self.message_en = f"No {area} dibao standard is in force on {on.isoformat()}; enter one first"
        super().__init__(self.message_en)


def standard_in_force(standards: Iterable[Standard], area: str, on: date) -> Standard:
    """The standard for ``area`` with the latest ``effective`` date on or before ``on``.

    Raises NoStandardInForce if there is none, and ValueError if two different standards for the
    area take effect on that same latest date (ambiguous configuration).
    """
    if area not in AREAS:
        raise ValueError(f"area must be one of {AREAS}, not {area!r}")
    _require_date(on, "on")
    candidates = [s for s in standards if s.area == area and s.effective <= on]
    if not candidates:
        raise NoStandardInForce(area, on)
    latest = max(s.effective for s in candidates)
    chosen = {s for s in candidates if s.effective == latest}
    if len(chosen) > 1:
        raise ValueError(
            f"{len(chosen)} different {area} standards take effect on {latest.isoformat()}; keep one"
        )
    return chosen.pop()


# --- tiers and supplements -------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """One band of a tiered (分档) scheme: households whose per-capita monthly income is at most
    ``max_per_capita_income`` (None = no upper bound) get ``per_person`` per covered person."""

    max_per_capita_income: Decimal | None
    per_person: Decimal

    def __post_init__(self) -> None:
        if self.max_per_capita_income is not None:
            if _exact(self.max_per_capita_income, "max_per_capita_income") < 0:
                raise ValueError("a tier's max_per_capita_income cannot be negative")
        if _exact(self.per_person, "per_person") < 0:
            raise ValueError("a tier's per_person amount cannot be negative")


@dataclass(frozen=True)
class SupplementLine:
    """Classified-assistance (分类施保) supplement for one category."""

    category: str
    persons: int
    per_person: Decimal
    subtotal: Decimal  # per_person * persons, exact


@dataclass(frozen=True)
class BenefitWorking:
    """Everything needed to show a director how the amount was reached.

    total = to_fen((base + sum of supplement subtotals) * percentage / 100) -- the only rounding.
    """

    method: str  # "gap" | "tiers"
    standard_monthly: Decimal  # S, per person per month
    household_income: Decimal  # Y, household per month
    people: int  # n, people covered
    per_capita_income: Decimal  # Y / n; round only when presenting
    base: Decimal  # gap: max(0, S - Y/n) * n; tiers: tier.per_person * n; unrounded
    tier: Tier | None  # the tier applied (tiers method, household below the standard)
    supplements: tuple[SupplementLine, ...]
    gross: Decimal  # base + supplements, unrounded
    percentage: int  # 100 normally; less in a gradual-exit (渐退) month
    total: Decimal  # rounded once, to the fen


def _check_tiers(tiers: Sequence[Tier]) -> None:
    if not tiers:
        raise ValueError("method 'tiers' needs at least one Tier")
    previous: Fraction | None = None
    for index, tier in enumerate(tiers):
        if not isinstance(tier, Tier):
            raise TypeError(f"tiers[{index}] is a {type(tier).__name__}, not a Tier")
        if tier.max_per_capita_income is None:
            if index != len(tiers) - 1:
                raise ValueError("only the last tier may be open-ended (max_per_capita_income=None)")
            continue
        bound = _exact(tier.max_per_capita_income, "max_per_capita_income")
        if previous is not None and bound <= previous:
            raise ValueError("tiers must be ordered by strictly increasing max_per_capita_income")
        previous = bound


def _count_categories(
    member_categories: Iterable[Iterable[str]], rates: Mapping[str, Fraction], people: int
) -> dict[str, int]:
    counts = dict.fromkeys(rates, 0)
    members = 0
    for member in member_categories:
        if isinstance(member, str):
            raise TypeError(
                "member_categories holds one collection of categories per member, "
                f"e.g. [['elderly'], []], not the bare string {member!r}"
            )
        members += 1
        for category in set(member):
            if category not in rates:
                known = ", ".join(rates) or "none configured"
                raise ValueError(f"unknown supplement category {category!r} (known: {known})")
            counts[category] += 1
    if members > people:
        raise ValueError(f"member_categories lists {members} members but only {people} are covered")
    return counts


def compute_benefit(
    *,
    standard_monthly: Decimal | int | Fraction,
    household_income: Decimal | int | Fraction,
    people: int,
    method: str = "gap",
    tiers: Sequence[Tier] = (),
    supplement_rates: Mapping[str, Decimal] = _NO_RATES,
    member_categories: Iterable[Iterable[str]] = (),
    percentage: int = 100,
) -> BenefitWorking:
    """Monthly benefit for an approved household.

    ``standard_monthly`` S: local standard per person per month (pass ``Standard.monthly()``,
    which is exact). ``household_income`` Y: the household's monthly income (may be a Fraction,
    e.g. a six-month total / 6). ``people`` n >= 1: the people covered.

    Methods:
      * "gap" (补差): base = max(0, S - Y/n) * n.
      * "tiers" (分档): per-capita income Y/n >= S -> base 0, whatever the tiers say (the household
        is not below the standard; this includes Y/n == S, which the gap method also pays 0 for).
        Otherwise the first tier whose max_per_capita_income >= Y/n applies (None = open-ended),
        base = tier.per_person * n. No applicable tier is a configuration error (ValueError).
        ``tiers`` is only allowed with this method.

    Supplements (分类施保): ``supplement_rates`` maps a category ("elderly", "minor",
    "severely_disabled", "seriously_ill", ... -- local parameters) to an amount per person per
    month. ``member_categories`` has one entry per covered member listing that member's categories
    (an empty entry is fine; at most ``people`` entries). A member in several categories gets each
    of them; the same category twice for one member counts once. An unknown category is a
    ValueError.

    DECISION: supplements are paid even when the base is 0. This function is only called for
    households already approved and in payment, and the supplement is for the member's category,
    not for the income gap.

    ``percentage`` (0-100, default 100) scales the WHOLE amount, base plus supplements, e.g. 80 in
    a gradual-exit (渐退) month.

    total = to_fen((base + supplements) * percentage / 100): exact arithmetic, one rounding.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if isinstance(people, bool) or not isinstance(people, int):
        raise TypeError(f"people must be an int, not {type(people).__name__}")
    if people < 1:
        raise ValueError(f"people covered must be at least 1, not {people}")
    if isinstance(percentage, bool) or not isinstance(percentage, int):
        raise TypeError(f"percentage must be an int, not {type(percentage).__name__}")
    if not 0 <= percentage <= 100:
        raise ValueError(f"percentage must be between 0 and 100, not {percentage}")
    standard = _exact(standard_monthly, "standard_monthly")
    if standard <= 0:
        raise ValueError("standard_monthly must be greater than zero")
    income = _exact(household_income, "household_income")
    if income < 0:
        raise ValueError("household_income cannot be negative")

    per_capita = income / people
    tier: Tier | None = None
    if method == "gap":
        if tiers:
            raise ValueError("tiers were given but method is 'gap'; use method='tiers'")
        base = max(Fraction(0), standard - per_capita) * people
    else:
        tiers = tuple(tiers)
        _check_tiers(tiers)
        if per_capita >= standard:
            base = Fraction(0)
        else:
            for candidate in tiers:
                bound = candidate.max_per_capita_income
                if bound is None or per_capita <= _exact(bound, "max_per_capita_income"):
                    tier = candidate
                    break
            else:
                raise ValueError(
                    f"no tier covers a per-capita income of {to_fen(per_capita)} "
                    f"(below the standard {to_fen(standard)}); add a tier or an open-ended last tier"
                )
            base = _exact(tier.per_person, "per_person") * people

    rates: dict[str, Fraction] = {}
    for category, rate in supplement_rates.items():
        if not isinstance(category, str) or not category:
            raise ValueError(f"supplement category must be a non-empty str, not {category!r}")
        exact_rate = _exact(rate, f"supplement rate for {category!r}")
        if exact_rate < 0:
            raise ValueError(f"supplement rate for {category!r} cannot be negative")
        rates[category] = exact_rate
    counts = _count_categories(member_categories, rates, people)
    lines = tuple(
        SupplementLine(
            category=category,
            persons=persons,
            per_person=_display(rates[category]),
            subtotal=_display(rates[category] * persons),
        )
        for category, persons in counts.items()
        if persons
    )
    supplements = sum((rates[line.category] * line.persons for line in lines), Fraction(0))

    gross = base + supplements
    total = to_fen(gross * percentage / 100)
    return BenefitWorking(
        method=method,
        standard_monthly=_display(standard),
        household_income=_display(income),
        people=people,
        per_capita_income=_display(per_capita),
        base=_display(base),
        tier=tier,
        supplements=lines,
        gross=_display(gross),
        percentage=percentage,
        total=total,
    )
