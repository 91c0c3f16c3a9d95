"""Files no record names are swept (``ruhu files sweep``): a phone's refused visit leaves its photos on the
server with no row, no page and no way to delete them — photos of a family's home kept for nothing. Through the
CLI and the phones' API, on SQLite and PostgreSQL."""

# ruff: noqa: F811 (the ``field`` fixture is imported and requested by name)
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Visit
from server.models.attachments import Attachment
from tests.integration.test_sync_api import att, field  # noqa: F401
from tests.integration.test_visit_bundle import framed_bundle, ready

DAY = 86400


def original(app, sha: str) -> Path:
    return Path(app.config["RUHU_ATTACHMENTS"]) / "originals" / sha[:2] / sha[2:4] / sha


def age(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def sweep(app, *args: str) -> list[str]:
    result = app.test_cli_runner().invoke(args=["files", "sweep", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def test_a_refused_visits_photos_are_swept_after_the_grace_days_and_come_back_when_sent_again(app, field):
    a, _, env, files = ready(field)
    shas = [att(data, "photo", "x", mime)["sha256"] for data, mime in files]
    refused = framed_bundle(a, env, files, key="not-the-visit-id")
    assert refused.status_code == 422 and refused.json["error"] == "idempotency_key_mismatch"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert all(original(app, sha).is_file() for sha in shas)            # stored, named by nothing

    assert sweep(app) == ["removed / 已删除: 0"]                           # within the grace days: kept
    for sha in shas:
        age(original(app, sha), 8)
    refused_again = framed_bundle(a, env, files, key="not-the-visit-id")          # a resend renews their time
    assert refused_again.status_code == 422
    assert sweep(app) == ["removed / 已删除: 0"]
    for sha in shas:
        age(original(app, sha), 8)

    listed = sweep(app, "--dry-run")
    assert sorted(listed[:-1]) == sorted(shas) and listed[-1] == "would be removed / 将删除: 2"
    assert all(original(app, sha).is_file() for sha in shas)            # a dry run removes nothing
    assert sorted(sweep(app, "--days", "7")[:-1]) == sorted(shas)
    assert not any(original(app, sha).exists() for sha in shas)
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "files.sweep")).one()
        assert entry.after["removed"] == 2 and sorted(entry.after["sha256"]) == sorted(shas)

    # The phone still holds the visit and its photos: sent right, it is stored whole.
    stored = framed_bundle(a, env, files)
    assert stored.status_code == 201 and stored.json["status"] == "complete", stored.json
    assert all(original(app, sha).is_file() for sha in shas)
    for sha in shas:
        age(original(app, sha), 30)
    assert sweep(app) == ["removed / 已删除: 0"]                           # named by rows: never swept
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]) is not None


@pytest.mark.parametrize("days", ["0", "-3", "nan", "inf", "1.5", "100000"])
def test_the_grace_days_are_checked(app, field, days):
    """A grace that is not a whole number of days from 1 to 3650 is refused before anything is looked at
    ("nan" once compared as older than every file: all unnamed files would have gone at once)."""
    a, _, env, files = ready(field)
    assert framed_bundle(a, env, files, key="not-the-visit-id").status_code == 422
    sha = att(files[0][0], "photo", "x", files[0][1])["sha256"]
    age(original(app, sha), 8)
    result = app.test_cli_runner().invoke(args=["files", "sweep", "--days", days])
    assert result.exit_code != 0 and "--days" in result.output
    assert original(app, sha).is_file()


# --- a refused console action and a phone's upload of the same bytes, at the same moment ----------------------

def _refused_console_upload(app, field, data: bytes) -> None:
    """A leader tries the caseworker's step with a file attached: refused (403), so the file it stored is removed
    when its transaction ends (``server.operations.attachments``)."""
    from tests.integration.test_console import Console, intake_form, signature

    accept = {"materials": intake_form(field["org"])["materials"], "applicant_signature": signature()}
    r = Console(app, "gc_lead").act(field["case_id"], "accept", accept,
                                    files={"fingerprint": (data, "finger.png", "image/png")})
    assert r.status_code == 403


def _phone_sender(app, field, how: str):
    """(the PNG the phone sends, send(answers) -> its thread): by PUT alone, or inside the visit's bundle (the
    applicant's signature of ``ready``'s visit)."""
    a, _, env, files = ready(field)
    data = files[1][0]

    def send(answers: list) -> threading.Thread:
        def run():
            if how == "put":
                r = app.test_client().put(f"/api/v1/attachments/{hashlib.sha256(data).hexdigest()}", data=data,
                                          headers={**a.auth, "Content-Type": "image/png"})
            else:
                r = framed_bundle(a, env, files)
            answers.append(r.status_code)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    return data, send


def _first_look(monkeypatch, then) -> None:
    """``then()`` runs once, right after the refused request's first look for rows naming its files."""
    from server.operations import attachments

    real, calls = attachments.named_now, []

    def looked(bind, shas):
        out = real(bind, shas)
        calls.append(list(shas))
        if len(calls) == 1:
            then()
        return out

    monkeypatch.setattr(attachments, "named_now", looked)


@pytest.mark.parametrize("how", ["put", "bundle"])
def test_a_phone_upload_committed_while_a_refused_request_removes_the_same_bytes_keeps_them(app, field, monkeypatch,
                                                                                            how):
    """The phone's row is committed after the refused request looked (no row) and before it removes the file:
    the file, set aside first and looked at again, is put back."""
    data, send = _phone_sender(app, field, how)
    answers = []
    sha = hashlib.sha256(data).hexdigest()
    _first_look(monkeypatch, lambda: send(answers).join(10))
    _refused_console_upload(app, field, data)
    assert answers == [201]                          # the phone named the bytes it found stored
    assert original(app, sha).read_bytes() == data   # still there for the row that names them
    with app.app_context():
        assert db.session.get(Attachment, sha) is not None
    assert not list(Path(app.config["RUHU_ATTACHMENTS"]).rglob("*.sweeping"))


@pytest.mark.parametrize("how", ["put", "bundle"])
def test_a_phone_upload_committed_after_a_refused_request_removed_the_same_bytes_writes_them_again(app, field,
                                                                                                 monkeypatch, how):
    """The phone found the bytes stored (a resend), then the refused request removed them, then the phone's row
    was committed: after its commit the phone writes the bytes again (it still holds them)."""
    from server.operations import sync as sync_ops

    data, send = _phone_sender(app, field, how)
    answers, threads = [], []
    sha = hashlib.sha256(data).hexdigest()
    reached, go = threading.Event(), threading.Event()
    real_row = sync_ops._attachment_row

    def row_then_wait(ingested, device):   # after the store's check (the bytes were there), before the commit
        reached.set()
        go.wait(10)
        return real_row(ingested, device)

    monkeypatch.setattr(sync_ops, "_attachment_row", row_then_wait)
    _first_look(monkeypatch, lambda: (threads.append(send(answers)), reached.wait(10)))
    _refused_console_upload(app, field, data)
    assert not original(app, sha).exists()           # removed: no row named it when looked at again
    go.set()
    threads[0].join(10)
    assert answers == [201]
    assert original(app, sha).read_bytes() == data   # written again after the phone's commit
    with app.app_context():
        assert db.session.get(Attachment, sha) is not None
