"""Uploads from the console: stored once by content (SHA-256), images re-encoded without metadata."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from pathlib import Path

from flask import current_app

from server.extensions import db
from server.models import User
from server.operations import OperationError


def store():
    from server.storage import AttachmentStore

    root = Path(current_app.config.get("RUHU_ATTACHMENTS") or Path(current_app.instance_path) / "attachments")
    return AttachmentStore(root, max_bytes=current_app.config.get("RUHU_MAX_UPLOAD", 15 * 2**20))


def save(data: bytes, *, declared_type: str | None, user: User, documents: bool = False) -> str:
    """Store bytes (JPEG/PNG, and PDF when ``documents``); returns the SHA-256.  Bad bytes -> OperationError."""
    from server.models.attachments import Attachment
    from server.storage import DOCUMENT_TYPES, IMAGE_TYPES, AttachmentError

    try:
        ingested = store().ingest(data, declared_type=declared_type,
                                  allowed=DOCUMENT_TYPES if documents else IMAGE_TYPES)
    except AttachmentError as exc:
        raise OperationError(exc.code, exc.message, exc.message_en, exc.status) from None
    if db.session.get(Attachment, ingested.sha256) is None:
        insert_row(sha256=ingested.sha256, size=ingested.size, mime=ingested.mime, width=ingested.width,
                   height=ingested.height, captured_at=ingested.captured_at, gps=ingested.gps,
                   has_display=ingested.display_path is not None, uploaded_by_id=user.id)
    return ingested.sha256


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
