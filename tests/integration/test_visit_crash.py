"""A crash around the attestation that completes the team must neither lose it nor leave the visit half taken.

The attestation and the visit's acceptance into the case are one transaction. The real server runs as a
subprocess on the test database (SQLite or PostgreSQL). The first run has ``RUHU_TEST_CRASH_AT`` in its
environment: ``server.operations.sync._fault_point`` exits the process (``os._exit``, as under SIGKILL) just
before that transaction's commit (nothing of it may be stored: one attestation, the case untouched) or just
after it (everything stored: both attestations, the visit accepted, the home visit recorded), before the
phone hears an answer. The hook is read only by an app with ``TESTING`` on. The server is started again
without it, the phone retries the attestation, and the visit must be accepted with the home visit recorded
exactly once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Attestation, Case, Visit
from tests.conftest import FAST_HASH, FIXTURES
from tests.integration.test_sync_api import (  # noqa: F401
    TODAY,
    field,  # noqa: F401 (the fixture)
    visit_ready,
)

ROOT = Path(__file__).resolve().parents[2]
RUNNER = """
import json, sys
from werkzeug.serving import run_simple
from server import create_app
config = json.loads(sys.argv[1])
import datetime as dt
config["RUHU_TODAY"] = dt.date.fromisoformat(config["RUHU_TODAY"])
app = create_app(config)
run_simple("127.0.0.1", int(sys.argv[2]), app, threaded=False, use_reloader=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(app, port: int, crash: bool | str) -> subprocess.Popen:
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "test-secret",
              "TESTING": True, "RUHU_CALENDAR": str(FIXTURES / "no-such-calendar.toml"),
              "RUHU_PASSWORD_METHOD": FAST_HASH, "RUHU_ATTACHMENTS": app.config["RUHU_ATTACHMENTS"],
              "RUHU_TODAY": TODAY.isoformat()}
    env = {k: v for k, v in os.environ.items() if k != "RUHU_TEST_CRASH_AT"}
    if crash:
        env["RUHU_TEST_CRASH_AT"] = crash if isinstance(crash, str) else "after_attestation_commit"
    log = Path(app.config["RUHU_ATTACHMENTS"]).parent / f"server-{port}-{crash or 0}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(config), str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return proc
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None:
                raise AssertionError(log.read_text(errors="replace")) from None
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not start")


def attest_over_http(port: int, phone, visit_id: str, content_hash: str) -> int:
    body = json.dumps({"visit_id": visit_id, "content_hash": content_hash, "device_id": phone.device_id,
                       "signature": phone.sign(visit_id, content_hash)}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/attestations", data=body, method="POST",
                                     headers={**phone.auth, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("crash_at", ["before_attestation_commit", "after_attestation_commit"])
def test_a_crash_around_the_accepting_attestation_is_healed_by_the_retry(app, field, crash_at):  # noqa: F811
    env, body = visit_ready(field)
    a, b = field["phones"]
    assert a.attest(env["visit_id"], body["content_hash"]).status_code == 201
    with app.app_context():
        db.session.remove()
        db.engine.dispose()   # let the subprocess have the database

    port = free_port()
    server = start(app, port, crash=crash_at)
    try:
        try:
            status = attest_over_http(port, b, env["visit_id"], body["content_hash"])
        except (urllib.error.URLError, ConnectionError, OSError):
            status = None   # the server died before answering: the phone keeps the attestation in its outbox
        assert status is None
        assert server.wait(timeout=30) == 137
    finally:
        if server.poll() is None:
            server.kill()
    with app.app_context():
        visit = db.session.get(Visit, env["visit_id"])
        attestations = len(db.session.scalars(select(Attestation).where(Attestation.visit_id == visit.id)).all())
        case = db.session.get(Case, field["case_id"])
        if crash_at == "before_attestation_commit":   # none of the transaction: B's attestation, the acceptance
            assert (visit.status, attestations, case.status) == ("complete", 1, "accepted")
        else:                                       # all of it, although the phone never heard the answer
            assert (visit.status, attestations, case.status) == ("accepted", 2, "visited")
        db.session.remove()
        db.engine.dispose()

    server = start(app, port, crash=False)
    try:
        expected = 201 if crash_at == "before_attestation_commit" else 200   # stored now / stored before
        assert attest_over_http(port, b, env["visit_id"], body["content_hash"]) == expected   # the retry
    finally:
        server.terminate()
        server.wait(timeout=30)
    with app.app_context():
        visit = db.session.get(Visit, env["visit_id"])
        case = db.session.get(Case, field["case_id"])
        assert visit.status == "accepted" and case.status == "visited"
        assert case.visit_on.isoformat() == "2025-11-04"
        assert [e.action for e in case.events].count("record_home_visit") == 1
        db.session.remove()
        db.engine.dispose()
