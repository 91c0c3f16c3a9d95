"""The organisation tree: district/county -> street office/township -> community/village -> natural village."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db

LEVEL_NAMES = {
    "district": ("区/县", "District / county"),
    "street_office": ("街道办事处", "Street office"),
    "township": ("乡镇", "Township"),
    "service_center": ("综合服务中心", "Comprehensive service centre"),
    "community": ("社区居委会", "Community committee"),
    "village": ("村委会", "Village committee"),
    "natural_village": ("自然村", "Natural village"),
}
# Which level may sit under which.
CHILD_LEVELS = {
    "district": ("street_office", "township", "service_center"),
    "street_office": ("community", "village"),
    "township": ("community", "village"),
    "service_center": ("community", "village"),
    "community": ("natural_village",),
    "village": ("natural_village",),
    "natural_village": (),
}
OFFICE_LEVELS = ("street_office", "township", "service_center")


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(150), default="")
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    profile_id: Mapped[str] = mapped_column(String(40))

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code")

    def lineage(self) -> list[Unit]:
        """This unit and its ancestors, from the top (district) down to this one."""
        chain, unit = [], self
        while unit is not None:
            chain.append(unit)
            unit = unit.parent
        return list(reversed(chain))

    def office(self) -> Unit | None:
        """The street office / township this unit belongs to (itself if it is one)."""
        return next((u for u in reversed(self.lineage()) if u.level in OFFICE_LEVELS), None)

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level][0]

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"
