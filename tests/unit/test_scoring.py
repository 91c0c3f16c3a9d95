"""Assessment scoring (附件3): points from ratios, caps, one bonus matter once, deductions, ranking with ties."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from server.domain.scoring import (
    ANNUAL,
    Deduction,
    ItemSpec,
    Judgement,
    Ratio,
    accuracy,
    add_months,
    bonus_total,
    coverage,
    judge,
    matter_key,
    period_bounds,
    period_score,
    points_for,
    rank,
    ratio_in,
    rectification_items,
    rereview_judgements,
    unit_score,
)
from server.rules import load_profiles

D = Decimal
d = dt.date


# --- ratios to points -----------------------------------------------------------------------------

@pytest.mark.parametrize("max_points, ratio, expected", [
    (6, Ratio(D(6), 6), "6"),
    (6, Ratio(D(5), 6), "5.0"),
    (6, Ratio(D(2), 3), "4.0"),
    (8, Ratio(D(2), 3), "5.3"),       # 5.333 -> 5.3
    (3, Ratio(D(5), 6), "2.5"),       # 2.5 exactly
    (4, Ratio(D("4.5"), 7), "2.6"),   # 2.5714 -> 2.6
    (3, Ratio(D(1), 8), "0.4"),       # 0.375 -> 0.4 (half up)
    (6, Ratio(D(0), 4), "0.0"),
    (6, Ratio(D(0), 0), "6"),         # nothing to judge: full points
    (6, None, "6"),
    (0, Ratio(D(1), 2), "0.0"),
])
def test_points_for_a_ratio(max_points, ratio, expected):
    assert points_for(max_points, ratio) == D(expected)


# --- judging time limits ----------------------------------------------------------------------------

TODAY = d(2026, 6, 30)


@pytest.mark.parametrize("deadline, done, ended, expected", [
    (d(2026, 3, 10), d(2026, 3, 10), None, Judgement(d(2026, 3, 10), True)),    # on the last day
    (d(2026, 3, 10), d(2026, 3, 2), None, Judgement(d(2026, 3, 2), True)),
    (d(2026, 3, 10), d(2026, 3, 11), None, Judgement(d(2026, 3, 11), False)),   # a day late
    (d(2026, 3, 10), d(2026, 5, 1), None, Judgement(d(2026, 3, 11), False)),    # judged when it became late
    (d(2026, 3, 10), None, None, Judgement(d(2026, 3, 11), False)),             # still not done
    (d(2026, 3, 10), None, d(2026, 3, 5), None),                                # abandoned before the limit
    (d(2026, 3, 10), None, d(2026, 3, 12), Judgement(d(2026, 3, 11), False)),   # abandoned after it
    (d(2026, 7, 1), None, None, None),                                          # limit not passed yet
    (d(2026, 6, 30), None, None, None),                                         # the last day is today
    (d(2026, 6, 29), None, None, Judgement(d(2026, 6, 30), False)),
])
def test_judge(deadline, done, ended, expected):
    assert judge(deadline, done, ended, TODAY) == expected


def test_ratio_in_counts_only_the_period():
    js = [Judgement(d(2026, 1, 5), True), Judgement(d(2026, 3, 31), False), Judgement(d(2026, 4, 1), True), None]
    assert ratio_in(js, d(2026, 1, 1), d(2026, 3, 31)) == Ratio(D(1), 2)
    assert ratio_in(js, d(2026, 4, 1), d(2026, 6, 30)) == Ratio(D(1), 1)
    assert ratio_in(js, d(2026, 7, 1), d(2026, 9, 30)) == Ratio(D(0), 0)


@pytest.mark.parametrize("day, months, expected", [
    (d(2026, 1, 31), 1, d(2026, 2, 28)),
    (d(2024, 1, 31), 1, d(2024, 2, 29)),
    (d(2026, 8, 31), 6, d(2027, 2, 28)),
    (d(2026, 5, 15), 6, d(2026, 11, 15)),
    (d(2026, 12, 1), 12, d(2027, 12, 1)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize("completions, ended, expected", [
    # approved 2025-01-10, every 6 months, today 2026-06-30
    ([d(2025, 7, 1), d(2025, 12, 20)], None,                                          # next due 2026-06-20
     [Judgement(d(2025, 7, 1), True), Judgement(d(2025, 12, 20), True), Judgement(d(2026, 6, 21), False)]),
    ([d(2025, 7, 1), d(2026, 1, 1)], None,                                            # next due 2026-07-01: open
     [Judgement(d(2025, 7, 1), True), Judgement(d(2026, 1, 1), True)]),
    ([], None, [Judgement(d(2025, 7, 11), False)]),                                   # never reviewed
    ([d(2025, 9, 1)], None,                                                           # late; next due 2026-03-01
     [Judgement(d(2025, 7, 11), False), Judgement(d(2026, 3, 2), False)]),
    ([d(2025, 9, 1), d(2026, 2, 1)], None,
     [Judgement(d(2025, 7, 11), False), Judgement(d(2026, 2, 1), True)]),
    ([], d(2025, 5, 1), []),                                                          # stopped before it was due
    ([d(2025, 7, 10)], d(2025, 7, 10),                                                # a review that stopped it
     [Judgement(d(2025, 7, 10), True)]),
])
def test_rereview_judgements(completions, ended, expected):
    assert rereview_judgements(d(2025, 1, 10), 6, completions, ended, TODAY) == expected


def test_rereview_judgements_ignore_reviews_before_the_anchor():
    assert rereview_judgements(d(2026, 1, 10), 12, [d(2025, 12, 1)], None, TODAY) == []


@pytest.mark.parametrize("outcomes, credit, expected", [
    (["accurate"] * 3, "0.5", Ratio(D(3), 3)),
    (["accurate", "minor_issue", "wrong", "accurate"], "0.5", Ratio(D("2.5"), 4)),
    (["minor_issue"], "0", Ratio(D(0), 1)),
    ([], "0.5", Ratio(D(0), 0)),
])
def test_accuracy(outcomes, credit, expected):
    assert accuracy(outcomes, D(credit)) == expected


def test_accuracy_refuses_unknown_outcomes():
    with pytest.raises(ValueError):
        accuracy(["accurate", "great"], D("0.5"))


@pytest.mark.parametrize("covered, target, expected", [
    (90, 100, Ratio(D(90), 100)), (120, 100, Ratio(D(100), 100)), (5, None, None), (5, 0, None),
])
def test_coverage(covered, target, expected):
    assert coverage(covered, target) == expected


@pytest.mark.parametrize("period, expected", [
    (1, (d(2026, 1, 1), d(2026, 3, 31))), (2, (d(2026, 4, 1), d(2026, 6, 30))),
    (3, (d(2026, 7, 1), d(2026, 9, 30))), (ANNUAL, (d(2026, 1, 1), d(2026, 12, 31))),
])
def test_period_bounds(period, expected):
    assert period_bounds(2026, period, 3) == expected


@pytest.mark.parametrize("period", [4, 5, -1])
def test_period_bounds_refuses_other_quarters(period):
    with pytest.raises(ValueError):
        period_bounds(2026, period, 3)


# --- periods, caps and deductions -----------------------------------------------------------------

Q_ITEMS = [ItemSpec("on_time", "按时办结", "On time", 6), ItemSpec("rereview", "复审", "Re-reviews", 4),
           ItemSpec("objections", "信访", "Objections", 4), ItemSpec("standardisation", "规范", "Standards", 6)]


@pytest.mark.parametrize("computed, entered, deductions, subtotal, score, pending", [
    ({}, {"standardisation": D(6)}, [], "20", "20", ()),                                  # full marks
    ({}, {}, [], "14", "14", ("standardisation",)),                                       # not entered yet
    ({"on_time": Ratio(D(1), 2)}, {"standardisation": D(5)}, [], "16.0", "16.0", ()),
    ({}, {"standardisation": D(9)}, [], "20", "20", ()),                                  # capped at the item
    ({}, {"standardisation": D(6)}, [Deduction("criticised", D(2))], "20", "18", ()),
    ({}, {"standardisation": D(6)}, [Deduction("media", D(15)), Deduction("other", D(10))], "20", "0", ()),
])
def test_period_score(computed, entered, deductions, subtotal, score, pending):
    p = period_score(1, 20, Q_ITEMS, computed, entered, deductions)
    assert (p.subtotal, p.score, p.pending) == (D(subtotal), D(score), pending)


def test_a_period_never_exceeds_its_points():
    items = [ItemSpec("on_time", "a", "a", 15), ItemSpec("spot_check", "b", "b", 15)]
    assert period_score(1, 20, items, {}, {}).subtotal == 20


# --- bonus: capped, one matter counted once at its highest ------------------------------------------

@pytest.mark.parametrize("entries, cap, total", [
    ([], 5, "0"),
    ([("市级表彰", D(2))], 5, "2"),
    ([("省级表彰：救助创新", D(3)), ("省级表彰：救助创新", D(1))], 5, "3"),       # the same matter: highest only
    ([("救助创新", D(1)), ("救助创新 ", D(3)), ("救助创新", D(2))], 5, "3"),      # spacing does not make it new
    ([("Award A", D(2)), ("award  a", D(3))], 5, "3"),
    ([("甲", D(2)), ("乙", D(2))], 5, "4"),
    ([("甲", D(3)), ("乙", D(2)), ("丙", D(4))], 5, "5"),                        # capped at 5
    ([("甲", D("2.5")), ("乙", D("2.5"))], 5, "5.0"),
    ([("甲", D(3))], 0, "0"),
])
def test_bonus_total(entries, cap, total):
    assert bonus_total(entries, cap)[0] == D(total)


def test_bonus_reports_the_value_counted_per_matter():
    _total, matters = bonus_total([("甲", D(1)), ("甲", D(3)), ("乙", D(2))], 5)
    assert matters == {matter_key("甲"): D(3), matter_key("乙"): D(2)}


def test_unit_total_adds_periods_and_capped_bonus():
    quarters = [period_score(q, 20, Q_ITEMS, {}, {"standardisation": D(6)}) for q in (1, 2, 3)]
    annual = period_score(ANNUAL, 40, [ItemSpec("organisation", "组织", "Org", 40)], {}, {"organisation": D(30)},
                          [Deduction("discipline", D(4))])
    score = unit_score("u1", [*quarters, annual], [("甲", D(4)), ("乙", D(4))], 5)
    assert score.total == D(60 + 26 + 5)
    assert score.period(ANNUAL).score == D(26) and score.period(2) is not None and score.period(4) is None


def test_shipped_profiles_add_up():
    for profile in load_profiles().values():
        a = profile.assessment
        assert sum(i["points"] for i in a.quarterly_items) == a.quarterly_points
        assert sum(i["points"] for i in a.annual_items) == a.annual_points
        assert a.quarters * a.quarterly_points + a.annual_points == 100


# --- ranking ------------------------------------------------------------------------------------

@pytest.mark.parametrize("totals, ranks, top, last", [
    ([("a", 90), ("b", 80), ("c", 70), ("d", 60)], [1, 2, 3, 4], "abc", "d"),
    ([("a", 90), ("b", 80), ("c", 80), ("d", 60)], [1, 2, 2, 4], "abc", "d"),
    ([("a", 90), ("b", 80), ("c", 70), ("d", 70)], [1, 2, 3, 3], "abcd", ""),    # tied third: nobody last
    ([("a", 90), ("b", 90), ("c", 90), ("d", 90), ("e", 80)], [1, 1, 1, 1, 5], "abcd", "e"),
    ([("a", 50), ("b", 60), ("c", 70), ("d", 80), ("e", 50)], [4, 3, 2, 1, 4], "bcd", "ae"),  # tied last
    ([("a", 70), ("b", 70)], [1, 1], "ab", ""),
    ([("a", 70)], [1], "a", ""),
    ([("a", 70), ("b", 60), ("c", 50)], [1, 2, 3], "abc", ""),                   # last is also top three
    ([], [], "", ""),
])
def test_rank_with_ties(totals, ranks, top, last):
    ranked = rank([(u, D(t)) for u, t in totals])
    by_unit = {r.unit: r for r in ranked}
    assert [by_unit[u].rank for u, _t in totals] == ranks
    assert "".join(sorted(r.unit for r in ranked if r.top_three)) == top
    assert "".join(sorted(r.unit for r in ranked if r.last)) == last
    assert [r.total for r in ranked] == sorted((r.total for r in ranked), reverse=True)


def test_rank_compares_exact_decimals():
    ranked = rank([("a", D("80.0")), ("b", D("80")), ("c", D("79.9"))])
    assert [(r.unit, r.rank) for r in ranked] == [("a", 1), ("b", 1), ("c", 3)]


# --- rectification notice items ---------------------------------------------------------------------

def test_rectification_lists_items_that_lost_points_and_deductions():
    p = period_score(2, 20, Q_ITEMS, {"on_time": Ratio(D(3), 4), "rereview": Ratio(D(0), 0)},
                     {"standardisation": D(4)}, [Deduction("buck_passing", D(1), "群众反映未及时答复")],
                     {"standardisation": "台账不全"})
    items = rectification_items(p)
    assert [i["key"] for i in items] == ["on_time", "standardisation", "deduction:buck_passing"]
    assert items[0]["points"] == "4.5" and items[0]["rate"] == "75.0" and items[0]["max_points"] == 6
    assert items[1]["evidence"] == "台账不全" and items[1]["measure"] is None
    assert items[2]["points"] == "-1" and items[2]["evidence"] == "群众反映未及时答复"


def test_nothing_to_rectify_when_every_item_is_full():
    p = period_score(1, 20, Q_ITEMS, {}, {"standardisation": D(6)})
    assert rectification_items(p) == []


def test_pending_items_are_not_listed_as_missed():
    p = period_score(1, 20, Q_ITEMS, {}, {})
    assert rectification_items(p) == []
