"""Writing audit entries (the caller's transaction commits them together with the change)."""

from __future__ import annotations

from typing import Any

from server.extensions import db
from server.models import AuditEntry, User


def record(action: str, object_type: str, object_id: Any, *, actor: User | None = None, actor_label: str = "",
           before: dict | None = None, after: dict | None = None, remote_addr: str = "") -> AuditEntry:
    entry = AuditEntry(actor_id=actor.id if actor else None,
                       actor_label=actor.username if actor else (actor_label or "system"),
                       action=action, object_type=object_type, object_id=str(object_id),
                       before=before, after=after, remote_addr=remote_addr or "")
    db.session.add(entry)
    return entry
