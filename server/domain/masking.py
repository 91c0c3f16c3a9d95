"""Masking personal data for display. Pure module: standard library only.

Public pages (notice boards, QR lists) show names masked by default and NEVER show ID numbers,
phone numbers, bank accounts or diagnoses -- not even masked. ``mask_id_number`` and ``mask_phone``
are for the staff console only.

Masking keeps the length of what it masks (one "*" per character), as the paper boards do.
"""

from __future__ import annotations

__all__ = [
    "COMPOUND_SURNAMES",
    "NAME_MODES",
    "display_name",
    "mask_id_number",
    "mask_name",
    "mask_phone",
]

MASK = "*"

COMPOUND_SURNAMES: frozenset[str] = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 闻人 澹台 端木 单于".split()
)

# Separators between the parts of a transliterated name (阿依古丽·买买提); they are kept as
# written. U+00B7 is the standard one; the others turn up from different input methods.
_NAME_SEPARATORS = frozenset("\u00b7\u2022\u2027\u30fb\uff0e.")

NAME_MODES = ("masked", "full")


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    return value


def mask_name(name: str) -> str:
    """Keep the surname, replace every other character with "*".

    "张三" -> "张*", "李小明" -> "李**", "欧阳娜娜" -> "欧阳**" (compound surnames are kept whole
    when the name is longer than the surname: a two-character "欧阳" is read as surname 欧 + given
    name 阳 -> "欧*"), a one-character name -> "*", "" -> "".

    Names with a separator dot (阿依古丽·买买提, common for Uyghur, Kazakh, Tibetan and foreign
    names): keep only the first character, mask every other letter, keep the dots and spaces:
    "阿依古丽·买买提" -> "阿***·***". Surrounding whitespace is dropped; whitespace inside the name
    is kept.
    """
    name = _require_str(name, "name").strip()
    if not name:
        return ""
    if any(ch in _NAME_SEPARATORS for ch in name):
        return _mask_parts(name)
    if len(name) == 1:
        return MASK
    keep = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + "".join(ch if ch.isspace() else MASK for ch in name[keep:])


def _mask_parts(name: str) -> str:
    out = []
    kept_first = False
    for ch in name:
        if ch in _NAME_SEPARATORS or ch.isspace():
            out.append(ch)
        elif not kept_first:
            out.append(ch)
            kept_first = True
        else:
            out.append(MASK)
    return "".join(out)


def display_name(name: str, mode: str) -> str:
    """The name as a list should show it: mode "masked" (the privacy-preserving default of the
    profiles) or "full". Any other mode is a ValueError, so a typo in a profile can never fall
    through to showing full names."""
    if mode == "masked":
        return mask_name(name)
    if mode == "full":
        return _require_str(name, "name").strip()
    raise ValueError(f"name display mode must be one of {NAME_MODES}, not {mode!r}")


def mask_id_number(number: str) -> str:
    """CONSOLE ONLY. Keep the first 3 and last 4 characters, "*" in between, same length:
    "410104198001151235" -> "410***********1235". Surrounding whitespace is dropped and a lowercase
    x shown as X. Seven characters or fewer would show everything, so they are masked entirely.
    No validation: a mistyped number is masked the same way."""
    number = _require_str(number, "ID number").strip().upper()
    if len(number) <= 7:
        return MASK * len(number)
    return number[:3] + MASK * (len(number) - 7) + number[-4:]


def mask_phone(phone: str) -> str:
    """CONSOLE ONLY. An 11-digit mobile number keeps its first 3 and last 4 digits:
    "13812345678" -> "138****5678".

    Anything else (landlines "0371-66123456", "+86 138 1234 5678", short numbers) is not refused:
    every digit except the last four is masked and other characters are kept, so the result never
    shows more than four digits of an unexpected format. Surrounding whitespace is dropped.
    """
    phone = _require_str(phone, "phone number").strip()
    if len(phone) == 11 and phone.isascii() and phone.isdigit():
        return phone[:3] + MASK * 4 + phone[-4:]
    digit_positions = [i for i, ch in enumerate(phone) if ch.isdigit()]
    shown = set(digit_positions[-4:]) if len(digit_positions) > 4 else set()
    return "".join(MASK if ch.isdigit() and i not in shown else ch for i, ch in enumerate(phone))
