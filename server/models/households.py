"""Households and their members, as declared at the window and checked on the home visit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.orgs import Unit

RELATIONS = {
    "head": ("户主", "Head"), "spouse": ("配偶", "Spouse"), "child": ("子女", "Child"),
    "parent": ("父母", "Parent"), "grandchild": ("孙子女", "Grandchild"), "grandparent": ("祖父母", "Grandparent"),
    "sibling": ("兄弟姐妹", "Sibling"), "other": ("其他", "Other"),
}
HOUSEHOLD_CLASSES = {
    "stable": ("收入稳定、无劳动能力家庭", "Stable household"),
    "irregular_income": ("收入不稳定家庭", "Irregular income"),
    "able_to_work": ("有劳动能力成员的家庭", "Members able to work"),
}
MEMBER_FLAGS = ("disabled", "severely_disabled", "seriously_ill", "student", "unemployed", "able_to_work")


class Household(db.Model):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # community / village
    address: Mapped[str] = mapped_column(String(200), default="")
    area: Mapped[str] = mapped_column(String(10), default="urban")  # urban | rural
    household_class: Mapped[str] = mapped_column(String(20), default="stable")
    phone: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                    default=lambda: dt.datetime.now(dt.UTC))

    unit: Mapped[Unit] = relationship()
    members: Mapped[list[Member]] = relationship(back_populates="household", order_by="Member.position",
                                                 cascade="all, delete-orphan")

    @property
    def head(self) -> Member | None:
        return next((m for m in self.members if m.relation == "head"), self.members[0] if self.members else None)

    @property
    def covered(self) -> list[Member]:
        return [m for m in self.members if m.co_residing and m.covered]


class Member(db.Model):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    hukou_place: Mapped[str] = mapped_column(String(200), default="")
    # The registered place's administrative-division code (户籍地行政区划代码): the eligibility check's input.
    hukou_code: Mapped[str] = mapped_column(String(12), default="", server_default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    severely_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    seriously_ill: Mapped[bool] = mapped_column(Boolean, default=False)
    student: Mapped[bool] = mapped_column(Boolean, default=False)
    unemployed: Mapped[bool] = mapped_column(Boolean, default=False)
    able_to_work: Mapped[bool] = mapped_column(Boolean, default=False)
    co_residing: Mapped[bool] = mapped_column(Boolean, default=True)
    covered: Mapped[bool] = mapped_column(Boolean, default=True)

    household: Mapped[Household] = relationship(back_populates="members")
