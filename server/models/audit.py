"""The audit log: who did what, when, to which object, with the state before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=lambda: dt.datetime.now(dt.UTC),
                                            index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(80), default="")  # username, "cli", "system"
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    remote_addr: Mapped[str] = mapped_column(String(45), default="")
    # The hash chain (see server.operations.audit): this entry's SHA-256 over its fields and the
    # previous entry's hash, so a changed byte or a deleted entry breaks the chain at that point.
    prev_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    entry_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _audit_is_append_only(mapper, connection, target):  # noqa: ARG001
    raise RuntimeError("the audit log is append-only / 审计日志只能追加")
