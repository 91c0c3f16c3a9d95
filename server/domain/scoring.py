"""Assessment of the street offices and townships (考核, 宜君 附件3) — pure.

The rules (监管考核办法 第五至十一条), with every number from the rules profile's ``[assessment]``:

* **Periods.** Each of the first ``quarters`` quarters is checked out of ``quarterly_points`` (20) and
  the year-end assessment is out of ``annual_points`` (40): 3 x 20 + 40 = 100. Period ``0`` here is the
  year-end assessment, ``1..quarters`` the quarters.
* **Items.** A period's score is the sum of its items (``quarterly_items`` / ``annual_items``, each
  with its points), never more than the period's points. Items whose key is in :data:`COMPUTED` are
  measured from the records; the others are entered by the bureau with evidence (an item not yet
  entered counts 0 and is shown as pending).
* **Computed items** are ratios (in time / judged, accurate / checked, aware / asked ...) turned into
  points by :func:`points_for`: ``points x rate``, rounded half up to one decimal. With nothing to
  judge (no case decided in the quarter, no spot check yet) the item keeps its full points: a unit
  loses points for what it did late or wrong, never for what did not happen.
* **Judging in time** (:func:`judge`): a case, re-review or objection counts once, on the day it is
  judged — the day it was done if that was within its time limit, otherwise the day after the limit
  passed (whether or not it has been done since). One that ended before its limit without being done
  (an abandoned application) is not judged; one still within its limit is not judged yet.
* **Deductions** (扣分, 视具体情况而定) are entered with evidence and lower the period they belong
  to, which never falls below 0.
* **Bonus** (加分) for awards and innovation: one matter (事项) counts once at its highest value
  (同一事项就高不就低、不累计), and all bonus together at most ``bonus_cap`` (5).
* **Ranking** by total, equal totals sharing a rank (1, 2, 2, 4); ranks 1-3 are the top three (more
  funding, 第九条); the lowest total is last place (closer supervision and more spot checks next year,
  第十一条) unless that total is itself within the top three.
* **Rectification notice** (整改告知单, 第七条): a quarter's items that lost points (with the bureau's
  evidence for entered ones) and its deductions.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "ANNUAL", "COMPUTED", "DEDUCTION_REASONS", "BONUS_KINDS", "Deduction", "ItemSpec", "Judgement", "Line",
    "PeriodScore", "Ranked", "Ratio", "UnitScore", "accuracy", "add_months", "bonus_total", "coverage",
    "judge", "matter_key", "period_bounds", "period_score", "points_for", "rank", "ratio_in",
    "rectification_items", "rereview_judgements", "unit_score",
]

ANNUAL = 0
POINT = Decimal("0.1")
ZERO = Decimal("0")

COMPUTED = ("on_time", "rereview", "objections", "coverage", "spot_check", "awareness", "satisfaction")

DEDUCTION_REASONS = {
    "missed_target": ("指标任务未按进度标准完成", "Targets not met on schedule"),
    "criticised": ("被中省市县通报批评", "Publicly criticised by a higher government"),
    "media": ("被新闻媒体负面报道", "Negative press coverage"),
    "buck_passing": ("群众反映诉求推诿扯皮", "Passing the buck on residents' complaints"),
    "discipline": ("违纪违法处分", "Disciplinary or legal sanction"),
    "other": ("其他", "Other"),
}
BONUS_KINDS = {
    "award": ("获中省市县表彰奖励", "Award from a higher government"),
    "innovation": ("积极探索创新", "Innovation"),
}


# --- measuring -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ratio:
    """``numerator`` of ``denominator`` (the numerator may be fractional: a minor issue counts half)."""
    numerator: Decimal
    denominator: int

    @property
    def rate(self) -> Decimal | None:
        return None if self.denominator == 0 else Decimal(self.numerator) / self.denominator

    def as_json(self) -> dict[str, Any]:
        return {"numerator": str(self.numerator), "denominator": self.denominator}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Ratio | None:
        if not data:
            return None
        return cls(Decimal(str(data["numerator"])), int(data["denominator"]))


def points_for(max_points: int, ratio: Ratio | None) -> Decimal:
    """``max_points x rate`` rounded half up to 0.1; full points when there is nothing to judge."""
    full = Decimal(max_points)
    if ratio is None or ratio.rate is None:
        return full
    value = (full * ratio.rate).quantize(POINT, rounding=ROUND_HALF_UP)
    return min(full, max(ZERO, value))


@dataclass(frozen=True)
class Judgement:
    on: dt.date
    in_time: bool


def judge(deadline: dt.date, done_on: dt.date | None, ended_on: dt.date | None, today: dt.date) -> Judgement | None:
    """One duty with a time limit: judged in time on the day it was done, or late on the day after the
    limit; None when it ended undone before the limit or its limit has not passed yet."""
    if done_on is not None and done_on <= deadline:
        return Judgement(done_on, True)
    if done_on is None and ended_on is not None and ended_on <= deadline:
        return None
    late = deadline + dt.timedelta(days=1)
    if late > today:
        return None
    return Judgement(late, False)


def ratio_in(judgements: Iterable[Judgement | None], start: dt.date, end: dt.date) -> Ratio:
    """In time / judged, over the judgements made from ``start`` to ``end`` inclusive."""
    inside = [j for j in judgements if j is not None and start <= j.on <= end]
    return Ratio(Decimal(sum(1 for j in inside if j.in_time)), len(inside))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def rereview_judgements(anchor: dt.date, interval_months: int, completions: Iterable[dt.date],
                        ended_on: dt.date | None, today: dt.date) -> list[Judgement]:
    """Each re-review a household in payment owed since ``anchor`` (its approval): due ``interval_months``
    after the previous review; judged as :func:`judge` does.  A late review starts the next interval."""
    if interval_months <= 0:
        return []
    done = sorted(completions)
    out: list[Judgement] = []
    for _ in range(1000):   # a bound, not a rule: far more reviews than any household has
        due = add_months(anchor, interval_months)
        later = [d for d in done if d > anchor]
        nxt = later[0] if later else None
        j = judge(due, nxt if nxt is not None and nxt <= due else None,
                  ended_on if nxt is None or (ended_on is not None and ended_on < nxt) else None, today)
        if j is None:
            break
        out.append(j)
        if nxt is None:
            break
        anchor = nxt
    return out


def accuracy(outcomes: Iterable[str], minor_credit: Decimal) -> Ratio:
    """Spot-check accuracy: "accurate" counts 1, "minor_issue" ``minor_credit``, "wrong" 0."""
    outcomes = list(outcomes)
    unknown = sorted({o for o in outcomes if o not in ("accurate", "minor_issue", "wrong")})
    if unknown:
        raise ValueError(f"unknown spot-check outcome: {unknown}")
    score = sum((Decimal(1) if o == "accurate" else Decimal(minor_credit) if o == "minor_issue" else ZERO
                 for o in outcomes), ZERO)
    return Ratio(score, len(outcomes))


def coverage(covered: int, target: int | None) -> Ratio | None:
    """People covered against the unit's target (指标任务), at most 100%; None without a target."""
    if not target or target <= 0:
        return None
    return Ratio(Decimal(min(covered, target)), target)


def period_bounds(year: int, period: int, quarters: int) -> tuple[dt.date, dt.date]:
    """First and last day of a quarter (1..quarters) or of the year (``ANNUAL``)."""
    if period == ANNUAL:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if not 1 <= period <= min(quarters, 4):
        raise ValueError(f"no quarter {period}")
    start = dt.date(year, 3 * period - 2, 1)
    return start, add_months(start, 3) - dt.timedelta(days=1)


# --- scoring -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemSpec:
    key: str
    name: str
    name_en: str
    points: int

    @property
    def computed(self) -> bool:
        return self.key in COMPUTED


@dataclass(frozen=True)
class Line:
    key: str
    name: str
    name_en: str
    computed: bool
    max_points: int
    points: Decimal | None      # None: an entered item not entered yet
    ratio: Ratio | None = None  # what a computed item measured (None: nothing to judge)
    note: str = ""              # an entered item's evidence

    @property
    def missed(self) -> bool:
        return self.points is not None and self.points < self.max_points


@dataclass(frozen=True)
class Deduction:
    key: str
    points: Decimal
    evidence: str = ""


@dataclass(frozen=True)
class PeriodScore:
    period: int
    max_points: int
    lines: tuple[Line, ...]
    deductions: tuple[Deduction, ...] = ()

    @property
    def subtotal(self) -> Decimal:
        return min(Decimal(self.max_points), sum((ln.points or ZERO for ln in self.lines), ZERO))

    @property
    def deducted(self) -> Decimal:
        return sum((d.points for d in self.deductions), ZERO)

    @property
    def score(self) -> Decimal:
        return max(ZERO, self.subtotal - self.deducted)

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(ln.key for ln in self.lines if ln.points is None)


def period_score(period: int, max_points: int, specs: Sequence[ItemSpec], computed: Mapping[str, Ratio | None],
                 entered: Mapping[str, Decimal], deductions: Sequence[Deduction] = (),
                 notes: Mapping[str, str] | None = None) -> PeriodScore:
    """A period's lines: computed items from their ratios, entered items as entered (capped at their points)
    with their evidence (``notes``)."""
    lines = []
    for spec in specs:
        if spec.computed:
            ratio = computed.get(spec.key)
            lines.append(Line(spec.key, spec.name, spec.name_en, True, spec.points, points_for(spec.points, ratio),
                              ratio))
        else:
            value = entered.get(spec.key)
            if value is not None:
                value = min(Decimal(spec.points), max(ZERO, Decimal(value)))
            lines.append(Line(spec.key, spec.name, spec.name_en, False, spec.points, value,
                              note=(notes or {}).get(spec.key, "")))
    return PeriodScore(period, max_points, tuple(lines), tuple(deductions))


def matter_key(text: str) -> str:
    """A bonus matter's identity: the same words whatever the spacing, width or case."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())


def bonus_total(entries: Iterable[tuple[str, Decimal]], cap: int) -> tuple[Decimal, dict[str, Decimal]]:
    """(matter, points) entries -> (total counted, matter -> points counted): each matter once at its
    highest value, the total at most ``cap``."""
    best: dict[str, Decimal] = {}
    for matter, points in entries:
        key = matter_key(matter)
        best[key] = max(best.get(key, ZERO), Decimal(points))
    return min(Decimal(cap), sum(best.values(), ZERO)), best


@dataclass(frozen=True)
class UnitScore:
    unit: Any
    periods: tuple[PeriodScore, ...]   # the quarters, then the year-end assessment
    bonus: Decimal = ZERO
    bonus_matters: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum((p.score for p in self.periods), ZERO) + self.bonus

    def period(self, period: int) -> PeriodScore | None:
        return next((p for p in self.periods if p.period == period), None)


def unit_score(unit: Any, periods: Sequence[PeriodScore], bonus_entries: Iterable[tuple[str, Decimal]],
               cap: int) -> UnitScore:
    total, matters = bonus_total(bonus_entries, cap)
    return UnitScore(unit, tuple(periods), total, matters)


@dataclass(frozen=True)
class Ranked:
    unit: Any
    total: Decimal
    rank: int
    top_three: bool
    last: bool


def rank(totals: Iterable[tuple[Any, Decimal]]) -> list[Ranked]:
    """Competition ranking (1, 2, 2, 4) by total, highest first; ties keep the order they were given."""
    rows = sorted(enumerate(totals), key=lambda r: (-Decimal(r[1][1]), r[0]))
    out: list[tuple[Any, Decimal, int]] = []
    for position, (_i, (unit, total)) in enumerate(rows, start=1):
        total = Decimal(total)
        r = out[-1][2] if out and out[-1][1] == total else position
        out.append((unit, total, r))
    lowest = min((t for _u, t, _r in out), default=None)
    worst = max((r for _u, _t, r in out), default=0)
    return [Ranked(u, t, r, r <= 3, t == lowest and worst > 3 and r == worst) for u, t, r in out]


def rectification_items(period: PeriodScore) -> list[dict[str, Any]]:
    """What a unit missed in a period: items that lost points, then deductions (for the notice)."""
    items: list[dict[str, Any]] = []
    for ln in period.lines:
        if ln.missed:
            rate = ln.ratio.rate if ln.ratio is not None else None
            items.append({"key": ln.key, "name": ln.name, "name_en": ln.name_en, "points": str(ln.points),
                          "max_points": ln.max_points,
                          "measure": ln.ratio.as_json() if ln.ratio is not None else None,
                          "rate": f"{rate * 100:.1f}" if rate is not None else None, "evidence": ln.note})
    for d in period.deductions:
        zh, en = DEDUCTION_REASONS.get(d.key, (d.key, d.key))
        items.append({"key": f"deduction:{d.key}", "name": f"扣分：{zh}", "name_en": f"Deduction: {en}",
                      "points": str(-d.points), "max_points": 0, "measure": None, "rate": None,
                      "evidence": d.evidence})
    return items
