"""What a public notice board may show.  Pure: standard library and the other pure cores only.

Given a profile's ``public_list`` settings and plain data about the cases a board lists, this module
decides the columns and the text of every cell.  The operations layer hands it nothing it may not
show in the first place (no ID numbers, phone numbers, bank accounts, addresses or diagnoses ever
reach these dataclasses); on top of that, every column is switched on by a profile setting, names
go through :func:`server.domain.masking.display_name`, and **no free text typed by staff is ever
published**: where a profile shows the review and approval opinions (yijun), the cell is built from
their structured conclusion (拟批准 / 拟不予批准, the proposed amount and the supplement categories
when the profile shows those, whether the leader signed, the meeting's decision), never from the
opinion as typed, which may name an illness or a number.  Public output is built, not filtered.

Two lists:

- **Publicity** (审核公示): cases proposed for approval, grouped into batches by the day publicity
  opened, each with its earliest end and the calendar days left.  Always: number, head of the
  household (masked by profile), household size (``show_household_size``), proposed monthly amount
  (``show_amount``); optionally household income, supplement categories, the home visit, the
  democratic appraisal and the review opinions (their structured conclusion).
- **Long-term** (长期公示): families in payment.  Number, head, people covered, monthly amount,
  income and category if the profile says so, and since when (the day of approval).

Output is plain strings in the requested language ("zh" or "en"), so a template can only print it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from server.domain.benefit import to_fen
from server.domain.masking import NAME_MODES, display_name

LANGS = ("zh", "en")

# Column key -> (Chinese header, English header).  The order here is the order on the page.
COLUMNS: dict[str, tuple[str, str]] = {
    "no": ("序号", "No."),
    "unit": ("社区（村）", "Community / village"),
    "head": ("户主", "Head of household"),
    "household_size": ("家庭人口", "Household size"),
    "people": ("保障人数", "People covered"),
    "amount": ("拟保障金额（元/月）", "Proposed amount (yuan/month)"),
    "monthly_amount": ("保障金额（元/月）", "Amount (yuan/month)"),
    "income": ("家庭月收入（元）", "Household income (yuan/month)"),
    "category": ("分类施保", "Supplement category"),
    "visit": ("入户调查", "Home visit"),
    "appraisal": ("民主评议", "Democratic appraisal"),
    "opinions": ("审核意见", "Review opinions"),
    "since": ("纳入保障日期", "Covered since"),
}

CATEGORIES: dict[str, tuple[str, str]] = {
    "elderly": ("老年人", "Elderly"),
    "minor": ("未成年人", "Minors"),
    "severely_disabled": ("重度残疾人", "Severely disabled"),
    "seriously_ill": ("重病患者", "Seriously ill"),
}

_RECOMMENDATION = {"approve": ("拟批准", "Proposed for approval"), "refuse": ("拟不予批准", "Proposed for refusal")}
_CONCLUSION = {"agree": ("属实", "Confirmed"), "disputed": ("争议较大", "Strongly disputed")}
NONE = "—"

SETTINGS_KEYS = ("name", "show_household_size", "show_amount", "show_income", "show_category",
                 "show_visit_result", "show_appraisal_result", "show_opinions", "show_tipoff_phone",
                 "tipoff_phone")


class SettingsError(ValueError):
    """The public_list settings cannot be used (a missing key or an unknown name mode)."""


@dataclass(frozen=True)
class ListSettings:
    """A profile's ``[public_list]`` table."""
    name: str = "masked"
    show_household_size: bool = True
    show_amount: bool = True
    show_income: bool = False
    show_category: bool = False
    show_visit_result: bool = False
    show_appraisal_result: bool = False
    show_opinions: bool = False
    show_tipoff_phone: bool = False
    tipoff_phone: str = ""

    def __post_init__(self):
        if self.name not in NAME_MODES:
            raise SettingsError(f"public_list.name must be one of {NAME_MODES}, not {self.name!r}")

    @classmethod
    def from_mapping(cls, table: Mapping[str, object]) -> ListSettings:
        """From the validated profile table; every key must be there (no silent defaults)."""
        missing = [k for k in SETTINGS_KEYS if k not in table]
        if missing:
            raise SettingsError(f"public_list is missing {', '.join(missing)}")
        return cls(**{k: table[k] for k in SETTINGS_KEYS})

    @property
    def tipoff(self) -> str:
        """The tip-off phone line to print, or "" when the profile does not publish one."""
        return self.tipoff_phone.strip() if self.show_tipoff_phone else ""


@dataclass(frozen=True)
class PublicityCase:
    """What the operations layer knows about a case in publicity (nothing it may not publish)."""
    ref: str
    head_name: str
    household_size: int
    opened_on: dt.date
    earliest_close: dt.date
    unit_name: str = ""
    proposed_amount: Decimal | None = None
    monthly_income: Decimal | Fraction | None = None   # exact; rounded to the fen for display
    categories: tuple[str, ...] = ()
    in_objection: bool = False
    visit_on: dt.date | None = None
    visit_team: int = 0
    appraisal_on: dt.date | None = None
    appraisal_conclusion: str | None = None
    appraisal_residents: int = 0
    appraisal_panel: int = 0
    recommendation: str | None = None       # the caseworker's review conclusion: "approve" or "refuse"
    leader_signed: bool = False             # the leader in charge signed the review
    meeting_decision: str | None = None     # yijun: the meeting's decision, "approve" or "refuse"


@dataclass(frozen=True)
class LongTermCase:
    """A family in payment."""
    ref: str
    head_name: str
    people: int
    since: dt.date | None
    unit_name: str = ""
    amount: Decimal | None = None
    monthly_income: Decimal | Fraction | None = None   # exact; rounded to the fen for display
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    ref: str
    cells: tuple[str, ...]
    label: str = ""  # "3. 张**（和平社区）": how the row is named on the report form
    note: str = ""   # e.g. "an objection is being re-investigated"


@dataclass(frozen=True)
class Batch:
    """Cases whose publicity opened on the same day."""
    opened_on: dt.date
    earliest_close: dt.date
    days_left: int
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class PublicList:
    publicity_keys: tuple[str, ...]        # column keys (see COLUMNS)
    publicity_columns: tuple[str, ...]     # their header texts
    batches: tuple[Batch, ...]
    long_term_keys: tuple[str, ...]
    long_term_columns: tuple[str, ...]
    long_term: tuple[Row, ...]
    tipoff_phone: str


# --- helpers ------------------------------------------------------------------------------------

def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")


def days_left(earliest_close: dt.date, today: dt.date) -> int:
    """Calendar days until publicity may close (0 once the minimum has passed)."""
    return max(0, (earliest_close - today).days)


def _money(value: Decimal | Fraction | None) -> str:
    if value is None:
        return NONE
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent >= -2:
        return f"{value:.2f}"      # already whole fen (the stored amounts): nothing to round
    return f"{to_fen(value):.2f}"


def _categories(codes: Iterable[str], lang: str) -> str:
    names = [_pick(CATEGORIES[c], lang) for c in CATEGORIES if c in set(codes)]
    return ("、" if lang == "zh" else ", ").join(names) if names else NONE


# --- columns ------------------------------------------------------------------------------------

def publicity_columns(settings: ListSettings, *, with_unit: bool = False) -> tuple[str, ...]:
    """Column keys of the publicity list under these settings."""
    cols = ["no"] + (["unit"] if with_unit else []) + ["head"]
    cols += ["household_size"] if settings.show_household_size else []
    cols += ["amount"] if settings.show_amount else []
    cols += ["income"] if settings.show_income else []
    cols += ["category"] if settings.show_category else []
    cols += ["visit"] if settings.show_visit_result else []
    cols += ["appraisal"] if settings.show_appraisal_result else []
    cols += ["opinions"] if settings.show_opinions else []
    return tuple(cols)


def long_term_columns(settings: ListSettings, *, with_unit: bool = False) -> tuple[str, ...]:
    """Column keys of the long-term list (people covered is always shown: it is what the list is)."""
    cols = ["no"] + (["unit"] if with_unit else []) + ["head", "people"]
    cols += ["monthly_amount"] if settings.show_amount else []
    cols += ["income"] if settings.show_income else []
    cols += ["category"] if settings.show_category else []
    cols += ["since"]
    return tuple(cols)


def headers(columns: Sequence[str], lang: str = "zh") -> tuple[str, ...]:
    _check_lang(lang)
    return tuple(_pick(COLUMNS[c], lang) for c in columns)


# --- cells --------------------------------------------------------------------------------------

def _visit(c: PublicityCase, lang: str) -> str:
    if c.visit_on is None:
        return NONE
    if lang == "en":
        return f"{c.visit_on.isoformat()}, {c.visit_team} investigators"
    return f"{c.visit_on.isoformat()}，{c.visit_team}名调查人员入户核实"


def _appraisal(c: PublicityCase, lang: str) -> str:
    if c.appraisal_on is None or c.appraisal_conclusion not in _CONCLUSION:
        return NONE
    verdict = _pick(_CONCLUSION[c.appraisal_conclusion], lang)
    if lang == "en":
        return f"{c.appraisal_on.isoformat()}, {verdict} ({c.appraisal_residents} of {c.appraisal_panel} " \
               f"members resident representatives)"
    return f"{c.appraisal_on.isoformat()}，评议结论：{verdict}（评议{c.appraisal_panel}人，" \
           f"其中居（村）民代表{c.appraisal_residents}人）"


def _opinions(c: PublicityCase, settings: ListSettings, lang: str) -> str:
    """The review and approval opinions as their structured conclusion, never as typed (the typed
    opinion may name an illness, a debt or a number).  "拟批准（拟保障金额1000.00元/月，分类施保：老年人）；
    分管领导已签署；会议研究：拟批准"."""
    sep = ": " if lang == "en" else "："
    parts = []
    if c.recommendation in _RECOMMENDATION:
        facts = []
        if c.recommendation == "approve" and settings.show_amount and c.proposed_amount is not None:
            amount = _money(c.proposed_amount)
            facts.append(f"proposed amount {amount} yuan/month" if lang == "en" else f"拟保障金额{amount}元/月")
        if c.recommendation == "approve" and settings.show_category and c.categories:
            facts.append(_pick(COLUMNS["category"], lang) + sep + _categories(c.categories, lang))
        conclusion = _pick(_RECOMMENDATION[c.recommendation], lang)
        if facts:
            conclusion += f" ({'; '.join(facts)})" if lang == "en" else f"（{'，'.join(facts)}）"
        parts.append(conclusion)
    if c.leader_signed:
        parts.append(_pick(("分管领导已签署", "signed by the leader in charge"), lang))
    if c.meeting_decision in _RECOMMENDATION:
        parts.append(_pick(("会议研究", "Meeting"), lang) + sep + _pick(_RECOMMENDATION[c.meeting_decision], lang))
    return ("; " if lang == "en" else "；").join(parts) if parts else NONE


# How each column's cell is written, (row number, case, settings, language) -> text: the columns both
# lists have, then each list's own.  A column missing from a list's table is a KeyError naming it.
_Cell = Callable[[int, Any, ListSettings, str], str]

_SHARED_CELLS: dict[str, _Cell] = {
    "no": lambda no, c, settings, lang: str(no),
    "unit": lambda no, c, settings, lang: c.unit_name or NONE,
    "head": lambda no, c, settings, lang: display_name(c.head_name, settings.name) or NONE,
    "income": lambda no, c, settings, lang: _money(c.monthly_income),
    "category": lambda no, c, settings, lang: _categories(c.categories, lang),
}

_PUBLICITY_CELLS: dict[str, _Cell] = {
    **_SHARED_CELLS,
    "household_size": lambda no, c, settings, lang: str(int(c.household_size)),
    "amount": lambda no, c, settings, lang: _money(c.proposed_amount),
    "visit": lambda no, c, settings, lang: _visit(c, lang),
    "appraisal": lambda no, c, settings, lang: _appraisal(c, lang),
    "opinions": lambda no, c, settings, lang: _opinions(c, settings, lang),
}

_LONG_TERM_CELLS: dict[str, _Cell] = {
    **_SHARED_CELLS,
    "people": lambda no, c, settings, lang: str(int(c.people)),
    "monthly_amount": lambda no, c, settings, lang: _money(c.amount),
    "since": lambda no, c, settings, lang: c.since.isoformat() if c.since else NONE,
}


def _cells(table: Mapping[str, _Cell], cols: Sequence[str], no: int, c: PublicityCase | LongTermCase,
           settings: ListSettings, lang: str) -> tuple[str, ...]:
    """One row's cells, column by column, from a list's table of cell writers."""
    return tuple(table[col](no, c, settings, lang) for col in cols)


_OBJECTION_NOTE = ("公示期间收到异议，正在重新调查核实", "An objection was received; it is being re-investigated")


def publicity_rows(settings: ListSettings, cases: Iterable[PublicityCase], today: dt.date, *,
                   with_unit: bool = False, lang: str = "zh") -> tuple[Batch, ...]:
    """The publicity list in batches (newest publicity first); rows numbered across batches."""
    _check_lang(lang)
    cols = publicity_columns(settings, with_unit=with_unit)
    groups: dict[tuple[dt.date, dt.date], list[PublicityCase]] = {}
    for c in cases:
        groups.setdefault((c.opened_on, c.earliest_close), []).append(c)
    out, no = [], 0
    for (opened, close) in sorted(groups, key=lambda k: (k[0], k[1]), reverse=True):
        rows = []
        for c in sorted(groups[(opened, close)], key=lambda c: (c.unit_name, _ref_key(c.ref))):
            no += 1
            cells = _cells(_PUBLICITY_CELLS, cols, no, c, settings, lang)
            rows.append(Row(c.ref, cells, _label(cols, cells), _pick(_OBJECTION_NOTE, lang) if c.in_objection else ""))
        out.append(Batch(opened, close, days_left(close, today), tuple(rows)))
    return tuple(out)


def long_term_rows(settings: ListSettings, cases: Iterable[LongTermCase], *, with_unit: bool = False,
                   lang: str = "zh") -> tuple[Row, ...]:
    """The long-term list, by community then date of approval."""
    _check_lang(lang)
    cols = long_term_columns(settings, with_unit=with_unit)
    ordered = sorted(cases, key=lambda c: (c.unit_name, c.since or dt.date.min, _ref_key(c.ref)))
    rows = []
    for no, c in enumerate(ordered, start=1):
        cells = _cells(_LONG_TERM_CELLS, cols, no, c, settings, lang)
        rows.append(Row(c.ref, cells, _label(cols, cells)))
    return tuple(rows)


def _label(cols: Sequence[str], cells: Sequence[str]) -> str:
    cell = dict(zip(cols, cells, strict=True))
    unit = f"（{cell['unit']}）" if "unit" in cell else ""
    return f"{cell['no']}. {cell['head']}{unit}"


def _ref_key(ref: str) -> tuple[int, str]:
    return (int(ref), "") if ref.isdigit() else (0, ref)


def build(settings: ListSettings, publicity: Iterable[PublicityCase], long_term: Iterable[LongTermCase],
          today: dt.date, *, with_unit: bool = False, lang: str = "zh") -> PublicList:
    """Everything a board's public page shows, as strings."""
    pub_keys = publicity_columns(settings, with_unit=with_unit)
    lt_keys = long_term_columns(settings, with_unit=with_unit)
    return PublicList(
        publicity_keys=pub_keys, publicity_columns=headers(pub_keys, lang),
        batches=publicity_rows(settings, publicity, today, with_unit=with_unit, lang=lang),
        long_term_keys=lt_keys, long_term_columns=headers(lt_keys, lang),
        long_term=long_term_rows(settings, long_term, with_unit=with_unit, lang=lang),
        tipoff_phone=settings.tipoff,
    )
