"""Files no record names are swept (``ruhu files sweep``): a phone's refused visit leaves its photos on the
server with no row, no page and no way to delete them — photos of a family's home kept for nothing. Through the
CLI and the phones' API, on SQLite and PostgreSQL."""

# ruff: noqa: F811 (the ``field`` fixture is imported and requested by name)
from __future__ import annotations

import os
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
