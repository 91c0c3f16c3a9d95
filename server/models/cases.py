"""Cases (one application of a household and its life in payment) and their append-only history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.households import Household
from server.models.orgs import Unit
from server.models.users import User

# Columns that mirror server.domain.workflow.CaseState one to one.
STATE_DATES = (
    "accepted_on", "investigation_from", "verification_requested_on", "verification_report_on", "visit_on", "appraisal_on",
    "review_opinion_on", "reviewed_on", "meeting_on", "publicity_opened_on", "publicity_earliest_close",
    "publicity_closed_on", "objection_on", "decided_on", "certificate_until", "returned_on",
)


class Case(db.Model):
    __tablename__ = "cases"
    # The console's lists: an office's cases ordered by number or a date, counted by stage (migration 0011).
    __table_args__ = (
        Index("ix_cases_office_number", "office_unit_id", "number"),
        Index("ix_cases_office_applied", "office_unit_id", "applied_on"),
        Index("ix_cases_office_status", "office_unit_id", "status"),
        Index("ix_cases_office_decided", "office_unit_id", "decided_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    office_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    community_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    profile_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    applied_on: Mapped[dt.date] = mapped_column(Date)
    submitted_by_committee: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_relative: Mapped[bool] = mapped_column(Boolean, default=False)  # 单独登记备案
    staff_relative_note: Mapped[str] = mapped_column(String(200), default="")
    materials: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Income over the previous six months, as declared and as assessed after verification and the visit;
    # the benefit takes the assessed total / 6 exactly.
    declared_income_6m: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    assessed_income_6m: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    # What the family declared: {"income": {source: [6 monthly amounts]}, "property": {item: text}}
    declaration: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The verification platform: {"members": [...], "report": {"found_income", "found_property", "file"}}
    verification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    investigation_from: Mapped[dt.date | None] = mapped_column(Date)
    verification_requested_on: Mapped[dt.date | None] = mapped_column(Date)
    verification_report_on: Mapped[dt.date | None] = mapped_column(Date)
    visit_on: Mapped[dt.date | None] = mapped_column(Date)
    appraisal_on: Mapped[dt.date | None] = mapped_column(Date)
    review_opinion_on: Mapped[dt.date | None] = mapped_column(Date)
    recommendation: Mapped[str | None] = mapped_column(String(10))
    reviewed_on: Mapped[dt.date | None] = mapped_column(Date)
    meeting_on: Mapped[dt.date | None] = mapped_column(Date)
    publicity_opened_on: Mapped[dt.date | None] = mapped_column(Date)
    publicity_earliest_close: Mapped[dt.date | None] = mapped_column(Date)
    publicity_closed_on: Mapped[dt.date | None] = mapped_column(Date)
    publicity_rounds: Mapped[int] = mapped_column(Integer, default=0)
    objection_on: Mapped[dt.date | None] = mapped_column(Date)
    needs_republication: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    certificate_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    certificate_from: Mapped[dt.date | None] = mapped_column(Date)
    certificate_until: Mapped[dt.date | None] = mapped_column(Date)
    certificate_token: Mapped[str | None] = mapped_column(String(32), unique=True)  # for the QR check
    exit_month: Mapped[int] = mapped_column(Integer, default=0)
    # The last return for correction (退回): the returned step's own time limit restarts from it.
    returned_on: Mapped[dt.date | None] = mapped_column(Date)
    # The property exclusions (codes of the profile's eligibility.property_exclusions) found at review.
    assessed_property: Mapped[list[str] | None] = mapped_column(JSON, default=list)

    # The household record in the sync field space (member/<id>/<field>, income/<source>, property/<item>,
    # living/...) and its version; a phone's visit names the version it started from (base_version).
    record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    record_version: Mapped[int] = mapped_column(Integer, default=1)

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                    default=lambda: dt.datetime.now(dt.UTC))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                    default=lambda: dt.datetime.now(dt.UTC))

    __mapper_args__ = {"version_id_col": version}

    household: Mapped[Household] = relationship()
    office: Mapped[Unit] = relationship(foreign_keys=[office_unit_id])
    community: Mapped[Unit] = relationship(foreign_keys=[community_unit_id])
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.seq")


class RecordSnapshot(db.Model):
    """The household record as it stood at each record version (the base of a three-way merge)."""

    __tablename__ = "record_snapshots"
    __table_args__ = (UniqueConstraint("case_id", "record_version", name="uq_record_snapshots_case_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                    default=lambda: dt.datetime.now(dt.UTC))


class CaseEvent(db.Model):
    """One step in a case's history.  Rows are only ever inserted (enforced below)."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC))
    on_date: Mapped[dt.date] = mapped_column(Date)   # the day the step happened
    recorded_on: Mapped[dt.date | None] = mapped_column(Date)   # the day it was entered (None: before 0007)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _case_events_are_append_only(mapper, connection, target):  # noqa: ARG001
    raise AppendOnlyError("case history is append-only / 案件历史只能追加")
