"""Visits to a household: the team assigned, and each visit recorded (on paper or synced from phones)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.cases import Case
from server.models.users import User

VISIT_KINDS = {
    "home_visit": ("入户调查", "Home visit"),
    "reinvestigation": ("重新调查核实", "Re-investigation"),
    "rereview": ("复核", "Re-review"),
    "spot_check": ("抽查", "Spot check"),
    "appraisal": ("民主评议记录", "Democratic appraisal record"),
}

# A visit's status as people read it.
VISIT_STATUSES = {
    "recorded": ("已录入（纸质表）", "Entered from paper"),
    "incomplete": ("等待照片和签名上传", "Waiting for photos and signatures"),
    "complete": ("等待同组调查人员确认", "Waiting for the partner's confirmation"),
    "accepted": ("已接收", "Accepted"),
    "superseded": ("已被修改后的记录替代", "Replaced by an amended record"),
}

assignment_members = Table(
    "assignment_members", db.metadata,
    Column("assignment_id", ForeignKey("visit_assignments.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class VisitAssignment(db.Model):
    """A visit a team is asked to make; it appears on the team's phones."""

    __tablename__ = "visit_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="home_visit")
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | done | cancelled
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC),
                                                    index=True)

    case: Mapped[Case] = relationship()
    team: Mapped[list[User]] = relationship(secondary=assignment_members, order_by="User.id")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])


class Visit(db.Model):
    """One visit as recorded: its findings, who went, and the signed form or attachments."""

    __tablename__ = "visits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID (made on the phone for synced visits)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("visit_assignments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="home_visit")
    source: Mapped[str] = mapped_column(String(10), default="paper")  # paper | device
    visit_on: Mapped[dt.date] = mapped_column(Date)
    investigator_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    findings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attachments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # role -> sha256 (or list)
    # recorded (paper) | incomplete (attachments missing) | complete | accepted (merged into the case)
    # | superseded (a later revision replaced it)
    status: Mapped[str] = mapped_column(String(12), default="recorded")
    # Synced visits only: the envelope as received, its canonical content hash, the form, the case record
    # version it started from, the revision it replaces, the phone that sent it, and the merge result.
    form_id: Mapped[str | None] = mapped_column(String(40))
    form_version: Mapped[int | None] = mapped_column(Integer)
    envelope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    base_version: Mapped[int | None] = mapped_column(Integer)
    supersedes_id: Mapped[str | None] = mapped_column(String(36))
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    merge: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC))
    version: Mapped[int] = mapped_column(Integer, default=1)

    case: Mapped[Case] = relationship()
    assignment: Mapped[VisitAssignment | None] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
