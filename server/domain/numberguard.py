"""The number guard: does a text carry an ID-number-like or phone-number-like run?  Pure: standard
library only.

Public pages are built from structured fields (see :mod:`server.domain.publicity`), so no ID or phone
number should ever be in them.  This guard is the last line of defence behind that: it scans the text
of every public response and reports the runs of digits that look like an ID number, a phone number
or an account number, however they were typed.

It normalises first, because people (and input methods) do not type numbers the way a naive pattern
expects:

- NFKC (full-width digits and separators, circled and superscript digits, ideographic and
  non-breaking spaces folded to their plain forms);
- every Unicode decimal digit script (Arabic-Indic ٠١٢, Devanagari, Bengali, ...) read as 0-9;
- every separator joins: any space (ideographic U+3000, NBSP, thin spaces), zero-width and other
  format characters, any dash, dots (including 。·・), slashes, backslashes, commas, colons,
  underscores, vertical bars and tildes — up to three of them in a row between two groups of digits.
  En and em dashes and the wave dash are read as a range mark (``~``): they join numbers like any
  separator, but ``2025-11-13—2026-11-12`` stays two dates.

A *run* is digits joined that way.  It is flagged when it holds at least :data:`MIN_DIGITS` digits,
after two readings that keep ordinary page text readable are taken out of it:

- a **date** ``YYYY-MM-DD`` (also with ``/`` or ``.``) whose year is 1900-2199, month 1-12 and day 1-31,
  standing on its own: the separators around it differ from its own (``2025-11-05 · 2025-11-12`` is two
  dates; ``410104-1952-05-21-6770`` is one number);
- an **amount** ``123456.78``: at most six digits, a dot and exactly two, not preceded by a dot
  (``682.00`` is money; ``138.1234.5678`` is not).

Except that six digits, a date and three digits and a check character around it (``410104 / 1952-05-21 /
6770``, any separators) whose check character is right are one ID number, whatever the separators.

Markup is not text: :func:`visible_text` turns an HTML page into what a reader sees (tags break
runs; character references are decoded), so tokens in links and forms are not mistaken for numbers.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

__all__ = ["MIN_DIGITS", "Finding", "digits_of", "find", "normalise", "visible_text"]

MIN_DIGITS = 7          # a local landline without area code has 7; amounts and counts on a board have fewer
MAX_SEPARATORS = 3      # "2025-11-05 · 2025-11-12" joins with " · "; more is not one number
_KEEP = "-/.,:~"        # separators kept as themselves (dates and amounts need them); others become " "
_RANGE_DASHES = "\u2013\u2014\u2015\u2e3a\u2e3b\u301c"   # en and em dashes, bars, wave dash: written as "~"
_EXTRA_SEPARATORS = "·・。、_\\|"
_BREAK = "\u01c0"       # what a tag becomes: a letter (ǀ), so never a separator
_ASCII_SPACE = " \t\n\r\f\v"   # separators already: left as they are (the pattern below knows them)


@cache
def _table() -> dict[int, str]:
    """The translation applied after NFKC: digits to ASCII, separators to their canonical forms."""
    out: dict[int, str] = {}
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if ch == _BREAK or ch in _ASCII_SPACE:
            continue
        cat = unicodedata.category(ch)
        if cat == "Nd":
            if not ("0" <= ch <= "9"):
                out[cp] = str(unicodedata.decimal(ch))
        elif ch in _KEEP:
            continue
        elif ch in _RANGE_DASHES:            # "2025-11-13—2026-11-12" is a range of two dates
            out[cp] = "~"
        elif cat == "Pd" or ch == "\u2212":   # any other dash, and the minus sign
            out[cp] = "-"
        elif cat in ("Zs", "Zl", "Zp", "Cc", "Cf") or ch in _EXTRA_SEPARATORS:
            out[cp] = " "
        elif ch in "\u2044\u2215\uff0f":       # fraction and division slashes
            out[cp] = "/"
    return out


def normalise(text: str) -> str:
    """NFKC, every decimal digit as 0-9, every separator as one of ``- / . , : ~`` or a space."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return unicodedata.normalize("NFKC", text).translate(_table())


_TAG = re.compile(r"<[^>]*>")


def visible_text(page: str) -> str:
    """What a reader of an HTML page sees, for scanning: each tag becomes a break (never a separator,
    so two table cells never join into one number) and character references are decoded."""
    return html.unescape(_TAG.sub(_BREAK, page))


_SEP_CLASS = r"[ \t\n\r\f\v\-/.,:~]"
# Runs of at least MIN_DIGITS digits (shorter ones never match, so a page of counts and amounts costs little).
_RUN = re.compile(rf"[0-9](?:{_SEP_CLASS}{{0,{MAX_SEPARATORS}}}[0-9]){{{MIN_DIGITS - 1},}}")
_CANDIDATE = re.compile(rf"\d[\d\W_]{{{MIN_DIGITS - 1},}}")
_LONE_DATE = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})")
_GROUP = re.compile(r"[0-9]+")
# An ID number typed with its birth date written as a date in the middle ("410104 / 1952-05-21 / 6770"): the date
# reading would split it into two short numbers.  Read as one when the 18 characters carry a valid check character.
_ID_AROUND_DATE = re.compile(rf"(?<![0-9])([0-9]{{6}}){_SEP_CLASS}{{1,{MAX_SEPARATORS}}}([12][0-9]{{3}})([-/.])"
                             rf"([0-9]{{2}})\3([0-9]{{2}}){_SEP_CLASS}{{1,{MAX_SEPARATORS}}}([0-9]{{3}}[0-9Xx])(?![0-9])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _valid_id(eighteen: str) -> bool:
    """The ISO 7064 MOD 11-2 check of an 18-character ID number (a pure copy of the rule, so this module needs
    nothing but the standard library)."""
    total = sum(int(ch) * w for ch, w in zip(eighteen[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == eighteen[17].upper()


@dataclass(frozen=True)
class Finding:
    """One flagged run: its digits (for comparison only; never log them) and what it looks like."""
    digits: str
    kind: str   # "id_number", "mobile" or "long_number"

    def __repr__(self) -> str:   # never print the number itself
        return f"Finding(kind={self.kind!r}, digits={len(self.digits)})"


def _kind(digits: str, tail: str) -> str:
    if len(digits) in (15, 18) or (len(digits) == 17 and tail in "Xx"):
        return "id_number"
    if len(digits) == 11 and digits.startswith("1"):
        return "mobile"
    return "long_number"


def _is_date(groups: list[str], seps: list[str], i: int) -> bool:
    """Are groups i, i+1, i+2 a date standing on its own?"""
    if i + 2 >= len(groups):
        return False
    y, m, d = groups[i:i + 3]
    s1, s2 = seps[i], seps[i + 1]
    if not (len(y) == 4 and 1 <= len(m) <= 2 and 1 <= len(d) <= 2 and s1 == s2 and s1 in ("-", "/", ".")):
        return False
    if not (1900 <= int(y) <= 2199 and 1 <= int(m) <= 12 and 1 <= int(d) <= 31):
        return False
    before = seps[i - 1] if i > 0 else ""
    after = seps[i + 2] if i + 2 < len(seps) else ""
    return s1 not in before and s1 not in after


def _is_amount(groups: list[str], seps: list[str], i: int) -> bool:
    """Are groups i, i+1 an amount of money (``682.00``)?"""
    if i + 1 >= len(groups) or seps[i] != "." or len(groups[i + 1]) != 2 or len(groups[i]) > 6:
        return False
    before = seps[i - 1] if i > 0 else ""
    after = seps[i + 1] if i + 1 < len(seps) else ""
    return "." not in before and "." not in after


def _segments(run: str) -> list[str]:
    """The digit strings of a run once dates and amounts are taken out (each breaks the run)."""
    groups = _GROUP.findall(run)
    seps = _GROUP.split(run)[1:-1]   # the separators between the groups, as typed
    out, current, i = [], [], 0
    while i < len(groups):
        if _is_date(groups, seps, i):
            out.append("".join(current))
            current, i = [], i + 3
        elif _is_amount(groups, seps, i):
            out.append("".join(current))
            current, i = [], i + 2
        else:
            current.append(groups[i])
            i += 1
    out.append("".join(current))
    return [s for s in out if s]


def digits_of(values: Iterable[str]) -> tuple[str, ...]:
    """The digits of every number-like run in the values (each run's digits joined): what :func:`find`
    may repeat back to the person who typed it (a form shown again with its own phone number is not a
    leak).  Digits scattered among letters (a token such as ``a1b2c3d4e5f6g7``) are not a number."""
    out = []
    for v in values:
        if isinstance(v, str) and v:
            for m in _RUN.finditer(normalise(v)):
                out.append("".join(ch for ch in m.group(0) if "0" <= ch <= "9"))
    return tuple(out)


def find(text: str, *, allowed: Iterable[str] = (), echoed: Iterable[str] = ()) -> list[Finding]:
    """The ID-, phone- or account-number-like runs in ``text`` (already visible text, see
    :func:`visible_text`).  ``allowed`` are numbers that may be published (a profile's tip-off line),
    given in any format; a run whose digits occur in one of ``echoed`` (see :func:`digits_of`) is the
    reader's own input shown back and is not reported either."""
    allow = set(digits_of(allowed))
    echo = tuple(echoed)
    found = []
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    folded = unicodedata.normalize("NFKC", text)
    table = _table()
    # Only the stretches that could hold a run are translated: digits of any script (\d) joined by
    # anything that is not a letter or a tag break — a superset of the separators, checked exactly below.
    for stretch in _CANDIDATE.finditer(folded):
        norm = stretch.group(0).translate(table)
        tail = folded[stretch.end():stretch.end() + 1]
        for m in _ID_AROUND_DATE.finditer(norm + (tail if tail in "Xx" else "")):   # the letter ends the stretch
            number = "".join(m.group(i) for i in (1, 2, 4, 5, 6))
            digits = number.upper().rstrip("X")
            if _valid_id(number) and digits not in allow and not any(digits in e for e in echo):
                found.append(Finding(digits, "id_number"))
        for m in _RUN.finditer(norm):
            run = m.group(0)
            date = _LONE_DATE.fullmatch(run)
            if date and 1900 <= int(date[1]) <= 2199 and 1 <= int(date[3]) <= 12 and 1 <= int(date[4]) <= 31:
                continue   # the common case on a page: a date on its own
            run_tail = norm[m.end():m.end() + 1] or tail
            for seg in _segments(run):
                if len(seg) < MIN_DIGITS or seg in allow or any(seg in e for e in echo) or \
                        any(f.digits == seg for f in found):
                    continue
                found.append(Finding(seg, _kind(seg, run_tail)))
    return found
