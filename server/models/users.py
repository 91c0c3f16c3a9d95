"""Staff accounts with a role, scoped to one organisation unit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from server.domain.roles import ROLE_NAMES  # noqa: F401  (one table of role names, shared with the core)
from server.extensions import db
from server.models.orgs import Unit

# The unit levels where each role may sit.
ROLE_LEVELS = {
    "investigator": ("street_office", "township", "service_center", "community", "village"),
    "caseworker": ("street_office", "township", "service_center"),
    "leader": ("street_office", "township", "service_center"),
    "director": ("street_office", "township", "service_center"),
    "bureau_supervisor": ("district",),
    "admin": ("district", "street_office", "township", "service_center"),
}
MIN_PASSWORD = 8


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(20), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Raised at sign-out: every session cookie issued before names an older epoch and stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                    default=lambda: dt.datetime.now(dt.UTC))

    unit: Mapped[Unit] = relationship()

    def set_password(self, password: str) -> None:
        from flask import current_app

        method = current_app.config.get("RUHU_PASSWORD_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role][0]

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
