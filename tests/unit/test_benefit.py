"""Benefit arithmetic: literal numbers worked out by hand, one rounding at the end."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from server.domain.benefit import (
    BenefitWorking,
    InvalidMoney,
    NoStandardInForce,
    Standard,
    SupplementLine,
    Tier,
    compute_benefit,
    money,
    standard_in_force,
    to_fen,
)

D = Decimal
FEN = D("0.01")
RURAL_6277 = Standard("rural", date(2025, 10, 1), D("6277"), "year").monthly()  # 6277/12


def round_fen(x: Decimal) -> Decimal:
    """The naive 'round as you go' helper, used only to show what rounding twice would give."""
    return x.quantize(FEN, rounding=ROUND_HALF_UP)


def gap(standard, income, people, **kwargs) -> Decimal:
    return compute_benefit(standard_monthly=standard, household_income=income, people=people, **kwargs).total


# --- to_fen ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0"), "0.00"),
        (D("1046"), "1046.00"),
        (D("0.005"), "0.01"),  # half up, not half even
        (D("0.015"), "0.02"),
        (D("0.025"), "0.03"),  # half even would give 0.02
        (D("0.0049999999999"), "0.00"),
        (D("1.005"), "1.01"),  # the classic float failure (1.005 is 1.00499... as a float)
        (D("340.985"), "340.99"),
        (D("-0.005"), "-0.01"),  # half away from zero, like decimal.ROUND_HALF_UP
        (D("-0.004"), "0.00"),  # never "-0.00"
        (D("1E+3"), "1000.00"),
        (D("1046.000000000000000000000000"), "1046.00"),
        (D("12345678901234567890123456789.995"), "12345678901234567890123456790.00"),  # > 28 digits
        (7, "7.00"),
        (Fraction(1, 3), "0.33"),
        (Fraction(2, 3), "0.67"),
        (Fraction(6277, 12), "523.08"),
        (Fraction(1, 200), "0.01"),
    ],
)
def test_to_fen(value, expected):
    result = to_fen(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected
    assert result.as_tuple().exponent == -2


def test_to_fen_agrees_with_decimal_round_half_up():
    for cents_x10 in range(-3000, 3000, 7):
        value = D(cents_x10) / 1000
        assert to_fen(value) == value.quantize(FEN, rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("bad", [1.5, 0.0, True, "1.00", None])
def test_to_fen_rejects_non_decimals(bad):
    with pytest.raises(TypeError):
        to_fen(bad)


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_to_fen_rejects_non_finite(bad):
    with pytest.raises(ValueError):
        to_fen(bad)


# --- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("682", "682.00"),
        ("682.5", "682.50"),
        ("682.50", "682.50"),
        ("  682.5\n", "682.50"),
        ("0", "0.00"),
        ("0.01", "0.01"),
        ("007", "7.00"),
        ("6277", "6277.00"),
        ("123456789012345678901234567890.99", "123456789012345678901234567890.99"),
        (682, "682.00"),
        (0, "0.00"),
        (D("682"), "682.00"),
        (D("682.5"), "682.50"),
        (D("682.500"), "682.50"),  # a Decimal is judged by value: 682.500 is a whole number of fen
        (D("6.8E+2"), "680.00"),
        (D("-0"), "0.00"),
    ],
)
def test_money_accepts(raw, expected):
    result = money(raw)
    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-1", "negative"),
        ("-682.50", "negative"),
        ("682.505", "decimal_places"),
        ("0.001", "decimal_places"),
        ("682.500", "decimal_places"),  # as typed: three places
        ("abc", "format"),
        ("1e3", "format"),
        ("1E3", "format"),
        ("NaN", "format"),
        ("Infinity", "format"),
        ("1,000", "format"),
        ("1 000", "format"),
        ("+5", "format"),
        (".5", "format"),
        ("5.", "format"),
        ("¥682", "format"),
        ("682元", "format"),
        ("６８２", "format"),  # full-width digits
        ("0x10", "format"),
        ("--1", "format"),
        (-1, "negative"),
        (D("-0.01"), "negative"),
        (D("0.001"), "decimal_places"),
        (D("682.505"), "decimal_places"),
        (D("NaN"), "format"),
        (D("Infinity"), "format"),
    ],
)
def test_money_rejects(raw, code):
    with pytest.raises(InvalidMoney) as excinfo:
        money(raw)
    exc = excinfo.value
    assert isinstance(exc, ValueError)
    assert exc.code == code
    assert exc.message and exc.message_en
    assert str(exc) == exc.message_en


@pytest.mark.parametrize("bad", [682.0, 682.5, True, None, b"682", Fraction(1, 2), [682]])
def test_money_rejects_wrong_types(bad):
    with pytest.raises(TypeError):
        money(bad)


# --- standards ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "period", "monthly", "monthly_fen"),
    [
        (D("682"), "month", Fraction(682), "682.00"),
        (D("6277"), "year", Fraction(6277, 12), "523.08"),
        (D("6000"), "year", Fraction(500), "500.00"),
        (D("6277.30"), "year", Fraction(627730, 1200), "523.11"),
        ("682.50", "month", Fraction(1365, 2), "682.50"),
    ],
)
def test_standard_monthly_is_exact(amount, period, monthly, monthly_fen):
    std = Standard("urban", date(2025, 10, 1), amount, period)
    assert std.monthly() == monthly
    assert str(to_fen(std.monthly())) == monthly_fen
    assert std.monthly() * 12 == (Fraction(std.amount) * 12 if period == "month" else Fraction(std.amount))


def test_standard_normalises_amount():
    std = Standard("urban", date(2025, 10, 1), "682", "month")
    assert std.amount == D("682.00") and isinstance(std.amount, Decimal)
    assert std == Standard("urban", date(2025, 10, 1), D("682.0"), "month")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"area": "town"}, ValueError),
        ({"period": "week"}, ValueError),
        ({"amount": D("0")}, ValueError),
        ({"amount": D("-682")}, ValueError),
        ({"amount": D("682.001")}, ValueError),
        ({"amount": 682.0}, TypeError),
        ({"effective": datetime(2025, 10, 1)}, TypeError),
        ({"effective": "2025-10-01"}, TypeError),
    ],
)
def test_standard_rejects(kwargs, error):
    args = {"area": "urban", "effective": date(2025, 10, 1), "amount": D("682"), "period": "month"}
    args.update(kwargs)
    with pytest.raises(error):
        Standard(**args)


STANDARDS = [
    Standard("rural", date(2025, 10, 1), D("6277"), "year"),
    Standard("urban", date(2025, 10, 1), D("682"), "month"),
    Standard("urban", date(2024, 1, 1), D("640"), "month"),
    Standard("rural", date(2024, 1, 1), D("5800"), "year"),
    Standard("urban", date(2027, 1, 1), D("700"), "month"),  # announced ahead of time
]


@pytest.mark.parametrize(
    ("area", "on", "amount"),
    [
        ("urban", date(2024, 1, 1), "640.00"),  # first day in force
        ("urban", date(2025, 9, 30), "640.00"),  # last day of the old standard
        ("urban", date(2025, 10, 1), "682.00"),
        ("urban", date(2026, 11, 22), "682.00"),
        ("urban", date(2026, 12, 31), "682.00"),
        ("urban", date(2027, 1, 1), "700.00"),
        ("rural", date(2025, 9, 30), "5800.00"),
        ("rural", date(2025, 10, 1), "6277.00"),
        ("rural", date(2030, 1, 1), "6277.00"),
    ],
)
def test_standard_in_force(area, on, amount):
    std = standard_in_force(STANDARDS, area, on)
    assert std.area == area
    assert str(std.amount) == amount


def test_standard_in_force_accepts_any_iterable():
    std = standard_in_force((s for s in STANDARDS), "rural", date(2025, 10, 1))
    assert std.monthly() == Fraction(6277, 12)


@pytest.mark.parametrize(
    ("standards", "area", "on"),
    [
        (STANDARDS, "urban", date(2023, 12, 31)),
        (STANDARDS, "rural", date(2023, 12, 31)),
        ([], "urban", date(2026, 11, 22)),
        ([s for s in STANDARDS if s.area == "urban"], "rural", date(2026, 11, 22)),
    ],
)
def test_no_standard_in_force(standards, area, on):
    with pytest.raises(NoStandardInForce) as excinfo:
        standard_in_force(standards, area, on)
    exc = excinfo.value
    assert isinstance(exc, LookupError)
    assert on.isoformat() in exc.message and on.isoformat() in exc.message_en
    assert ("城市" if area == "urban" else "农村") in exc.message
    assert area in exc.message_en
    assert str(exc) == exc.message_en


def test_two_different_standards_on_one_day_are_ambiguous():
    clash = [*STANDARDS, Standard("urban", date(2025, 10, 1), D("690"), "month")]
    with pytest.raises(ValueError, match="2025-10-01"):
        standard_in_force(clash, "urban", date(2026, 1, 1))
    # the clash does not matter once a later standard is in force, nor for the other area
    assert standard_in_force(clash, "urban", date(2027, 1, 1)).amount == D("700")
    assert standard_in_force(clash, "rural", date(2026, 1, 1)).amount == D("6277")


def test_identical_duplicate_is_not_ambiguous():
    twice = [*STANDARDS, Standard("urban", date(2025, 10, 1), "682.00", "month")]
    assert standard_in_force(twice, "urban", date(2026, 1, 1)).amount == D("682")


@pytest.mark.parametrize(
    ("area", "on", "error"),
    [
        ("town", date(2026, 1, 1), ValueError),
        ("urban", datetime(2026, 1, 1), TypeError),
        ("urban", "2026-01-01", TypeError),
    ],
)
def test_standard_in_force_rejects(area, on, error):
    with pytest.raises(error):
        standard_in_force(STANDARDS, area, on)


# --- the gap formula ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "income", "people", "expected", "why"),
    [
        (D("682"), D("1000"), 3, "1046.00", "3 x 682 - 1000"),
        (D("682"), D("0"), 3, "2046.00", "no income"),
        (D("682"), D("0"), 1, "682.00", "one person, no income"),
        (D("682"), D("0.01"), 1, "681.99", "one fen of income"),
        (D("682"), D("2046"), 3, "0.00", "per-capita income equal to the standard"),
        (D("682"), D("2046.01"), 3, "0.00", "one fen above S x n"),
        (D("682"), D("5000"), 3, "0.00", "income far above S x n: never negative"),
        (D("682"), D("1000"), 7, "3774.00", "per-capita income 142.857142... repeats"),
        (D("682"), Fraction(6001, 6), 3, "1045.83", "six-month average income 6001/6 = 1000.1666..."),
        (RURAL_6277, D("200"), 3, "1369.25", "rural 6277/12 x 3 = 1569.25, minus 200"),
        (RURAL_6277, D("0"), 1, "523.08", "rural 6277/12 = 523.0833..."),
        (RURAL_6277, D("0"), 2, "1046.17", "rural 6277/6 = 1046.1666..."),
        (RURAL_6277, D("0"), 12, "6277.00", "twelve people: exactly the yearly figure"),
        (Fraction(627730, 1200), D("569.33"), 3, "1000.00", "exactly 999.995, half up"),
        (682, 1000, 3, "1046.00", "ints are exact too"),
    ],
)
def test_gap_formula(standard, income, people, expected, why):
    working = compute_benefit(standard_monthly=standard, household_income=income, people=people)
    assert str(working.total) == expected, why
    assert working.method == "gap"
    assert working.percentage == 100
    assert working.supplements == ()
    assert working.tier is None


def test_working_shows_the_calculation():
    w = compute_benefit(standard_monthly=D("682"), household_income=D("1000"), people=3)
    assert w == BenefitWorking(
        method="gap",
        standard_monthly=D("682"),
        household_income=D("1000"),
        people=3,
        per_capita_income=D("333.3333333333333333333333333"),  # for display; round when presenting
        base=D("1046"),
        tier=None,
        supplements=(),
        gross=D("1046"),
        percentage=100,
        total=D("1046.00"),
    )
    with pytest.raises(AttributeError):
        w.total = D("0")  # type: ignore[misc]


def test_working_base_is_unrounded():
    w = compute_benefit(standard_monthly=RURAL_6277, household_income=D("0"), people=1)
    assert w.standard_monthly == D("523.0833333333333333333333333")
    assert w.base == D("523.0833333333333333333333333")
    assert w.total == D("523.08")


# --- one rounding, at the end ---------------------------------------------------------------


def test_rounding_per_capita_income_first_would_lose_two_fen():
    # S=682, Y=1000, n=7: exact 7 x 682 - 1000 = 3774.00
    twice = (D("682") - round_fen(D("1000") / 7)) * 7  # 682 - 142.86 = 539.14; x 7
    assert twice == D("3773.98")
    assert gap(D("682"), D("1000"), 7) == D("3774.00")


def test_rounding_per_capita_income_first_would_add_a_fen():
    twice = (D("682") - round_fen(D("1000") / 3)) * 3  # 682 - 333.33 = 348.67; x 3
    assert twice == D("1046.01")
    assert gap(D("682"), D("1000"), 3) == D("1046.00")


def test_rounding_the_rural_monthly_standard_first_would_lose_a_fen():
    twice = round_fen(D("6277") / 12) * 3 - D("200")  # 523.08 x 3 - 200
    assert twice == D("1369.24")
    assert gap(RURAL_6277, D("200"), 3) == D("1369.25")


def test_rounding_before_the_percentage_would_lose_a_fen():
    twice = round_fen(round_fen(D("6277") / 12) * D("0.8"))  # 523.08 x 0.8 = 418.464
    assert twice == D("418.46")
    assert gap(RURAL_6277, D("0"), 1, percentage=80) == D("418.47")  # 523.0833... x 0.8 = 418.4666...


def test_a_28_digit_decimal_is_not_exact_enough():
    # yearly 6277.30, 3 people, income 569.33: exactly 3 x 6277.30 / 12 - 569.33 = 999.995
    naive = round_fen((D("6277.30") / 12 - D("569.33") / 3) * 3)
    assert naive == D("999.99")
    std = Standard("rural", date(2025, 10, 1), D("6277.30"), "year")
    assert gap(std.monthly(), D("569.33"), 3) == D("1000.00")


# --- tiers ----------------------------------------------------------------------------------

TIERS = (
    Tier(D("200"), D("500")),
    Tier(D("400"), D("300")),
    Tier(None, D("150")),
)


@pytest.mark.parametrize(
    ("income", "people", "expected", "tier_index", "why"),
    [
        (D("0"), 2, "1000.00", 0, "no income: first tier"),
        (D("300"), 2, "1000.00", 0, "per-capita 150"),
        (D("400"), 2, "1000.00", 0, "per-capita exactly 200: bound is inclusive"),
        (D("400.02"), 2, "600.00", 1, "per-capita 200.01"),
        (D("1200"), 3, "900.00", 1, "per-capita exactly 400"),
        (D("1200.01"), 3, "450.00", 2, "per-capita 400.00333...: rounded first it would be tier 2"),
        (D("1500"), 3, "450.00", 2, "open-ended tier"),
        (D("1363.98"), 2, "300.00", 2, "per-capita 681.99, just below the standard"),
        (D("1364"), 2, "0.00", None, "per-capita equal to the standard"),
        (D("5000"), 2, "0.00", None, "above the standard, whatever the tiers say"),
    ],
)
def test_tiers(income, people, expected, tier_index, why):
    w = compute_benefit(
        standard_monthly=D("682"), household_income=income, people=people, method="tiers", tiers=TIERS
    )
    assert str(w.total) == expected, why
    assert w.method == "tiers"
    assert w.tier == (None if tier_index is None else TIERS[tier_index])


def test_tiers_with_repeating_standard():
    # rural 6277/12 = 523.0833...; per-capita 523.08 is below it, so the open-ended tier pays
    w = compute_benefit(
        standard_monthly=RURAL_6277, household_income=D("1046.16"), people=2, method="tiers", tiers=TIERS
    )
    assert w.total == D("300.00")


@pytest.mark.parametrize(
    ("tiers", "error", "match"),
    [
        ((), ValueError, "at least one"),
        ((Tier(D("400"), D("300")), Tier(D("200"), D("500"))), ValueError, "increasing"),
        ((Tier(D("200"), D("500")), Tier(D("200"), D("300"))), ValueError, "increasing"),
        ((Tier(None, D("500")), Tier(D("400"), D("300"))), ValueError, "open-ended"),
        ((Tier(None, D("500")), Tier(None, D("300"))), ValueError, "open-ended"),
        (("not a tier",), TypeError, "Tier"),
    ],
)
def test_bad_tier_tables(tiers, error, match):
    with pytest.raises(error, match=match):
        compute_benefit(
            standard_monthly=D("682"), household_income=D("0"), people=1, method="tiers", tiers=tiers
        )


def test_no_tier_covers_the_income():
    closed = (Tier(D("200"), D("500")), Tier(D("400"), D("300")))
    assert gap(D("682"), D("400"), 1, method="tiers", tiers=closed) == D("300.00")
    with pytest.raises(ValueError, match="no tier covers"):
        gap(D("682"), D("500"), 1, method="tiers", tiers=closed)
    # above the standard needs no tier at all
    assert gap(D("682"), D("700"), 1, method="tiers", tiers=closed) == D("0.00")


def test_tiers_with_gap_method_is_a_mistake():
    with pytest.raises(ValueError, match="method='tiers'"):
        gap(D("682"), D("0"), 1, tiers=TIERS)


@pytest.mark.parametrize(
    ("max_income", "per_person", "error"),
    [
        (D("-1"), D("100"), ValueError),
        (D("100"), D("-1"), ValueError),
        (100.0, D("100"), TypeError),
        (D("100"), 100.0, TypeError),
        (D("NaN"), D("100"), ValueError),
    ],
)
def test_tier_rejects(max_income, per_person, error):
    with pytest.raises(error):
        Tier(max_income, per_person)


# --- supplements (分类施保) ------------------------------------------------------------------

RATES = {
    "elderly": D("50"),
    "minor": D("80"),
    "severely_disabled": D("100"),
    "seriously_ill": D("120"),
}


def test_supplements_are_listed_and_added():
    # S=682, n=4, Y=2000: base 4 x 682 - 2000 = 728
    w = compute_benefit(
        standard_monthly=D("682"),
        household_income=D("2000"),
        people=4,
        supplement_rates=RATES,
        member_categories=[["elderly"], ["severely_disabled", "elderly"], [], ["minor"]],
    )
    assert w.base == D("728")
    assert w.supplements == (
        SupplementLine("elderly", 2, D("50"), D("100")),
        SupplementLine("minor", 1, D("80"), D("80")),
        SupplementLine("severely_disabled", 1, D("100"), D("100")),
    )
    assert w.gross == D("1008")
    assert w.total == D("1008.00")


@pytest.mark.parametrize(
    ("income", "people", "members", "percentage", "expected", "why"),
    [
        (D("5000"), 2, [["elderly"], []], 100, "50.00", "base 0: supplements still paid"),
        (D("5000"), 2, [["elderly"], ["seriously_ill"]], 100, "170.00", "base 0, two categories"),
        (
            D("2000"),
            4,
            [["elderly"], ["severely_disabled", "elderly"], [], ["minor"]],
            80,
            "806.40",
            "80% of (728 + 280)",
        ),
        (D("1000"), 3, [["elderly", "elderly"]], 100, "1096.00", "same category twice counts once"),
        (D("1000"), 3, [], 100, "1046.00", "no members listed"),
        (D("1000"), 3, [[], [], []], 100, "1046.00", "members with no category"),
        (D("1000"), 3, ({"minor"}, ("minor",), iter(["minor"])), 100, "1286.00", "any iterables"),
    ],
)
def test_supplement_totals(income, people, members, percentage, expected, why):
    total = gap(
        D("682"), income, people, supplement_rates=RATES, member_categories=members, percentage=percentage
    )
    assert str(total) == expected, why


def test_supplement_rate_in_jiao_and_fen():
    w = compute_benefit(
        standard_monthly=D("682"),
        household_income=D("5000"),
        people=3,
        supplement_rates={"elderly": D("45.55")},
        member_categories=[["elderly"]] * 3,
        percentage=50,
    )
    assert w.supplements == (SupplementLine("elderly", 3, D("45.55"), D("136.65")),)
    assert w.total == D("68.33")  # 136.65 x 50% = 68.325 -> half up


def test_supplements_with_tiers():
    total = gap(
        D("682"),
        D("300"),
        2,
        method="tiers",
        tiers=TIERS,
        supplement_rates=RATES,
        member_categories=[["minor"], []],
    )
    assert total == D("1080.00")


@pytest.mark.parametrize(
    ("rates", "members", "error", "match"),
    [
        (RATES, [["veteran"]], ValueError, "unknown supplement category 'veteran'"),
        ({}, [["elderly"]], ValueError, "none configured"),
        (RATES, ["elderly"], TypeError, "bare string"),
        (RATES, [["elderly"], [], [], []], ValueError, "4 members but only 3"),
        ({"elderly": D("-1")}, [], ValueError, "negative"),
        ({"elderly": 50.0}, [], TypeError, "float"),
        ({"": D("1")}, [], ValueError, "non-empty"),
    ],
)
def test_supplement_errors(rates, members, error, match):
    with pytest.raises(error, match=match):
        gap(D("682"), D("0"), 3, supplement_rates=rates, member_categories=members)


# --- percentage (渐退) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("income", "percentage", "expected", "why"),
    [
        (D("999.99"), 80, "836.81", "1046.01 x 80% = 836.808"),
        (D("1000"), 80, "836.80", "1046 x 80%"),
        (D("1000"), 60, "627.60", "1046 x 60%"),
        (D("1000"), 0, "0.00", "0%"),
        (D("1000"), 100, "1046.00", "100%"),
        (D("999.99"), 1, "10.46", "1046.01 x 1% = 10.4601"),
    ],
)
def test_percentage(income, percentage, expected, why):
    assert str(gap(D("682"), income, 3, percentage=percentage)) == expected, why


def test_percentage_rounds_half_up_not_half_even():
    # 682 - 0.03 = 681.97; x 50% = 340.985
    assert D("340.985").quantize(FEN, rounding=ROUND_HALF_EVEN) == D("340.98")
    assert gap(D("682"), D("0.03"), 1, percentage=50) == D("340.99")


# --- argument checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"people": 0}, ValueError),
        ({"people": -1}, ValueError),
        ({"people": True}, TypeError),
        ({"people": 3.0}, TypeError),
        ({"people": D("3")}, TypeError),
        ({"household_income": D("-0.01")}, ValueError),
        ({"household_income": 1000.0}, TypeError),
        ({"household_income": "1000"}, TypeError),
        ({"household_income": D("NaN")}, ValueError),
        ({"standard_monthly": D("0")}, ValueError),
        ({"standard_monthly": D("-682")}, ValueError),
        ({"standard_monthly": 682.0}, TypeError),
        ({"standard_monthly": D("Infinity")}, ValueError),
        ({"percentage": 101}, ValueError),
        ({"percentage": -1}, ValueError),
        ({"percentage": 80.0}, TypeError),
        ({"percentage": D("80")}, TypeError),
        ({"method": "flat"}, ValueError),
        ({"method": "GAP"}, ValueError),
    ],
)
def test_compute_benefit_rejects(kwargs, error):
    args = {"standard_monthly": D("682"), "household_income": D("1000"), "people": 3}
    args.update(kwargs)
    with pytest.raises(error):
        compute_benefit(**args)


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        compute_benefit(D("682"), D("1000"), 3)  # type: ignore[misc]
