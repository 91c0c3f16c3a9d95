"""18-character resident identity numbers (公民身份号码, GB 11643-1999).

Layout::

    RRRRRR YYYYMMDD SSS C
    |      |        |   +-- check character, ISO 7064 MOD 11-2 ("0"-"9" or "X")
    |      |        +------ sequence; odd = male, even = female
    |      +--------------- birth date
    +---------------------- region code; first two digits are the province-level code

Pure module: standard library only, and "today" is always an argument, never read from a clock.

Error messages never repeat the number itself, so they can be logged without leaking it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "PROVINCE_CODES",
    "IdInfo",
    "InvalidIdNumber",
    "check_character",
    "is_valid_id_number",
    "normalise_id_number",
    "parse_id_number",
]

LENGTH = 18
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# Province-level codes (first two digits of the region code).
PROVINCE_CODES: frozenset[str] = frozenset(
    [str(c) for c in range(11, 16)]  # 北京 天津 河北 山西 内蒙古
    + [str(c) for c in range(21, 24)]  # 辽宁 吉林 黑龙江
    + [str(c) for c in range(31, 38)]  # 上海 江苏 浙江 安徽 福建 江西 山东
    + [str(c) for c in range(41, 47)]  # 河南 湖北 湖南 广东 广西 海南
    + [str(c) for c in range(50, 55)]  # 重庆 四川 贵州 云南 西藏
    + [str(c) for c in range(61, 66)]  # 陕西 甘肃 青海 宁夏 新疆
    + ["71", "81", "82"]  # 台湾 香港 澳门
)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum) mod 11

# re.ASCII: \d must not match full-width or other Unicode digits.
_SEVENTEEN_DIGITS = re.compile(r"\d{17}", re.ASCII)
_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)


class InvalidIdNumber(ValueError):
    """The text is not a valid 18-character ID number.

    ``code`` is a short machine-readable reason: "length", "characters", "region",
    "birth_date", "future_birth_date" or "checksum". ``message`` is Chinese (for users),
    ``message_en`` English; ``str(exc)`` is the English message.
    """

    def __init__(self, code: str, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en


@dataclass(frozen=True)
class IdInfo:
    number: str  # normalised: 18 characters, uppercase X
    region_code: str  # 6 digits
    province_code: str  # first 2 digits of region_code
    birth_date: date
    sex: str  # "male" | "female"


def normalise_id_number(raw: str) -> str:
    """Strip surrounding whitespace and uppercase (``x`` -> ``X``). No validation."""
    if not isinstance(raw, str):
        raise TypeError(f"ID number must be a str, not {type(raw).__name__}")
    return raw.strip().upper()


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if not isinstance(first17, str) or not _SEVENTEEN_DIGITS.fullmatch(first17):
        raise ValueError("check_character() needs exactly 17 ASCII digits")
    total = sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_id_number(raw: str, today: date) -> IdInfo:
    """Validate and decode an ID number; raises InvalidIdNumber.

    Checks run in this order and the first failure is reported: length, characters, region,
    birth_date, future_birth_date, checksum.
    """
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError("today must be a datetime.date (not a datetime)")
    number = normalise_id_number(raw)

    if len(number) != LENGTH:
        if len(number) == 15 and number.isascii() and number.isdigit():
            raise InvalidIdNumber(
                "length",
                "这是15位的旧身份证号码，请填写18位号码",
                "This is an old 15-digit ID number; enter the 18-character number",
            )
        raise InvalidIdNumber(
            "length",
            f"身份证号码应为18位，现在是{len(number)}位",
            f"An ID number has 18 characters, this has {len(number)}",
        )

    if not _SHAPE.fullmatch(number):
        raise InvalidIdNumber(
            "characters",
            "身份证号码前17位只能是数字，最后一位是数字或X",
            "The first 17 characters must be digits; only the last may be a digit or X",
        )

    region_code = number[:6]
    province_code = number[:2]
    if province_code not in PROVINCE_CODES:
        raise InvalidIdNumber(
            "region",
            "地址码不正确：前两位不是有效的省级行政区划代码",
            "Invalid region code: the first two digits are not a province-level code",
        )

    digits = number[6:14]
    try:
        birth_date = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidIdNumber(
            "birth_date",
            "出生日期不是有效日期",
            "The birth date is not a real calendar date",
        ) from None
    if birth_date < EARLIEST_BIRTH_DATE:
        raise InvalidIdNumber(
            "birth_date",
            "出生日期早于1900年1月1日",
            "The birth date is before 1900-01-01",
        )
    if birth_date > today:
        raise InvalidIdNumber(
            "future_birth_date",
            "出生日期晚于今天",
            "The birth date is after today",
        )

    if check_character(number[:17]) != number[17]:
        raise InvalidIdNumber(
            "checksum",
            "校验码不符，号码可能填写有误，请核对",
            "The check character does not match; the number was probably mistyped",
        )

    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return IdInfo(
        number=number,
        region_code=region_code,
        province_code=province_code,
        birth_date=birth_date,
        sex=sex,
    )


def is_valid_id_number(raw: str, today: date) -> bool:
    """True when parse_id_number() would succeed. Still raises TypeError for a non-str."""
    try:
        parse_id_number(raw, today)
    except InvalidIdNumber:
        return False
    return True
