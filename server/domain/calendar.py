"""The working-day clock (工作日).

Every procedural deadline of a dibao case counts working days on the national statutory calendar:
public holidays are skipped and the make-up working weekends (调休) count. The day that starts a
period is not counted (期间开始之日不计算在内), so ``add_workdays(start, n)`` is the n-th working day
strictly after ``start``.

Sources, in order of precedence:

1. an *override*: holidays and working days a deployment lists itself, typically next year's State
   Council arrangement, published around November, before a new ``chinesecalendar`` release;
2. the ``chinesecalendar`` package (import ``chinese_calendar``), which knows 2004-2026 and raises
   ``NotImplementedError`` for every other year;
3. Monday to Friday.

A year is *known* when the package knows it or the override lists at least one date in it. In a
known year the days nobody lists follow Monday to Friday and are authoritative. In an unknown year
every day follows Monday to Friday and any result that consulted such a day is *provisional*: it is
shown with a warning and recomputed once the arrangement is added. Nothing here raises because a
year is unknown.

The module is pure: no Flask, no SQLAlchemy, no clock. ``today`` is always an argument.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

import chinese_calendar

__all__ = [
    "DUE_SOON",
    "NATIONAL",
    "OK",
    "OVERDUE",
    "PACKAGE_YEARS",
    "CalendarOverrideError",
    "Deadline",
    "WorkCalendar",
    "WorkdayCount",
    "deadline_status",
]

OVERDUE = "overdue"
DUE_SOON = "due_soon"
OK = "ok"

_OVERRIDE_KEYS = ("holidays", "workdays")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_ORDINAL = _dt.date.max.toordinal()


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Deadline:
    """A computed date; ``provisional`` when it relied on a year nobody has published yet."""

    date: _dt.date
    provisional: bool

    def isoformat(self) -> str:
        """The date alone, ``YYYY-MM-DD`` (for storage, forms and JSON)."""
        return self.date.isoformat()

    def __str__(self) -> str:
        """``2025-10-31`` or ``2025-10-31 (provisional)`` (for logs and plain-text output)."""
        if self.provisional:
            return f"{self.date.isoformat()} (provisional)"
        return self.date.isoformat()


@dataclass(frozen=True)
class WorkdayCount:
    """A number of working days; ``provisional`` as for :class:`Deadline`."""

    days: int
    provisional: bool


# --------------------------------------------------------------------------- errors


class CalendarOverrideError(ValueError):
    """The override text or file cannot be used.

    ``message`` is Chinese, ``message_en`` English; both name the source (the file path, or the label
    given to :meth:`WorkCalendar.from_toml_text`) and, where there is one, the key and the item.
    ``source``, ``key`` and ``item`` are kept as attributes for callers that format their own text.
    """

    def __init__(
        self,
        message: str,
        message_en: str,
        *,
        source: str,
        key: str | None = None,
        item: object = None,
    ) -> None:
        super().__init__(f"{message} / {message_en}")
        self.message = message
        self.message_en = message_en
        self.source = source
        self.key = key
        self.item = item


def _toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, for error messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, _dt.date):
        return "date"
    if isinstance(value, _dt.time):
        return "time"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    return repr(value)


def _parse_override_item(value: object, *, key: str, index: int, source: str) -> _dt.date:
    """One array item: a TOML local date or a ``"YYYY-MM-DD"`` string."""
    where_zh = f"{key} 第 {index + 1} 项（{_show(value)}）"
    where_en = f"{key} item {index + 1} ({_show(value)})"
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    if isinstance(value, str):
        # date.fromisoformat alone would also take "20270101" and "2027-W01-5".
        if _ISO_DATE.fullmatch(value):
            try:
                return _dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise CalendarOverrideError(
            f"节假日覆盖文件 {source}：{where_zh} 不是有效日期，应写作 YYYY-MM-DD（如 2027-01-01）",
            f"calendar override {source}: {where_en} is not a valid date; write YYYY-MM-DD (e.g. 2027-01-01)",
            source=source,
            key=key,
            item=value,
        )
    raise CalendarOverrideError(
        f'节假日覆盖文件 {source}：{where_zh} 应为日期（2027-01-01 或 "2027-01-01"），实际为 {_toml_type(value)}',
        f'calendar override {source}: {where_en} must be a date (2027-01-01 or "2027-01-01"), '
        f"found {_toml_type(value)}",
        source=source,
        key=key,
        item=value,
    )


def _parse_override(text: str, source: str) -> tuple[list[_dt.date], list[_dt.date]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarOverrideError(
            f"节假日覆盖文件 {source} 不是有效的 TOML：{exc}",
            f"calendar override {source} is not valid TOML: {exc}",
            source=source,
        ) from exc
    for key in data:
        if key not in _OVERRIDE_KEYS:
            raise CalendarOverrideError(
                f"节假日覆盖文件 {source}：未知的键 “{key}”，只允许 holidays（放假日期）和 workdays（调休上班日期）",
                f"calendar override {source}: unknown key '{key}'; only 'holidays' and 'workdays' are allowed",
                source=source,
                key=key,
            )
    parsed: dict[str, list[_dt.date]] = {}
    for key in _OVERRIDE_KEYS:
        values = data.get(key, [])
        if not isinstance(values, list):
            raise CalendarOverrideError(
                f"节假日覆盖文件 {source}：键 “{key}” 应为日期数组，实际为 {_toml_type(values)}",
                f"calendar override {source}: '{key}' must be an array of dates, found {_toml_type(values)}",
                source=source,
                key=key,
                item=values,
            )
        parsed[key] = [
            _parse_override_item(value, key=key, index=index, source=source)
            for index, value in enumerate(values)
        ]
    return parsed["holidays"], parsed["workdays"]


# --------------------------------------------------------------------------- the package's data


def _is_weekday_ordinal(ordinal: int) -> bool:
    # date.fromordinal(1) is Monday 0001-01-01: residue 6 is Saturday, 0 is Sunday.
    return ordinal % 7 not in (0, 6)


def _load_package() -> tuple[frozenset[int], dict[int, bool]]:
    """The years ``chinese_calendar`` knows and its departures from Monday-Friday, by ordinal.

    Every date the package lists is classified through its public ``is_workday``; a date it does not
    list is Monday-Friday by the package's own rule. A year counts as known when ``is_workday``
    answers for it instead of raising ``NotImplementedError``.
    """
    listed = set(chinese_calendar.holidays) | set(chinese_calendar.workdays)
    candidates = range(min(d.year for d in listed), max(d.year for d in listed) + 1)
    years = set()
    for year in candidates:
        try:
            chinese_calendar.is_workday(_dt.date(year, 1, 1))
        except NotImplementedError:
            continue
        years.add(year)
    exceptions: dict[int, bool] = {}
    for day in listed:
        if day.year not in years:
            continue
        ordinal = day.toordinal()
        working = bool(chinese_calendar.is_workday(day))
        if working != _is_weekday_ordinal(ordinal):
            exceptions[ordinal] = working
    return frozenset(years), exceptions


PACKAGE_YEARS, _PACKAGE_EXCEPTIONS = _load_package()


# --------------------------------------------------------------------------- argument checks


def _check_date(value: object, name: str) -> _dt.date:
    # A datetime is a date subclass; silently cutting it to a date hides time-zone mistakes.
    if not isinstance(value, _dt.date) or isinstance(value, _dt.datetime):
        raise TypeError(f"{name} must be a datetime.date (not a datetime), got {type(value).__name__}")
    return value


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


# --------------------------------------------------------------------------- the calendar


class WorkCalendar:
    """The national working-day calendar, optionally with a deployment's override on top.

    Classification is precomputed: departures from Monday-Friday in known years sit in a dict keyed
    by the day's ordinal, so classifying a day is one dict lookup and counting working days over a
    range is arithmetic plus a binary search. Instances are immutable after construction and safe to
    share between threads.
    """

    def __init__(
        self,
        holidays: Iterable[_dt.date] = (),
        workdays: Iterable[_dt.date] = (),
        *,
        source: str | None = None,
    ) -> None:
        """``holidays`` and ``workdays`` are the override; both empty means the plain national calendar.

        ``source`` labels the override in error messages and diagnostics (a file path, usually).
        A date in both lists raises :class:`CalendarOverrideError`; an item that is not a
        ``datetime.date`` raises ``TypeError``.
        """
        label = source or "<override>"
        extra_holidays = frozenset(_check_date(d, "override holiday") for d in holidays)
        extra_workdays = frozenset(_check_date(d, "override workday") for d in workdays)
        both = sorted(extra_holidays & extra_workdays)
        if both:
            day = both[0].isoformat()
            raise CalendarOverrideError(
                f"节假日覆盖文件 {label}：日期 {day} 同时出现在 holidays 和 workdays 中",
                f"calendar override {label}: {day} is listed in both 'holidays' and 'workdays'",
                source=label,
                key="holidays/workdays",
                item=both[0],
            )
        self.source = source
        self.override_holidays = extra_holidays
        self.override_workdays = extra_workdays

        exceptions = dict(_PACKAGE_EXCEPTIONS)
        for day, working in [(d, False) for d in extra_holidays] + [(d, True) for d in extra_workdays]:
            ordinal = day.toordinal()
            if working == _is_weekday_ordinal(ordinal):
                exceptions.pop(ordinal, None)  # Monday-Friday already says so; drop a package departure
            else:
                exceptions[ordinal] = working
        self._exceptions = exceptions
        self._known = PACKAGE_YEARS | {d.year for d in extra_holidays | extra_workdays}
        # For workdays_between: +1 for an extra working day, -1 for a day off, summed in date order.
        self._exception_ordinals = sorted(exceptions)
        self._exception_sums = [0, *accumulate(1 if exceptions[o] else -1 for o in self._exception_ordinals)]

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(source={self.source!r}, holidays={len(self.override_holidays)}, "
            f"workdays={len(self.override_workdays)})"
        )

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_toml_text(cls, text: str, source: str = "<override>") -> WorkCalendar:
        """Build from override TOML::

            holidays = [2027-01-01, "2027-02-16"]   # days off (TOML dates or "YYYY-MM-DD" strings)
            workdays = [2027-02-20]                 # make-up working days (调休上班)

        Both keys are optional; any other key, a non-array value, an item that is not a date, an
        unparseable date string, or a date in both lists raises :class:`CalendarOverrideError`
        naming ``source`` and the offending key or item.
        """
        holidays, workdays = _parse_override(text, source)
        return cls(holidays, workdays, source=source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None) -> WorkCalendar:
        """Build from an override file (UTF-8 TOML, a byte-order mark is tolerated).

        ``None`` or a path where no file exists gives the plain national calendar. A file that
        exists but cannot be read or decoded, or whose content is invalid, raises
        :class:`CalendarOverrideError` naming the path.
        """
        if path is None:
            return cls()
        name = os.fspath(path)
        try:
            with open(name, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise CalendarOverrideError(
                f"无法读取节假日覆盖文件 {name}：{exc.strerror or exc}",
                f"cannot read calendar override {name}: {exc.strerror or exc}",
                source=name,
            ) from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CalendarOverrideError(
                f"节假日覆盖文件 {name} 不是 UTF-8 编码（第 {exc.start} 字节）",
                f"calendar override {name} is not UTF-8 (byte {exc.start})",
                source=name,
            ) from exc
        return cls.from_toml_text(text, source=name)

    # ----------------------------------------------------------------- questions about one day

    def known_years(self) -> frozenset[int]:
        """Years whose arrangement is known: the package's plus every year the override touches."""
        return self._known

    def classify(self, d: _dt.date) -> tuple[bool, bool]:
        """``(is_workday, known)``: known is False when ``d`` falls in a year nobody has published."""
        d = _check_date(d, "d")
        ordinal = d.toordinal()
        working = self._exceptions.get(ordinal)
        if working is None:
            working = _is_weekday_ordinal(ordinal)
        return working, d.year in self._known

    def is_workday(self, d: _dt.date) -> bool:
        """Whether ``d`` is a working day (Monday-Friday guess in an unknown year)."""
        return self.classify(d)[0]

    # ----------------------------------------------------------------- periods

    def _spans_unknown(self, first: _dt.date, last: _dt.date) -> bool:
        """Whether any day of ``first..last`` (inclusive) lies in an unknown year."""
        known = self._known
        return any(year not in known for year in range(first.year, last.year + 1))

    def add_workdays(self, start: _dt.date, n: int) -> Deadline:
        """The n-th working day strictly after ``start`` (the start day is not counted).

        ``n == 0`` returns ``start`` itself, not provisional (no day was consulted), even when
        ``start`` is not a working day. Negative ``n`` raises ``ValueError``; a non-int ``n`` or a
        ``start`` that is not a ``datetime.date`` raises ``TypeError``. The result is provisional
        when any day after ``start`` up to the result lies in an unknown year.
        """
        start = _check_date(start, "start")
        n = _check_count(n, "n")
        if n == 0:
            return Deadline(start, False)
        ordinal = start.toordinal()
        if n > _MAX_ORDINAL - ordinal:
            raise ValueError(f"{n} working days after {start} is past {_dt.date.max}")
        exceptions = self._exceptions
        remaining = n
        while remaining:
            ordinal += 1
            working = exceptions.get(ordinal)
            if working is None:
                working = ordinal % 7 not in (0, 6)
            if working:
                remaining -= 1
        if ordinal > _MAX_ORDINAL:
            raise ValueError(f"{n} working days after {start} is past {_dt.date.max}")
        end = _dt.date.fromordinal(ordinal)
        return Deadline(end, self._spans_unknown(start + _dt.timedelta(days=1), end))

    def workdays_between(self, start: _dt.date, end: _dt.date) -> WorkdayCount:
        """The number of working days ``d`` with ``start < d <= end``.

        This is the inverse of :meth:`add_workdays`: for a working day ``end`` after ``start``,
        ``add_workdays(start, workdays_between(start, end).days).date == end``. When
        ``end <= start`` the count is 0 and not provisional (it never goes negative; swap the
        arguments to count backwards). Provisional when any day in ``start < d <= end`` lies in an
        unknown year.
        """
        start = _check_date(start, "start")
        end = _check_date(end, "end")
        if end <= start:
            return WorkdayCount(0, False)
        low, high = start.toordinal(), end.toordinal()

        def weekdays_up_to(ordinal: int) -> int:  # Monday-Friday days among ordinals 1..ordinal
            return ordinal // 7 * 5 + min(ordinal % 7, 5)

        days = weekdays_up_to(high) - weekdays_up_to(low)
        ordinals, sums = self._exception_ordinals, self._exception_sums
        days += sums[bisect_right(ordinals, high)] - sums[bisect_right(ordinals, low)]
        return WorkdayCount(days, self._spans_unknown(start + _dt.timedelta(days=1), end))

    def add_calendar_days(self, start: _dt.date, n: int) -> Deadline:
        """``start + n`` calendar days, never provisional (no calendar is consulted).

        For periods the rules state in days rather than working days, such as publicity of at least
        7 days. Negative ``n`` raises ``ValueError``, as for :meth:`add_workdays`.
        """
        start = _check_date(start, "start")
        n = _check_count(n, "n")
        try:
            return Deadline(start + _dt.timedelta(days=n), False)
        except OverflowError as exc:
            raise ValueError(f"{n} days after {start} is past {_dt.date.max}") from exc


def deadline_status(
    today: _dt.date,
    deadline: _dt.date | Deadline,
    cal: WorkCalendar,
    warn_workdays: int = 2,
) -> str:
    """``"overdue"``, ``"due_soon"`` or ``"ok"`` for a deadline seen on ``today``.

    Overdue when ``today`` is after the deadline (the deadline day itself is still in time). Due soon
    when at most ``warn_workdays`` working days remain, counting as :meth:`WorkCalendar.workdays_between`
    does (the deadline day counts, today does not): so the deadline day itself is due soon, and on a
    Friday a Monday deadline is one working day away. Otherwise ok. ``deadline`` may be a
    :class:`Deadline`.
    """
    if isinstance(deadline, Deadline):
        deadline = deadline.date
    today = _check_date(today, "today")
    deadline = _check_date(deadline, "deadline")
    warn_workdays = _check_count(warn_workdays, "warn_workdays")
    if today > deadline:
        return OVERDUE
    if cal.workdays_between(today, deadline).days <= warn_workdays:
        return DUE_SOON
    return OK


NATIONAL = WorkCalendar()
"""The national calendar with no override (the ``chinesecalendar`` package and Monday-Friday)."""
