"""Phones enrolled for investigators, the one-time codes that enrol them, and visit attestations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.users import User


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class EnrolmentCode(db.Model):
    """A one-time code (shown as a QR code in the console) that lets one phone enrol for one investigator."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Device(db.Model):
    """An enrolled phone: its bearer token (stored hashed) and its WebCrypto ECDSA P-256 public key (JWK)."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    public_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class Attestation(db.Model):
    """An investigator's device signature over a visit's content hash (two-person rule)."""

    __tablename__ = "attestations"
    __table_args__ = (UniqueConstraint("visit_id", "device_id", name="uq_attestations_visit_device"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
