"""Masking names, ID numbers and phone numbers for display."""

from __future__ import annotations

import pytest

from server.domain.masking import (
    COMPOUND_SURNAMES,
    NAME_MODES,
    display_name,
    mask_id_number,
    mask_name,
    mask_phone,
)


@pytest.mark.parametrize(
    ("name", "expected", "why"),
    [
        ("张三", "张*", "two characters"),
        ("李小明", "李**", "three characters"),
        ("王", "*", "one character"),
        ("", "", "empty"),
        ("   ", "", "only whitespace"),
        ("  李小明 ", "李**", "surrounding whitespace dropped"),
        ("欧阳娜娜", "欧阳**", "compound surname kept whole"),
        ("欧阳修", "欧阳*", "compound surname, one-character given name"),
        ("司马相如", "司马**", "司马"),
        ("诸葛亮", "诸葛*", "诸葛"),
        ("单于静", "单于*", "单于"),
        ("欧阳", "欧*", "two characters only: surname 欧, given name 阳"),
        ("欧小明", "欧**", "single surname that starts a compound one"),
        ("阳欧阳", "阳**", "compound surname only counts at the start"),
        ("阿依古丽·买买提", "阿***·***", "separator dot kept"),
        ("努尔·阿布都拉·艾买提", "努*·****·***", "several parts"),
        ("阿依古丽•买买提", "阿***•***", "bullet used as the dot"),
        ("阿依古丽・买买提", "阿***・***", "katakana middle dot"),
        ("阿依古丽.买买提", "阿***.***", "ASCII full stop"),
        ("欧阳·娜娜", "欧*·**", "dot rule wins over the compound surname rule"),
        ("·买买提", "·买**", "leading dot"),
        ("John Smith", "J*** *****", "inner space kept"),
        ("𠀋小明", "𠀋**", "character outside the BMP is one character"),
    ],
)
def test_mask_name(name, expected, why):
    assert mask_name(name) == expected, why


@pytest.mark.parametrize("surname", sorted(COMPOUND_SURNAMES))
def test_every_compound_surname(surname):
    assert mask_name(surname + "小明") == surname + "**"
    assert mask_name(surname + "明") == surname + "*"


def test_compound_surname_list():
    assert len(COMPOUND_SURNAMES) == 20
    assert all(len(s) == 2 for s in COMPOUND_SURNAMES)


@pytest.mark.parametrize("name", ["张三", "李小明", "欧阳娜娜", "阿依古丽·买买提", "王"])
def test_mask_name_keeps_length_and_hides_given_name(name):
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked != name
    assert name[-1] not in masked


@pytest.mark.parametrize(
    ("name", "mode", "expected"),
    [
        ("李小明", "masked", "李**"),
        ("李小明", "full", "李小明"),
        (" 李小明 ", "full", "李小明"),
        ("欧阳娜娜", "masked", "欧阳**"),
        ("阿依古丽·买买提", "full", "阿依古丽·买买提"),
        ("", "masked", ""),
        ("", "full", ""),
    ],
)
def test_display_name(name, mode, expected):
    assert display_name(name, mode) == expected


@pytest.mark.parametrize("mode", ["", "Masked", "FULL", "partial", "none", None, True])
def test_display_name_rejects_unknown_modes(mode):
    with pytest.raises(ValueError):
        display_name("李小明", mode)


def test_name_modes():
    assert NAME_MODES == ("masked", "full")


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("410104198001151235", "410***********1235"),
        ("11010519491231002X", "110***********002X"),
        ("11010519491231002x", "110***********002X"),
        ("  610222196512310249 ", "610***********0249"),
        ("410104800115123", "410********5123"),  # old 15-digit number
        ("12345678", "123*5678"),
        ("1234567", "*******"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_mask_id_number(number, expected):
    masked = mask_id_number(number)
    assert masked == expected
    assert len(masked) == len(number.strip())


def test_mask_id_number_hides_the_birth_date():
    assert "19800115" not in mask_id_number("410104198001151235")


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("13812345678", "138****5678"),
        ("19900001111", "199****1111"),
        (" 13812345678\n", "138****5678"),
        ("0371-66123456", "****-****3456"),  # landline: only the last four digits show
        ("+86 138 1234 5678", "+** *** **** 5678"),
        ("+8613812345678", "+*********5678"),
        ("138123456789", "********6789"),  # 12 digits is not a mobile number
        ("1381234567", "******4567"),  # 10 digits
        ("12345", "*2345"),
        ("1234", "****"),  # four digits or fewer: nothing shown
        ("110", "***"),
        ("１３８１２３４５６７８", "*******５６７８"),  # full-width digits are not a plain mobile
        ("", ""),
    ],
)
def test_mask_phone(phone, expected):
    assert mask_phone(phone) == expected


@pytest.mark.parametrize("func", [mask_name, mask_id_number, mask_phone])
@pytest.mark.parametrize("bad", [None, 13812345678, b"abc"])
def test_non_str_is_a_type_error(func, bad):
    with pytest.raises(TypeError):
        func(bad)


def test_display_name_full_rejects_non_str():
    with pytest.raises(TypeError):
        display_name(None, "full")
