"""The sync API through HTTP, as a scripted phone uses it: enrol, pull, push, attest, replay, merge."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import threading
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, Device, EnrolmentCode, User, Visit
from server.operations.cases import perform, register_application
from server.operations.sync import create_enrolment
from server.operations.visits import assign_visit
from sync.protocol import attestation_message
from tests.conftest import id_number

TODAY = dt.date(2025, 11, 3)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jpeg(colour=(180, 120, 60), exif_gps=False) -> bytes:
    img = Image.new("RGB", (64, 48), colour)
    buf = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        gps = exif.get_ifd(0x8825)
        gps.update({1: "N", 2: (34.0, 45.0, 0.0), 3: "E", 4: (113.0, 40.0, 0.0)})
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def png(colour=(10, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 40), colour).save(buf, "PNG")
    return buf.getvalue()


class Phone:
    """A scripted phone: its own ECDSA P-256 key, its token, and the API calls of the field app."""

    def __init__(self, client):
        self.client = client
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.token = self.device_id = None

    def jwk(self) -> dict:
        n = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64url(n.x.to_bytes(32, "big")), "y": b64url(n.y.to_bytes(32, "big"))}

    def enrol(self, code: str, name: str = "红米 Note"):
        r = self.client.post("/api/v1/devices/enroll", json={"code": code, "device_name": name,
                                                             "public_key": self.jwk()})
        if r.status_code == 201:
            self.token, self.device_id = r.json["token"], r.json["device_id"]
        return r

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def pull(self, since: str | None = None):
        return self.client.get("/api/v1/sync/pull" + (f"?since={since}" if since else ""), headers=self.auth)

    def put(self, data: bytes, mime: str = "image/jpeg", name: str | None = None):
        sha = name or hashlib.sha256(data).hexdigest()
        return self.client.put(f"/api/v1/attachments/{sha}", data=data, headers={**self.auth, "Content-Type": mime})

    def post_visit(self, envelope: dict, key: str | None = None):
        return self.client.post("/api/v1/visits", json=envelope,
                                headers={**self.auth, "Idempotency-Key": key or envelope.get("visit_id", "")})

    def sign(self, visit_id: str, content_hash: str) -> str:
        der = self.key.sign(attestation_message(visit_id, content_hash), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def attest(self, visit_id: str, content_hash: str, signature: str | None = None):
        return self.client.post("/api/v1/attestations", headers=self.auth, json={
            "visit_id": visit_id, "content_hash": content_hash, "device_id": self.device_id,
            "signature": signature or self.sign(visit_id, content_hash)})


def answers_for(assignment: dict, income: str = "300.00", housing: str = "自有住房45平方米") -> dict:
    """Survey answers for the pulled assignment (the household as the team found it)."""
    from server.domain.declaration import INCOME_SOURCES, PROPERTY_ITEMS

    members = [{"name": m["name"], "id_number": m["id_number"], "relation": m["relation"],
                "co_residing": m["co_residing"], "health": "healthy", "disabled": False, "student": False,
                "work": "unemployed", "able_to_work": False} for m in assignment["members"]]
    return {
        "members": members,
        "income": {s: ([income] + ["0.00"] * 5 if s == "wages" else ["0.00"] * 6) for s in INCOME_SOURCES},
        "property": {**{item: "" for item in PROPERTY_ITEMS}, "housing": housing, "vehicles_count": 0},
        "living": {"conditions": ["adequate"], "notes": "住房简陋"},
        "findings": {"summary": "情况属实", "recommendation": "eligible"},
    }


def envelope(assignment: dict, attachments: list[dict], investigators: list[int], **answers_kw) -> dict:
    return {
        "protocol": 1, "visit_id": str(uuid.uuid4()), "assignment_id": assignment["assignment_id"],
        "case_id": assignment["case_id"], "form_id": assignment["form_id"], "form_version": assignment["form_version"],
        "base_version": assignment["base_version"], "supersedes": None, "answers": answers_for(assignment, **answers_kw),
        "attachments": attachments, "investigators": investigators,
        "gps": {"start": {"lat": "34.7500000", "lon": "113.6700000", "accuracy": "12"}, "finish": {"refused": True}},
        "started_at": "2025-11-04T09:00:00+08:00", "finished_at": "2025-11-04T09:50:00+08:00",
    }


def r_hash(env: dict) -> str:
    from sync.protocol import content_hash

    return content_hash(env)


def att(data: bytes, role: str, slot: str, mime: str = "image/jpeg") -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "type": mime, "role": role, "slot": slot}


@pytest.fixture
def field(app, org):
    """An accepted guancheng case with a home visit assigned to gc_inv1 and gc_inv2, both phones enrolled."""
    app.config["RUHU_TODAY"] = TODAY
    client = app.test_client()
    with app.app_context():
        from server.domain.declaration import parse_declaration
        from server.models import Unit

        caseworker = db.session.get(User, org.gc_case)
        declaration, _ = parse_declaration({"income_wages_1": "300", **{f"income_wages_{m}": "0" for m in range(2, 7)}, "property_housing": "自有住房45平方米"})
        case = register_application(
            community=db.session.get(Unit, org.c1), actor=caseworker, today=TODAY, declaration=declaration,
            members=[{"name": "张建国", "relation": "head", "id_number": id_number("410104", dt.date(1962, 5, 1), 11)},
                     {"name": "李秀英", "relation": "spouse",
                      "id_number": id_number("410104", dt.date(1965, 3, 8), 22)}],
            materials=["application", "hukou_id", "income_property_statement", "integrity_pledge",
                       "verification_authorisation"])
        perform(case, "accept", caseworker, {"applicant_signed": True}, today=TODAY)
        assign_visit(case, caseworker, [org.gc_inv1, org.gc_inv2], today=TODAY)
        codes = [create_enrolment(db.session.get(User, uid), caseworker).code for uid in (org.gc_inv1, org.gc_inv2)]
        case_id = case.id
    phones = [Phone(client), Phone(client)]
    for phone, code in zip(phones, codes, strict=True):
        assert phone.enrol(code).status_code == 201
    return {"client": client, "phones": phones, "case_id": case_id, "org": org}


def visit_ready(field, **kw):
    """Pull, upload a photo and the applicant's signature, post the visit: the phone's whole push."""
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg(), png()
    for data, mime in ((photo, "image/jpeg"), (signature, "image/png")):
        assert a.put(data, mime).status_code in (200, 201)
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2], **kw)
    r = a.post_visit(env)
    assert r.status_code == 201, r.json
    return env, r.json


# --- devices ------------------------------------------------------------------------------------

def test_enrolment_codes_are_one_time(app, field):
    a = field["phones"][0]
    with app.app_context():
        used = db.session.scalar(select(EnrolmentCode).where(EnrolmentCode.device_id == a.device_id)).code
    r = Phone(field["client"]).enrol(used)
    assert r.status_code == 410 and r.json["error"] == "enrolment_code_gone" and r.json["message_en"]


def test_expired_and_unknown_codes(app, field, org):
    with app.app_context():
        row = create_enrolment(db.session.get(User, org.gc_inv3), db.session.get(User, org.gc_case))
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
        code = row.code
    assert Phone(field["client"]).enrol(code).status_code == 410
    assert Phone(field["client"]).enrol("NOSUCHCODE").status_code == 404


@pytest.mark.parametrize("key", [None, {"kty": "RSA"}, {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
                                 {"kty": "EC", "crv": "P-256", "x": b64url(b"\x01" * 32), "y": b64url(b"\x02" * 32)}])
def test_bad_public_keys_are_refused(app, field, org, key):
    with app.app_context():
        code = create_enrolment(db.session.get(User, org.gc_inv3), None).code
    r = field["client"].post("/api/v1/devices/enroll", json={"code": code, "device_name": "x", "public_key": key})
    assert r.status_code == 422 and r.json["error"] == "public_key_invalid"


def test_revoked_device_is_refused_at_once(app, field):
    a = field["phones"][0]
    assert a.pull().status_code == 200
    with app.app_context():
        from server.operations.sync import revoke

        revoke(db.session.get(Device, a.device_id), None, actor_label="test")
    r = a.pull()
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    assert field["client"].get("/api/v1/sync/pull").status_code == 401
    assert field["client"].get("/api/v1/sync/pull", headers={"Authorization": "Bearer nope"}).status_code == 401


# --- pull -----------------------------------------------------------------------------------------

def test_pull_gives_my_assignments_with_what_a_visitor_needs(field):
    body = field["phones"][0].pull().json
    assert body["full"] is True and len(body["assignments"]) == 1
    a = body["assignments"][0]
    assert a["case_id"] == field["case_id"] and a["form_id"] == "household_survey" and a["base_version"] == 1
    assert [m["name"] for m in a["members"]] == ["张建国", "李秀英"]
    assert a["deadline"] == "2025-11-10" and a["deadline_provisional"] is False
    assert "13900000000" not in json.dumps(body, ensure_ascii=False)
    assert {f["id"] for f in body["forms"]} >= {"household_survey"}


def test_pull_is_incremental_and_never_silently_gappy(app, field, org):
    a = field["phones"][0]
    first = a.pull().json
    again = a.pull(first["cursor"]).json
    assert again["full"] is False and again["assignments"] == [] and again["revoked"] == []
    with app.app_context():   # the caseworker re-assigns: the old assignment is revoked, a new one appears
        from server.operations.accounts import add_user

        extra = add_user("gc_inv4", "investigator", "410104005", "correct-horse-1")
        db.session.commit()
        assign_visit(db.session.get(Case, field["case_id"]), db.session.get(User, org.gc_case),
                     [org.gc_inv1, extra.id], today=TODAY)
    changed = a.pull(again["cursor"]).json
    assert changed["revoked"] == [first["assignments"][0]["assignment_id"]] and len(changed["assignments"]) == 1
    b = field["phones"][1]     # gc_inv2 is no longer on the team
    assert b.pull(b.pull().json["cursor"]).json["assignments"] == []
    for cursor in ("garbage", b.pull().json["cursor"], "eyJ2IjoyfQ"):
        body = a.pull(cursor).json
        assert body["full"] is True and len(body["assignments"]) == 1


# --- attachments ---------------------------------------------------------------------------------

def test_attachment_answers(field):
    a = field["phones"][0]
    photo = jpeg(exif_gps=True)
    assert a.put(photo).status_code == 201
    assert a.put(photo).status_code == 200
    assert a.put(photo, name="0" * 64).json["error"] == "hash_mismatch"
    assert a.put(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png").status_code == 415
    assert a.put(png(), "image/jpeg").status_code == 415
    assert a.put(jpeg()[:200]).status_code == 422
    assert a.put(b"").status_code == 422


def test_no_gps_in_the_displayed_copy(app, field, org):
    from server.operations.attachments import store

    photo = jpeg(exif_gps=True)
    assert field["phones"][0].put(photo).status_code == 201
    with app.app_context():
        from server.models.attachments import Attachment

        row = db.session.get(Attachment, hashlib.sha256(photo).hexdigest())
        assert row.gps and round(float(row.gps["latitude"]), 2) == 34.75
        with Image.open(store().display_path(row.sha256)) as shown:
            assert not shown.getexif() and "exif" not in shown.info


def test_oversized_request_is_413(app, field):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    r = field["phones"][0].put(jpeg() + b"\0" * 2000)
    assert r.status_code == 413 and r.json["error"] == "too_large"


# --- visits, replay, conflicts ---------------------------------------------------------------------

def test_a_visit_waits_for_its_attachments(field):
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg((1, 2, 3)), png((5, 5, 5))
    assert a.put(signature, "image/png").status_code == 201
    env = envelope(assignment, [att(photo, "photo", "kitchen"), att(signature, "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    r = a.post_visit(env)
    assert r.status_code == 201 and r.json["status"] == "incomplete"
    assert r.json["missing_attachments"] == [hashlib.sha256(photo).hexdigest()]
    assert a.put(photo).status_code == 201
    status = field["client"].get(f"/api/v1/visits/{env['visit_id']}", headers=a.auth).json
    assert status["status"] == "complete" and status["missing_attachments"] == []


def test_replay_conflict_and_stale_revision(app, field):
    env, body = visit_ready(field)
    a = field["phones"][0]
    for _ in range(3):   # a resend changes nothing and answers the same
        r = a.post_visit(env)
        assert r.status_code == 200 and r.json == body
    changed = json.loads(json.dumps(env))
    changed["answers"]["living"]["notes"] = "另有说法"
    r = a.post_visit(changed)
    assert r.status_code == 409 and r.json["error"] == "visit_conflict"
    edit = {**changed, "visit_id": str(uuid.uuid4()), "supersedes": env["visit_id"]}
    r = a.post_visit(edit)   # changed content with the original's drawn signature: refused, naming the slot
    assert r.status_code == 422 and r.json["problems"][0]["path"] == "attachments/1"
    assert r.json["problems"][0]["code"] == "signature_reused" and "申请人签字" in r.json["problems"][0]["message"]
    fresh = png((90, 90, 90))
    assert a.put(fresh, "image/png").status_code == 201
    edit["attachments"] = [edit["attachments"][0], att(fresh, "signature", "applicant", "image/png")]
    assert a.post_visit(edit).status_code == 201
    late = {**edit, "visit_id": str(uuid.uuid4()), "supersedes": env["visit_id"]}
    r = a.post_visit(late)
    assert r.status_code == 409 and r.json["error"] == "stale_revision"
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 2
        # The original stays the record until the amendment itself is attested.
        assert db.session.get(Visit, env["visit_id"]).status == "complete"
    for phone in field["phones"]:
        assert phone.attest(edit["visit_id"], r_hash(edit)).status_code == 201
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "superseded"
        assert db.session.get(Visit, edit["visit_id"]).status == "accepted"


def test_invalid_visits_name_every_bad_field(field):
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    env = envelope(assignment, [], [field["org"].gc_inv1])
    env["answers"]["members"][0]["id_number"] = "410104196205010110"
    env["answers"]["income"]["wages"] = ["abc"] + ["0.00"] * 5
    r = a.post_visit(env)
    assert r.status_code == 422 and r.json["error"] == "answers_invalid"
    paths = {p["path"] for p in r.json["problems"]}
    assert {"answers/members/0/id_number", "answers/income/wages/0"} <= paths
    assert a.post_visit({"protocol": 1}).json["error"] == "envelope_invalid"
    env = envelope(assignment, [], [field["org"].gc_inv1])
    assert a.post_visit(env, key=str(uuid.uuid4())).json["error"] == "idempotency_key_mismatch"
    other = envelope({**assignment, "assignment_id": 999999}, [], [field["org"].gc_inv1])
    assert a.post_visit(other).status_code == 404


@pytest.mark.parametrize("wages, path, code, words", [
    (["1200", "", "", "", "", ""], "answers/income/wages", "partial_months", "第2个月、第3个月、第4个月、第5个月、第6个月未填写"),
    (["1200", "1200", "1200", "", "1200", "1200"], "answers/income/wages", "partial_months", "“工资性收入”第4个月未填写"),
    (["12,50", "0", "0", "0", "0", "0"], "answers/income/wages/0", "invalid_amount", "逗号只能用作千位分隔符"),
])
def test_a_partly_filled_income_or_a_stray_comma_is_refused_and_nothing_stored(app, field, wages, path, code, words):
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg((7, 8, 9)), png((6, 6, 6))
    env = envelope(assignment, [att(photo, "photo", "kitchen"), att(signature, "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    env["answers"]["income"]["wages"] = wages
    r = a.post_visit(env)
    assert r.status_code == 422 and r.json["error"] == "answers_invalid"
    [problem] = [p for p in r.json["problems"] if p["path"].startswith("answers/income")]
    assert (problem["path"], problem["code"]) == (path, code)
    assert words in problem["message"] and problem["message_en"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 0
        assert db.session.get(Case, field["case_id"]).record_version == 1


def test_the_same_visit_from_two_threads_is_stored_once(app, field):
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    env = envelope(assignment, [att(png((7, 7, 7)), "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    results = _post_at_once(app, [(a, env), (a, env)])
    assert sorted(code for _, code, _ in results) == [200, 201]
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id)).where(Visit.id == env["visit_id"])) == 1
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "visit.submit")) == 1


def _then(monkeypatch, name: str, then) -> None:
    """``server.operations.sync.<name>`` made to call ``then()`` after it has run, before it returns."""
    from server.operations import sync as sync_ops

    real = getattr(sync_ops, name)

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        then()
        return out

    monkeypatch.setattr(sync_ops, name, wrapped)


def _slowed(monkeypatch, name: str) -> None:
    """``server.operations.sync.<name>`` made slow (0.3 s after it returns): two requests sent at once would
    both pass the check it serves if nothing held one back until the other's commit."""
    _then(monkeypatch, name, lambda: time.sleep(0.3))


def _post_at_once(app, sends: list) -> list[tuple[str, int, dict]]:
    """POST each (phone, envelope) from its own thread at the same moment: (visit id, status, body) each."""
    results, barrier = [], threading.Barrier(len(sends))

    def send(phone, env):
        client = app.test_client()
        barrier.wait()
        r = client.post("/api/v1/visits", json=env, headers={**phone.auth, "Idempotency-Key": env["visit_id"]})
        results.append((env["visit_id"], r.status_code, r.get_json()))

    threads = [threading.Thread(target=send, args=pair) for pair in sends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_phones_sending_a_first_record_at_once_store_one(app, field, monkeypatch):
    """Both partners start their own record offline and send it at the same moment: the assignment is locked
    before its records are counted (a row lock on PostgreSQL, the write lock on SQLite), so exactly one is
    stored and the other is told which one stands (409 record_exists)."""
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    team = [field["org"].gc_inv1, field["org"].gc_inv2]
    photo, signature = jpeg(), png()
    files = [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant", "image/png")]
    for data, mime in ((photo, "image/jpeg"), (signature, "image/png")):
        assert a.put(data, mime).status_code in (200, 201)
    _slowed(monkeypatch, "_live_records")   # the count of the assignment's records
    results = _post_at_once(app, [(a, envelope(assignment, files, team)),
                                  (b, envelope(assignment, files, team, income="999.00"))])
    assert sorted(code for _, code, _ in results) == [201, 409], results
    stored = next(visit_id for visit_id, code, _ in results if code == 201)
    refused = next(body for _, code, body in results if code == 409)
    assert refused["error"] == "record_exists" and refused["visit_id"] == stored
    with app.app_context():
        assert db.session.scalars(select(Visit.id).where(Visit.assignment_id == assignment["assignment_id"])).all() \
            == [stored]


def test_two_amendments_of_one_record_at_once_store_one(app, field, monkeypatch):
    """Both partners correct the same record at the same moment: the assignment is held while the line of
    revisions is read, so one amendment is stored and the other is told its record is no longer current."""
    env, _ = visit_ready(field)
    sends = []
    for n, phone in enumerate(field["phones"]):
        fresh = png((n, 90, 90))   # each amendment with its own fresh signature
        assert phone.put(fresh, "image/png").status_code in (200, 201)
        edit = json.loads(json.dumps(env))
        edit["answers"]["living"]["notes"] = f"更正{n + 1}"
        edit.update(visit_id=str(uuid.uuid4()), supersedes=env["visit_id"],
                    attachments=[env["attachments"][0], att(fresh, "signature", "applicant", "image/png")])
        sends.append((phone, edit))
    _slowed(monkeypatch, "classify_submission")   # is the record it replaces still current?
    results = _post_at_once(app, sends)
    assert sorted(code for _, code, _ in results) == [201, 409], results
    assert next(body for _, code, body in results if code == 409)["error"] == "stale_revision"
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id)).where(Visit.supersedes_id == env["visit_id"])) == 1


@pytest.mark.parametrize("amendment", [True, False])
@pytest.mark.parametrize("assignment_id", [2**31, 2**40, 2**62])
def test_a_visit_naming_an_assignment_past_int4_is_refused_not_a_500(app, field, assignment_id, amendment):
    """The assignment is read (and locked) before anything else of the record: an id no column can hold is
    refused there as bad input on both databases, and nothing is stored — for an amendment (locked before its
    record is looked at) and for a first record (read with its team and profile in one statement)."""
    env, _ = visit_ready(field)
    a = field["phones"][0]
    edit = {**json.loads(json.dumps(env)), "visit_id": str(uuid.uuid4()), "assignment_id": assignment_id}
    if amendment:
        edit["supersedes"] = env["visit_id"]
    r = a.post_visit(edit)
    assert 400 <= r.status_code < 500 and r.json["message_en"], (r.status_code, r.json)
    with app.app_context():
        assert db.session.get(Visit, edit["visit_id"]) is None


@pytest.mark.parametrize("base_version", [2**31, 2**40, 2**62])
def test_a_visit_naming_a_base_version_past_int4_is_refused_not_a_500(app, field, base_version):
    """The case version a visit started from is checked in the assignment's first, locked read: a number no
    column can hold is refused as bad input there, on both databases, and nothing is stored."""
    env, _ = visit_ready(field)
    edit = {**json.loads(json.dumps(env)), "visit_id": str(uuid.uuid4()), "base_version": base_version}
    r = field["phones"][0].post_visit(edit)
    assert 400 <= r.status_code < 500 and r.json["message_en"], (r.status_code, r.json)
    with app.app_context():
        assert db.session.get(Visit, edit["visit_id"]) is None


# --- attestations and the merge -------------------------------------------------------------------

def _paused_inside(monkeypatch, name: str):
    """``server.operations.sync.<name>`` made to wait, once it has run, until the test says go: (reached, go)."""
    reached, go = threading.Event(), threading.Event()
    _then(monkeypatch, name, lambda: (reached.set(), go.wait(10)))
    return reached, go


def _locked_rows(app, rows: dict[str, int | str]) -> set[str]:
    """Of these rows (table -> id), the ones another transaction holds a lock on (PostgreSQL, NOWAIT)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    locked = set()
    with app.app_context():
        for table, key in rows.items():
            with db.engine.connect() as conn:
                try:
                    conn.execute(text(f"SELECT 1 FROM {table} WHERE id = :id FOR UPDATE NOWAIT"), {"id": key})
                except OperationalError:   # lock_not_available
                    locked.add(table)
                conn.rollback()
    return locked


@pytest.mark.parametrize("step", ["visit", "attestation"])
def test_a_phone_request_locks_the_row_it_serialises_on_and_no_other(app, field, monkeypatch, step):
    """The visit's assignment (and an attestation's visit) is read with its team, case and profile in one
    locked statement: only the assignment's (the visit's) row may be locked by it — not the team's users (a
    teammate signing in, an administrator unlocking an account) nor the case (the office at work on it)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite's one write lock is taken by a write, not a read")
    a, b = field["phones"]
    if step == "visit":
        assignment = a.pull().json["assignments"][0]
        photo, signature = jpeg(), png()
        for data, mime in ((photo, "image/jpeg"), (signature, "image/png")):
            assert a.put(data, mime).status_code in (200, 201)
        env = envelope(assignment, [att(photo, "photo", "house_outside"),
                                    att(signature, "signature", "applicant", "image/png")],
                       [field["org"].gc_inv1, field["org"].gc_inv2])
        reached, go = _paused_inside(monkeypatch, "validate_visit")   # runs right after the locked read
        send = (a, lambda client: client.post("/api/v1/visits", json=env,
                                              headers={**a.auth, "Idempotency-Key": env["visit_id"]}))
        rows = {"visit_assignments": assignment["assignment_id"], "users": field["org"].gc_inv1,
                "cases": field["case_id"]}
        serialised = "visit_assignments"
    else:
        env, body = visit_ready(field)
        assert a.attest(env["visit_id"], body["content_hash"]).status_code == 201
        reached, go = _paused_inside(monkeypatch, "_check_attestation")   # right after the locked read
        partner = {"visit_id": env["visit_id"], "content_hash": body["content_hash"], "device_id": b.device_id,
                   "signature": b.sign(env["visit_id"], body["content_hash"])}
        send = (b, lambda client: client.post("/api/v1/attestations", json=partner, headers=b.auth))
        with app.app_context():
            assignment_id = db.session.get(Visit, env["visit_id"]).assignment_id
        rows = {"visits": env["visit_id"], "visit_assignments": assignment_id, "users": field["org"].gc_inv1,
                "cases": field["case_id"]}
        serialised = "visits"
    answers = []
    worker = threading.Thread(target=lambda: answers.append(send[1](app.test_client()).status_code))
    worker.start()
    try:
        assert reached.wait(10), "the request never reached the point after its locked read"
        locked = _locked_rows(app, rows)
    finally:
        go.set()
        worker.join(20)
    assert locked == {serialised}
    assert answers == [201]


def test_attestations_and_acceptance_into_the_case(app, field):
    env, body = visit_ready(field, income="450.00", housing="租住公房30平方米")
    a, b = field["phones"]
    h = body["content_hash"]
    assert a.attest(env["visit_id"], "f" * 64).status_code == 422
    assert a.attest(env["visit_id"], h, signature=b64url(b"\0" * 64)).json["error"] == "signature_invalid"
    assert a.attest(env["visit_id"], h, signature=b.sign(env["visit_id"], h)).status_code == 422
    assert a.attest(env["visit_id"], h).status_code == 201
    assert a.attest(env["visit_id"], h).status_code == 200      # idempotent
    assert app.test_client().get(f"/cases/{field['case_id']}").status_code == 302  # console needs sign-in
    with app.app_context():
        assert db.session.get(Case, field["case_id"]).status == "accepted"   # one attestation is not enough
    assert b.attest(env["visit_id"], h).status_code == 201
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        visit = db.session.get(Visit, env["visit_id"])
        assert case.status == "visited" and visit.status == "accepted"
        proposals = visit.merge["proposals"]
        assert proposals["income/wages"] == "450.00" and proposals["property/housing"] == "租住公房30平方米"
        assert proposals["income/business"] == "0.00"     # none declared (no figure): the 0.00 found is new
        assert visit.merge["conflicts"] == {}
        assert [e.action for e in case.events][-1] == "record_home_visit"


def test_a_conflict_must_be_decided_by_the_caseworker(app, field, org):
    from tests.conftest import csrf_token, sign_in

    env, body = visit_ready(field, income="450.00")
    with app.app_context():   # meanwhile the office corrected the same field at the window
        case = db.session.get(Case, field["case_id"])
        case.record = {**case.record, "income/wages": "360.00"}
        db.session.commit()
    a, b = field["phones"]
    for phone in (a, b):
        assert phone.attest(env["visit_id"], body["content_hash"]).status_code == 201
    with app.app_context():
        visit = db.session.get(Visit, env["visit_id"])
        assert visit.merge["conflicts"] == {"income/wages": {"base": "300.00", "current": "360.00",
                                                             "proposed": "450.00"}}
    console = app.test_client()
    sign_in(console, "gc_case")
    page = console.get(f"/cases/{field['case_id']}").get_data(as_text=True)
    import re

    conflict = re.search(r'<tr class="conflict field" data-row="(r\d+)">\s*<td>工资性收入 <strong class="conflict-tag">冲突', page)
    assert conflict and "450.00 元" in page and "360.00 元" in page
    url = f"/cases/{field['case_id']}/visits/{env['visit_id']}/reconcile"
    r = console.post(url, data={"csrf_token": csrf_token(console)})
    assert r.status_code == 422 and "收入（近6个月合计） · 工资性收入" in r.get_data(as_text=True)
    r = console.post(url, data={"csrf_token": csrf_token(console), f"pick:{conflict.group(1)}": "visit"})
    assert r.status_code == 302
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        assert case.record["income/wages"] == "450.00" and case.record_version == 2
        assert str(case.assessed_income_6m) == "450.00"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "visit.reconcile"))
        assert entry.after["changes"]["income/wages"] == {"before": "360.00", "after": "450.00"}
        history = [e for e in case.events if e.action == "reconcile_visit"]
        assert len(history) == 1 and "工资性收入" in history[0].data["finding"]
    r = console.post(url, data={"csrf_token": csrf_token(console), f"pick:{conflict.group(1)}": "visit"})
    assert r.status_code == 409   # reconciled once only


def test_replaying_everything_changes_nothing(app, field):
    env, body = visit_ready(field, income="450.00")
    a, b = field["phones"]
    for _ in range(3):
        a.put(jpeg())
        a.post_visit(env)
        a.attest(env["visit_id"], body["content_hash"])
        b.attest(env["visit_id"], body["content_hash"])
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        assert db.session.scalar(select(func.count(Visit.id))) == 1
        assert [e.action for e in case.events].count("record_home_visit") == 1
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "visit.attest")) == 2


# --- the document ----------------------------------------------------------------------------------

def test_openapi_documents_every_route(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {path for path in doc["paths"]}
    routes = {r.rule.removeprefix("/api/v1").replace("<sha256>", "{sha256}").replace("<visit_id>", "{visit_id}")
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")}
    assert routes == documented


def test_devices_cli(app, field, org):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["devices", "enrol-code", "gc_inv3"])
    assert r.exit_code == 0 and len(r.output.strip().splitlines()[0]) == 10
    assert Phone(field["client"]).enrol(r.output.strip().splitlines()[0]).status_code == 201
    assert runner.invoke(args=["devices", "enrol-code", "gc_case"]).exit_code == 1
    a = field["phones"][0]
    assert runner.invoke(args=["devices", "revoke", a.device_id]).exit_code == 0
    assert a.pull().status_code == 401
    listed = json.loads(runner.invoke(args=["devices", "list", "--json"]).output)
    assert {d["device_id"]: d["revoked"] for d in listed}[a.device_id] is True


def test_only_the_visits_own_investigators_attest(app, field, org):
    env, body = visit_ready(field)
    a = field["phones"][0]
    with app.app_context():
        code = create_enrolment(db.session.get(User, org.gc_inv3), None).code
    outsider = Phone(field["client"])
    assert outsider.enrol(code).status_code == 201
    r = outsider.attest(env["visit_id"], body["content_hash"])
    assert r.status_code == 403 and r.json["error"] == "not_on_visit"
    r = field["client"].post("/api/v1/attestations", headers=a.auth, json={
        "visit_id": env["visit_id"], "content_hash": body["content_hash"], "device_id": outsider.device_id,
        "signature": a.sign(env["visit_id"], body["content_hash"])})
    assert r.status_code == 403 and r.json["error"] == "device_mismatch"
    assert a.attest(str(uuid.uuid4()), body["content_hash"]).status_code == 404
    r = field["client"].post("/api/v1/attestations", headers={**a.auth, "Content-Type": "application/json"},
                             data="not json")
    assert r.status_code == 400 and r.json["error"] == "body_invalid"


def test_the_partner_finds_visits_waiting_for_their_attestation_in_the_pull(field):
    env, body = visit_ready(field)
    a, b = field["phones"]
    waiting = b.pull().json["to_attest"]
    shown = waiting[0].pop("envelope")   # the record itself, so the partner sees what they sign
    assert waiting == [{"visit_id": env["visit_id"], "content_hash": body["content_hash"],
                        "assignment_id": env["assignment_id"], "case_id": env["case_id"],
                        "visit_on": "2025-11-04", "summary": "情况属实"}]
    assert r_hash(shown) == body["content_hash"] and shown["answers"]["members"][0]["name"] == "张建国"
    assert a.attest(env["visit_id"], body["content_hash"]).status_code == 201
    assert a.pull().json["to_attest"] == []            # signed by this phone: no longer waiting for it
    assert b.attest(waiting[0]["visit_id"], waiting[0]["content_hash"]).status_code == 201
    assert b.pull().json["to_attest"] == []            # accepted into the case
