"""The audit log is tamper-evident: ``ruhu audit verify`` names the first entry after a one-byte
change or a deletion; on PostgreSQL the database itself refuses to change or delete history."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.extensions import db
from server.models import AuditEntry
from tests.conftest import sign_in
from tests.integration.test_console import gc, register  # noqa: F401  (fixture)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def _entries(app, client, org, n=6):
    """Audit entries written the way the app writes them: sign-ins, failures, sign-outs."""
    for i in range(n):
        sign_in(client, "gc_case", "wrong-password" if i % 2 else "correct-horse-1")
    with app.app_context():
        return [e.id for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]


def _raw(app, sql: str, **params):
    """Tampering as a database user would, around the application (lifting the triggers on PostgreSQL)."""
    with app.app_context(), db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL ruhu.maintenance = 'on'"))
        conn.execute(text(sql), params)


def test_an_untouched_log_verifies(app, client, org, cli):
    ids = _entries(app, client, org)
    r = cli("audit", "verify")
    assert r.exit_code == 0, r.output
    assert f"audit log intact: {len(ids)} entries checked" in r.output


@pytest.mark.parametrize("column, value", [
    ("action", "login.fail3d"),            # a changed byte in a field
    ("remote_addr", "127.0.0.2"),
    ("actor_label", "gc_casf"),
])
def test_a_single_changed_byte_is_named(app, client, org, cli, column, value):
    ids = _entries(app, client, org)
    victim = ids[-3]
    _raw(app, f"UPDATE audit_entries SET {column} = :v WHERE id = :id", v=value, id=victim)
    r = cli("audit", "verify")
    assert r.exit_code == 1 and f"第 {victim} 条" in r.output and f"entry {victim}," in r.output


def test_a_changed_json_value_is_named(app, client, org, cli):
    ids = _entries(app, client, org)
    with app.app_context():
        victim = db.session.query(AuditEntry).filter(AuditEntry.after.isnot(None)) \
            .order_by(AuditEntry.id.desc()).first()
        victim_id = victim.id
        after = dict(victim.after)
    after[next(iter(after))] = "tampered"
    import json
    _raw(app, "UPDATE audit_entries SET after = :v WHERE id = :id", v=json.dumps(after), id=victim_id)
    assert victim_id in ids
    r = cli("audit", "verify")
    assert r.exit_code == 1 and f"entry {victim_id}," in r.output


def test_a_deleted_entry_is_named_by_its_successor(app, client, org, cli):
    ids = _entries(app, client, org)
    _raw(app, "DELETE FROM audit_entries WHERE id = :id", id=ids[-4])
    r = cli("audit", "verify")
    assert r.exit_code == 1 and f"entry {ids[-3]}," in r.output and "deleted" in r.output


def test_an_entry_with_a_recomputed_hash_still_breaks_the_next_link(app, client, org, cli):
    from server.operations.audit import entry_digest

    ids = _entries(app, client, org)
    with app.app_context():
        e = db.session.get(AuditEntry, ids[-3])
        e_action = "login"
        e.action = e_action
        forged = entry_digest(e, e.prev_hash)
        db.session.expunge(e)
    _raw(app, "UPDATE audit_entries SET action = :a, entry_hash = :h WHERE id = :id", a=e_action, h=forged,
         id=ids[-3])
    r = cli("audit", "verify")
    assert r.exit_code == 1 and f"entry {ids[-2]}," in r.output


def test_postgres_refuses_changes_to_history(app, client, org, gc):  # noqa: F811
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the insert-only triggers exist on PostgreSQL (SQLite has only the ORM guard)")
    ids = _entries(app, client, org, n=2)
    case_id = register(app, gc, org)
    statements = [("UPDATE audit_entries SET action = 'x' WHERE id = :id", ids[0]),
                  ("DELETE FROM audit_entries WHERE id = :id", ids[0]),
                  ("UPDATE case_events SET note = 'x' WHERE case_id = :id", case_id),
                  ("DELETE FROM case_events WHERE case_id = :id", case_id)]
    for sql, key in statements:
        with app.app_context(), pytest.raises(DBAPIError, match="insert-only"), db.engine.begin() as conn:
            conn.execute(text(sql), {"id": key})
    with app.app_context():
        assert db.session.get(AuditEntry, ids[0]).action != "x"
        assert db.session.scalar(text("SELECT count(*) FROM case_events WHERE case_id = :id"), {"id": case_id}) >= 1
