"""The bureau's supervision: spot-check draws and results, assessment items, rectification notices and
the "two rates" survey (宜君 附件3)."""

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
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.cases import Case
from server.models.orgs import Unit
from server.models.users import User


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SPOT_CHECK_ACCURACY = {
    "accurate": ("准确", "Accurate"),
    "minor_issue": ("有小问题", "Minor issues"),
    "wrong": ("信息有误", "Wrong"),
}
ASSESSMENT_KINDS = {
    "indicator": ("系统计算指标", "Computed indicator"),
    "entered": ("考核组录入", "Entered by the bureau"),
    "bonus": ("加分", "Bonus"),
    "deduction": ("扣分", "Deduction"),
    "target": ("指标任务", "Target"),
}
TWO_RATES_SOURCES = {
    "visit": ("入户调查", "Home visit"),
    "paper": ("纸质问卷", "Paper questionnaire"),
    "public": ("扫码问卷", "QR survey"),
}
RESPONDENTS = {
    "household": ("保障家庭", "Household in payment"),
    "neighbour": ("邻里", "Neighbour"),
    "resident": ("其他群众", "Other resident"),
}


class SpotCheckDraw(db.Model):
    """One random draw of a unit's households for spot checks, with everything needed to re-run it:
    the seed, the share, whether it was stratified and the population it was drawn from."""

    __tablename__ = "spot_check_draws"
    __table_args__ = (UniqueConstraint("unit_id", "year", "seed", name="uq_spot_check_draws_unit_year_seed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    stratified: Mapped[bool] = mapped_column(Boolean, default=True)
    population_size: Mapped[int] = mapped_column(Integer)
    # [{"household": id, "case": id, "stratum": "new" | "registered"}] as it stood when drawn
    population: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    strata: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    drawn_household_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    drawn_case_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_by_label: Mapped[str] = mapped_column(String(80), default="")
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit] = relationship()
    drawn_by: Mapped[User | None] = relationship()
    results: Mapped[list[SpotCheckResult]] = relationship(back_populates="draw", order_by="SpotCheckResult.id")


class SpotCheckResult(db.Model):
    """What a spot check found for one drawn household, beside what the unit had recorded."""

    __tablename__ = "spot_check_results"
    __table_args__ = (UniqueConstraint("draw_id", "case_id", name="uq_spot_check_results_draw_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("spot_check_draws.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visits.id"))
    source: Mapped[str] = mapped_column(String(10), default="console")  # visit | console
    household_found: Mapped[bool] = mapped_column(Boolean, default=True)
    members_match: Mapped[bool | None] = mapped_column(Boolean)
    income_found_6m: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    income_recorded_6m: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    members_recorded: Mapped[int] = mapped_column(Integer, default=0)
    accuracy: Mapped[str] = mapped_column(String(12))
    notes: Mapped[str] = mapped_column(Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    draw: Mapped[SpotCheckDraw] = relationship(back_populates="results")
    case: Mapped[Case] = relationship()
    entered_by: Mapped[User | None] = relationship()


class AssessmentItem(db.Model):
    """One line of a unit's assessment for a year: a computed indicator as fixed when its period was
    confirmed, an item entered by the bureau, a bonus or a deduction (with evidence), or a target."""

    __tablename__ = "assessment_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    quarter: Mapped[int | None] = mapped_column(Integer)   # 1..quarters; None = the year-end assessment
    kind: Mapped[str] = mapped_column(String(12))           # indicator | entered | bonus | deduction | target
    item_key: Mapped[str] = mapped_column(String(100))      # an item of the profile, a bonus matter, a reason
    points: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("0"))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))     # a target; a computed rate
    measure: Mapped[dict[str, Any] | None] = mapped_column(JSON)     # a computed ratio {numerator, denominator}
    label: Mapped[str] = mapped_column(String(200), default="")      # a bonus matter as typed
    evidence: Mapped[str] = mapped_column(Text, default="")
    attachment_sha256: Mapped[str | None] = mapped_column(ForeignKey("attachments.sha256"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit] = relationship()
    entered_by: Mapped[User | None] = relationship()


class RectificationNotice(db.Model):
    """整改告知单: what a unit missed in a quarter, issued once per unit and quarter."""

    __tablename__ = "rectification_notices"
    __table_args__ = (UniqueConstraint("unit_id", "year", "quarter", name="uq_rectification_notices_unit_year_quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 1))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit] = relationship()
    issued_by: Mapped[User | None] = relationship()


class TwoRatesResponse(db.Model):
    """One answer to the "two rates" survey (群众政策知晓率、满意率) about a unit."""

    __tablename__ = "two_rates_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    source: Mapped[str] = mapped_column(String(10))        # visit | paper | public
    respondent: Mapped[str] = mapped_column(String(12), default="household")
    aware: Mapped[bool] = mapped_column(Boolean)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    surveyed_on: Mapped[dt.date] = mapped_column(Date, index=True)
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visits.id"), unique=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit] = relationship()


class SurveyMark(db.Model):
    """A spent "one answer" slot of the public two-rates survey: a keyed hash, nothing else.

    The key is HMAC(SECRET_KEY, unit, year, and either the phone's random survey cookie or — per
    day, a few slots — the client address); no time, no link to the answer, no way back to who."""

    __tablename__ = "survey_marks"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
