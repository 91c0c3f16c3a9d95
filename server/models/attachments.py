"""Attachments: one row per stored file, named by the SHA-256 of its bytes (see ``server.storage``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, event, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

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


# --- what a synced visit still lacks, kept as data ----------------------------------------------------

class PendingAttachment(db.Model):
    """A file a synced visit lists that was not stored when the visit arrived.  An upload looks up the
    visits waiting for its hash here (by the primary key) instead of reading every incomplete visit;
    whether a visit is complete is still decided from the attachments actually stored."""

    __tablename__ = "visit_pending_attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)


def _sync_path_indexes() -> None:
    """Indexes for the queries on the phones' path (pull, upload, visit, attestation); declared here, with
    the attachment model, so that the tables' own modules stay as they are."""
    from server.models.devices import Attestation
    from server.models.visits import Visit, assignment_members

    Index("ix_visits_status_source", Visit.status, Visit.source)
    Index("ix_visits_supersedes_id", Visit.supersedes_id)
    Index("ix_attestations_user_visit", Attestation.user_id, Attestation.visit_id)
    Index("ix_assignment_members_user", assignment_members.c.user_id, assignment_members.c.assignment_id)


_sync_path_indexes()


@event.listens_for(Session, "after_flush")
def _note_missing_files(session: Session, flush_context) -> None:
    """A synced visit just inserted: remember the files it lists that are not stored yet (same transaction,
    after the visit's row, so the foreign key holds)."""
    from server.models.visits import Visit

    rows = []
    for visit in session.new:
        if not (isinstance(visit, Visit) and visit.source == "device" and visit.envelope):
            continue
        if visit.status != "incomplete":
            continue   # stored complete: its files were all found before the insert
        listed = sorted({a.get("sha256") for a in visit.envelope.get("attachments", [])
                         if isinstance(a, dict) and isinstance(a.get("sha256"), str)})
        if not listed:
            continue
        conn = session.connection()
        have = set(conn.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(listed))))
        rows += [{"sha256": sha, "visit_id": visit.id} for sha in listed if sha not in have]
    if rows:
        session.connection().execute(insert(PendingAttachment), rows)
