"""The register of applicants who are close relatives of staff (工作人员近亲属，单独登记备案).

A case is flagged at intake (``staff_relative`` with a note naming the member of staff and the
relation).  The register lists every flagged case the user may see — the office's own, or the whole
district for the bureau — with filters, and exports it as CSV; each export is audited because it
leaves the system.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from server.domain import workflow
from server.extensions import db
from server.models import Case, Unit, User
from server.operations import OperationError, audit
from server.operations.cases import visible_cases
from server.operations.cells import safe_cell

REGISTER_ROLES = ("caseworker", "leader", "director", "bureau_supervisor")
OPEN = "open"      # filter value: every state but refused / abandoned / stopped


def _check(user: User) -> None:
    if user.role not in REGISTER_ROLES:
        raise OperationError("role_not_permitted", "只有街道（乡镇）和民政局工作人员可以查看近亲属备案登记",
                             "only office and bureau staff may see the staff-relatives register", 403)


def register_rows(user: User, *, status: str = "", office_id: int | None = None) -> list[Case]:
    """The flagged cases the user may see, newest first; ``status`` is a workflow state or "open";
    ``office_id`` narrows the bureau's view to one office."""
    _check(user)
    if status and status != OPEN and status not in workflow.STATES:
        raise OperationError("status_invalid", "环节无效", "unknown stage")
    query = visible_cases(user).where(Case.staff_relative.is_(True))
    if status == OPEN:
        query = query.where(Case.status.not_in(tuple(workflow.TERMINAL)))
    elif status:
        query = query.where(Case.status == status)
    if office_id is not None:
        query = query.where(Case.office_unit_id == office_id)
    return list(db.session.scalars(query.order_by(Case.applied_on.desc(), Case.id.desc())))


def offices_for(user: User) -> list[Unit]:
    """The offices a bureau supervisor may filter by (none for office staff: they see their own)."""
    if user.role != "bureau_supervisor":
        return []
    return list(db.session.scalars(select(Unit).where(Unit.parent_id == user.unit_id).order_by(Unit.code)))


HEADER = ("案件编号 Case", "街道（乡镇）Office", "社区（村）Community", "户主 Head", "环节 Stage",
          "申请日期 Applied", "决定日期 Decided", "月保障金 Amount", "备案说明 Note")


def export_csv(user: User, rows: Sequence[Case], *, remote_addr: str = "") -> bytes:
    """The register as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese); audited."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for c in rows:
        head = c.household.head
        writer.writerow([safe_cell(v) for v in (c.number, c.office.name, c.community.name, head.name if head else "",
                                            workflow.STATE_NAMES[c.status][0], c.applied_on.isoformat(),
                                            c.decided_on.isoformat() if c.decided_on else "",
                                            "" if c.amount is None else str(c.amount), c.staff_relative_note or "")])
    audit.record("staff_relatives.export", "register", user.unit_id, actor=user, remote_addr=remote_addr,
                 after={"rows": len(rows), "cases": [c.number for c in rows]})
    db.session.commit()
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def describe(rows: Sequence[Case]) -> list[dict[str, Any]]:
    return [{"case": c, "head": c.household.head} for c in rows]
