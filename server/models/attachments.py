"""Attachments: one row per stored file, named by the SHA-256 of its bytes (see ``server.storage``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db


class Attachment(db.Model):
    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # lowercase hex
    size: Mapped[int] = mapped_column(Integer)  # bytes of the original
    mime: Mapped[str] = mapped_column(String(40))  # detected from the bytes: image/jpeg, image/png, application/pdf
    width: Mapped[int | None] = mapped_column(Integer)  # as displayed (EXIF orientation applied)
    height: Mapped[int | None] = mapped_column(Integer)
    captured_at: Mapped[str | None] = mapped_column(String(32))  # ISO 8601 from EXIF, no timezone invented
    gps: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"latitude", "longitude"[, "altitude"]}
    has_display: Mapped[bool] = mapped_column(Boolean, default=False)  # display copy + thumbnail exist
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                    default=lambda: dt.datetime.now(dt.UTC))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    def __repr__(self) -> str:
        return f"<Attachment {self.sha256[:12]} {self.mime}>"
