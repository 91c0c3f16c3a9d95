"""The phones' path scales with the work, not the data: every query on it by index (EXPLAIN on SQLite and
PostgreSQL), uploads find the visits waiting for them by key, the pull in a fixed number of queries, and
form definitions sent only when they changed."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import event, select

from server.extensions import db
from server.models import Case, User, Visit
from server.models.attachments import PendingAttachment
from server.operations.cases import perform, register_application
from server.operations.visits import assign_visit
from tests.conftest import id_number
from tests.integration.test_sync_api import (  # noqa: F401 (the fixture)
    TODAY,
    att,
    envelope,
    field,
    jpeg,
    png,
)

WATCHED = {"visits", "attestations", "assignment_members", "visit_assignments", "visit_pending_attachments",
           "attachments", "devices", "record_snapshots", "members", "households", "cases"}


class Statements:
    """Every SQL statement the app's engine runs while recording, with its parameters."""

    def __init__(self, app):
        self.app, self.seen, self.on = app, [], False
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._keep)

    def _keep(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and not executemany:
            self.seen.append((statement, parameters))

    def __enter__(self):
        self.seen, self.on = [], True
        return self

    def __exit__(self, *exc):
        self.on = False

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._keep)


def _full_scans_sqlite(conn, statement, parameters) -> list[str]:
    plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    bad = []
    for row in plan:
        detail = row[-1]
        match = re.match(r"SCAN (\w+)", detail)
        if match and match.group(1) in WATCHED:   # a whole table, or a whole index walked in order
            bad.append(detail)
    return bad


def _full_scans_postgres(conn, statement, parameters) -> list[str]:
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    [[plan]] = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).all()
    if isinstance(plan, str):
        plan = json.loads(plan)
    bad = []

    def walk(node):
        table = node.get("Relation Name")
        kind = node["Node Type"]
        if table in WATCHED and (kind == "Seq Scan" or (kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
                                                         and "Index Cond" not in node)):
            bad.append(f"{kind} on {table}")
        if kind == "Bitmap Index Scan" and "Index Cond" not in node:
            bad.append(f"{kind} {node.get('Index Name')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return bad


def full_scans(app, seen) -> dict[str, list[str]]:
    found = {}
    with app.app_context(), db.engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        for statement, parameters in seen:
            verb = statement.lstrip().split(None, 1)[0].upper()
            if verb not in ("SELECT", "UPDATE", "DELETE"):
                continue
            with conn.begin():
                scans = (_full_scans_postgres if postgres else _full_scans_sqlite)(conn, statement, parameters)
            if scans:
                text = " ".join(statement.split())
                found[text if len(text) < 400 else text[:80] + " … " + text[-300:]] = scans
    return found


def test_every_query_on_the_phones_path_uses_an_index(app, field):  # noqa: F811
    a, b = field["phones"]
    org = field["org"]
    recorder = Statements(app)
    try:
        with recorder:
            first = a.pull().json
            assignment = first["assignments"][0]
            a.pull(first["cursor"])
            photo, signature = jpeg(), png()
            assert a.put(signature, "image/png").status_code == 201
            env = envelope(assignment, [att(photo, "photo", "house_outside"),
                                        att(signature, "signature", "applicant", "image/png")], [org.gc_inv1, org.gc_inv2])
            assert a.post_visit(env).json["status"] == "incomplete"
            assert b.pull().json["to_attest"][0]["visit_id"] == env["visit_id"]
            assert a.put(photo).status_code == 201
            content_hash = a.post_visit(env).json["content_hash"]
            assert a.attest(env["visit_id"], content_hash).status_code == 201
            assert b.attest(env["visit_id"], content_hash).json["status"] == "accepted"
            assert a.put(photo).status_code == 200
    finally:
        recorder.close()
    assert len(recorder.seen) > 20
    assert full_scans(app, recorder.seen) == {}


def test_an_upload_completes_the_visits_waiting_for_it_by_key(app, field):  # noqa: F811
    a = field["phones"][0]
    org = field["org"]
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg(), png()
    assert a.put(signature, "image/png").status_code == 201
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant", "image/png")],
                   [org.gc_inv1, org.gc_inv2])
    assert a.post_visit(env).json["status"] == "incomplete"
    with app.app_context():
        pending = db.session.execute(select(PendingAttachment.sha256, PendingAttachment.visit_id)).all()
        assert pending == [(att(photo, "p", "s")["sha256"], env["visit_id"])]   # only what is missing

    recorder = Statements(app)
    try:
        with recorder:
            assert a.put(jpeg(colour=(1, 2, 3))).status_code == 201   # bytes nobody waits for
    finally:
        recorder.close()
    # Not a single read of the visits table without the pending key (the old code read every incomplete visit).
    assert not [s for s, _ in recorder.seen if re.search(r"FROM visits\b", s) and "visit_pending_attachments" not in s]

    assert a.put(photo).status_code == 201
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "complete"
        assert db.session.scalars(select(PendingAttachment)).all() == []


def _more_assignments(app, org, count: int) -> None:
    with app.app_context():
        from server.domain.declaration import parse_declaration
        from server.models import Unit

        caseworker = db.session.get(User, org.gc_case)
        for n in range(count):
            declaration, _ = parse_declaration({"income_wages_1": "300", **{f"income_wages_{m}": "0" for m in range(2, 7)}})
            case = register_application(
                community=db.session.get(Unit, org.c1), actor=caseworker, today=TODAY, declaration=declaration,
                members=[{"name": f"王{n}", "relation": "head",
                          "id_number": id_number("410104", dt.date(1970, 1, 1 + n), 100 + n)}],
                materials=["application", "hukou_id", "income_property_statement", "integrity_pledge",
                           "verification_authorisation"])
            perform(case, "accept", caseworker, {"applicant_signed": True}, today=TODAY)
            assign_visit(db.session.get(Case, case.id), caseworker, [org.gc_inv1, org.gc_inv2], today=TODAY)


def test_a_full_pull_takes_the_same_few_queries_for_1_or_6_assignments(app, field):  # noqa: F811
    a = field["phones"][0]
    recorder = Statements(app)
    try:
        with recorder:
            assert len(a.pull().json["assignments"]) == 1
        first = recorder.seen
        _more_assignments(app, field["org"], 5)
        with recorder:
            assert len(a.pull().json["assignments"]) == 6
        second = recorder.seen
    finally:
        recorder.close()
    # The device's "last seen" is written at most once a minute (the first pull here), so compare the reads.
    one, six = (len([s for s, _ in seen if not s.startswith("UPDATE devices")]) for seen in (first, second))
    assert six == one, (one, six)
    assert one <= 20


def test_a_pull_with_nothing_new_writes_and_commits_nothing(app, field):  # noqa: F811
    """The phones pull before every push: with nothing changed, a handful of indexed reads and no fsync."""
    a = field["phones"][0]
    first = a.pull().json
    recorder = Statements(app)
    commits = []
    listen = lambda conn: commits.append(1)  # noqa: E731
    event.listen(recorder.engine, "commit", listen)
    try:
        with recorder:
            again = a.pull(since=first["cursor"]).json
    finally:
        event.remove(recorder.engine, "commit", listen)
        recorder.close()
    assert again["assignments"] == [] and again["revoked"] == [] and not again["full"]
    writes = [s for s, _ in recorder.seen if not s.lstrip().upper().startswith("SELECT")]
    assert writes == [] and commits == [], (writes, len(commits))
    assert len(recorder.seen) <= 6, [s[:80] for s, _ in recorder.seen]


def test_form_definitions_are_sent_only_when_they_changed(app, field):  # noqa: F811
    a = field["phones"][0]
    first = a.pull().json
    version = first["forms_version"]
    assert first["forms"] and re.fullmatch(r"[0-9a-f]{32}", version)
    auth = a.auth
    same = field["client"].get(f"/api/v1/sync/pull?since={first['cursor']}&forms={version}", headers=auth).json
    assert same["forms"] == [] and same["forms_version"] == version
    other = field["client"].get(f"/api/v1/sync/pull?forms={'0' * 32}", headers=auth).json
    assert [f["id"] for f in other["forms"]] == [f["id"] for f in first["forms"]]
    assert a.pull(first["cursor"]).json["forms"] == first["forms"]            # older phones: every time
    with app.app_context():                                                 # a changed definition: a new version
        loaded = dict(app.extensions["ruhu_forms"])
        key = next(iter(loaded))
        loaded[key] = {**loaded[key], "title": "changed"}
        app.extensions["ruhu_forms"] = loaded
    changed = field["client"].get(f"/api/v1/sync/pull?forms={version}", headers=auth).json
    assert changed["forms_version"] != version and changed["forms"]


def test_the_phones_reads_leave_postgresql_its_prepared_statements(app, field):  # noqa: F811
    """PostgreSQL: a phone's read (the pull, polled all day) and an upload's look for waiting visits after its
    commit run outside a transaction. psycopg then sends no BEGIN and no ROLLBACK for them — and a ROLLBACK
    would drop every prepared statement of the connection (DEALLOCATE ALL), so that the pull's queries were
    parsed and planned again on every request."""
    import pytest

    from tests.integration.test_visit_bundle import bundle, ready

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements and transaction round trips are PostgreSQL's")
    used = []
    listen = lambda dbapi_conn, record, proxy: used.append(dbapi_conn)  # noqa: E731
    event.listen(engine, "checkout", listen)
    try:
        a, _, env, files = ready(field)
        first = a.pull().json
        for _ in range(6):   # psycopg prepares a statement at its 5th run on a connection
            assert a.pull(since=first["cursor"]).status_code == 200
        assert bundle(a, env, files).status_code == 201   # new files: waiting visits looked for after the commit
    finally:
        event.remove(engine, "checkout", listen)
    assert len({id(c) for c in used}) == 1, "the requests ran one after another on one pooled connection"
    with app.app_context(), db.engine.connect() as conn:
        assert conn.connection.dbapi_connection is used[0]
        prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    pull_queries = [s for s in prepared if "visit_assignments" in s and "max(" in s]
    assert pull_queries, prepared   # the pull's "newest change" query, prepared and still there


def test_an_audited_change_is_never_chained_outside_a_transaction(app, field):  # noqa: F811
    """The audit chain's lock lasts as long as its transaction: a change recorded while the session reads in
    autocommit mode is refused (a programming error) instead of chained without the lock; once the phase is
    ended it is chained as usual."""
    import pytest

    from server.extensions import autocommit_reads, end_autocommit
    from server.models import AuditEntry
    from server.operations import audit

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("autocommit reads are taken on PostgreSQL only")
        before = db.session.scalar(select(db.func.count()).select_from(AuditEntry))
        db.session.rollback()   # (that read began a transaction)
        assert autocommit_reads()
        audit.record("test.autocommit", "case", 1, actor_label="test")
        with pytest.raises(RuntimeError, match="autocommit"):
            db.session.commit()
        db.session.rollback()
        end_autocommit()
        audit.record("test.autocommit", "case", 1, actor_label="test")
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == before + 1


def _files_sent_and_envelope(phone, org) -> dict:
    """The phone's first assignment: its photo and the applicant's signature uploaded, the visit's envelope."""
    assignment = phone.pull().json["assignments"][0]
    photo, signature = jpeg(), png()
    for data, kind in ((photo, "image/jpeg"), (signature, "image/png")):
        assert phone.put(data, kind).status_code == 201
    return envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant", "image/png")],
                    [org.gc_inv1, org.gc_inv2])


def test_an_attestation_reads_its_visit_and_team_at_once_and_takes_the_chain_lock_by_its_own_write(app, field):  # noqa: F811
    """The partner's attestation (which accepts the visit): its team is read with the locked visit, not in a
    statement of its own; on SQLite the audit chain is not locked by a no-op write once the transaction has
    written (its first write took the database's write lock)."""
    a, b = field["phones"]
    env = _files_sent_and_envelope(a, field["org"])
    content_hash = a.post_visit(env).json["content_hash"]
    assert a.attest(env["visit_id"], content_hash).status_code == 201
    recorder = Statements(app)
    try:
        with recorder:
            assert b.attest(env["visit_id"], content_hash).json["status"] == "accepted"
    finally:
        recorder.close()
    texts = [" ".join(s.split()) for s, _ in recorder.seen]
    # assignment_members is read once, inside the visit's read (not as a query of its own).
    members = [t for t in texts if "assignment_members" in t]
    assert len(members) == 1 and re.search(r"FROM visits\b", members[0]), members
    assert not [t for t in texts if t.startswith("UPDATE audit_entries")], texts


def test_a_new_visit_is_looked_for_in_the_assignments_read(app, field):  # noqa: F811
    """Whether the visit is stored already (a resend) comes with the assignment's locked read: a new visit is
    not read by its id on its own before it is written."""
    a = field["phones"][0]
    env = _files_sent_and_envelope(a, field["org"])
    recorder = Statements(app)
    try:
        with recorder:
            assert a.post_visit(env).status_code == 201
    finally:
        recorder.close()
    assert a.post_visit(env).status_code == 200   # a resend is still answered as one
    texts = [" ".join(s.split()) for s, _ in recorder.seen]
    assert not [t for t in texts if t.startswith("SELECT visits.") and "WHERE visits.id = " in t], texts
    assert [t for t in texts if t.startswith("SELECT visit_assignments.") and "EXISTS" in t]


def test_a_console_page_that_only_reads_leaves_postgresql_its_prepared_statements(app, field):  # noqa: F811
    """A console page reads in a transaction; ended with a rollback, psycopg drops every prepared statement of
    the connection (DEALLOCATE ALL), so the console's queries were planned again on every page.  A transaction
    that only read now ends with a commit; one that wrote still ends as before."""
    import pytest

    from tests.conftest import sign_in

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements are PostgreSQL's")
    client = app.test_client()
    sign_in(client, "gc_case")
    sent = []
    listen = lambda conn, cursor, statement, *rest: sent.append(statement.split()[0].upper())  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    used = []
    checkout = lambda dbapi_conn, record, proxy: used.append(dbapi_conn)  # noqa: E731
    event.listen(engine, "checkout", checkout)
    try:
        for _ in range(6):   # psycopg prepares a statement at its 5th run on a connection
            assert client.get(f"/cases/{field['case_id']}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listen)
        event.remove(engine, "checkout", checkout)
    assert len({id(c) for c in used}) == 1, "the pages ran one after another on one pooled connection"
    with app.app_context(), db.engine.connect() as conn:
        assert conn.connection.dbapi_connection is used[0]
        prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert [s for s in prepared if "FROM cases" in s], prepared   # the case page's read, prepared and kept
