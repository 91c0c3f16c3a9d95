"""Resident ID numbers: shared JSON vectors plus local table-driven cases."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from server.domain.ids import (
    PROVINCE_CODES,
    IdInfo,
    InvalidIdNumber,
    check_character,
    is_valid_id_number,
    normalise_id_number,
    parse_id_number,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "id_numbers.json"
VECTORS = json.loads(FIXTURE.read_text(encoding="utf-8"))
VECTOR_TODAY = date.fromisoformat(VECTORS["today"])

TODAY = date(2026, 11, 22)

ALL_CODES = {"length", "characters", "region", "birth_date", "future_birth_date", "checksum"}


def make(first17: str) -> str:
    """A number that is right in every way the first 17 characters allow."""
    return first17 + check_character(first17)


# --- shared vectors -------------------------------------------------------------------------


def test_fixture_is_well_formed():
    assert VECTORS["valid"] and VECTORS["invalid"]
    for case in VECTORS["valid"]:
        assert set(case) >= {"input", "normalised", "birth_date", "sex"}
    for case in VECTORS["invalid"]:
        assert set(case) >= {"input", "code", "why"}
    assert {case["code"] for case in VECTORS["invalid"]} == ALL_CODES


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["why"])
def test_fixture_valid(case):
    info = parse_id_number(case["input"], VECTOR_TODAY)
    assert info.number == case["normalised"]
    assert info.birth_date == date.fromisoformat(case["birth_date"])
    assert info.sex == case["sex"]
    assert info.region_code == case["normalised"][:6]
    assert info.province_code == case["normalised"][:2]
    assert normalise_id_number(case["input"]) == case["normalised"]
    assert is_valid_id_number(case["input"], VECTOR_TODAY)


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["why"])
def test_fixture_invalid(case):
    with pytest.raises(InvalidIdNumber) as excinfo:
        parse_id_number(case["input"], VECTOR_TODAY)
    assert excinfo.value.code == case["code"]
    assert not is_valid_id_number(case["input"], VECTOR_TODAY)


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["why"])
def test_fixture_invalid_vectors_are_wrong_in_one_way_only(case):
    """Apart from the fault named, the vector must be sound (so the order of checks is not hiding a
    second fault that a differently ordered validator, e.g. the PWA's, would report instead)."""
    number = normalise_id_number(case["input"])
    code = case["code"]
    if code in {"length", "characters"}:
        return
    first17, last = number[:17], number[17]
    assert (check_character(first17) == last) == (code != "checksum")
    assert (number[:2] in PROVINCE_CODES) == (code != "region")


# --- check character ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),  # GB 11643-1999 worked example
        ("44052418800101001", "4"),  # GB 11643-1999 worked example
        ("41010419800115123", "5"),
        ("61022219651231024", "9"),
        ("00000000000000000", "1"),  # weighted sum 0 -> remainder 0 -> "1"
    ],
)
def test_check_character(first17, expected):
    assert check_character(first17) == expected


def test_check_character_covers_every_remainder():
    seen = {check_character(f"{n:017d}") for n in range(200)}
    assert seen == set("0123456789X")


@pytest.mark.parametrize(
    "bad", ["", "1234567890123456", "123456789012345678", "1234567890123456X", "１" * 17]
)
def test_check_character_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        check_character(bad)


# --- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002x", "11010519491231002X"),
        ("  11010519491231002X  ", "11010519491231002X"),
        ("\t11010519491231002x\r\n", "11010519491231002X"),
        ("\u300011010519491231002X\u3000", "11010519491231002X"),  # ideographic space
        ("", ""),
    ],
)
def test_normalise_id_number(raw, expected):
    assert normalise_id_number(raw) == expected


@pytest.mark.parametrize("bad", [None, 410104198001151235, b"410104198001151235"])
def test_non_str_is_a_type_error(bad):
    with pytest.raises(TypeError):
        normalise_id_number(bad)
    with pytest.raises(TypeError):
        parse_id_number(bad, TODAY)
    with pytest.raises(TypeError):
        is_valid_id_number(bad, TODAY)


# --- parse: valid ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "birth_date", "sex"),
    [
        ("41010419800115123", date(1980, 1, 15), "male"),
        ("41010419800115124", date(1980, 1, 15), "female"),
        ("61022219651231000", date(1965, 12, 31), "female"),  # sequence 000 is even
        ("61022219651231999", date(1965, 12, 31), "male"),
        ("41010420240229001", date(2024, 2, 29), "male"),
    ],
)
def test_parse_decodes_fields(first17, birth_date, sex):
    info = parse_id_number(make(first17), TODAY)
    assert info == IdInfo(
        number=make(first17),
        region_code=first17[:6],
        province_code=first17[:2],
        birth_date=birth_date,
        sex=sex,
    )


@pytest.mark.parametrize("province", sorted(PROVINCE_CODES))
def test_every_province_code_is_accepted(province):
    assert is_valid_id_number(make(f"{province}0000" + "19800101001"), TODAY)


def test_province_codes_are_exactly_the_listed_ranges():
    expected = (
        set(range(11, 16))
        | set(range(21, 24))
        | set(range(31, 38))
        | set(range(41, 47))
        | set(range(50, 55))
        | set(range(61, 66))
        | {71, 81, 82}
    )
    assert {int(p) for p in PROVINCE_CODES} == expected
    assert len(PROVINCE_CODES) == 34


@pytest.mark.parametrize("rest", ["0000", "0104", "9999"])
def test_last_four_region_digits_are_free(rest):
    assert is_valid_id_number(make(f"41{rest}19800101001"), TODAY)


def test_info_is_frozen():
    info = parse_id_number(make("41010419800115123"), TODAY)
    with pytest.raises(AttributeError):
        info.sex = "female"  # type: ignore[misc]


# --- parse: invalid -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1", "length"),
        ("4101041980011512", "length"),
        (make("41010419800115123") + "5", "length"),
        ("41010419800115123X5", "length"),
        ("X10104198001151235", "characters"),
        ("410104198001151-35", "characters"),
        ("41010419800115123*", "characters"),
        ("410104198001151 35", "characters"),
        ("41010419800115123\u0665", "characters"),  # Arabic-Indic digit five
        ("XXXXXXXXXXXXXXXXXX", "characters"),
        (make("10010419800101001"), "region"),
        (make("20010419800101001"), "region"),
        (make("24010419800101001"), "region"),
        (make("47010419800101001"), "region"),
        (make("55010419800101001"), "region"),
        (make("66010419800101001"), "region"),
        (make("72010419800101001"), "region"),
        (make("90010419800101001"), "region"),
        (make("41010418991231001"), "birth_date"),
        (make("41010400000101001"), "birth_date"),
        (make("41010419800431001"), "birth_date"),
        (make("41010419800100001"), "birth_date"),
        (make("41010421000229001"), "birth_date"),  # 2100 is not a leap year (and future)
        (make("41010420261123001"), "future_birth_date"),
        (make("41010420270101001"), "future_birth_date"),
        (make("41010499991231001"), "future_birth_date"),
    ],
)
def test_parse_rejects(raw, code):
    with pytest.raises(InvalidIdNumber) as excinfo:
        parse_id_number(raw, TODAY)
    assert excinfo.value.code == code


@pytest.mark.parametrize("first17", ["41010419800115123", "61022219651231024", "11010519491231002"])
def test_every_wrong_check_character_is_caught(first17):
    right = check_character(first17)
    for wrong in set("0123456789X") - {right}:
        with pytest.raises(InvalidIdNumber) as excinfo:
            parse_id_number(first17 + wrong, TODAY)
        assert excinfo.value.code == "checksum"


def test_single_digit_typo_is_caught():
    number = make("41010419800115123")
    for i in range(17):
        for d in "0123456789":
            if d == number[i]:
                continue
            typo = number[:i] + d + number[i + 1 :]
            assert not is_valid_id_number(typo, TODAY), typo


def test_today_is_an_argument():
    number = make("41010420261123001")  # born 2026-11-23
    assert not is_valid_id_number(number, date(2026, 11, 22))
    assert is_valid_id_number(number, date(2026, 11, 23))


@pytest.mark.parametrize("bad_today", [datetime(2026, 11, 22, 12, 0), "2026-11-22", None])
def test_today_must_be_a_date(bad_today):
    with pytest.raises(TypeError):
        parse_id_number(make("41010419800115123"), bad_today)


# --- the exception --------------------------------------------------------------------------


def test_exception_carries_code_and_both_messages():
    with pytest.raises(InvalidIdNumber) as excinfo:
        parse_id_number("410104198001151234", TODAY)
    exc = excinfo.value
    assert isinstance(exc, ValueError)
    assert exc.code == "checksum"
    assert "校验码" in exc.message
    assert "check character" in exc.message_en
    assert str(exc) == exc.message_en


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["why"])
def test_messages_never_contain_the_number(case):
    with pytest.raises(InvalidIdNumber) as excinfo:
        parse_id_number(case["input"], VECTOR_TODAY)
    exc = excinfo.value
    assert exc.message and exc.message_en
    stripped = case["input"].strip()
    if len(stripped) >= 6:
        for text in (exc.message, exc.message_en, str(exc)):
            assert stripped not in text
            assert stripped[6:14] not in text  # nor the birth date digits


def test_old_15_digit_number_gets_its_own_message():
    with pytest.raises(InvalidIdNumber) as excinfo:
        parse_id_number("410104800115123", TODAY)
    assert excinfo.value.code == "length"
    assert "15" in excinfo.value.message
