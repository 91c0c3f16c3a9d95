"""The roster core: months and due days, re-review and gradual-exit schedules, lines, changes, totals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import server.domain.roster as core
from server.domain.roster import (
    Adjustment,
    PayInput,
    PrevLine,
    StopInfo,
    add_months,
    add_months_to_date,
    compute_roster,
    exit_end_month,
    exit_percentage,
    exit_position,
    filing_status,
    finance_due,
    last_day,
    months_between,
    next_review_due,
    parse_month,
    payment_due,
    roster_due,
    roster_month_for,
)
from server.rules import load_profiles

D = Decimal
PROFILES = load_profiles()
GUANCHENG, YIJUN = PROFILES["guancheng"], PROFILES["yijun"]


# --- months -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [("2026-11", (2026, 11)), ("2027-01", (2027, 1)), (" 2026-12 ", (2026, 12))])
def test_parse_month(text, expected):
    assert parse_month(text) == expected


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "", "2026-11-01", None, 202611])
def test_parse_month_refuses(text):
    with pytest.raises(ValueError):
        parse_month(text)


@pytest.mark.parametrize("month, n, expected", [
    ("2026-11", 1, "2026-12"), ("2026-12", 1, "2027-01"), ("2027-01", -1, "2026-12"), ("2026-06", 18, "2027-12"),
    ("2026-06", -18, "2024-12"), ("2026-06", 0, "2026-06"),
])
def test_add_months(month, n, expected):
    assert add_months(month, n) == expected
    assert months_between(month, expected) == n


@pytest.mark.parametrize("day, n, expected", [
    (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),   # kept inside a short month
    (dt.date(2027, 8, 31), 6, dt.date(2028, 2, 29)),   # leap year
    (dt.date(2026, 1, 15), 12, dt.date(2027, 1, 15)),
    (dt.date(2026, 12, 31), 1, dt.date(2027, 1, 31)),
])
def test_add_months_to_date(day, n, expected):
    assert add_months_to_date(day, n) == expected


def test_last_day():
    assert last_day("2028-02") == dt.date(2028, 2, 29) and last_day("2026-02") == dt.date(2026, 2, 28)


# --- roster calendar ----------------------------------------------------------------------------

@pytest.mark.parametrize("today, roster_for, expected", [
    (dt.date(2026, 11, 20), "next_month", "2026-12"),
    (dt.date(2026, 12, 26), "next_month", "2027-01"),   # the month boundary
    (dt.date(2026, 11, 1), "current_month", "2026-11"),
    (dt.date(2026, 12, 31), "current_month", "2026-12"),
])
def test_roster_month_for(today, roster_for, expected):
    assert roster_month_for(today, roster_for) == expected


@pytest.mark.parametrize("profile, month, due, finance, paid", [
    # guancheng: filed by the 25th of the month before, paid by the 10th, no finance step
    (GUANCHENG, "2026-12", dt.date(2026, 11, 25), None, dt.date(2026, 12, 10)),
    (GUANCHENG, "2027-01", dt.date(2026, 12, 25), None, dt.date(2027, 1, 10)),
    # yijun: filed by the 10th of the month itself; the bureau passes it to finance by the 15th
    (YIJUN, "2026-12", dt.date(2026, 12, 10), dt.date(2026, 12, 15), None),
    (YIJUN, "2027-01", dt.date(2027, 1, 10), dt.date(2027, 1, 15), None),
])
def test_due_days_come_from_the_profile(profile, month, due, finance, paid):
    m = profile.money
    assert roster_due(month, m.roster_due_day, m.roster_for) == due
    assert finance_due(month, m.finance_day, m.roster_for) == finance
    assert payment_due(month, m.payment_day) == paid


@pytest.mark.parametrize("due, submitted, today, expected", [
    (dt.date(2026, 11, 25), dt.date(2026, 11, 25), dt.date(2026, 11, 30), "on_time"),   # on the day itself
    (dt.date(2026, 11, 25), dt.date(2026, 11, 20), dt.date(2026, 11, 21), "on_time"),
    (dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 26), "late"),
    (dt.date(2026, 11, 25), None, dt.date(2026, 11, 25), "pending"),
    (dt.date(2026, 11, 25), None, dt.date(2026, 11, 26), "overdue"),
    (dt.date(2026, 12, 10), None, dt.date(2027, 1, 2), "overdue"),
])
def test_filing_status(due, submitted, today, expected):
    assert filing_status(due, submitted, today) == expected


@pytest.mark.parametrize("fn, args", [
    (roster_due, ("2026-12", 29, "next_month")), (roster_due, ("2026-12", 0, "next_month")),
    (roster_due, ("2026-12", 25, "weekly")), (finance_due, ("2026-12", 31, "current_month")),
    (payment_due, ("2026-12", 30)), (roster_month_for, (dt.date(2026, 1, 1), "later")),
])
def test_calendar_refuses_bad_settings(fn, args):
    with pytest.raises(ValueError):
        fn(*args)


# --- re-reviews ---------------------------------------------------------------------------------

@pytest.mark.parametrize("profile, klass, last, expected", [
    (GUANCHENG, "stable", dt.date(2026, 3, 15), dt.date(2026, 9, 15)),        # every half year
    (GUANCHENG, "able_to_work", dt.date(2026, 8, 31), dt.date(2027, 2, 28)),
    (YIJUN, "stable", dt.date(2026, 3, 15), dt.date(2027, 3, 15)),            # stable households yearly
    (YIJUN, "irregular_income", dt.date(2026, 3, 15), dt.date(2026, 9, 15)),
    (YIJUN, "not_a_class", dt.date(2026, 3, 15), dt.date(2026, 9, 15)),       # the profile's default
])
def test_next_review_due(profile, klass, last, expected):
    assert next_review_due(last, klass, profile) == expected


class _Intervals:
    def __init__(self, months):
        self.months = months

    def review_interval(self, klass):
        return self.months


@pytest.mark.parametrize("months", [0, -6, "6", True])
def test_next_review_due_refuses_a_bad_interval(months):
    with pytest.raises(ValueError):
        next_review_due(dt.date(2026, 1, 1), "stable", _Intervals(months))


# --- gradual exit -------------------------------------------------------------------------------

SCHEDULE = [100, 100, 80, 80, 60, 60]


@pytest.mark.parametrize("month, position, percent", [
    ("2026-10", 0, 100),   # a month before the decision counts as its first month
    ("2026-11", 0, 100), ("2026-12", 1, 100), ("2027-01", 2, 80), ("2027-02", 3, 80), ("2027-03", 4, 60),
    ("2027-04", 5, 60), ("2027-05", None, None), ("2028-01", None, None),
])
def test_gradual_exit_schedule(month, position, percent):
    assert exit_position("2026-11", month, len(SCHEDULE)) == position
    if position is not None:
        assert exit_percentage(position, SCHEDULE) == percent
    assert exit_end_month("2026-11", len(SCHEDULE)) == "2027-05"


def test_gradual_exit_edges():
    assert exit_position("2026-11", "2026-11", 0) is None   # a profile without gradual exit
    with pytest.raises(ValueError):
        exit_percentage(6, SCHEDULE)
    with pytest.raises(ValueError):
        exit_position("2026-11", "2026-12", -1)


# --- lines and totals ---------------------------------------------------------------------------

def pay(case_id, amount, people=2, pct=None, reason="", decided=None):
    return PayInput(case_id, f"N-{case_id:03d}", f"户主{case_id}", people, D(amount), pct, reason,
                    D(decided) if decided is not None else None)


def prev(case_id, amount, people=2, change="unchanged", pct=None):
    return PrevLine(case_id, f"N-{case_id:03d}", f"户主{case_id}", people, D(amount), change, pct)


@pytest.mark.parametrize("paying, previous, stopped, expected", [
    # first roster: everyone is new
    ([pay(1, "300.00")], [], {}, [(1, "new", "new", "300.00", None, "")]),
    ([pay(1, "300.00")], [prev(1, "300.00")], {}, [(1, "unchanged", "", "300.00", "300.00", "")]),
    ([pay(1, "350.50", reason="收入减少")], [prev(1, "300.00")], {},
     [(1, "raised", "decision", "350.50", "300.00", "收入减少")]),
    ([pay(1, "250.00")], [prev(1, "300.00")], {}, [(1, "lowered", "recomputed", "250.00", "300.00", "")]),
    # gradual exit: the percentage moved from 100 to 80
    ([pay(1, "240.00", pct=80)], [prev(1, "300.00", pct=100)], {},
     [(1, "lowered", "gradual_exit", "240.00", "300.00", "")]),
    # stopped: on last month's roster, not paid now; reasons from the decision
    ([], [prev(1, "300.00")], {1: StopInfo("stopped", "户籍迁出")}, [(1, "stopped", "stopped", "0.00", "300.00", "户籍迁出")]),
    ([], [prev(1, "300.00")], {1: StopInfo("gradual_exit_ended", "")},
     [(1, "stopped", "gradual_exit_ended", "0.00", "300.00", "")]),
    ([], [prev(1, "300.00")], {}, [(1, "stopped", "stopped", "0.00", "300.00", "")]),
    # a line already stopped last month does not come back
    ([], [prev(1, "0.00", change="stopped")], {}, []),
    # a family stopped and approved again is new again
    ([pay(1, "300.00")], [prev(1, "0.00", change="stopped")], {}, [(1, "new", "new", "300.00", None, "")]),
])
def test_changes_against_last_month(paying, previous, stopped, expected):
    result = compute_roster(paying, previous, stopped)
    got = [(ln.case_id, ln.change, ln.reason_code, str(ln.amount),
            None if ln.previous_amount is None else str(ln.previous_amount), ln.reason) for ln in result.lines]
    assert got == expected


def test_totals_add_up_to_the_fen():
    paying = [pay(3, "1046.00", people=3), pay(1, "523.09", people=1), pay(2, "0.01", people=1),
              pay(4, "999.99", people=4, pct=80)]
    previous = [prev(1, "523.08", people=1), prev(5, "700.00", people=2), prev(4, "1249.99", people=4, pct=100)]
    adjustments = [Adjustment(5, "N-005", "户主5", 2, D("-120.50"), "多发追回", "2026-10"),
                   Adjustment(1, "N-001", "户主1", 1, D("30.00"), "少发补发", "2026-10")]
    result = compute_roster(paying, previous, {5: StopInfo("stopped", "死亡")}, adjustments)
    t = result.totals
    assert [ln.case_id for ln in result.lines] == [1, 2, 3, 4, 5, 1, 5]
    assert [ln.kind for ln in result.lines][-2:] == ["adjustment", "adjustment"]
    assert t.households == 4 and t.people == 9
    assert t.payments == D("2569.09") and t.adjustments == D("-90.50") and t.total == D("2478.59")
    assert t.total == sum(ln.amount for ln in result.lines)
    assert str(t.total) == "2478.59"   # two places, exactly
    assert t.by_change["new"] == 2 and t.by_change["raised"] == 1 and t.by_change["lowered"] == 1
    assert t.by_change["stopped"] == 1 and t.by_change["adjustment"] == 2


def test_empty_roster():
    result = compute_roster([], [])
    assert result.lines == () and result.totals.total == D("0.00") and result.totals.households == 0


def test_same_input_same_lines():
    paying = [pay(2, "100.00"), pay(1, "200.00")]
    a, b = compute_roster(paying, [prev(1, "150.00")]), compute_roster(list(reversed(paying)), [prev(1, "150.00")])
    assert [ln.key() for ln in a.lines] == [ln.key() for ln in b.lines]


@pytest.mark.parametrize("decided, pct, flagged", [("300.00", None, False), ("320.00", None, True),
                                                   ("320.00", 80, False), (None, None, False)])
def test_differences_from_the_decided_amount_are_flagged(decided, pct, flagged):
    line = compute_roster([pay(1, "300.00", pct=pct, decided=decided)]).lines[0]
    assert line.differs_from_decided is flagged


@pytest.mark.parametrize("paying, adjustments, error", [
    ([pay(1, "300.00"), pay(1, "300.00")], [], ValueError),           # twice
    ([PayInput(1, "N", "x", 2, 300.0)], [], TypeError),                # float money
    ([pay(1, "300.001")], [], ValueError),                             # finer than a fen
    ([pay(1, "-1.00")], [], ValueError),
    ([pay(1, "300.00", people=0)], [], ValueError),
    ([pay(1, "300.00", pct=120)], [], ValueError),
    ([], [Adjustment(1, "N", "x", 1, D("0.00"), "零", "2026-10")], ValueError),
    ([], [Adjustment(1, "N", "x", 1, D("5.00"), " ", "2026-10")], ValueError),
    ([], [Adjustment(1, "N", "x", 1, D("5.00"), "补发", "2026-1")], ValueError),
])
def test_bad_input_is_refused(paying, adjustments, error):
    with pytest.raises(error):
        compute_roster(paying, [], {}, adjustments)


# --- issue 12: which months a roster may be made for, who is on it, and late money steps ------------

@pytest.mark.parametrize("today, expected", [
    (dt.date(2026, 11, 20), ("2026-11", "2026-12")),
    (dt.date(2026, 12, 31), ("2026-12", "2027-01")),
    (dt.date(2027, 1, 1), ("2027-01", "2027-02")),
])
def test_roster_months_open(today, expected):
    assert core.roster_months_open(today) == expected


@pytest.mark.parametrize("approved, month, paid", [
    (dt.date(2026, 11, 5), "2026-06", False),     # approved in November, not paid for June
    (dt.date(2026, 11, 5), "2026-10", False),
    (dt.date(2026, 11, 5), "2026-11", True),      # the month of approval
    (dt.date(2026, 11, 30), "2026-12", True),
    (None, "2026-06", True),                      # no decision date recorded: nothing to compare
])
def test_paid_from(approved, month, paid):
    assert core.paid_from(approved, month) is paid


@pytest.mark.parametrize("on, due, late", [
    (dt.date(2026, 12, 15), dt.date(2026, 12, 15), False),   # by the 15th: on the day is in time
    (dt.date(2026, 12, 16), dt.date(2026, 12, 15), True),
    (dt.date(2026, 12, 1), dt.date(2026, 12, 10), False),
    (dt.date(2026, 12, 31), None, False),                    # no due day in the profile: never late
])
def test_step_late(on, due, late):
    assert core.step_late(on, due) is late
