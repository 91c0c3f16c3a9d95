"""The console's case lists: one parsed filter, one query, a page of it with its total, or all of it as an export.

The filter comes from the list page's query string and is parsed once (``parse_filter``) into a
``CaseFilter``; ``filtered_query`` turns it into a SQL query scoped to what the user may see, so the page,
its total and the CSV/XLSX export always show exactly the same cases.

Time limits (overdue, due within N working days) are not columns: they are computed by the workflow core
from each running case's dates.  Only running cases (a small share of an office's cases: those between
acceptance and decision) are examined, with the other filters already applied in SQL, and the matching ids go
back into the query.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from server import services
from server.domain import workflow
from server.extensions import db
from server.models import Case, Household, Member, Unit, User
from server.models.cases import STATE_DATES
from server.operations.cases import visible_cases
from server.operations.cells import safe_cell

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_WITHIN = 60          # "due within N working days": N from 0 to this
# Columns a list may be sorted by (the query-string key → the SQL expression, built in ``_order``).
SORTS = ("number", "applied_on", "accepted_on", "decided_on", "status", "community")
RUNNING = frozenset(workflow.UNDECIDED)
EXPORT_LIMIT = 200_000


@dataclass
class CaseFilter:
    q: str = ""
    status: str = ""
    community: int | None = None
    office: int | None = None
    urgency: str = ""            # "", "overdue", "due_within"
    within: int | None = None    # working days, with urgency == "due_within"
    staff_relative: bool = False
    applied_from: dt.date | None = None
    applied_to: dt.date | None = None
    decided_from: dt.date | None = None
    decided_to: dt.date | None = None
    sort: str = "number"
    desc: bool = True
    page: int = 1
    per: int = DEFAULT_PAGE_SIZE
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    search_key: str = ""         # the session key the search text is kept under (links carry it, not q)

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query-string arguments that reproduce this filter (with ``changes``), for links."""
        out: dict[str, Any] = {
            "q": "" if self.search_key else self.q, "s": self.search_key, "status": self.status, "community": self.community or "", "office": self.office or "",
            "urgency": self.urgency, "within": self.within if self.within is not None else "",
            "staff_relative": "1" if self.staff_relative else "",
            "applied_from": _iso(self.applied_from), "applied_to": _iso(self.applied_to),
            "decided_from": _iso(self.decided_from), "decided_to": _iso(self.decided_to),
            "sort": self.sort, "dir": "desc" if self.desc else "asc", "page": self.page, "per": self.per}
        out.update(changes)
        defaults = {"sort": "number", "dir": "desc", "page": 1, "per": DEFAULT_PAGE_SIZE}
        return {k: v for k, v in out.items() if v not in ("", None) and defaults.get(k) != v}


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _whole(raw: str, digits: int = 9) -> int | None:
    """A whole number typed in ASCII digits (no sign, no other scripts, not too long for the database)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= digits else None


def parse_filter(args) -> CaseFilter:
    """The filter from a query string.  Every problem is collected (not only the first): ``f.errors``."""
    f = CaseFilter()
    f.q = (args.get("q") or "").strip()[:60]
    status = args.get("status") or ""
    if status and status not in workflow.STATES:
        f.errors.append(("status", "未知的环节", "unknown stage"))
    else:
        f.status = status
    for key in ("community", "office"):
        raw = args.get(key) or ""
        if raw:
            if _whole(raw) is not None:
                setattr(f, key, _whole(raw))
            else:
                f.errors.append((key, "社区（村）或单位无效", "unknown community or office"))
    urgency = args.get("urgency") or ""
    if urgency not in ("", "overdue", "due_within"):
        f.errors.append(("urgency", "时限筛选无效", "unknown time-limit filter"))
    else:
        f.urgency = urgency
    within = args.get("within") or ""
    if within:
        if _whole(within, 3) is not None and _whole(within, 3) <= MAX_WITHIN:
            f.within = _whole(within, 3)
        else:
            f.errors.append(("within", f"到期工作日数须为0至{MAX_WITHIN}的整数",
                             f"working days must be a whole number from 0 to {MAX_WITHIN}"))
    if f.urgency != "due_within":
        f.within = None
    elif f.within is None:
        f.within = 2
    f.staff_relative = args.get("staff_relative") == "1"
    for key, zh, en in (("applied_from", "申请日期（起）", "applied from"), ("applied_to", "申请日期（止）", "applied to"),
                        ("decided_from", "审批日期（起）", "decided from"), ("decided_to", "审批日期（止）", "decided to")):
        raw = (args.get(key) or "").strip()
        if raw:
            try:
                setattr(f, key, dt.date.fromisoformat(raw))
            except ValueError:
                f.errors.append((key, f"{zh}须为日期（YYYY-MM-DD）", f"{en} must be a date (YYYY-MM-DD)"))
    sort = args.get("sort") or "number"
    if sort not in SORTS:
        f.errors.append(("sort", "无法按该列排序", "cannot sort by that column"))
    else:
        f.sort = sort
    f.desc = (args.get("dir") or "desc") != "asc"
    page = args.get("page") or "1"
    f.page = _whole(page, 6) or 1
    per = _whole(args.get("per") or "", 3)
    f.per = per if per in PAGE_SIZES else DEFAULT_PAGE_SIZE
    return f


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern with ``\\`` as the escape character: % and _ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def stage_choices(user: User) -> list[str]:
    """The stages the user's cases can be in: a stage no profile in scope has (guancheng's meeting) is left out."""
    profiles = services().profiles
    ids = {u.profile_id for u in scope_units(user)} or {user.unit.profile_id}
    has_meeting = any(profiles[p].has_meeting for p in ids if p in profiles)
    return [s for s in workflow.STATES if s != "meeting_held" or has_meeting]


def scope_units(user: User) -> list[Unit]:
    """The offices whose cases the user sees (one for office staff; the district's offices for the bureau)."""
    if user.role == "bureau_supervisor":
        return list(db.session.scalars(select(Unit).where(Unit.parent_id == user.unit_id).order_by(Unit.code)))
    office = user.unit.office() if user.unit else None
    return [office] if office is not None else []


def community_choices(user: User) -> list[Unit]:
    offices = scope_units(user)
    if not offices:
        return []
    return list(db.session.scalars(select(Unit).where(Unit.parent_id.in_([o.id for o in offices]))
                                   .order_by(Unit.code)))


def filtered_query(user: User, f: CaseFilter, today: dt.date):
    """The user's visible cases narrowed by ``f`` (without order or paging)."""
    query = visible_cases(user)
    if f.status:
        query = query.where(Case.status == f.status)
    if f.community:
        query = query.where(Case.community_unit_id == f.community)
    if f.office:
        query = query.where(Case.office_unit_id == f.office)
    if f.staff_relative:
        query = query.where(Case.staff_relative.is_(True))
    if f.applied_from:
        query = query.where(Case.applied_on >= f.applied_from)
    if f.applied_to:
        query = query.where(Case.applied_on <= f.applied_to)
    if f.decided_from:
        query = query.where(Case.decided_on >= f.decided_from)
    if f.decided_to:
        query = query.where(Case.decided_on <= f.decided_to)
    if f.q:
        pattern = f"%{escape_like(f.q)}%"
        needle = f.q.upper()
        members = select(Member.household_id).where(or_(
            Member.name.like(pattern, escape="\\"), Member.id_number.like(f"%{escape_like(needle)}%", escape="\\")))
        query = query.where(or_(Case.household_id.in_(members), Case.number.like(pattern, escape="\\")))
    if f.urgency:
        query = query.where(Case.id.in_(_deadline_ids(query, f, today) or [-1]))
    return query


def _deadline_ids(query, f: CaseFilter, today: dt.date) -> list[int]:
    """Ids of the running cases in ``query`` whose next duty is overdue (or due within ``f.within`` working days)."""
    svc = services()
    cal = svc.calendar
    cols = [Case.id, Case.status, Case.office_unit_id, Case.profile_id, Case.recommendation, Case.publicity_rounds,
            Case.needs_republication, Case.exit_month] + [getattr(Case, n) for n in STATE_DATES]
    rows = db.session.execute(query.where(Case.status.in_(RUNNING)).with_only_columns(*cols)).all()
    out = []
    for row in rows:
        state = workflow.CaseState(
            status=row.status, office_unit_id=row.office_unit_id, lineage=(), recommendation=row.recommendation,
            publicity_rounds=row.publicity_rounds, needs_republication=row.needs_republication,
            exit_month=row.exit_month, **{n: getattr(row, n) for n in STATE_DATES})
        step = workflow.next_deadline(state, svc.profiles[row.profile_id], cal)
        if step is None:
            continue
        due = step.due.date
        if f.urgency == "overdue":
            if due < today:
                out.append(row.id)
        elif due >= today and cal.workdays_between(today, due).days <= (f.within or 0):
            out.append(row.id)
    return out


def _order(query, f: CaseFilter):
    if f.sort == "community":
        query = query.join(Unit, Unit.id == Case.community_unit_id)
        key = Unit.code
    else:
        key = getattr(Case, f.sort)
    primary = key.desc() if f.desc else key.asc()
    tie = Case.id.desc() if f.desc else Case.id.asc()
    if f.sort in ("accepted_on", "decided_on"):
        primary = primary.nulls_last()
    return query.order_by(primary, tie)


@dataclass
class Page:
    cases: list[Case]
    total: int
    page: int
    per: int

    @property
    def items(self) -> list:
        """The page's rows (any list's, not only cases')."""
        return self.cases

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per)


def page_of(items: list, args) -> Page:
    """One page of an already-ordered list, read from the request's ``page`` and ``per`` (the case list's
    page sizes; an unreadable number is the first page, a page past the end shows the last page)."""
    per = _whole(args.get("per", "")) or DEFAULT_PAGE_SIZE
    per = per if per in PAGE_SIZES else DEFAULT_PAGE_SIZE
    pages = max(1, -(-len(items) // per))
    page = min(max(_whole(args.get("page", "")) or 1, 1), pages)
    return Page(items[(page - 1) * per:page * per], len(items), page, per)


def list_page(user: User, f: CaseFilter, today: dt.date) -> Page:
    """One page of the filtered list and the filter's total (a page past the end shows the last page)."""
    query = filtered_query(user, f, today)
    total = db.session.scalar(query.with_only_columns(func.count(Case.id)).order_by(None)) or 0
    pages = max(1, -(-total // f.per))
    f.page = min(f.page, pages)
    rows = db.session.scalars(_order(query, f).options(
        selectinload(Case.household).selectinload(Household.members), selectinload(Case.community))
        .limit(f.per).offset((f.page - 1) * f.per)).all()
    return Page(list(rows), total, f.page, f.per)


# --- export ------------------------------------------------------------------------------------------

def export_rows(user: User, f: CaseFilter, today: dt.date, lang: str = "zh") -> tuple[list[str], list[list[Any]]]:
    """Every case the filter matches (in the list's order), as a header and rows of plain values.

    ID numbers, phone numbers and bank details are not exported: an export leaves the system."""
    en = lang == "en"
    header = (["Case number", "Head of household", "Members", "Community", "Office", "Stage", "Applied",
               "Accepted", "Decided", "Monthly amount (yuan)", "Staff relative"] if en else
              ["案件编号", "户主", "人数", "社区（村）", "街道（乡镇）", "环节", "申请日期", "受理日期", "审批日期",
               "月保障金（元）", "工作人员近亲属"])
    query = _order(filtered_query(user, f, today), f).options(
        selectinload(Case.household).selectinload(Household.members), selectinload(Case.community),
        selectinload(Case.office))
    out = []
    for case in db.session.scalars(query.limit(EXPORT_LIMIT)):
        head = case.household.head
        out.append([
            case.number, head.name if head else "", len(case.household.members), case.community.name,
            case.office.name, workflow.STATE_NAMES[case.status][1 if en else 0], _iso(case.applied_on),
            _iso(case.accepted_on), _iso(case.decided_on), f"{case.amount:.2f}" if case.amount is not None else "",
            ("yes" if en else "是") if case.staff_relative else ""])
    return header, out


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = title[:31]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJK", (22, 14, 6, 18, 18, 22, 12, 12, 12, 14, 10), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
