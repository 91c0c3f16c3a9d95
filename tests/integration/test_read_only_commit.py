"""A request's transaction that only read ends with a commit on PostgreSQL (psycopg drops every prepared
statement of a connection at a ROLLBACK); one that wrote, locked or left a change pending ends with the
rollback it always had, so that nothing a request did not commit is ever kept."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from server.extensions import _READ, _WRITE, db
from server.models import AuditEntry, Unit


@pytest.mark.parametrize(("statement", "changes"), [
    ("SELECT visits.id, visits.merge, visits.status FROM visits WHERE visits.id = %(id)s", False),
    ("SELECT users.locked_until, cases.updated_at, x.created_at, y.deleted FROM users", False),
    ("WITH RECURSIVE chain(id) AS (SELECT units.id FROM units) SELECT * FROM chain", False),
    ("  select 1", False),
    ("INSERT INTO units (code) VALUES (%(c)s)", True),
    ("UPDATE cases SET status=%(s)s WHERE cases.id = %(id)s", True),
    ("DELETE FROM visit_pending_attachments WHERE sha256 = %(s)s", True),
    ("SELECT visit_assignments.id FROM visit_assignments WHERE id = %(id)s FOR UPDATE OF visit_assignments", True),
    ("SELECT cases.id FROM cases FOR NO KEY UPDATE", True),
    ("SELECT cases.id FROM cases FOR SHARE", True),
    ("SELECT pg_advisory_xact_lock(%(k)s)", True),
    ("WITH moved AS (DELETE FROM x RETURNING *) SELECT * FROM moved", True),
    ("WITH t AS (UPDATE cases SET status = 'x' RETURNING id) SELECT id FROM t", True),
    ("SAVEPOINT sa_savepoint_1", True),
])
def test_what_counts_as_a_change(statement, changes):
    assert (not _READ.match(statement) or bool(_WRITE.search(statement))) is changes


def _routes(app):
    def reads():
        db.session.scalar(select(Unit.id).limit(1))
        return "read"

    def writes_without_commit():
        db.session.add(Unit(code="ZZ-UNCOMMITTED", name="x", level="community", profile_id="guancheng"))
        db.session.flush()   # written in the transaction, never committed
        return "wrote"

    def pends():
        db.session.add(Unit(code="ZZ-PENDING", name="x", level="community", profile_id="guancheng"))
        return "pending"

    def audits_then_refuses():
        from server.operations import audit

        db.session.scalar(select(Unit.id).limit(1))
        audit.record("test.refused", "unit", 0, actor_label="test")   # recorded, then the action is refused
        return "refused", 409

    for rule, view in (("/_t/reads", reads), ("/_t/writes", writes_without_commit), ("/_t/pends", pends),
                       ("/_t/audits", audits_then_refuses)):
        app.add_url_rule(rule, view.__name__, view)


def test_only_a_read_only_transaction_is_committed(app, org):
    _routes(app)
    with app.app_context():
        engine = db.engine
    ends = []

    def on_commit(conn):
        ends.append("commit")

    def on_rollback(conn):
        ends.append("rollback")

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    client = app.test_client()
    postgres = engine.dialect.name == "postgresql"
    try:
        assert client.get("/_t/reads").status_code == 200
        assert ends[-1] == ("commit" if postgres else "rollback")   # SQLite: a rollback costs nothing there
        for path in ("/_t/writes", "/_t/pends", "/_t/audits"):
            ends.clear()
            assert client.get(path).status_code in (200, 409)
            assert "commit" not in ends, (path, ends)
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
    with app.app_context():
        assert db.session.scalars(select(Unit.code).where(Unit.code.like("ZZ-%"))).all() == []
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "test.refused")) is None
