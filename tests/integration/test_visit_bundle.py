"""A visit with its photos and the phone's own attestation in one multipart request (POST /api/v1/visits):
what a phone on a bad network sends instead of one request per photo.  Through HTTP, on SQLite and PostgreSQL."""

# ruff: noqa: F811 (the ``field`` fixture is imported from test_sync_api and requested by name)
from __future__ import annotations

import io
import json

from sqlalchemy import event, func, select

from server.extensions import db
from server.models import Attestation, AuditEntry, Case, Visit
from server.models.attachments import Attachment
from tests.integration.test_sync_api import (  # noqa: F401
    att,
    envelope,
    field,  # noqa: F401 (the fixture)
    jpeg,
    png,
)


def bundle(phone, env: dict, files: list[tuple[bytes, str]], *, attest: bool = True, signature: str | None = None,
           names: list[str] | None = None, parts: dict | None = None):
    """POST the envelope, the files (each named by its SHA-256 unless ``names`` says otherwise) and, with
    ``attest``, the phone's own attestation of the content hash it computed."""
    from sync.protocol import content_hash

    data: dict = {"envelope": (io.BytesIO(json.dumps(env).encode()), "envelope.json", "application/json")}
    for i, (body, mime) in enumerate(files):
        name = names[i] if names else att(body, "photo", "x", mime)["sha256"]
        data[name] = (io.BytesIO(body), f"{i}.{mime.split('/')[1]}", mime)
    if attest:
        h = content_hash(env)
        data["attestation"] = (io.BytesIO(json.dumps({
            "content_hash": h, "device_id": phone.device_id,
            "signature": signature or phone.sign(env["visit_id"], h)}).encode()), "attestation.json", "application/json")
    data.update(parts or {})
    return phone.client.post("/api/v1/visits", data=data, content_type="multipart/form-data",
                             headers={**phone.auth, "Idempotency-Key": env["visit_id"]})


def counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(t))
                     for t in (Visit, Attachment, Attestation, AuditEntry))


def ready(field):
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg((20, 200, 30)), png((5, 6, 7))
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant",
                                                                           "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    return a, b, env, [(photo, "image/jpeg"), (signature, "image/png")]


def test_one_request_stores_the_photos_the_visit_and_the_attestation_and_the_partner_completes_it(app, field):
    a, b, env, files = ready(field)
    commits = []
    with app.app_context():
        engine = db.engine
    listen = lambda conn: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listen)
    try:
        r = bundle(a, env, files)
    finally:
        event.remove(engine, "commit", listen)
    assert r.status_code == 201, r.json
    body = r.json
    assert body["status"] == "complete" and body["missing_attachments"] == []
    assert body["attestation"]["http_status"] == 201 and body["attested_by"] == [field["org"].gc_inv1]
    assert len(commits) == 1, len(commits)   # the files, the visit and the attestation together
    with app.app_context():
        for data, _ in files:
            assert db.session.get(Attachment, att(data, "photo", "x")["sha256"]) is not None
    # The partner's phone finds it to attest in its pull, attests, and the case takes the home visit.
    waiting = b.pull().json["to_attest"]
    assert [w["visit_id"] for w in waiting] == [env["visit_id"]]
    assert b.attest(env["visit_id"], body["content_hash"]).json["status"] == "accepted"
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        assert case.status == "visited" and case.visit_on.isoformat() == "2025-11-04"
    # The caseworker's case page shows the visit with its photo.
    from tests.conftest import sign_in

    console = app.test_client()
    sign_in(console, "gc_case")
    page = console.get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert f"/files/{att(files[0][0], 'photo', 'x')['sha256']}/thumb" in page
    assert f"/files/{att(files[1][0], 'photo', 'x')['sha256']}/thumb" in page
    for variant in ("thumb", "display", "original"):   # a file opened on its own can run nothing
        shown = console.get(f"/files/{att(files[0][0], 'photo', 'x')['sha256']}/{variant}")
        assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
        assert "sandbox" in shown.headers["Content-Security-Policy"]
        assert "default-src 'none'" in shown.headers["Content-Security-Policy"]
        shown.close()


def test_the_same_bundle_again_changes_nothing(app, field):
    a, _, env, files = ready(field)
    assert bundle(a, env, files).status_code == 201
    before = counts(app)
    again = bundle(a, env, files)
    assert again.status_code == 200 and again.json["attestation"]["http_status"] == 200
    assert counts(app) == before


BROWSER_BOUNDARY = "----WebKitFormBoundaryr7Tq0aVb2xYzKp1M"


def framed(parts: list[tuple[str, bytes, str]], boundary: str, eol: bytes) -> bytes:
    """A multipart body by hand: each part (name, bytes, type) as a file, lines ended by ``eol``."""
    out = b""
    for name, data, kind in parts:
        out += (f"--{boundary}".encode() + eol + f'Content-Disposition: form-data; name="{name}"; filename="{name}"'
                .encode() + eol + f"Content-Type: {kind}".encode() + eol + eol + data + eol)
    return out + f"--{boundary}--".encode() + eol


def framed_bundle(phone, env: dict, files, *, key: str | None = None, eol: bytes = b"\r\n"):
    """POST the bundle framed by hand as the phone's browser frames it (``eol`` b"\\n": as a lenient client
    does), with the phone's own attestation, under ``key`` as its Idempotency-Key (the visit id by default)."""
    from sync.protocol import content_hash

    h = content_hash(env)
    own = json.dumps({"content_hash": h, "device_id": phone.device_id, "signature": phone.sign(env["visit_id"], h)})
    parts = [("envelope", json.dumps(env).encode(), "application/json"),
             *((att(data, "photo", "x", mime)["sha256"], data, mime) for data, mime in files),
             ("attestation", own.encode(), "application/json")]
    return phone.client.post("/api/v1/visits", data=framed(parts, BROWSER_BOUNDARY, eol),
                             content_type=f"multipart/form-data; boundary={BROWSER_BOUNDARY}",
                             headers={**phone.auth, "Idempotency-Key": key or env["visit_id"]})


def test_a_bundle_framed_as_a_browser_frames_it_or_loosely_is_read_alike(app, field):
    """The phone's browser frames a bundle strictly (read by server.multipart's splitter); a client that ends its
    lines with a bare LF is read by werkzeug's parser. Both store the same visit; the resend is "already there"."""
    from sync.protocol import content_hash

    a, _, env, files = ready(field)
    loose = framed_bundle(a, env, files, eol=b"\n")
    assert loose.status_code == 201 and loose.json["status"] == "complete", loose.json
    assert loose.json["attestation"]["http_status"] == 201
    before = counts(app)
    strict = framed_bundle(a, env, files)
    assert strict.status_code == 200 and strict.json["status"] == "complete", strict.json
    assert strict.json["content_hash"] == loose.json["content_hash"] == content_hash(env)
    assert strict.json["attestation"]["http_status"] == 200 and counts(app) == before
    with app.app_context():
        for data, _ in files:
            stored = db.session.get(Attachment, att(data, "photo", "x")["sha256"])
            assert stored is not None and stored.size == len(data)


def test_a_bundle_may_leave_files_for_a_later_upload(app, field):
    a, _, env, files = ready(field)
    r = bundle(a, env, files[:1])
    assert r.status_code == 201 and r.json["status"] == "incomplete"
    assert r.json["missing_attachments"] == [att(files[1][0], "photo", "x")["sha256"]]
    assert a.put(files[1][0], "image/png").status_code == 201
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "complete"


def test_files_sent_before_by_put_are_not_needed_again(app, field):
    a, _, env, files = ready(field)
    for data, mime in files:
        assert a.put(data, mime).status_code == 201
    r = bundle(a, env, [])
    assert r.status_code == 201 and r.json["status"] == "complete"


def test_a_refused_file_refuses_the_whole_request_and_stores_nothing(app, field):
    a, _, env, files = ready(field)
    before = counts(app)
    photo = files[0][0]
    # Not listed in the envelope.
    stranger = jpeg((1, 2, 3))
    r = bundle(a, env, files + [(stranger, "image/jpeg")])
    assert r.status_code == 422 and r.json["error"] == "attachment_not_listed"
    assert r.json["problems"][0]["path"] == "files" and r.json["message_en"]
    # Bytes that do not hash to the name they came under (the name is a listed file's).
    r = bundle(a, env, [(photo[:-200] + b"\x00" * 200, "image/jpeg")], names=[att(photo, "photo", "x")["sha256"]])
    assert r.status_code == 422 and r.json["error"] == "hash_mismatch"
    assert r.json["problems"][0]["path"] == "attachments/0"
    # A damaged image under its own (listed) name.
    broken = photo[: len(photo) // 2]
    env2 = {**env, "attachments": [att(broken, "photo", "house_outside"), env["attachments"][1]]}
    r = bundle(a, env2, [(broken, "image/jpeg")])
    assert r.status_code == 422 and r.json["error"] == "corrupt"
    # Not an image at all.
    text = b"not a photo at all"
    env3 = {**env, "attachments": [att(text, "photo", "house_outside"), env["attachments"][1]]}
    r = bundle(a, env3, [(text, "image/jpeg")])
    assert r.status_code == 415 and r.json["error"] == "unsupported_type"
    assert counts(app) == before


def test_a_refused_attestation_leaves_the_visit_stored_and_says_why(app, field):
    a, _, env, files = ready(field)
    r = bundle(a, env, files, signature="A" * 86)
    assert r.status_code == 201 and r.json["status"] == "complete"
    assert r.json["attestation"]["http_status"] == 422 and r.json["attestation"]["error"] == "signature_invalid"
    assert r.json["attestation"]["message"] and r.json["attestation"]["message_en"]
    assert r.json["attested_by"] == []
    assert a.attest(env["visit_id"], r.json["content_hash"]).status_code == 201   # the outbox's next try


def test_bad_multipart_requests_are_clear_errors(app, field):
    a, _, env, files = ready(field)
    before = counts(app)
    headers = {**a.auth, "Idempotency-Key": env["visit_id"]}
    post = lambda data: a.client.post("/api/v1/visits", data=data, content_type="multipart/form-data",  # noqa: E731
                                      headers=headers)
    r = post({"x": (io.BytesIO(files[0][0]), "a.jpg", "image/jpeg")})
    assert r.status_code == 400 and r.json["error"] == "body_invalid" and "envelope" in r.json["message_en"]
    r = post({"envelope": (io.BytesIO(b"{not json"), "e.json", "application/json")})
    assert r.status_code == 400 and r.json["error"] == "body_invalid"
    r = post({"envelope": (io.BytesIO(json.dumps([1, 2]).encode()), "e.json", "application/json")})
    assert r.status_code == 422 and r.json["error"] == "envelope_invalid"
    nul = {**env, "answers": {**env["answers"], "living": {"conditions": ["adequate"], "notes": "a\u0000b"}}}
    r = post({"envelope": (io.BytesIO(json.dumps(nul).encode()), "e.json", "application/json")})
    assert r.status_code in (400, 422) and r.json["message_en"]
    r = bundle(a, env, files, parts={"attestation": (io.BytesIO(b"[]"), "a.json", "application/json")})
    assert r.status_code == 201 and r.json["attestation"]["http_status"] == 422   # stored; the attestation refused
    assert counts(app)[0] == before[0] + 1
    # A part without a name (found by the API fuzzer: it was a 500 in the input guard).
    raw = (b'--b0\r\nContent-Disposition: form-data; filename="x.png"\r\nContent-Type: image/png\r\n\r\n'
           + files[1][0] + b"\r\n--b0--\r\n")
    r = a.client.post("/api/v1/visits", data=raw, content_type="multipart/form-data; boundary=b0", headers=headers)
    assert r.status_code == 400 and r.json["error"] == "body_invalid"
    # No token, no entry.
    r = a.client.post("/api/v1/visits", data={"envelope": (io.BytesIO(b"{}"), "e.json", "application/json")},
                      content_type="multipart/form-data")
    assert r.status_code == 401


def _changing_the_case_meanwhile(monkeypatch, app, case_id: int, times: int) -> list[int]:
    """Make the office change the case (its version moves on) from another connection each time the partner's
    attestation has read it and is about to record the home visit, ``times`` times; returns the clashes made."""
    from server.operations import sync as sync_ops

    real = sync_ops.perform
    made: list[int] = []

    def perform(*args, **kwargs):
        if len(made) < times:
            with db.engine.begin() as other:   # another request, committed before this one's commit
                other.exec_driver_sql(f"UPDATE cases SET version = version + 1 WHERE id = {int(case_id)}")
            made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_ops, "perform", perform)
    return made


def test_a_case_changed_while_the_attestation_was_worked_out_is_accepted_on_a_second_try(app, field, monkeypatch):
    a, b, env, files = ready(field)
    body = bundle(a, env, files).json
    made = _changing_the_case_meanwhile(monkeypatch, app, field["case_id"], times=1)
    r = b.attest(env["visit_id"], body["content_hash"])
    assert made == [1]
    assert r.status_code == 201 and r.json["status"] == "accepted", r.json
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        assert case.status == "visited"
        assert [e.action for e in case.events].count("record_home_visit") == 1   # recorded once, not twice
        assert db.session.scalar(select(func.count()).select_from(Attestation)
                                 .where(Attestation.visit_id == env["visit_id"])) == 2


def test_a_case_that_keeps_changing_answers_409_keeps_nothing_and_the_resend_is_accepted(app, field, monkeypatch):
    a, b, env, files = ready(field)
    body = bundle(a, env, files).json
    before = counts(app)
    _changing_the_case_meanwhile(monkeypatch, app, field["case_id"], times=2)
    r = b.attest(env["visit_id"], body["content_hash"])
    assert r.status_code == 409 and r.json["error"] == "edited_meanwhile" and r.json["message_en"]
    assert counts(app) == before   # neither the attestation nor its acceptance: the phone sends it again
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "complete"
    again = b.attest(env["visit_id"], body["content_hash"])
    assert again.status_code == 201 and again.json["status"] == "accepted"
