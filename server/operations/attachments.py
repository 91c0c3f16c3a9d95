"""Uploads from the console and the public pages: stored once by content (SHA-256), images re-encoded
without metadata for display; anonymous residents' photos stored re-encoded only.

A file stored while handling a request belongs to that request's transaction: when the transaction ends
without a commit (the action was refused, a form error, an exception), the files it created are removed
again, unless another committed row already names the same bytes.  So refused actions leave nothing on disk.
A file is set aside before the rows are looked at again, and every writer (here, and the phones' uploads) makes
sure after its commit that the bytes its row names are there, writing them again if such a removal took them:
a refused request and a resend of the same bytes at the same moment lose nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from pathlib import Path

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from server.extensions import db
from server.models import User
from server.operations import OperationError

_NEW_FILES = "ruhu_new_attachment_files"
_SAVED_FILES = "ruhu_saved_attachment_files"


def store():
    from server.storage import AttachmentStore

    root = Path(current_app.config.get("RUHU_ATTACHMENTS") or Path(current_app.instance_path) / "attachments")
    return AttachmentStore(root, max_bytes=current_app.config.get("RUHU_MAX_UPLOAD", 15 * 2**20))


def save(data: bytes, *, declared_type: str | None, user: User, documents: bool = False,
         public: bool = False) -> str:
    """Store bytes (JPEG/PNG, and PDF when ``documents``); returns the SHA-256.  Bad bytes -> OperationError.
    ``public``: an anonymous resident's photo — a lower pixel limit, and only a re-encoded copy is kept (no
    EXIF, GPS or device data; no capture time or coordinates recorded)."""
    from server.models.attachments import Attachment
    from server.storage import DOCUMENT_TYPES, IMAGE_TYPES, PUBLIC_MAX_PIXELS, AttachmentError

    st = store()
    try:
        if public:
            ingested = st.ingest(data, declared_type=declared_type, allowed=IMAGE_TYPES, anonymise=True,
                                 max_pixels=PUBLIC_MAX_PIXELS)
        else:
            ingested = st.ingest(data, declared_type=declared_type,
                                 allowed=DOCUMENT_TYPES if documents else IMAGE_TYPES)
    except AttachmentError as exc:
        raise OperationError(exc.code, exc.message, exc.message_en, exc.status) from None
    if ingested.created:
        db.session.info.setdefault(_NEW_FILES, {})[ingested.sha256] = st.root
    # Held until the commit: a discard that looked for rows before it may have removed the same bytes meanwhile.
    db.session.info.setdefault(_SAVED_FILES, {})[ingested.sha256] = (
        st.root, ingested.stored if ingested.stored is not None else data)
    if db.session.get(Attachment, ingested.sha256) is None:
        insert_row(sha256=ingested.sha256, size=ingested.size, mime=ingested.mime, width=ingested.width,
                   height=ingested.height, captured_at=ingested.captured_at, gps=ingested.gps,
                   has_display=ingested.display_path is not None, uploaded_by_id=user.id)
    return ingested.sha256


def sweep_unnamed(days: int, *, dry_run: bool = False) -> list[str]:
    """Remove stored files that no attachment row names and that nobody stored or sent again for ``days`` days
    (a phone's refused visit leaves its photos so: see ``AttachmentStore.sweep``); recorded in the audit log.
    Each look at the rows is a fresh read, so a row committed meanwhile is seen."""
    from server.operations import audit

    removed = store().sweep(lambda shas: named_now(db.engine, shas), older_than=days * 86400, dry_run=dry_run)
    if removed and not dry_run:
        audit.record("files.sweep", "attachments", len(removed), actor_label="cli",
                     after={"days": days, "removed": len(removed), "sha256": removed[:200]})
        db.session.commit()
    return removed


def insert_row(**values) -> bool:
    """Insert the attachment row unless a row for the hash exists: ``INSERT … ON CONFLICT DO NOTHING`` on
    SQLite and PostgreSQL alike, inside the caller's transaction.  The same bytes uploaded by two requests
    at the same moment thus give one row and two successes (the primary key decides), never an
    IntegrityError that would abort the request.  True when this call inserted it."""
    from sqlalchemy.dialects import postgresql, sqlite

    from server.models.attachments import Attachment

    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values.setdefault("created_at", dt.datetime.now(dt.UTC))
    result = db.session.execute(insert(Attachment).values(**values).on_conflict_do_nothing(
        index_elements=[Attachment.sha256]))
    return bool(result.rowcount)


def save_data_url(value: str, *, user: User) -> str:
    """A drawn signature arrives as ``data:image/png;base64,...`` from the signature pad."""
    prefix = "data:image/png;base64,"
    if not value.startswith(prefix):
        raise OperationError("signature_invalid", "签名图像无效，请重新签名", "the signature image is not valid: sign again")
    try:
        data = base64.b64decode(value[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        raise OperationError("signature_invalid", "签名图像无效，请重新签名",
                             "the signature image is not valid: sign again") from None
    return save(data, declared_type="image/png", user=user)


# --- files follow the transaction that stored them ------------------------------------------------

@event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    from server.storage import AttachmentStore

    session.info.pop(_NEW_FILES, None)
    for sha, (root, data) in (session.info.pop(_SAVED_FILES, None) or {}).items():
        AttachmentStore(root).keep(sha, data)   # written again if a refused request's discard took it meanwhile


def named_now(bind, shas: list[str]) -> set[str]:
    """Of ``shas``, those an attachment row names, read on a fresh connection: only what others committed
    counts (the request's own transaction has ended)."""
    from server.models.attachments import Attachment

    with bind.connect() as conn:
        return set(conn.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(shas))))


@event.listens_for(Session, "after_transaction_end")
def _discard_uncommitted(session: Session, transaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    session.info.pop(_SAVED_FILES, None)
    created = session.info.pop(_NEW_FILES, None)
    if not created:
        return
    from server.storage import AttachmentStore

    bind = session.get_bind()
    kept = named_now(bind, list(created))
    for sha, root in created.items():
        if sha not in kept:   # looked at again once set aside: a row committed meanwhile keeps it
            AttachmentStore(root).discard(sha, lambda name: name in named_now(bind, [name]))
