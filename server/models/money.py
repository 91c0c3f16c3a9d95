"""Money and dynamic management: monthly payment rosters and their lines, and families' change reports.

A roster (备案表 / 拟发放低保金文件) is one unit's list of payments for one month.  It is generated from
the cases in payment (``server.operations.rosters``), signed and submitted by the unit's leader, and
returned or approved by the bureau.  Once approved it is locked: neither the roster nor its lines may
change (enforced below); corrections are adjustment lines in a later roster.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.cases import Case
from server.models.orgs import Unit
from server.models.users import User

ROSTER_STATUSES = {
    "draft": ("草稿", "Draft"),
    "submitted": ("已上报，待民政局审核", "Submitted, awaiting the bureau"),
    "returned": ("民政局退回", "Returned by the bureau"),
    "approved": ("已审批（锁定）", "Approved (locked)"),
}
LINE_KINDS = {"payment": ("发放", "Payment"), "adjustment": ("调整", "Adjustment")}
CHANGE_REPORT_KINDS = {
    "income": ("家庭收入变化", "Income changed"),
    "members": ("家庭成员变化（出生、死亡、迁入迁出、婚姻）", "Members changed (birth, death, moving, marriage)"),
    "property": ("家庭财产变化", "Property changed"),
    "address": ("居住地变化", "Address changed"),
    "other": ("其他", "Other"),
}
CHANGE_REPORT_STATUSES = {"open": ("待决定", "Awaiting a decision"), "decided": ("已决定", "Decided")}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RosterLocked(RuntimeError):
    pass


class Roster(db.Model):
    __tablename__ = "rosters"
    __table_args__ = (UniqueConstraint("unit_id", "month", name="uq_rosters_unit_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)   # YYYY-MM, the month paid
    profile_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    # From the profile's [money]: filed by (due_on), passed to finance by, paid by.
    due_on: Mapped[dt.date] = mapped_column(Date)
    finance_due_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_due_on: Mapped[dt.date | None] = mapped_column(Date)

    generated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    generated_by_label: Mapped[str] = mapped_column(String(80), default="")

    # The unit leader's signature (a drawn signature, stored as an attachment by SHA-256) and opinion.
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_on: Mapped[dt.date | None] = mapped_column(Date)   # the day in China, for lateness
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signature_sha256: Mapped[str | None] = mapped_column(String(64))
    leader_opinion: Mapped[str] = mapped_column(Text, default="")

    # The bureau's review.
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_comments: Mapped[str] = mapped_column(Text, default="")
    returned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    times_returned: Mapped[int] = mapped_column(Integer, default=0)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    # Totals (kept with the lines; recomputed whenever the lines change).
    households: Mapped[int] = mapped_column(Integer, default=0)
    people: Mapped[int] = mapped_column(Integer, default=0)
    payments_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    adjustments_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    unit: Mapped[Unit] = relationship()
    generated_by: Mapped[User | None] = relationship(foreign_keys=[generated_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    lines: Mapped[list[RosterLine]] = relationship(back_populates="roster", order_by="RosterLine.position",
                                                   cascade="all, delete-orphan")

    @property
    def locked(self) -> bool:
        return self.status == "approved"

    def __repr__(self) -> str:
        return f"<Roster {self.unit_id} {self.month} {self.status}>"


class RosterLine(db.Model):
    """One household's payment for the month, or an adjustment correcting an approved roster."""

    __tablename__ = "roster_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(12), default="payment")        # payment | adjustment
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case_number: Mapped[str] = mapped_column(String(32))
    head_name: Mapped[str] = mapped_column(String(50))
    people: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    previous_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    change: Mapped[str] = mapped_column(String(12))       # new | raised | lowered | unchanged | stopped | adjustment
    reason_code: Mapped[str] = mapped_column(String(24), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    exit_percentage: Mapped[int | None] = mapped_column(Integer)
    corrects_month: Mapped[str | None] = mapped_column(String(7))            # adjustments: the roster corrected
    differs_from_decided: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    roster: Mapped[Roster] = relationship(back_populates="lines")
    case: Mapped[Case] = relationship()


ROSTER_STEPS = {
    "finance": ("县民政局向财政局提交拟发放低保金文件", "Bureau passed the payment document to the finance bureau"),
    "payment": ("低保金发放到户", "Money paid into the families' accounts"),
}


class RosterStep(db.Model):
    """A money step after the bureau approved a roster, with the day it happened: the bureau's filing
    with the finance bureau (yijun: by the 15th) and the payment (guancheng: by the 10th).  Kept beside
    the roster, which is locked once approved; ``late`` compares the day with the profile's due day."""

    __tablename__ = "roster_steps"
    __table_args__ = (UniqueConstraint("roster_id", "step", name="uq_roster_steps_roster_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_id: Mapped[int] = mapped_column(ForeignKey("rosters.id"), index=True)
    step: Mapped[str] = mapped_column(String(12))            # one of ROSTER_STEPS
    on_date: Mapped[dt.date] = mapped_column(Date)           # the day it happened
    due_on: Mapped[dt.date | None] = mapped_column(Date)     # the profile's due day for the month
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    roster: Mapped[Roster] = relationship()
    recorded_by: Mapped[User] = relationship()


class ChangeReport(db.Model):
    """A family's report that its circumstances changed (家庭情况变化报告), until a decision answers it."""

    __tablename__ = "change_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    reported_on: Mapped[dt.date] = mapped_column(Date)
    reported_income_6m: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    decision: Mapped[str] = mapped_column(String(20), default="")      # the case action that answered it
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    case: Mapped[Case] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# --- an approved roster is locked ------------------------------------------------------------------

def _was_approved(roster: Roster) -> bool:
    history = inspect(roster).attrs.status.history
    before = history.deleted[0] if history.deleted else roster.status
    return before == "approved"


@event.listens_for(Roster, "before_update")
@event.listens_for(Roster, "before_delete")
def _roster_locked(mapper, connection, target):  # noqa: ARG001
    if _was_approved(target):
        raise RosterLocked("an approved roster is locked / 已审批的名册已锁定，不能修改")


@event.listens_for(RosterLine, "before_insert")
@event.listens_for(RosterLine, "before_update")
@event.listens_for(RosterLine, "before_delete")
def _line_locked(mapper, connection, target):  # noqa: ARG001
    """Asks the database for the roster's status, so that a line taken out of an approved roster's
    collection (which no longer points at its roster) is caught too."""
    if target.roster_id is None:
        return
    status = connection.scalar(select(Roster.__table__.c.status).where(Roster.__table__.c.id == target.roster_id))
    if status == "approved":
        raise RosterLocked("an approved roster is locked / 已审批的名册已锁定，不能修改")
