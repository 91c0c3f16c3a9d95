"""Writing audit entries (the caller's transaction commits them together with the change), chained.

Each entry stores the SHA-256 of the previous entry (by id) and its own SHA-256 over its fields and
that previous hash.  Writers take the chain's lock first (a transaction-scoped advisory lock on
PostgreSQL; SQLite's single writer lock, taken by a no-op write), so entries are chained in id
order even with many workers.  :func:`verify` walks the chain and names the first entry whose
stored hash or link does not hold: any changed byte, a deleted or an inserted entry shows there.

An entry is written when its transaction commits (``before_commit``), not when it is recorded: the chain's
lock, which serialises every audited transaction, is then held only for the inserts and the commit, not
while the rest of the transaction does its work.  A rollback drops the entries recorded in it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from server.extensions import AUDIT_PENDING, db, in_autocommit
from server.models import AuditEntry, User

CHAIN_LOCK = 0x72756875  # "ruhu": the advisory-lock key that serialises audit writers on PostgreSQL


def _utc(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_digest(entry: AuditEntry, prev_hash: str) -> str:
    """The SHA-256 (hex) of one entry's fields and the previous entry's hash, canonically written."""
    fields = [prev_hash, _utc(entry.at), entry.actor_id, entry.actor_label or "", entry.action, entry.object_type,
              entry.object_id, entry.before, entry.after, entry.remote_addr or ""]
    data = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})
    elif not session.connection().connection.dbapi_connection.in_transaction:
        # Any write statement takes SQLite's database write lock until the transaction ends.  The driver begins a
        # transaction only before the first write, so one already begun holds the lock: nothing to take.
        session.execute(text("UPDATE audit_entries SET id = id WHERE 0 = 1"))


_PENDING = AUDIT_PENDING   # (the session.info key: server.extensions.end_read_only looks at it too)
_COLUMNS = ("at", "actor_id", "actor_label", "action", "object_type", "object_id", "before", "after", "remote_addr",
            "prev_hash", "entry_hash")
_TABLE = AuditEntry.__table__
_LAST_HASH = select(_TABLE.c.entry_hash).order_by(_TABLE.c.id.desc()).limit(1)   # (a Core statement: no ORM work)


def record(action: str, object_type: str, object_id: Any, *, actor: User | None = None, actor_label: str = "",
           before: dict | None = None, after: dict | None = None, remote_addr: str = "") -> AuditEntry:
    """Record an entry in the current transaction; it is chained and inserted when the transaction commits."""
    # Values are round-tripped through JSON first, so the hash covers exactly what is stored and read back.
    before = json.loads(json.dumps(before, default=str)) if before is not None else None
    after = json.loads(json.dumps(after, default=str)) if after is not None else None
    entry = AuditEntry(at=dt.datetime.now(dt.UTC), actor_id=actor.id if actor else None,
                       actor_label=(actor.username if actor else (actor_label or "system"))[:80],
                       action=action[:60], object_type=object_type[:30], object_id=str(object_id)[:40],
                       before=before, after=after, remote_addr=(remote_addr or "")[:45])
    db.session.info.setdefault(_PENDING, []).append(entry)
    return entry


def write_pending(session: Session) -> None:
    """Chain and insert the entries recorded in this transaction, in the order they were recorded."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if in_autocommit(session):
        # Outside a transaction the chain's lock would end with its own statement: never chain like that.
        raise RuntimeError("an audited change in autocommit mode: call end_autocommit() before writing")
    session.flush()             # the transaction's changes first
    _lock_chain(session)
    prev = session.scalar(_LAST_HASH) or ""
    rows = []
    for entry in pending:
        entry.prev_hash = prev
        entry.entry_hash = prev = entry_digest(entry, prev)
        rows.append({name: getattr(entry, name) for name in _COLUMNS})
    # Plain inserts, executed in the order given, so ids follow the chain's order (no unit of work: the entries
    # are never read back in this transaction).
    session.execute(insert(AuditEntry), rows)


@event.listens_for(Session, "before_commit")
def _chain_on_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_on_rollback(session: Session, transaction) -> None:
    if transaction.parent is None:   # the outermost transaction ended without committing them: gone with it
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str       # "changed" (its fields no longer give its hash) | "link" (previous entry missing or changed)


def verify(batch: int = 2000) -> tuple[int, ChainBreak | None]:
    """(entries checked, the first break or None), walking the chain in id order."""
    prev = ""
    checked = 0
    last_id = 0
    legacy = True   # entries written before the chain existed (empty hashes) may only come first
    while True:
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.id > last_id)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return checked, None
        for entry in rows:
            if legacy and entry.entry_hash == "" and entry.prev_hash == "":
                checked += 1
                last_id = entry.id
                continue
            legacy = False
            if entry.prev_hash != prev:
                return checked, ChainBreak(entry.id, "link")
            if entry_digest(entry, entry.prev_hash) != entry.entry_hash:
                return checked, ChainBreak(entry.id, "changed")
            prev = entry.entry_hash
            checked += 1
            last_id = entry.id
        db.session.expunge_all()
