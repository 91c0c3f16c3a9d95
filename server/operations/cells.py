"""Cells of the CSV and XLSX exports that a spreadsheet program cannot run.

Names, reasons and notes are typed by people; a value a spreadsheet would read as a formula (starting with
``=``, ``+``, ``-`` or ``@``, a tab or a carriage return) is written with a leading apostrophe, so it shows as
the text it is. Numbers (amounts, counts) are not text and pass unchanged: a negative adjustment stays a number.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as an export cell: text that could run as a formula is quoted; anything else is left as it is."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
