"""Characters no typed record should hold (pure: the console's forms, a resident's report and the intake all
ask it).

Control characters (C0 but tab and line breaks, DEL, C1) and the marks, embeddings, overrides and isolates that
reorder text on screen (U+202E shows "gpj.exe" as "exe.jpg") are never typed on purpose.  A field of several
lines (a <textarea>) may hold a tab and line breaks; a field of one line may not."""

from __future__ import annotations

import re

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BAD_TEXT = re.compile(f"[{_CONTROL}]")
_BAD_LINE = re.compile(f"[\t\n\r{_CONTROL}]")


def has_bad_characters(value: str, *, line: bool = False) -> bool:
    """Whether ``value`` holds a control or text-direction character (``line``: or a tab or a line break)."""
    return (_BAD_LINE if line else _BAD_TEXT).search(value) is not None


def bad_characters_message(zh: str, en: str) -> tuple[str, str]:
    """The refusal, naming the field (``zh`` / ``en``), in Chinese and English."""
    return (f"{zh}含有控制字符或文字方向控制符，请删除后重新输入",
            f"{en} contains a control character or a text-direction control: remove it and send again")
