"""The console import of a phone's export file (the phone's last resort): a caseworker of the phone's office
uploads it; every attachment hash and device signature is checked before anything is stored; each record is
then processed as a sync from that phone; re-importing changes nothing; a tampered file is refused whole."""

from __future__ import annotations

import base64
import copy
import json

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, Visit
from server.models.attachments import Attachment
from sync.protocol import content_hash
from tests.integration.test_console import Console
from tests.integration.test_sync_api import att, envelope, jpeg, png
from tests.integration.test_sync_api import field as field  # noqa: F401 (the fixture)


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def exports(world) -> tuple[dict, dict, dict]:
    """Phone A's export (its finished visit, offline: nothing sent) and phone B's (its attestation of it)."""
    field = world
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg(), png()
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    h = content_hash(env)
    record = {"visit_id": env["visit_id"], "status": "ready", "envelope": env, "content_hash": h,
              "own_signature": a.sign(env["visit_id"], h), "values": {"findings": {"summary": "情况属实"}},
              "files": [{"id": "p1", "sha256": att(photo, "photo", "x")["sha256"], "type": "image/jpeg", "size": len(photo),
                         "data": data_url(photo, "image/jpeg")},
                        {"id": "s1", "sha256": att(signature, "signature", "x")["sha256"], "type": "image/png",
                         "size": len(signature), "data": data_url(signature, "image/png")}]}
    draft = {"visit_id": "5d2c7a86-1f7e-4b0e-9a51-3c1f8a2b9d10", "status": "draft", "values": {}, "files": []}
    file_a = {"format": "ruhu-unsynced-export", "version": 1, "exported_at": "2025-11-04T02:00:00.000Z",
              "device": {"device_id": a.device_id, "user": {"id": field["org"].gc_inv1}, "name": "红米 Note"},
              "visits": [record, draft], "attestations": []}
    file_b = {"format": "ruhu-unsynced-export", "version": 1, "exported_at": "2025-11-04T02:05:00.000Z",
              "device": {"device_id": b.device_id, "user": {"id": field["org"].gc_inv2}, "name": "红米 Note"},
              "visits": [], "attestations": [{"visit_id": env["visit_id"], "content_hash": h,
                                              "signature": b.sign(env["visit_id"], h), "assignment_id": 1,
                                              "status": "pending"}]}
    return file_a, file_b, env


def upload(console: Console, data: dict | bytes, *, csrf: bool = True):
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    return console.post("/imports", files={"file": (raw, "ruhu-export.json", "application/json")}, csrf=csrf)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(Visit.id))), db.session.scalar(select(func.count(Attachment.sha256))),
                db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "visits.import")))


def test_tampered_files_are_refused_whole_and_store_nothing(app, field):  # noqa: F811
    file_a, file_b, env = exports(field)
    gc = Console(app, "gc_case")
    changed_answer = copy.deepcopy(file_a)
    changed_answer["visits"][0]["envelope"]["answers"]["findings"]["summary"] = "情况不属实"
    changed_photo = copy.deepcopy(file_a)
    changed_photo["visits"][0]["files"][0]["data"] = data_url(jpeg((1, 2, 3)), "image/jpeg")
    changed_hash = copy.deepcopy(file_a)   # content and hash changed together: the phone's signature no longer fits
    changed_hash["visits"][0]["envelope"]["answers"]["findings"]["summary"] = "情况不属实"
    changed_hash["visits"][0]["content_hash"] = content_hash(changed_hash["visits"][0]["envelope"])
    forged_attestation = copy.deepcopy(file_b)
    forged_attestation["attestations"][0]["content_hash"] = "f" * 64
    missing_file = copy.deepcopy(file_a)
    missing_file["visits"][0]["files"].pop()
    for bad, path in ((changed_answer, "visits/0"), (changed_photo, "visits/0/files/0"), (changed_hash, "visits/0"),
                      (forged_attestation, "attestations/0"), (missing_file, "visits/0")):
        r = upload(gc, bad)
        page = r.get_data(as_text=True)
        assert r.status_code == 422, page
        assert "导出文件未通过校验" in page and f'data-path="{path}"' in page
    assert counts(app) == (0, 0, 0)                       # nothing stored, no photo, no import recorded
    r = upload(gc, b"not json at all")
    assert r.status_code == 422 and "这不是入户调查手机导出的文件" in r.get_data(as_text=True)
    assert gc.get("/imports?lang=en").status_code == 200
    r = upload(gc, changed_photo)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "the export file failed verification" in page
    assert "a photo or signature does not match its SHA-256" in page and "Import records exported from a phone" in page
    assert counts(app) == (0, 0, 0)


def test_a_good_file_is_imported_once_and_reimporting_changes_nothing(app, field):  # noqa: F811
    file_a, file_b, env = exports(field)
    gc = Console(app, "gc_case")
    assert gc.get("/imports").status_code == 200
    assert upload(gc, file_a, csrf=False).status_code == 400     # CSRF
    assert Console(app, "gc_lead").post("/imports", {}).status_code == 403
    assert upload(Console(app, "other_case"), file_a).status_code == 403   # another office's caseworker
    assert counts(app) == (0, 0, 0)

    r = upload(gc, file_a)
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page
    assert f'data-visit="{env["visit_id"]}" data-outcome="imported"' in page
    assert 'data-outcome="skipped"' in page and "草稿尚未完成" in page          # the draft is not imported
    assert counts(app) == (1, 2, 1)
    with app.app_context():
        visit = db.session.get(Visit, env["visit_id"])
        assert visit.source == "device" and visit.content_hash == content_hash(env) and visit.envelope == env
        assert visit.status == "complete"                   # one attestation (the phone's own) so far
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "visits.import")).one()
        assert entry.after["counts"]["imported"] == 1 and entry.actor_id == field["org"].gc_case

    r = upload(gc, file_a)                                  # idempotent
    assert r.status_code == 200 and f'data-visit="{env["visit_id"]}" data-outcome="already"' in r.get_data(as_text=True)
    assert counts(app)[:2] == (1, 2)

    r = upload(gc, file_b)                                  # the partner's phone's file: its attestation
    assert r.status_code == 200 and 'data-outcome="imported"' in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "accepted"
        assert db.session.get(Case, field["case_id"]).status == "visited"
    r = upload(gc, file_b)
    assert r.status_code == 200 and 'data-outcome="already"' in r.get_data(as_text=True)
    assert counts(app)[:2] == (1, 2)


def test_an_attestation_before_its_visit_waits(app, field):  # noqa: F811
    file_a, file_b, env = exports(field)
    gc = Console(app, "gc_case")
    r = upload(gc, file_b)
    assert r.status_code == 200 and 'data-outcome="waiting"' in r.get_data(as_text=True)
    assert counts(app)[0] == 0
    assert upload(gc, file_a).status_code == 200
    assert upload(gc, file_b).status_code == 200
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "accepted"


def test_a_revoked_phones_file_is_refused(app, field):  # noqa: F811
    from server.models import Device, User
    from server.operations.sync import revoke

    file_a, _, _ = exports(field)
    with app.app_context():
        revoke(db.session.get(Device, file_a["device"]["device_id"]), db.session.get(User, field["org"].gc_case))
        db.session.commit()
    r = upload(Console(app, "gc_case"), file_a)
    assert r.status_code == 422 and "已被停用" in r.get_data(as_text=True)
    assert counts(app) == (0, 0, 0)


def test_a_file_over_the_upload_limit_is_refused_in_words(app, field):  # noqa: F811
    file_a, _, _ = exports(field)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    r = upload(Console(app, "gc_case"), file_a)
    assert r.status_code == 413 and "文件超过上传上限" in r.get_data(as_text=True)
    assert counts(app) == (0, 0, 0)
