"""Visits merged into a case, field by field, three ways — pure.

The case field space
====================
A case's facts, and a visit's findings, are flat dicts keyed by path strings; the values are JSON
values (str, int, bool, None, lists of str). The paths::

    member/<ID number>/<field>   a member's answers, keyed by the member's normalised 18-character
                                 ID number (not by position, so reordering changes nothing):
                                 name, relation, co_residing, health, disabled, disability_grade,
                                 student, school, work, able_to_work (the fields of
                                 ``MEMBER_FIELDS[form_id]``)
    income/<source>              the six-month TOTAL of an income source of
                                 server.domain.declaration.INCOME_SOURCES, as a "0.00" string;
                                 absent when nobody declared or found that source (unknown, not 0)
    property/<item>              free text of an item of PROPERTY_ITEMS; property/vehicles_count an int
    living/conditions            sorted list of condition option values
    living/notes                 text

Text is NFC-normalised and stripped, and empty text counts as None. The server builds the same
space from the case (``base``: as it was at the visit's ``base_version``; ``current``: as it is now)
with the same conventions — in particular every declared income source as a "0.00" total, and no
path for a source never declared: a visit that found "0.00" there proposes it (unknown -> 0.00).
Records made before that rule hold "0.00" for undeclared sources; they merge as any other value.

What a visit says (``flatten_answers``)
=======================================
A visit's dict holds exactly the paths it speaks about; a path present with None means "the visit
found this empty". For each member listed, every member field of the form is present (a field the
form hid — a disability grade of someone not disabled, the school of a non-student — is None, so the
merge proposes clearing it). Income sources, property items and living conditions are present only
when answered. Members the visit does not list are not mentioned: the visit does not propose to
remove them (the reconciliation screen can show them by comparing ``member_numbers``). The
findings section (summary, recommendation, changes) is not case data and is skipped.

The merge (``merge``)
=====================
Over the paths of the visit only (in ``base`` and ``current`` a missing path means None)::

    visit == current                          -> agreed (nothing to do)
    visit == base, current changed since      -> nothing (the visit did not change it)
    visit != base, current == base            -> proposal: the visit's value
    visit != base, current != base, != visit  -> conflict(base, current, proposed)

Values are compared as JSON values: ``true`` is not ``1``, strings equal after NFC. **Nothing is
applied by merge itself**: the caseworker sees the proposals and the conflicts, picks values, and
the server applies the choices with ``apply`` and audits each one.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from server.domain.declaration import INCOME_SOURCES, MONTHS, PROPERTY_ITEMS, amount, blank_months
from server.domain.ids import normalise_id_number

__all__ = [
    "MEMBER_FIELDS",
    "MERGEABLE_FORMS",
    "PROPERTY_FIELDS",
    "UNMERGED_FORMS",
    "Conflict",
    "MergeResult",
    "apply",
    "flatten_answers",
    "income_total",
    "member_numbers",
    "merge",
    "same_value",
]

MEMBER_FIELDS: dict[str, tuple[str, ...]] = {
    "household_survey": ("name", "relation", "co_residing", "health", "disabled", "disability_grade",
                         "student", "school", "work", "able_to_work"),
    "rereview": ("name", "co_residing", "health", "work"),
}
MERGEABLE_FORMS = tuple(MEMBER_FIELDS)
UNMERGED_FORMS = ("spot_check", "two_rates", "appraisal")   # they check or record a step, not restate the household
PROPERTY_FIELDS: tuple[str, ...] = (*PROPERTY_ITEMS, "vehicles_count")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def income_total(months: Iterable[str]) -> str:
    """The sum of six monthly amounts as a "0.00" string; ValueError for anything else."""
    months = list(months)
    if len(months) != MONTHS:
        raise ValueError(f"an income source needs {MONTHS} monthly amounts, not {len(months)}")
    total = Decimal("0")
    for month in months:
        value = amount(month) if isinstance(month, str) else None
        if value is None:
            raise ValueError(f"not an amount: {month!r}")
        total += value
    return f"{total:.2f}"


def flatten_answers(form_id: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """A visit's (already validated) answers in the case field space; see the module docstring.

    Only the forms of ``MERGEABLE_FORMS`` carry case data; a form of ``UNMERGED_FORMS`` (a spot
    check checks the record, it does not restate it) speaks about no case field and gives {}. Any
    other form id is a ValueError, and so are answers the form would have rejected (two members
    with one ID number, a bad amount).
    """
    if form_id in UNMERGED_FORMS:
        return {}
    if form_id not in MEMBER_FIELDS:
        raise ValueError(f"visits of form {form_id!r} are not merged into the case")
    flat: dict[str, Any] = {}

    seen: set[str] = set()
    for member in answers.get("members") or []:
        number = normalise_id_number(member["id_number"])
        if number in seen:
            raise ValueError("two members share one ID number")
        seen.add(number)
        for name in MEMBER_FIELDS[form_id]:
            flat[f"member/{number}/{name}"] = _clean(member.get(name))

    income = answers.get("income") or {}
    for source in INCOME_SOURCES:
        months = income.get(source)
        # A source with blank months says no total: all blank is none declared; some blank (only visits from
        # before such lists were refused) leaves the total unknown — never a sum that reads the blanks as 0.
        if months is not None and not (isinstance(months, list) and blank_months(months)):
            flat[f"income/{source}"] = income_total(months)

    prop = answers.get("property") or {}
    for item in PROPERTY_FIELDS:
        if prop.get(item) is not None:
            flat[f"property/{item}"] = _clean(prop[item])

    living = answers.get("living") or {}
    if living.get("conditions") is not None:
        flat["living/conditions"] = sorted(set(living["conditions"]))
    if living.get("notes") is not None:
        flat["living/notes"] = _clean(living["notes"])
    return flat


def member_numbers(flat: Mapping[str, Any]) -> set[str]:
    """The ID numbers of the members a flat dict mentions."""
    return {path.split("/")[1] for path in flat if path.startswith("member/") and path.count("/") == 2}


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``True`` is not ``1``, strings are compared after NFC."""
    if isinstance(a, str) and isinstance(b, str):
        return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Conflict:
    base: Any
    current: Any
    proposed: Any


@dataclass(frozen=True)
class MergeResult:
    proposals: dict[str, Any] = field(default_factory=dict)  # path -> the visit's value
    conflicts: dict[str, Conflict] = field(default_factory=dict)
    agreed: list[str] = field(default_factory=list)  # paths where the visit equals the case now

    @property
    def clean(self) -> bool:
        """No conflicts: the proposals alone settle the visit."""
        return not self.conflicts


def merge(base: Mapping[str, Any], current: Mapping[str, Any], visit: Mapping[str, Any]) -> MergeResult:
    """Three-way merge of a flattened visit into the case; applies nothing (see the module docstring)."""
    proposals: dict[str, Any] = {}
    conflicts: dict[str, Conflict] = {}
    agreed: list[str] = []
    for path in sorted(visit):
        was, now, found = base.get(path), current.get(path), visit[path]
        if same_value(found, now):
            agreed.append(path)
        elif same_value(found, was):
            continue  # the visit left it as it was; the case has moved on
        elif same_value(now, was):
            proposals[path] = copy.deepcopy(found)
        else:
            conflicts[path] = Conflict(copy.deepcopy(was), copy.deepcopy(now), copy.deepcopy(found))
    return MergeResult(proposals=proposals, conflicts=conflicts, agreed=agreed)


def apply(current: Mapping[str, Any], choices: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``current`` with the chosen values set (None removes the path). ``current`` is
    left untouched."""
    result = copy.deepcopy(dict(current))
    for path, value in choices.items():
        if value is None:
            result.pop(path, None)
        else:
            result[path] = copy.deepcopy(value)
    return result
