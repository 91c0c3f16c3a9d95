"""The monthly payment roster (备案表 / 拟发放低保金文件) and the schedules of dynamic management.

Pure: standard library only, no clock.  The operations layer loads the cases in payment for a unit
and month, asks the benefit core for each household's amount, and passes plain data here; this module
compares them with last month's lines, says what changed and why, and adds up the totals.  It also
holds the calendar arithmetic the money and dynamic-management work share: roster months and due
days, re-review due dates per household class, and the months of a gradual exit (渐退).

Money is ``Decimal`` with two places throughout (the benefit core already rounded each amount once,
to the fen); sums of such amounts are exact, so totals always add up.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "CHANGES", "REASONS", "Adjustment", "Line", "PayInput", "PrevLine", "RosterResult", "StopInfo", "Totals",
    "add_months", "add_months_to_date", "compute_roster", "exit_end_month", "exit_percentage", "exit_position", "filing_status",
    "finance_due", "first_day", "last_day", "month_of", "months_between", "next_review_due", "parse_month",
    "payment_due", "roster_due", "roster_month_for", "totals_of",
]

# What happened to a household's payment against last month's roster.
CHANGES = {
    "new": ("新增", "New"),
    "raised": ("增发", "Raised"),
    "lowered": ("减发", "Lowered"),
    "unchanged": ("无变化", "Unchanged"),
    "stopped": ("停发", "Stopped"),
    "adjustment": ("补发/扣减调整", "Adjustment"),
}
# Why, when no decision's written reasons explain it.
REASONS = {
    "new": ("新纳入保障", "Newly in payment"),
    "decision": ("调整决定", "Decision"),
    "gradual_exit": ("渐退，按比例发放", "Gradual exit, paid at a percentage"),
    "recomputed": ("按保障标准和家庭情况重新计算", "Recomputed from the standard and the household"),
    "stopped": ("停保", "Payment stopped"),
    "gradual_exit_ended": ("渐退期满", "Gradual exit ended"),
    "correction": ("更正已审批名册", "Correction of an approved roster"),
}

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_FEN = Decimal("0.01")


# --- months -----------------------------------------------------------------------------------

# The months a roster, a filing or a re-review can be for: no dibao roster predates 2000, and a year
# past 2199 is a typing error.  The month before the first (its filing month) and after the last
# (shown next to it) must still be computable, so the bounds apply to what is typed, not to arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2199


def _split(text: str) -> tuple[int, int]:
    m = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise ValueError(f"月份应为 YYYY-MM 格式 / month must be YYYY-MM: {text!r}")
    return int(m.group(1)), int(m.group(2))


def parse_month(text: str) -> tuple[int, int]:
    """"2026-11" -> (2026, 11), for a year from 2000 to 2199.  Anything else is a ValueError (with a
    message in both languages)."""
    year, month = _split(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"月份应在 {FIRST_YEAR}-01 至 {LAST_YEAR}-12 之间 / "
                         f"month must be from {FIRST_YEAR}-01 to {LAST_YEAR}-12: {text!r}")
    return year, month


def _fmt(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def month_of(day: dt.date) -> str:
    return _fmt(day.year, day.month)


def add_months(month: str, n: int) -> str:
    year, mon = _split(month)
    index = year * 12 + (mon - 1) + n
    return _fmt(index // 12, index % 12 + 1)


def months_between(start: str, end: str) -> int:
    """How many months ``end`` is after ``start`` (negative when before)."""
    (y1, m1), (y2, m2) = _split(start), _split(end)
    return (y2 - y1) * 12 + (m2 - m1)


def first_day(month: str) -> dt.date:
    year, mon = _split(month)
    return dt.date(year, mon, 1)


def last_day(month: str) -> dt.date:
    year, mon = _split(month)
    return dt.date(year, mon, _calendar.monthrange(year, mon)[1])


def add_months_to_date(day: dt.date, n: int) -> dt.date:
    """The same day ``n`` months later, kept inside the month (31 Aug + 6 months = 28/29 Feb)."""
    year, mon = _split(add_months(month_of(day), n))
    return dt.date(year, mon, min(day.day, _calendar.monthrange(year, mon)[1]))


# --- roster calendar (profile [money]) ---------------------------------------------------------

def roster_month_for(today: dt.date, roster_for: str) -> str:
    """The month a unit prepares now: next month (guancheng: filed by the 25th for the next month) or
    the current one (yijun: filed by the 10th for the current month)."""
    if roster_for not in ("next_month", "current_month"):
        raise ValueError(f"roster_for must be next_month or current_month, not {roster_for!r}")
    return add_months(month_of(today), 1 if roster_for == "next_month" else 0)


def _filing_month(month: str, roster_for: str) -> str:
    if roster_for not in ("next_month", "current_month"):
        raise ValueError(f"roster_for must be next_month or current_month, not {roster_for!r}")
    return add_months(month, -1) if roster_for == "next_month" else month


def roster_due(month: str, due_day: int, roster_for: str) -> dt.date:
    """The last day the unit may file the roster for ``month`` (filed on that day is on time)."""
    if not 1 <= due_day <= 28:
        raise ValueError(f"due_day must be 1..28, not {due_day}")
    return first_day(_filing_month(month, roster_for)).replace(day=due_day)


def finance_due(month: str, finance_day: int, roster_for: str) -> dt.date | None:
    """The day the bureau passes the approved roster to the finance bureau (yijun: the 15th), or None
    when the profile has no such step (``finance_day = 0``)."""
    if finance_day == 0:
        return None
    if not 1 <= finance_day <= 28:
        raise ValueError(f"finance_day must be 0..28, not {finance_day}")
    return first_day(_filing_month(month, roster_for)).replace(day=finance_day)


def payment_due(month: str, payment_day: int) -> dt.date | None:
    """The day the money reaches the families' bank accounts in ``month`` (guancheng: the 10th), or None."""
    if payment_day == 0:
        return None
    if not 1 <= payment_day <= 28:
        raise ValueError(f"payment_day must be 0..28, not {payment_day}")
    return first_day(month).replace(day=payment_day)


def filing_status(due: dt.date, submitted_on: dt.date | None, today: dt.date) -> str:
    """"on_time" (filed by the due day), "late" (filed after it), "overdue" (not filed, past due) or
    "pending" (not filed, not yet due)."""
    if submitted_on is not None:
        return "on_time" if submitted_on <= due else "late"
    return "overdue" if today > due else "pending"


def roster_months_open(today: dt.date) -> tuple[str, str]:
    """The months a roster may be generated for on ``today``: the current one and the next.  A past
    month is history (its money was paid or corrected by adjustments), a later one cannot be known yet."""
    current = month_of(today)
    return current, add_months(current, 1)


def paid_from(approved_on: dt.date | None, month: str) -> bool:
    """May a family approved on ``approved_on`` be on the roster of ``month``?  Never for a month before
    the approval (a family approved in November is not paid for June)."""
    return approved_on is None or month_of(approved_on) <= month


def step_late(on: dt.date, due: dt.date | None) -> bool:
    """A money step (filing with finance, payment) recorded as done on ``on`` is late after its due day."""
    return due is not None and on > due


# --- re-reviews and gradual exit ---------------------------------------------------------------

def next_review_due(last_review_or_approval: dt.date, household_class: str, profile: Any) -> dt.date:
    """When a family in payment is next re-reviewed: its class's interval (``profile.review_interval``,
    in months; ``default`` for classes the profile does not name) after the last re-review or approval."""
    months = profile.review_interval(household_class)
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise ValueError(f"review interval for {household_class!r} must be a positive number of months")
    return add_months_to_date(last_review_or_approval, months)


def exit_position(start_month: str, month: str, months: int) -> int | None:
    """Which month of a gradual exit ``month`` is (0 = the month it was decided), or None once the
    schedule's ``months`` are over (the family is then stopped)."""
    if months < 0:
        raise ValueError("months cannot be negative")
    index = max(0, months_between(start_month, month))
    return index if index < months else None


def exit_percentage(position: int, percentages: Iterable[int]) -> int:
    """The share of the full amount paid in that month of the schedule (e.g. 100/100/80/80/60/60)."""
    schedule = list(percentages)
    if not 0 <= position < len(schedule):
        raise ValueError(f"month {position} is outside a schedule of {len(schedule)} months")
    return schedule[position]


def exit_end_month(start_month: str, months: int) -> str:
    """The first month no longer paid: payment stops from here (finish_gradual_exit)."""
    return add_months(start_month, months)


# --- roster lines ------------------------------------------------------------------------------

def _fen(value: Any, name: str, *, signed: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or isinstance(value, bool) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, not {value!r}")
    if value.quantize(_FEN) != value:
        raise ValueError(f"{name} must be money to the fen, not {value}")
    if value < 0 and not signed:
        raise ValueError(f"{name} cannot be negative: {value}")
    return value.quantize(_FEN)


@dataclass(frozen=True)
class PayInput:
    """A household in payment for the month, with the benefit core's amount for that month."""
    case_id: int
    case_number: str
    head_name: str
    people: int
    amount: Decimal                       # already with the gradual-exit percentage applied
    exit_percentage: int | None = None    # None when not in gradual exit
    decision_reason: str = ""             # written reasons of a raise/lower decision since last month
    decided_amount: Decimal | None = None  # the amount last decided for the case (to flag differences)


@dataclass(frozen=True)
class PrevLine:
    """A payment line of the last approved roster."""
    case_id: int
    case_number: str
    head_name: str
    people: int
    amount: Decimal
    change: str = "unchanged"
    exit_percentage: int | None = None


@dataclass(frozen=True)
class StopInfo:
    code: str = "stopped"   # a key of REASONS
    text: str = ""          # the decision's written reasons


@dataclass(frozen=True)
class Adjustment:
    """A correction of an approved roster, paid (positive) or recovered (negative) in this one."""
    case_id: int
    case_number: str
    head_name: str
    people: int
    amount: Decimal
    reason: str
    corrects_month: str


@dataclass(frozen=True)
class Line:
    kind: str                       # "payment" | "adjustment"
    case_id: int
    case_number: str
    head_name: str
    people: int
    amount: Decimal
    previous_amount: Decimal | None
    change: str                     # a key of CHANGES
    reason_code: str                # a key of REASONS, or ""
    reason: str                     # written reasons, or ""
    exit_percentage: int | None = None
    corrects_month: str | None = None
    differs_from_decided: bool = False

    def key(self) -> tuple:
        return (self.kind, self.case_id, self.case_number, self.head_name, self.people, self.amount,
                self.previous_amount, self.change, self.reason_code, self.reason, self.exit_percentage,
                self.corrects_month, self.differs_from_decided)


@dataclass(frozen=True)
class Totals:
    households: int       # households paid this month
    people: int           # people covered on those households
    payments: Decimal     # the month's payments
    adjustments: Decimal  # corrections of earlier rosters (may be negative)
    total: Decimal        # payments + adjustments
    by_change: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RosterResult:
    lines: tuple[Line, ...]
    totals: Totals


def totals_of(lines: Iterable[Line]) -> Totals:
    households = people = 0
    payments = adjustments = Decimal("0.00")
    by_change = dict.fromkeys(CHANGES, 0)
    for line in lines:
        by_change[line.change] += 1
        if line.kind == "adjustment":
            adjustments += line.amount
            continue
        payments += line.amount
        if line.change != "stopped":
            households += 1
            people += line.people
    return Totals(households, people, payments, adjustments, payments + adjustments, by_change)


def compute_roster(paying: Iterable[PayInput], previous: Iterable[PrevLine] = (),
                   stopped: Mapping[int, StopInfo] | None = None,
                   adjustments: Iterable[Adjustment] = ()) -> RosterResult:
    """The month's lines and totals.

    * A household in ``paying`` with no line last month is ``new``; otherwise ``raised``, ``lowered`` or
      ``unchanged`` against last month's amount.  A change is explained by the decision's written reasons
      when there is one, else by the gradual exit (its percentage moved) or by a recomputation.
    * A household paid last month and not in ``paying`` is ``stopped`` (amount 0), with the stop's reasons
      from ``stopped`` when known.  A line already stopped last month does not come back.
    * ``adjustments`` become lines of their own kind; they count in the total, not in the households.

    Lines are ordered by case number, adjustments after payments.  Linear in the number of households.
    """
    stopped = stopped or {}
    prev: dict[int, PrevLine] = {}
    for p in previous:
        if p.change == "stopped":
            continue
        _fen(p.amount, f"previous amount of case {p.case_id}")
        prev[p.case_id] = p
    lines: list[Line] = []
    seen: set[int] = set()
    for c in paying:
        if c.case_id in seen:
            raise ValueError(f"case {c.case_id} is listed twice")
        seen.add(c.case_id)
        if isinstance(c.people, bool) or not isinstance(c.people, int) or c.people < 1:
            raise ValueError(f"case {c.case_id}: people covered must be at least 1")
        amount = _fen(c.amount, f"amount of case {c.case_id}")
        if c.exit_percentage is not None and not 0 <= c.exit_percentage <= 100:
            raise ValueError(f"case {c.case_id}: exit percentage must be 0..100")
        differs = c.decided_amount is not None and c.exit_percentage is None and \
            _fen(c.decided_amount, f"decided amount of case {c.case_id}") != amount
        before = prev.get(c.case_id)
        if before is None:
            change, code, reason, previous_amount = "new", "new", "", None
        else:
            previous_amount = before.amount
            if amount == before.amount:
                change, code, reason = "unchanged", "", ""
            else:
                change = "raised" if amount > before.amount else "lowered"
                if c.decision_reason.strip():
                    code, reason = "decision", c.decision_reason.strip()
                elif c.exit_percentage != before.exit_percentage:
                    code, reason = "gradual_exit", ""
                else:
                    code, reason = "recomputed", ""
        lines.append(Line("payment", c.case_id, c.case_number, c.head_name, c.people, amount, previous_amount,
                          change, code, reason, c.exit_percentage, None, differs))
    for case_id, before in prev.items():
        if case_id in seen:
            continue
        info = stopped.get(case_id, StopInfo())
        code = info.code if info.code in REASONS else "stopped"
        lines.append(Line("payment", case_id, before.case_number, before.head_name, before.people,
                          Decimal("0.00"), before.amount, "stopped", code, info.text.strip()))
    lines.sort(key=lambda ln: (ln.case_number, ln.case_id))
    extra = []
    for a in adjustments:
        amount = _fen(a.amount, f"adjustment of case {a.case_id}", signed=True)
        if amount == 0:
            raise ValueError(f"adjustment of case {a.case_id} is zero")
        if not a.reason.strip():
            raise ValueError(f"adjustment of case {a.case_id} has no reason")
        parse_month(a.corrects_month)
        extra.append(Line("adjustment", a.case_id, a.case_number, a.head_name, a.people, amount, None,
                          "adjustment", "correction", a.reason.strip(), None, a.corrects_month))
    extra.sort(key=lambda ln: (ln.case_number, ln.corrects_month or "", ln.case_id))
    out = tuple(lines + extra)
    return RosterResult(out, totals_of(out))
