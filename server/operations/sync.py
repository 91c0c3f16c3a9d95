"""Phones and the server: enrolment, pull, attachments, visits, attestations, and merging visits into cases.

Every write a phone makes is idempotent: an attachment is named by its SHA-256, a visit by the UUID the
phone made, an attestation by (visit, device).  The decisions (replay, conflict, stale revision, merge)
are the pure sync core's; this module loads rows, calls it, stores, audits.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import current_app
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from server import services
from server.domain import workflow
from server.extensions import autocommit_reads, db, end_autocommit
from server.models import (
    Attestation,
    Case,
    Device,
    EnrolmentCode,
    Household,
    RecordSnapshot,
    User,
    Visit,
    VisitAssignment,
)
from server.models.visits import assignment_members
from server.operations import OperationError, audit
from server.operations.cases import apply_to_household, next_event_seq, perform, state_of
from server.operations.visits import DEADLINE_STEP
from sync.errors import EnvelopeError, Problem
from sync.findings import derive_findings
from sync.merge import MERGEABLE_FORMS, flatten_answers, member_numbers, merge
from sync.merge import apply as apply_choices
from sync.protocol import (
    SIGNED_KEYS,
    attestation_message,
    canonical_json,
    classify_submission,
    parse_envelope,
)
from sync.validate import FORMS_FOR_ASSIGNMENT, is_own_form, validate_visit

ENROLMENT_HOURS = 24
# How stale a device's "last seen" may get before a pull writes it: a pull that changes nothing else then
# commits nothing (one fsync less per pull); the devices page shows the time to the minute.
LAST_SEEN_STEP = dt.timedelta(minutes=1)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from a poster


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- enrolment ----------------------------------------------------------------------------------

def create_enrolment(investigator: User, actor: User | None, *, actor_label: str = "") -> EnrolmentCode:
    """A one-time code for ``investigator``'s phone, valid for 24 hours."""
    if investigator.role not in ("investigator", "bureau_supervisor") or not investigator.active:
        raise OperationError("not_an_investigator", "只能为在岗的调查人员（或抽查的民政局监管人员）登记手机",
                             "only an active investigator's (or a spot-checking bureau supervisor's) phone can be enrolled")
    if actor is not None:
        office = investigator.unit.office()
        if investigator.role == "bureau_supervisor":   # spot checks: the bureau enrols its own staff
            ok = actor.role == "bureau_supervisor" and actor.unit_id == investigator.unit_id
        else:
            ok = actor.role == "caseworker" and office is not None and actor.unit_id == office.id
        if not ok:
            raise OperationError("out_of_scope", "只能为本单位的调查人员登记手机",
                                 "you may only enrol phones for your own unit's staff", 403)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    row = EnrolmentCode(code=code, user_id=investigator.id, created_by_id=actor.id if actor else None,
                        expires_at=_now() + dt.timedelta(hours=ENROLMENT_HOURS))
    db.session.add(row)
    db.session.flush()
    audit.record("device.enrolment_code", "user", investigator.id, actor=actor, actor_label=actor_label,
                 after={"expires_at": row.expires_at.isoformat()})
    db.session.commit()
    return row


def _jwk_public_key(jwk: Any) -> ec.EllipticCurvePublicKey:
    """The device key as a JWK {"kty": "EC", "crv": "P-256", "x", "y"} (base64url, as WebCrypto exports it)."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
        raise ValueError("not a public EC P-256 JWK")

    def coord(name: str) -> int:
        raw = jwk.get(name)
        if not isinstance(raw, str):
            raise ValueError(name)
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        if len(data) != 32:
            raise ValueError(name)
        return int.from_bytes(data, "big")

    return ec.EllipticCurvePublicNumbers(coord("x"), coord("y"), ec.SECP256R1()).public_key()


def enrol(code: str, device_name: str, public_key: Any) -> tuple[Device, str]:
    """Use a one-time code: register the device's public key, return the device and its bearer token."""
    row = db.session.scalar(select(EnrolmentCode).where(EnrolmentCode.code == (code or "").strip().upper()))
    if row is None:
        raise OperationError("enrolment_code_unknown", "登记码无效", "unknown enrolment code", 404)
    if row.used_at is not None or _aware(row.expires_at) < _now():
        raise OperationError("enrolment_code_gone", "登记码已使用或已过期，请重新生成",
                             "this enrolment code was used or has expired: ask for a new one", 410)
    name = (device_name or "").strip()
    if not name or len(name) > 80:
        raise OperationError("device_name_invalid", "请填写手机名称（最多80个字符）", "device_name must be 1-80 characters")
    try:
        _jwk_public_key(public_key)
    except (ValueError, binascii.Error):
        raise OperationError("public_key_invalid", "公钥无效：需要 ECDSA P-256 的 JWK 公钥",
                             "public_key must be an ECDSA P-256 public key as a JWK") from None
    token = secrets.token_urlsafe(32)
    device = Device(id=str(uuid.uuid4()), user_id=row.user_id, name=name,
                    public_key={k: public_key[k] for k in ("kty", "crv", "x", "y")}, token_hash=_token_hash(token))
    db.session.add(device)
    row.used_at, row.device_id = _now(), device.id
    db.session.flush()
    audit.record("device.enrol", "device", device.id, actor=db.session.get(User, row.user_id),
                 after={"name": name, "user_id": row.user_id})
    db.session.commit()
    return device, token


# Built once, run with a bound value: building a statement (and its cache key) per request cost more than
# running it.  One query, the user included.
_DEVICE_BY_TOKEN = select(Device).options(joinedload(Device.user)).where(Device.token_hash == bindparam("token_hash"))


def authenticate(header: str | None) -> Device | None:
    """The device behind ``Authorization: Bearer <token>``; None when missing, unknown or revoked."""
    if not header or not header.startswith("Bearer "):
        return None
    device = db.session.scalar(_DEVICE_BY_TOKEN, {"token_hash": _token_hash(header[7:].strip())})
    if device is None or device.revoked_at is not None or not device.user.active:
        return None
    return device


def revoke(device: Device, actor: User | None, *, actor_label: str = "") -> None:
    if device.revoked_at is None:
        device.revoked_at = _now()
        audit.record("device.revoke", "device", device.id, actor=actor, actor_label=actor_label,
                     after={"revoked_at": device.revoked_at.isoformat()})
        db.session.commit()


# --- pull ---------------------------------------------------------------------------------------

def _cursor_mac(body: str) -> str:
    """HMAC-SHA256 of a cursor's body with the app's secret key (a forged or altered cursor fails it)."""
    import hmac

    key = ("ruhu-pull-cursor:" + str(current_app.config["SECRET_KEY"])).encode()
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _cursor(user_id: int, stamp: dt.datetime | None) -> str:
    body = json.dumps({"v": 1, "u": user_id, "t": stamp.isoformat() if stamp else None}, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return f"{encoded}.{_cursor_mac(encoded)}"


def _read_cursor(cursor: str | None, user_id: int) -> tuple[bool, dt.datetime | None]:
    """(valid, since).  Anything we did not issue to this user (unsigned, forged, altered) is invalid:
    the phone gets everything."""
    import hmac

    if not cursor or cursor.count(".") != 1:
        return False, None
    encoded, mac = cursor.split(".")
    if not hmac.compare_digest(mac.encode(), _cursor_mac(encoded).encode()):
        return False, None
    try:
        body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        if body.get("v") != 1 or body.get("u") != user_id or body.get("t") is None:
            return False, None
        return True, _aware(dt.datetime.fromisoformat(body["t"]))
    except (ValueError, TypeError, KeyError, binascii.Error, json.JSONDecodeError, AttributeError, OverflowError):
        return False, None


def _forms_of(kind: str, form_for: dict[str, tuple[str, int]]) -> list[tuple[str, int]]:
    """The (form id, version) an assignment of ``kind`` is filled with: its own first, then the extras."""
    own, extra = FORMS_FOR_ASSIGNMENT.get(kind, (("home_visit",), ()))
    first = next((form_for[k] for k in own if k in form_for), form_for["home_visit"])
    return [first, *(form_for[k] for k in extra if k in form_for)]


def _assignment_payload(a: VisitAssignment, form_for: dict[str, tuple[str, int]],
                        records: dict[int, list[Visit]] | None = None) -> dict[str, Any]:
    """What a visitor needs to find and check the household, and nothing more (no phone, no bank data)."""
    case = a.case
    svc = services()
    profile = svc.profiles[case.profile_id]
    step = DEADLINE_STEP.get(a.kind)
    deadline = next((s.due for s in workflow.pending_deadlines(state_of(case), profile, svc.calendar)
                     if s.step == step), None)
    (form_id, form_version), *extra = _forms_of(a.kind, form_for)
    return {
        "assignment_id": a.id, "kind": a.kind, "status": a.status, "case_id": case.id, "case_number": case.number,
        "form_id": form_id, "form_version": form_version, "base_version": case.record_version,
        "extra_forms": [{"form_id": f, "form_version": v} for f, v in extra],
        "community": case.community.name, "address": case.household.address,
        "team": [{"user_id": u.id, "name": u.name} for u in a.team],
        "deadline": deadline.date.isoformat() if deadline else (a.due_on.isoformat() if a.due_on else None),
        "deadline_provisional": bool(deadline and deadline.provisional),
        "members": [{"name": m.name, "id_number": m.id_number, "relation": m.relation,
                     "co_residing": m.co_residing} for m in case.household.members],
        "declared": {"income": (case.declaration or {}).get("income", {}),
                     "property": (case.declaration or {}).get("property", {})},
        "min_team": profile.home_visit.min_team,
        "records": _records_of(a, (records or {}).get(a.id) if records is not None else _live_records(a.id)),
    }


def _records_of(a: VisitAssignment, live: list[Visit] | None) -> list[dict[str, Any]]:
    """The assignment's own records already on the server, so a teammate's phone can show who started it."""
    names = {u.id: u.name for u in a.team}
    return [{"visit_id": v.id, "status": v.status, "received_at": _aware(v.created_at).isoformat(),
             "investigators": [names.get(uid) or str(uid) for uid in v.investigator_ids or []]}
            for v in live or []]


def forms() -> dict[tuple[str, int], dict]:
    return current_app.extensions["ruhu_forms"]


def _latest_forms() -> dict[str, tuple[str, int]]:
    """kind -> (form id, newest version) of the loaded form definitions."""
    out: dict[str, tuple[str, int]] = {}
    for (form_id, version), form in forms().items():
        kind = form.get("kind", form_id)
        if kind not in out or version > out[kind][1]:
            out[kind] = (form_id, version)
    return out


def forms_version() -> str:
    """A version (ETag) of the loaded form definitions: the phone sends it back and gets no forms while it
    is unchanged.  Computed once per loaded set."""
    loaded = forms()
    cached = current_app.extensions.get("ruhu_forms_version")
    if cached is None or cached[0] is not loaded:
        body = json.dumps([loaded[k] for k in sorted(loaded)], sort_keys=True, ensure_ascii=False)
        cached = (loaded, hashlib.sha256(body.encode()).hexdigest()[:32])
        current_app.extensions["ruhu_forms_version"] = cached
    return cached[1]


_MY_ASSIGNMENTS = select(assignment_members.c.assignment_id).where(assignment_members.c.user_id == bindparam("user_id"))
_CHANGED_SINCE = (select(VisitAssignment.id, VisitAssignment.status)
                  .where(VisitAssignment.id.in_(_MY_ASSIGNMENTS), VisitAssignment.updated_at > bindparam("since"))
                  .order_by(VisitAssignment.updated_at))
_ALL_OPEN = (select(VisitAssignment.id, VisitAssignment.status)
             .where(VisitAssignment.id.in_(_MY_ASSIGNMENTS), VisitAssignment.status == "open")
             .order_by(VisitAssignment.updated_at))
_NEWEST_CHANGE = select(func.max(VisitAssignment.updated_at)).where(VisitAssignment.id.in_(_MY_ASSIGNMENTS))


def pull(device: Device, since: str | None, known_forms: str | None = None) -> dict[str, Any]:
    """The device user's assignments changed since the cursor (all open ones when the cursor is not ours).
    ``known_forms``: the ``forms_version`` the phone already holds — the forms are then left out."""
    user_id = device.user_id
    valid, stamp = _read_cursor(since, user_id)
    # By index: the user's assignment ids (assignment_members by user), then those rows with what the
    # payload reads loaded in a few IN queries rather than one query per assignment.  First the changed rows'
    # ids and states only; what the payload reads is loaded for the open ones alone (an incremental pull
    # usually finds none or one that was just closed).
    if valid:
        rows = db.session.execute(_CHANGED_SINCE, {"user_id": user_id, "since": stamp}).all()
    else:
        rows = db.session.execute(_ALL_OPEN, {"user_id": user_id}).all()
    newest = db.session.scalar(_NEWEST_CHANGE, {"user_id": user_id})
    kinds = _latest_forms()
    version = forms_version()
    open_ids = [a.id for a in rows if a.status == "open"]
    open_rows: list[VisitAssignment] = []
    if open_ids:
        end_autocommit()   # what follows may write (an acceptance): in a transaction
        # The sweep at pull time: visits of this user's open assignments that qualify are accepted now.
        sweep(visit_ids=select(Visit.id).where(Visit.assignment_id.in_(open_ids)))
        open_rows = list(db.session.scalars(
            select(VisitAssignment).where(VisitAssignment.id.in_(open_ids), VisitAssignment.status == "open")
            .order_by(VisitAssignment.updated_at).options(
                selectinload(VisitAssignment.team),
                selectinload(VisitAssignment.case).selectinload(Case.household).selectinload(Household.members),
                selectinload(VisitAssignment.case).selectinload(Case.community))))
    still_open = {a.id for a in open_rows}
    records = _live_records_of([a.id for a in open_rows])
    body = {
        "cursor": _cursor(user_id, _aware(newest) or stamp),
        "full": not valid,
        "to_attest": _waiting_for(user_id),
        "assignments": [_assignment_payload(a, kinds, records) for a in open_rows],
        "revoked": [a.id for a in rows if a.id not in still_open],
        "forms": [] if known_forms and known_forms == version else [forms()[k] for k in sorted(set(kinds.values()))],
        "forms_version": version,
    }
    now = _now()
    seen = _aware(device.last_seen_at)
    if seen is None or not (now - LAST_SEEN_STEP < seen <= now):
        device.last_seen_at = now
        db.session.commit()  # after the payload: a commit expires every loaded row (one reload per assignment)
    return body


def _to_attest_statement():
    signed = select(Attestation.visit_id).where(Attestation.user_id == bindparam("user_id"))
    # Amended visits are left out: one with a standing revision (by the supersedes_id index, per visit).
    revision = aliased(Visit, name="revision")
    amended = select(revision.id).where(revision.supersedes_id == Visit.id, revision.status != "superseded").exists()
    return (select(Visit).where(Visit.assignment_id.in_(_MY_ASSIGNMENTS), Visit.source == "device",
                                Visit.status.in_(("incomplete", "complete")), Visit.id.not_in(signed), ~amended)
            .order_by(Visit.created_at))


_TO_ATTEST = _to_attest_statement()   # made once: building it per request costs more than the query


def _waiting_for(user_id: int) -> list[dict[str, Any]]:
    """Visits this investigator was on, sent by a partner's phone, that still lack this investigator's
    attestation (the online path of the two-person rule: the partner's phone pulls and signs)."""
    # Only visits of the user's own assignments (an investigator must be on the assignment's team), by
    # index; the JSON list of investigators is checked on those few rows.
    rows = db.session.scalars(_TO_ATTEST, {"user_id": user_id})
    return [{"visit_id": v.id, "content_hash": v.content_hash, "assignment_id": v.assignment_id,
             "case_id": v.case_id, "visit_on": v.visit_on.isoformat(), "summary": (v.findings or {}).get("summary"),
             "envelope": {k: v.envelope[k] for k in SIGNED_KEYS if k in (v.envelope or {})}}
            for v in rows if user_id in (v.investigator_ids or [])]


# --- attachments ----------------------------------------------------------------------------------

def put_attachment(device: Device, sha: str, data: bytes, content_type: str | None) -> tuple[int, dict[str, Any]]:
    """Store bytes under their SHA-256: 201 new, 200 already there; afterwards complete waiting visits."""
    from server.models.attachments import Attachment
    from server.operations.attachments import store
    from server.storage import AttachmentError

    try:
        ingested = store().ingest(data, declared_type=content_type, expected_sha256=sha)
    except AttachmentError as exc:
        raise OperationError(exc.code, exc.message, exc.message_en, exc.status) from None
    existing = db.session.get(Attachment, ingested.sha256)
    user_id = device.user_id   # (read before a commit expires the device: a read after it would begin a transaction)
    if existing is None:
        db.session.add(_attachment_row(ingested, device))
        try:
            db.session.commit()
        except IntegrityError:   # the same bytes arrived from another request at the same moment
            db.session.rollback()
            existing = db.session.get(Attachment, ingested.sha256)
    store().keep(ingested.sha256, data)   # a refused request's removal of the same bytes may have taken them
    _complete_waiting([ingested.sha256], user_id)   # (this phone now holds them, whoever stored them first)
    return (200 if existing is not None else 201), {"sha256": ingested.sha256, "size": ingested.size,
                                                    "type": ingested.mime}


def _complete_waiting(shas: list[str], user_id: int) -> None:
    """The visits of ``user_id`` waiting for these files, which that user's phone has just sent, by the
    pending-attachment key (never every incomplete visit), moved on.  Another user's visits keep waiting: one
    phone's bytes do not show that another phone holds them."""
    from server.models.attachments import PendingAttachment

    waiting_for = select(Visit).where(
        Visit.id.in_(select(PendingAttachment.visit_id).where(PendingAttachment.sha256.in_(shas))),
        Visit.status == "incomplete", Visit.recorded_by_id == user_id)
    # Usually none: looked for outside a transaction (PostgreSQL, after the request's commit), and only when
    # there are some, read again and moved on in one.
    if autocommit_reads():
        found = db.session.scalars(waiting_for.with_only_columns(Visit.id)).all()
        end_autocommit()
        if not found:
            return
    waiting = db.session.scalars(waiting_for).all()
    if waiting:
        db.session.execute(delete(PendingAttachment).where(PendingAttachment.sha256.in_(shas),
                                                           PendingAttachment.visit_id.in_([v.id for v in waiting])))
        db.session.commit()
    for visit in waiting:
        _refresh(visit)


def _ingest_all(device: Device, files: list[tuple[str, bytes, str | None]], listed: list[str]) -> list[Any]:
    """Store a bundle's files (each checked as a single upload is, by the name it came under); returns the rows
    of those that have none yet, not added to the session (the visit adds them with its own, so that the
    transaction's first write comes after the envelope is checked: on SQLite, the write lock is then held for the
    writes only)."""
    from server.models.attachments import Attachment
    from server.operations.attachments import store
    from server.storage import AttachmentError, normalise_sha256

    # Every file is checked and written first, then the rows are looked up in one query: no database write (on
    # SQLite, the database's write lock) is taken while files are written and synced to disk.
    stored = {}
    for name, data, content_type in files:
        try:
            sha = normalise_sha256(name)
        except (AttachmentError, ValueError):
            sha = None
        where = f"attachments/{listed.index(sha)}" if sha in listed else "files"
        if sha is None or sha not in listed:
            raise OperationError("attachment_not_listed", "上传的文件不在调查记录的附件清单中",
                                 "a file in the request is not one the visit lists", 422,
                                 problems=[Problem(where, "attachment_not_listed", "文件名须为调查记录所列附件的SHA-256",
                                                   "each file's name must be the SHA-256 of an attachment the visit "
                                                   "lists").as_json()])
        try:
            ingested = store().ingest(data, declared_type=content_type, expected_sha256=sha)
        except AttachmentError as exc:
            raise OperationError(exc.code, exc.message, exc.message_en, exc.status,
                                 problems=[Problem(where, exc.code, exc.message, exc.message_en).as_json()]) from None
        stored.setdefault(ingested.sha256, ingested)
    if not stored:
        return []
    known = set(db.session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(sorted(stored)))))
    return [_attachment_row(stored[sha], device) for sha in stored if sha not in known]


def _keep_files(files: list[tuple[str, bytes, str | None]]) -> None:
    """After the commit that names them: a request's files are stored (written again if a refused request's
    removal of the same bytes took them meanwhile; ``AttachmentStore.keep``)."""
    from server.operations.attachments import store

    st = store()
    for name, data, _ in files:
        st.keep(name, data)


def _attachment_row(ingested, device: Device):
    """The row of a file the store took (``server.storage.Ingested``), uploaded by the device's user."""
    from server.models.attachments import Attachment

    return Attachment(sha256=ingested.sha256, size=ingested.size, mime=ingested.mime, width=ingested.width,
                      height=ingested.height, captured_at=ingested.captured_at, gps=ingested.gps,
                      has_display=ingested.display_path is not None, uploaded_by_id=device.user_id)


def submit_bundle(device: Device, raw: Any, files: list[tuple[str, bytes, str | None]],
                  attestation: Any, idempotency_key: str | None, today: dt.date) -> Submission:
    """A visit, its files and the sending phone's own attestation in one request (a phone on a bad network makes
    one round trip instead of one per photo).  Each file is named by its SHA-256 and checked as a single upload
    is; the files the request does not carry may have come before by PUT or come after.  The files, the visit
    and (for a new visit, when it cannot complete the team alone) the attestation are one transaction; otherwise
    the attestation follows in its own, as ``POST /attestations``.  Its answer is ``attestation`` in the body
    (``http_status`` as that endpoint would answer): a refused attestation leaves the stored visit as it is."""
    if not isinstance(raw, dict):
        raise OperationError("envelope_invalid", "同步数据格式有误", "the visit envelope is not valid", 422)
    listed = [a.get("sha256") for a in raw.get("attachments") or [] if isinstance(a, dict)] \
        if isinstance(raw.get("attachments"), list) else []
    rows = _ingest_all(device, files, listed)

    def own_attestation(visit: Visit, profile_id: str) -> dict[str, Any] | None:
        """The sender's attestation of a new visit, in the visit's transaction (one commit for the request),
        when it cannot complete the team by itself (acceptance is then the partner's attestation's work)."""
        if not isinstance(attestation, dict):
            return None
        if services().profiles[profile_id].home_visit.min_team < 2:
            return None
        try:
            # (no team check: submit_visit has just checked this user is on the assignment's team, still open)
            signature = _check_attestation(device, visit, attestation)
        except OperationError as exc:   # refused: nothing staged; the phone sends it again on its own
            return {"attestation": {"http_status": exc.status, "error": exc.code, "message": exc.message,
                                    "message_en": exc.message_en}}
        _stage_attestation(device, visit.id, visit.content_hash, signature)
        return {"attestation": {"http_status": 201, "visit_id": visit.id, "device_id": device.id,
                                "status": visit.status},
                "attested_by": [device.user_id]}

    from server.storage import normalise_sha256

    # Every file this request carries, stored before or not: the phone has shown it holds their bytes.
    sent = sorted({normalise_sha256(name) for name, _, _ in files})
    user_id = device.user_id   # (read before the commit expires the device)
    try:
        result = submit_visit(device, raw, idempotency_key, today, with_new=own_attestation, files=rows, sent=sent)
    except IntegrityError:   # the same bytes stored by another request at this moment: theirs stands
        db.session.rollback()
        rows = _ingest_all(device, files, listed)
        result = submit_visit(device, raw, idempotency_key, today, with_new=own_attestation, files=rows, sent=sent)
    db.session.commit()          # a replay commits nothing itself: the files' rows still need it
    _keep_files(files)
    if sent:
        # Another visit of this phone's user (an amendment) may wait for the same files.
        _complete_waiting(sent, user_id)
    body = dict(result.body)
    if attestation is not None and "attestation" not in body:
        try:
            status, answer = attest(device, {**attestation, "visit_id": body["visit_id"]}
                                    if isinstance(attestation, dict) else attestation)
            body["attestation"] = {**answer, "http_status": status}
            body["status"] = answer["status"]
            body["attested_by"] = sorted({*body.get("attested_by", []), device.user_id})
        except OperationError as exc:
            db.session.rollback()
            body["attestation"] = {"http_status": exc.status, "error": exc.code, "message": exc.message,
                                   "message_en": exc.message_en}
    return Submission(result.status, body)


def _missing(visit: Visit) -> list[str]:
    """The files a stored visit lists that it cannot use yet: not stored, or stored by someone else and not yet
    sent by its phone (its pending row, cleared when the phone sends the bytes, says so)."""
    from server.models.attachments import Attachment, PendingAttachment

    listed = sorted({a["sha256"] for a in (visit.envelope or {}).get("attachments", [])})
    if not listed:
        return []
    owners = dict(db.session.execute(select(Attachment.sha256, Attachment.uploaded_by_id)
                                     .where(Attachment.sha256.in_(listed))).all())
    others = [s for s in listed if s in owners and owners[s] != visit.recorded_by_id]
    pending = set(db.session.scalars(select(PendingAttachment.sha256).where(   # (by its primary key)
        PendingAttachment.sha256.in_(others), PendingAttachment.visit_id == visit.id))) if others else set()
    return [s for s in listed if s not in owners or s in pending]


def _missing_of(envelope: Mapping[str, Any] | None, user_id: int, present: frozenset[str] = frozenset()) -> list[str]:
    """The files an envelope lists that ``user_id``'s phone has not shown it holds (``present``: sent by this
    request): a stored file counts only when that user uploaded it.  Naming another's file by its hash proves
    nothing — the phone is asked for the bytes."""
    from server.models.attachments import Attachment

    listed = sorted({a["sha256"] for a in (envelope or {}).get("attachments", [])} - present)
    have = set(db.session.scalars(select(Attachment.sha256).where(
        Attachment.sha256.in_(listed), Attachment.uploaded_by_id == user_id))) if listed else set()
    return [s for s in listed if s not in have]


# --- visits ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Submission:
    status: int
    body: dict[str, Any]


def visit_body(visit: Visit) -> dict[str, Any]:
    attested = sorted({a.user_id for a in db.session.scalars(select(Attestation).where(
        Attestation.visit_id == visit.id))})
    return {"visit_id": visit.id, "status": visit.status, "missing_attachments": _missing(visit),
            "content_hash": visit.content_hash, "attested_by": attested}


def submit_visit(device: Device, raw: Any, idempotency_key: str | None, today: dt.date,
                 with_new: Callable[[Visit, str], dict[str, Any] | None] | None = None,
                 files: list[Any] = (), sent: list[str] = ()) -> Submission:
    """Store a visit envelope once.  Replays answer 200 with the same body; different content 409.
    ``with_new``: called with a new visit and its case's rules profile before its commit, to add to the same
    transaction; what it returns is merged into the answer.  ``files``: rows of attachments this request stored,
    added with the visit (or, for a replay, before it is answered); a refused visit adds none.  ``sent``: the
    hashes of every file the request carried (stored before or not)."""
    try:
        envelope = parse_envelope(raw)
    except EnvelopeError as exc:
        raise OperationError("envelope_invalid", "同步数据格式有误", "the visit envelope is not valid", 422,
                             problems=[p.as_json() for p in exc.problems]) from None
    if idempotency_key != envelope.visit_id:
        raise OperationError("idempotency_key_mismatch", "Idempotency-Key 须与 visit_id 相同",
                             "the Idempotency-Key header must equal the visit_id", 422)
    # Locked with the read on PostgreSQL (see _one_record_per_assignment); its team, its case's rules profile
    # (the id alone: the case's record and declaration are large and not needed here), whether the case version
    # the visit started from is known and whether a visit with this id is already stored come with it: a new
    # visit (nearly every request) needs no other read before its checks.
    assignment, profile_id, base_known, stored = db.session.execute(
        _ASSIGNMENT_FOR_VISIT, {"id": envelope.assignment_id, "base_version": envelope.base_version,
                                "visit_id": envelope.visit_id}).unique().first() or (None, None, False, None)
    existing = db.session.get(Visit, envelope.visit_id) if stored or assignment is None else None
    current = None
    if envelope.supersedes and existing is None:
        # One amendment at a time per assignment: the line of revisions is read under the assignment's lock.
        _hold_assignment(envelope.assignment_id)
    if envelope.supersedes:
        prior = db.session.get(Visit, envelope.supersedes)
        if existing is None and prior is not None and \
                (prior.case_id, prior.assignment_id) != (envelope.case_id, envelope.assignment_id):
            # The line of revisions is the assignment's (it is read under the assignment's lock): a record of
            # another assignment or case is not this one's to replace.
            raise OperationError("supersedes_other_assignment", "被修改的调查记录不属于这项调查任务",
                                 "the visit named by supersedes is a record of another assignment", 422)
        # Current: not replaced, and no other amendment of it is already waiting (one line of revisions).
        current = prior is not None and prior.status != "superseded" and \
            db.session.scalar(select(Visit.id).where(Visit.supersedes_id == prior.id, Visit.id != envelope.visit_id,
                                                     Visit.status != "superseded").limit(1)) is None
    decision = classify_submission(existing.content_hash if existing else None, envelope.hash,
                                   supersedes=envelope.supersedes, supersedes_is_current=current)
    if decision == "replay":
        db.session.add_all(files)
        if sent and existing.recorded_by_id == device.user_id:   # its phone has now sent these: no longer pending
            from server.models.attachments import PendingAttachment

            db.session.execute(delete(PendingAttachment).where(PendingAttachment.visit_id == existing.id,
                                                               PendingAttachment.sha256.in_(sent)))
        _refresh(existing)   # a crash may have stopped acceptance last time: every retry re-checks it
        return Submission(200, visit_body(existing))
    if decision == "conflict":
        raise OperationError("visit_conflict", "同一调查记录编号已提交过不同的内容",
                             "a visit with this id was already submitted with different content", 409)
    if decision == "stale_revision":
        raise OperationError("stale_revision", "被替换的调查记录已不是最新版本，请先同步",
                             "the revision this visit replaces is no longer current: pull and try again", 409)

    if assignment is None or assignment.case_id != envelope.case_id or \
            device.user_id not in {u.id for u in assignment.team}:
        raise OperationError("assignment_unknown", "没有派给本人的这项调查任务",
                             "no such assignment for this investigator", 404)
    _check_still_assigned(envelope, assignment)
    problems = validate_visit(forms(), envelope, today, assignment.kind)
    if not problems and assignment.kind == "appraisal":
        problems = _panel_problems(assignment.case, envelope.answers)
    team = {u.id for u in assignment.team}
    for uid in envelope.investigators:
        if uid not in team:
            problems.append(Problem("investigators", "not_on_team", "调查人员不在派发的调查组中",
                                     "an investigator is not on the assigned team"))
    problems += _date_problems(envelope, assignment, today)
    if envelope.supersedes:
        problems += _reused_signatures(envelope, db.session.get(Visit, envelope.supersedes))
    if problems:
        raise OperationError("answers_invalid", "调查表填写有误", "the survey answers are not valid", 422,
                             problems=[p.as_json() for p in problems])
    findings = _findings_of_envelope(envelope.raw)   # (worked out before any lock is taken)
    if envelope.supersedes is None:
        _one_record_per_assignment(envelope, assignment)
    if not base_known:   # (of the assignment's case, which is the envelope's: checked above)
        raise OperationError("base_version_unknown", "调查所依据的案件版本不存在，请先同步",
                             "the case version this visit started from is unknown: pull and try again", 422)

    # Complete at once when every listed file is already stored (the phone uploads them first): one commit.
    missing = _missing_of(envelope.raw, device.user_id, frozenset(sent) | {row.sha256 for row in files})
    visit = Visit(id=envelope.visit_id, case_id=envelope.case_id, assignment_id=assignment.id, kind=assignment.kind,
                  source="device", visit_on=_visit_date(envelope), investigator_ids=sorted(envelope.investigators),
                  findings=findings, attachments=_roles(envelope.raw),
                  status="incomplete" if missing else "complete", recorded_by_id=device.user_id, form_id=envelope.form_id,
                  form_version=envelope.form_version, envelope=envelope.raw, content_hash=envelope.hash,
                  base_version=envelope.base_version, supersedes_id=envelope.supersedes, device_id=device.id)
    db.session.add_all(files)   # the transaction's first writes: everything above only read
    db.session.add(visit)
    # The assignment's ``records`` changed: the teammates' next incremental pull carries it again.  A closed one
    # is not on their phones, and keeps the time it was closed (later visits are judged by it).
    if assignment.status == "open":
        assignment.updated_at = _now()
    # An amendment is a new statement: the original stays the case's visit until the amendment itself is
    # accepted (attested); ``_try_accept`` marks the original superseded then.
    visit_id = visit.id
    try:
        db.session.flush()
    except IntegrityError:
        # The same visit id arrived twice at once: the primary key let one in; answer as for a resend.
        # Any other integrity failure is not a race to retry (retrying it would never end).
        db.session.rollback()
        if db.session.get(Visit, visit_id) is None or files:
            raise   # (with files: the bundle looks again at which of them have rows, then answers the resend)
        return submit_visit(device, raw, idempotency_key, today, sent=sent)
    if missing:
        # The flush noted the files not stored at all; those stored by someone else wait the same way, for this
        # phone to send their bytes (the upload clears the row).
        from server.models.attachments import PendingAttachment

        noted = set(db.session.scalars(select(PendingAttachment.sha256).where(
            PendingAttachment.sha256.in_(missing), PendingAttachment.visit_id == visit_id)))
        db.session.add_all(PendingAttachment(sha256=s, visit_id=visit_id) for s in missing if s not in noted)
    audit.record("visit.submit", "visit", visit.id, actor=db.session.get(User, device.user_id),
                 after={"case_id": visit.case_id, "content_hash": visit.content_hash, "device": device.id})
    # No attestation can exist yet (one needs the stored visit), so there is nothing to accept here.
    answer = {"visit_id": visit_id, "status": visit.status, "missing_attachments": missing,
              "content_hash": visit.content_hash, "attested_by": []}
    if with_new is not None:
        answer.update(with_new(visit, profile_id) or {})
    db.session.commit()
    if missing:
        # A file stored by another request after the check above found no pending row to clear: look again.
        _refresh(visit)
        return Submission(201, visit_body(visit))
    return Submission(201, answer)


CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")   # China has one offset, no summer time
CLOCK_SKEW = dt.timedelta(minutes=10)


def _started_after_closing(started_at: dt.datetime | str | None, assignment: VisitAssignment | None) -> bool:
    """Was a visit started after its assignment was closed (done) or withdrawn (cancelled)?  A closed
    assignment's ``updated_at`` is when that happened: nothing changes it afterwards."""
    if assignment is None or assignment.status == "open" or started_at is None:
        return False
    if isinstance(started_at, str):
        started_at = dt.datetime.fromisoformat(started_at)
    return started_at > _aware(assignment.updated_at)


def _check_still_assigned(envelope, assignment: VisitAssignment) -> None:
    """A team taken off a visit may not start it afterwards.  What a team made before (offline when it was
    withdrawn) is stored, never lost, and not taken into the case (``_try_accept``).  A done assignment still
    takes amendments of its record and the extra records of the trip (the two-rates survey)."""
    if not _started_after_closing(envelope.started_at, assignment):
        return
    if assignment.status == "cancelled":
        raise OperationError("assignment_withdrawn", "这项调查任务已撤回（已改派其他调查组或已取消），撤回后开始的调查记录不能提交",
                             "this assignment was withdrawn (given to another team or cancelled) before this visit "
                             "started: the visit cannot be submitted", 409)
    kind = (forms().get((envelope.form_id, envelope.form_version)) or {}).get("kind")
    if envelope.supersedes is None and is_own_form(kind, assignment.kind):
        raise OperationError("assignment_closed", "这项调查任务已完成，完成后开始的新调查记录不能提交；需要更正时请修改原记录",
                             "this assignment was completed before this visit started: amend its record instead",
                             409)


def _date_problems(envelope, assignment: VisitAssignment, today: dt.date) -> list[Problem]:
    """The server decides what day it is: a visit may not start after the server's clock (China time; a phone's
    clock may run up to ``CLOCK_SKEW`` fast) nor on a day before its assignment was made (the day in China time;
    with a pinned ``RUHU_TODAY`` — tests, demos — that day counts as the assignment's day when it is earlier)."""
    problems = []
    if envelope.started_at > _now() + CLOCK_SKEW:
        problems.append(Problem("started_at", "started_in_future",
                                "开始时间晚于服务器当前时间（北京时间），请检查手机的日期和时间",
                                "started_at is after the server's current time (China time): check the phone's clock"))
    made = _aware(assignment.created_at)
    if made is not None:
        made_on = min(made.astimezone(CHINA).date(), today)
        if envelope.started_at.astimezone(CHINA).date() < made_on:
            problems.append(Problem("started_at", "started_before_assignment",
                                    f"开始时间早于调查任务派发日期（{made_on.isoformat()}），请检查手机的日期和时间",
                                    f"started_at is before the assignment was made ({made_on.isoformat()}): "
                                    "check the phone's clock"))
    return problems


def _reused_signatures(envelope, original: Visit | None) -> list[Problem]:
    """An amendment with changed content needs fresh drawn signatures: the original's cannot vouch for it."""
    if original is None or original.envelope is None:
        return []

    def content(raw: Mapping[str, Any]) -> Any:   # what the signatures vouch for: all but ids and signatures
        return canonical_json({**{k: raw.get(k) for k in SIGNED_KEYS if k not in ("visit_id", "supersedes")},
                               "attachments": [a for a in raw.get("attachments", []) if a.get("role") != "signature"]})

    if content(envelope.raw) == content(original.envelope):
        return []
    old = {a["sha256"] for a in original.envelope.get("attachments", []) if a.get("role") == "signature"}
    form = forms().get((envelope.form_id, envelope.form_version)) or {}
    slots = {s["id"]: s.get("label", {}) for s in form.get("slots", [])}
    problems = []
    for i, item in enumerate(envelope.raw.get("attachments", [])):
        if item.get("role") == "signature" and item.get("sha256") in old:
            label = slots.get(item.get("slot"), {})
            problems.append(Problem(f"attachments/{i}", "signature_reused",
                                    f"修改后的记录须重新签字：“{label.get('zh', item.get('slot'))}”沿用了原记录的签名",
                                    f"an amended record needs fresh signatures: {label.get('en', item.get('slot'))} "
                                    "reuses the original's signature"))
    return problems


def _live_records(assignment_id: int) -> list[Visit]:
    """The assignment's own records still standing (not superseded), oldest first."""
    return _live_records_of([assignment_id]).get(assignment_id, [])


def _live_records_of(assignment_ids: list[int]) -> dict[int, list[Visit]]:
    """``_live_records`` for many assignments in one query (the pull)."""
    if not assignment_ids:
        return {}
    rows = db.session.scalars(select(Visit).where(Visit.assignment_id.in_(assignment_ids), Visit.source == "device",
                                                  Visit.status != "superseded").order_by(Visit.created_at)).all()
    kinds = dict(db.session.execute(select(VisitAssignment.id, VisitAssignment.kind)
                                    .where(VisitAssignment.id.in_({v.assignment_id for v in rows}))).all()) if rows else {}
    out: dict[int, list[Visit]] = {}
    for v in rows:
        kind = (forms().get((v.form_id, v.form_version)) or {}).get("kind")
        if is_own_form(kind, kinds.get(v.assignment_id, "")):
            out.setdefault(v.assignment_id, []).append(v)
    return out


# The assignment a visit is sent for, row-locked on PostgreSQL (its own row only: not its team's users nor its
# case), with its team, its case's rules profile, whether the visit's base version of the case's record is
# known and whether the visit is stored already, in one statement.
_BASE_KNOWN = (select(RecordSnapshot.id).where(RecordSnapshot.case_id == Case.id,
                                               RecordSnapshot.record_version == bindparam("base_version"))
               .exists().label("base_known"))
_STORED = select(Visit.id).where(Visit.id == bindparam("visit_id")).exists().label("stored")
_ASSIGNMENT_FOR_VISIT = (select(VisitAssignment, Case.profile_id, _BASE_KNOWN, _STORED)
                         .join(Case, Case.id == VisitAssignment.case_id)
                         .options(joinedload(VisitAssignment.team))
                         .where(VisitAssignment.id == bindparam("id")).with_for_update(of=VisitAssignment)
                         .execution_options(populate_existing=True))   # (what was read before the lock is read again)


def _hold_assignment(assignment_id: Any) -> None:
    """Hold the assignment until the commit, so that the records counted next are still all there is when this
    one is written: its row locked on PostgreSQL; on SQLite, which takes no lock for a read, the database's
    write lock, taken by a write that changes nothing."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE visit_assignments SET id = id WHERE id = :id"), {"id": assignment_id})
    else:
        db.session.execute(select(VisitAssignment.id).where(VisitAssignment.id == assignment_id).with_for_update())


def _one_record_per_assignment(envelope, assignment: VisitAssignment) -> None:
    kind = (forms().get((envelope.form_id, envelope.form_version)) or {}).get("kind")
    if not is_own_form(kind, assignment.kind):
        return   # an extra record made on the same trip (the two-rates survey) may be one of many
    # One writer at a time per assignment, so that two phones posting their first record at once cannot both
    # get in: on PostgreSQL the caller's read locked the assignment's row.
    if db.session.get_bind().dialect.name == "sqlite":
        _hold_assignment(assignment.id)
    live = [v for v in _live_records(assignment.id) if v.id != envelope.visit_id]
    if live:
        raise OperationError("record_exists", "这项调查任务已有一份调查记录（可能是同组的同事开始的），请在该记录上修改",
                             "this assignment already has a record (perhaps a teammate started it): amend that one",
                             409, visit_id=live[-1].id)


def _findings_of_envelope(raw: Mapping[str, Any]) -> dict[str, Any]:
    form = forms().get((raw["form_id"], raw["form_version"])) or {}
    started = raw.get("started_at")
    visit_on = dt.datetime.fromisoformat(started).astimezone(CHINA).date().isoformat() if started else None
    return derive_findings(form, raw.get("answers") or {}, source="device", attachments=raw.get("attachments", []),
                           investigators=raw.get("investigators", []), gps=raw.get("gps"), started_at=started,
                           finished_at=raw.get("finished_at"), visit_on=visit_on)


def _panel_of(answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": row.get("name") or "", "category": row.get("category") or "", "signed": bool(row.get("signed"))}
            for row in answers.get("panel") or []]


def _panel_problems(case: Case, answers: Mapping[str, Any]) -> list[Problem]:
    """The appraisal panel's rules of the case's profile (the residents' share, every member signed), checked
    when the record arrives so the phone can be told at once rather than the case refusing it later."""
    profile = services().profiles[case.profile_id]
    panel = [workflow.PanelMember(m["name"], m["category"], m["signed"]) for m in _panel_of(answers)]
    try:
        workflow.check_panel(panel, profile)
    except workflow.PreconditionFailed as exc:
        return [Problem("answers/panel", exc.code, exc.message, exc.message_en)]
    return []


def _visit_date(envelope) -> dt.date:
    return dt.datetime.fromisoformat(envelope.raw["started_at"]).astimezone(
        dt.timezone(dt.timedelta(hours=8))).date()


def _roles(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in raw.get("attachments", []):
        out.setdefault(a["role"], []).append(a["sha256"])
    return out


_UNREAD = object()   # "not read by the caller": read it here


def _refresh(visit: Visit, *, commit: bool = True, restage: Callable[[], Visit] | None = None,
             attesters: set[int] | None = None, base: Any = _UNREAD) -> None:
    """Move a visit on when it can: attachments all stored -> complete; attested -> accepted into the case.
    ``commit=False``: leave the commit to the caller (one transaction with what it staged); ``restage`` puts
    that back after a rollback (see ``_try_accept``); ``attesters``: the users who have attested, when the
    caller has just read them; ``base``: the record the visit's merge starts from, when the caller read it."""
    if visit.status == "incomplete" and not _missing(visit):
        visit.status = "complete"
        if commit:
            db.session.commit()
    if visit.status == "complete":
        _try_accept(visit, commit=commit, restage=restage, attesters=attesters, base=base)


# --- attestations ---------------------------------------------------------------------------------

# The visit an attestation names, row-locked on PostgreSQL (its own row only), with its case and assignment.
_BASE_RECORD = (select(RecordSnapshot.record).where(RecordSnapshot.case_id == Visit.case_id,
                                                    RecordSnapshot.record_version == Visit.base_version)
                .scalar_subquery().label("base_record"))   # what the visit's merge starts from
# Whether the attesting user is on the visit's assignment's team comes with it (a reassignment does not take the
# visit's lock, so reading it a statement later would be no surer).  The attestations so far are read after the
# lock, in a statement of their own: on PostgreSQL a subquery here would see the state from before the wait, and
# two partners attesting at once could each miss the other's.
_ON_TEAM = (select(assignment_members.c.user_id).where(assignment_members.c.assignment_id == Visit.assignment_id,
                                                       assignment_members.c.user_id == bindparam("user_id"))
            .exists().label("on_team"))
_VISIT_TO_ATTEST = (select(Visit, _BASE_RECORD, _ON_TEAM).options(joinedload(Visit.case), joinedload(Visit.assignment))
                    .where(Visit.id == bindparam("id")).with_for_update(of=Visit)
                    .execution_options(populate_existing=True))
_ATTESTERS = (select(Attestation.device_id, Attestation.user_id, User).join(User, User.id == Attestation.user_id)
              .where(Attestation.visit_id == bindparam("visit_id")))


def attest(device: Device, body: Any, *, again: bool = False) -> tuple[int, dict[str, Any]]:
    """A device's signature over (visit id, content hash).  Idempotent per (visit, device).  ``again``: the
    second try, after the case changed between this request's reading it and its commit."""
    if not isinstance(body, dict):
        raise OperationError("body_invalid", "请求内容应为 JSON 对象", "the body must be a JSON object", 422)
    # Locked (PostgreSQL) so that the partners' attestations of one visit are taken one after the other: each
    # sees the ones before it, and the one that completes the team accepts the visit in its own transaction.
    # Its case and assignment come with it (an acceptance needs both).
    visit, base, on_team = db.session.execute(_VISIT_TO_ATTEST, {"id": str(body.get("visit_id") or ""),
                                                                 "user_id": device.user_id}).first() \
        or (None, None, None)
    if visit is None:
        raise OperationError("visit_unknown", "调查记录不存在（请先上传调查记录）", "no such visit: push it first", 404)
    signature = _check_attestation(device, visit, body)
    # The visit's attestations so far, with their users, in one query: is this one a resend, who has attested
    # (and the user an acceptance is recorded in the name of, one of them).
    before = db.session.execute(_ATTESTERS, {"visit_id": visit.id}).all()
    if any(device_id == device.id for device_id, _, _ in before):
        # A resend of a stored attestation (its answer was lost) is answered as before, even by someone taken off
        # the team since: a retry is never refused.
        _refresh(visit)   # stored before a crash? acceptance is re-checked on every retry
        return 200, {"visit_id": visit.id, "device_id": device.id, "status": visit.status}
    _check_team(visit, on_team=on_team)
    attesters = {user_id for _, user_id, _ in before} | {device.user_id}
    visit_id, device_id, content_hash = visit.id, device.id, visit.content_hash

    def stage() -> Visit:
        return _stage_attestation(device, visit_id, content_hash, signature, flush=False)

    # The attestation and, when it completes the team, the acceptance into the case: one transaction, every read
    # before the first write (on SQLite the database's write lock is then held only for the writes and the
    # commit, not while the acceptance is worked out).
    with db.session.no_autoflush:
        visit = stage()
        _refresh(visit, commit=False, restage=stage, attesters=attesters, base=base)
        status = visit.status   # read before the commit expires it (after a refused acceptance: read again)
    _fault_point("before_attestation_commit")
    try:
        db.session.commit()
    except IntegrityError:
        # The same device's attestation of this visit, stored by a request that ran alongside: that one stands.
        db.session.rollback()
        visit = db.session.get(Visit, visit_id)
        _refresh(visit)
        return 200, {"visit_id": visit.id, "device_id": device_id, "status": visit.status}
    except StaleDataError:
        # The case was changed (by the office, or another visit's acceptance) after this request read it: the
        # acceptance was worked out on an old state, so nothing of it is kept; worked out again once, on the
        # new state (a second clash is answered 409 and the phone sends the attestation again).
        db.session.rollback()
        if again:
            raise
        return attest(device, body, again=True)
    _fault_point("after_attestation_commit")
    return 201, {"visit_id": visit_id, "device_id": device_id, "status": status}


def _check_attestation(device: Device, visit: Visit, body: dict) -> str:
    """The checks an attestation of ``visit`` must pass (no writes) but the team's, which the caller makes
    (``_check_team``: after it has answered a resend of a stored attestation); returns its signature."""
    if body.get("device_id") != device.id:
        raise OperationError("device_mismatch", "device_id 与令牌不符", "device_id does not match the token", 403)
    if body.get("content_hash") != visit.content_hash:
        raise OperationError("hash_mismatch", "签名的内容摘要与服务器上的调查记录不一致",
                             "content_hash does not match the stored visit", 422)
    if device.user_id not in (visit.investigator_ids or []):
        raise OperationError("not_on_visit", "只有参加本次调查的人员可以确认", "only an investigator of this visit may attest",
                             403)
    signature = str(body.get("signature") or "")
    if not _verify(device.public_key, attestation_message(visit.id, visit.content_hash), signature):
        raise OperationError("signature_invalid", "签名校验失败", "the signature does not verify", 422)
    return signature


def _check_team(visit: Visit, *, on_team: bool) -> None:
    """``on_team``: whether the attesting user is on the assignment's team (read with the locked visit)."""
    if _off_the_team(visit, on_team=on_team):
        raise OperationError("not_on_team", "您已不在这项调查任务的调查组中，不能确认这条记录",
                             "you are no longer on this assignment's team: you cannot attest this visit", 403)


def _off_the_team(visit: Visit, *, on_team: bool) -> bool:
    """Was the user off the visit's assignment when the visit was made: not on its team (``on_team``), or the
    assignment withdrawn before the visit started (such a visit is refused now; one may be stored from before)?
    A team withdrawn after its visit still attests it (it was made offline in time; it stays out of the case)."""
    if visit.assignment_id is None:
        return False
    if not on_team:
        return True
    assignment = visit.assignment
    return assignment is not None and assignment.status == "cancelled" and \
        _started_after_closing((visit.envelope or {}).get("started_at"), assignment)


def _stage_attestation(device: Device, visit_id: str, content_hash: str, signature: str, *,
                       flush: bool = True) -> Visit:
    """The attestation's row and audit entry in the current transaction; returns the visit.  ``flush=False``:
    the row is written with the rest of the transaction (a duplicate then fails at the commit)."""
    db.session.add(Attestation(visit_id=visit_id, device_id=device.id, user_id=device.user_id,
                               content_hash=content_hash, signature=signature))
    if flush:
        db.session.flush()
    audit.record("visit.attest", "visit", visit_id, actor=db.session.get(User, device.user_id),
                 after={"device": device.id})
    return db.session.get(Visit, visit_id)


def _fault_point(name: str) -> None:
    """A crash hook for the crash test only: with ``RUHU_TEST_CRASH_AT=<name>`` in the environment of a
    TESTING app, the process exits at once here (as under SIGKILL). Never set in production."""
    import os

    if current_app.testing and os.environ.get("RUHU_TEST_CRASH_AT") == name:
        os._exit(137)


def sweep(*, visit_ids: Any = None) -> int:
    """Re-check every visit that is not yet accepted (attachments stored? attested? -> accepted), so that no
    crash between a commit and acceptance leaves a qualifying visit behind.  Returns how many moved on."""
    query = select(Visit).where(Visit.status.in_(("incomplete", "complete")), Visit.source == "device")
    if visit_ids is not None:
        query = query.where(Visit.id.in_(visit_ids))
    moved = 0
    for visit_id in list(db.session.scalars(query.with_only_columns(Visit.id))):
        visit = db.session.get(Visit, visit_id)
        before = visit.status
        _refresh(visit)
        if db.session.get(Visit, visit_id).status != before:
            moved += 1
    return moved


def _verify(jwk: dict, message: bytes, signature_b64: str) -> bool:
    """WebCrypto ECDSA P-256/SHA-256 signatures are raw r||s (64 bytes), base64url or base64."""
    try:
        raw = base64.urlsafe_b64decode(signature_b64.replace("+", "-").replace("/", "_") + "=" * (-len(signature_b64) % 4))
        if len(raw) != 64:
            return False
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        _jwk_public_key(jwk).verify(der, message, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError, binascii.Error):
        return False


# --- accepting a visit into the case -----------------------------------------------------------------

def _try_accept(visit: Visit, *, commit: bool = True, restage: Callable[[], Visit] | None = None,
                attesters: set[int] | None = None, base: Any = _UNREAD) -> None:
    """With every attachment stored, attestations from enough distinct investigators on the visit, and the
    applicant's drawn signature (on forms that have one): take the record into the case — the home visit
    recorded and its merge worked out, or the appraisal recorded — and close the assignment.  An extra
    record made on the same trip (the two-rates survey) is accepted without closing anything.

    ``commit=False``: the caller commits (the acceptance joins its transaction).  When the case refuses the
    step, the transaction is rolled back and ``restage`` puts the caller's own writes back before the refusal is
    recorded and committed, so that an attestation is never lost with a refused acceptance."""
    if visit.assignment is not None and visit.assignment.status == "cancelled":
        # The team was taken off this visit (made offline before that): kept, attested, shown to the caseworker
        # as complete — never taken into the case by itself.
        return
    case = db.session.get(Case, visit.case_id)
    profile = services().profiles[case.profile_id]
    if attesters is None:
        attesters = set(db.session.scalars(select(Attestation.user_id).where(Attestation.visit_id == visit.id)))
    attesters = attesters & set(visit.investigator_ids or [])
    if len(attesters) < profile.home_visit.min_team:
        return
    form = forms().get((visit.form_id, visit.form_version)) or {}
    applicant = [a for a in (visit.envelope or {}).get("attachments", []) if a.get("slot") == "applicant"]
    has_applicant_slot = any(s.get("id") == "applicant" for s in form.get("slots", []))
    if profile.home_visit.applicant_signature and has_applicant_slot and not applicant:
        return
    recorder = db.session.get(User, sorted(attesters)[0])
    kind = form.get("kind")
    proposals = conflicts = 0
    step = None
    if visit.form_id in MERGEABLE_FORMS:
        if base is _UNREAD:
            base = db.session.scalar(select(RecordSnapshot.record).where(
                RecordSnapshot.case_id == case.id, RecordSnapshot.record_version == visit.base_version))
        found = flatten_answers(visit.form_id, visit.envelope["answers"])
        result = merge(base or {}, case.record or {}, found)
        current = case.record or {}
        # Members on the record (still living with the household) that the visit did not list: one question
        # each for the caseworker — did they leave?
        missing = sorted(n for n in member_numbers(current) - member_numbers(found)
                         if current.get(f"member/{n}/co_residing") is not False) if found else []
        visit.merge = {"proposals": result.proposals,
                       "conflicts": {k: {"base": c.base, "current": c.current, "proposed": c.proposed}
                                     for k, c in result.conflicts.items()},
                       "agreed": list(result.agreed), "missing": missing}
        proposals, conflicts = len(result.proposals), len(result.conflicts)
        if visit.kind == "home_visit" and case.status == "accepted":
            step = ("record_home_visit", {"investigators": sorted(attesters), "signed": sorted(attesters),
                                          "applicant_signed": True, "visit_on": visit.visit_on, "visit_id": visit.id,
                                          "findings": visit.findings})
    elif kind == "appraisal" and case.status == "visited":
        answers = visit.envelope["answers"]
        result_ = answers.get("result") or {}
        sheet = next((a["sha256"] for a in visit.envelope.get("attachments", []) if a.get("slot") == "signed_record"), None)
        step = ("record_appraisal", {"panel": _panel_of(answers), "minutes": result_.get("minutes") or "",
                                     "conclusion": result_.get("conclusion"),
                                     "appraisal_on": dt.date.fromisoformat((answers.get("meeting") or {})["appraisal_on"]),
                                     "scan_file": sheet, "visit_id": visit.id,
                                     "meeting": answers.get("meeting") or {},
                                     "votes": {"for": result_.get("votes_for"), "against": result_.get("votes_against")}})
    if visit.assignment is not None and visit.assignment.status != "open":
        step = None   # a closed assignment's step was taken when it closed: an amendment only proposes its changes
    visit.status = "accepted"
    if visit.supersedes_id:
        # The amendment is now attested: only now does it replace the original as the case's record.
        original = db.session.get(Visit, visit.supersedes_id)
        if original is not None and original.status != "superseded":
            original.status = "superseded"
    if step is not None:
        # The appraisal is the office's step: it is recorded in the name of the caseworker who sent it to the
        # phones (the audit names the visit and its attesting staff); a home visit in the first attester's.
        actor = recorder
        if step[0] == "record_appraisal" and visit.assignment is not None and visit.assignment.created_by_id:
            actor = db.session.get(User, visit.assignment.created_by_id) or recorder
        try:
            perform(case, step[0], actor, step[1], today=visit.visit_on, commit=False)
        except OperationError as exc:
            # The visit is kept (complete, attested); the case could not take it — the caseworker sees why.
            visit_id, recorder_id = visit.id, recorder.id
            db.session.rollback()
            if restage is not None:
                restage()
                if (v := db.session.get(Visit, visit_id)).status == "incomplete" and not _missing(v):
                    v.status = "complete"
            audit.record("visit.accept_refused", "visit", visit_id, actor=db.session.get(User, recorder_id),
                         after={"error": exc.code, "message": exc.message})
            db.session.commit()
            return
    if visit.assignment is not None and is_own_form(kind, visit.assignment.kind) and visit.assignment.status == "open":
        visit.assignment.status = "done"
        visit.assignment.updated_at = _now()
    audit.record("visit.accept", "visit", visit.id, actor=recorder,
                 after={"proposals": proposals, "conflicts": conflicts, "form": visit.form_id,
                        "attested_by": sorted(attesters)})
    if commit:
        db.session.commit()


def reconciliation_of(case: Case, visit: Visit) -> list:
    """The groups and rows of a visit's reconciliation (``sync.reconcile.rows``), labelled by its form."""
    from sync.reconcile import rows

    form = forms().get((visit.form_id, visit.form_version)) or {}
    return rows(form, visit.merge or {}, case.record or {})


def reconcile(case: Case, visit: Visit, picks: Mapping[str, str], actor: User, *, today: dt.date) -> Any:
    """The caseworker's pick for each row of the reconciliation ("visit" or "current"; a row left alone takes
    its default: proposals the visit's value, a member not found stays, every conflict must be decided).
    Before the review opinion (``workflow.RECORD_STAGES``): makes a new record version, brings the household's members
    in line and, when an income's visit value was taken, sets the assessed income from the record.  Later: the
    visit is marked reconciled and the figures it proposes are kept on the history line as evidence for the
    director's decision; nothing the board, roster or certificate reads changes.  Writes a line in the case
    history and an audit entry."""
    from server.models import CaseEvent
    from sync.reconcile import resolve

    if actor.role != "caseworker" or actor.unit_id != case.office_unit_id:
        raise OperationError("role_not_permitted", "只有本街道（乡镇）的经办人可以核对调查结果",
                             "only the office's caseworker may reconcile a visit", 403)
    if visit.case_id != case.id or visit.merge is None or visit.reconciled_at is not None or \
            visit.status != "accepted":
        raise OperationError("nothing_to_reconcile", "此调查记录没有待核对的内容", "this visit has nothing to reconcile", 409)
    groups = reconciliation_of(case, visit)
    keys = {row.key for g in groups for row in g.rows}
    unknown = sorted(k for k in picks if k not in keys or picks[k] not in ("visit", "current"))
    if unknown:
        raise OperationError("pick_unknown", "核对选项无效，请刷新页面后重新选择", "unknown choice: reload the page", 422)
    resolution = resolve(groups, visit.merge, case.record or {}, picks)
    if resolution.undecided:
        raise OperationError("conflict_unresolved",
                             "以下冲突项目（登记后已被修改）须选择采用哪一个值：" + "、".join(u[0] for u in resolution.undecided),
                             "choose a value for every conflict: " + ", ".join(u[1] for u in resolution.undecided),
                             422, paths=[u[0] for u in resolution.undecided])
    before, before_version = dict(case.record or {}), case.record_version
    new_record = apply_choices(before, resolution.choices)
    changed = {k for k in resolution.choices if before.get(k) != new_record.get(k)}
    # The assessed income follows the record only when the visit's value of an income was taken: a conflict
    # kept "as it is now" is a choice too, but it must not recompute the income from the record's rows.
    taken = {p for g in groups for row in g.rows if (picks.get(row.key) or row.default) == "visit" for p in row.paths}
    incomes = [Decimal(v) for k, v in new_record.items() if k.startswith("income/") and v not in (None, "")]
    proposed_income = sum(incomes, Decimal("0")) if any(k.startswith("income/") for k in taken) else None
    visit.reconciled_at = _now()
    note = "；".join(c[0] for c in resolution.changes) or "维持原登记"
    diff = {k: {"before": before.get(k), "after": new_record.get(k)} for k in sorted(changed)}
    if case.status in workflow.RECORD_STAGES:
        case.record = new_record
        case.record_version += 1
        db.session.add(RecordSnapshot(case_id=case.id, record_version=case.record_version, record=new_record))
        apply_to_household(case, new_record, changed, resolution.new_members, resolution.left, today)
        if proposed_income is not None:
            case.assessed_income_6m = proposed_income
        data = {"visit_id": visit.id, "record_version": case.record_version, "finding": "核对入户调查结果：" + note,
                "new_members": resolution.new_members, "left": resolution.left,
                "assessed_income_6m": str(case.assessed_income_6m)}
    else:
        # After the review opinion the figures the leader and director signed stand: the visit's findings are
        # kept as evidence for the director's decision (re-review conclusion or change), nothing is applied.
        names = {m.id_number: m.name for m in case.household.members}
        gone = sorted(set(resolution.left) | {k.split("/")[1] for k in changed if k.startswith("member/")
                                              and k.endswith("/co_residing") and new_record.get(k) is False})
        left = "、".join(names.get(n, n) for n in gone)
        joined = "、".join(new_record.get(f"member/{n}/name") or n for n in resolution.new_members)
        figures = [f"调查所得6个月收入{proposed_income}元（现认定{case.assessed_income_6m}元）"
                   if proposed_income is not None else "",
                   f"不再共同生活：{left}" if left else "", f"新增成员：{joined}" if joined else ""]
        data = {"visit_id": visit.id, "record_version": case.record_version, "evidence_only": True,
                "finding": "核对入户调查结果（审核后，作为证据留存，待主任决定后生效）：" + note +
                           "".join(f"；{f}" for f in figures if f),
                "new_members": resolution.new_members, "left": resolution.left,
                "assessed_income_6m": str(case.assessed_income_6m),
                "proposed": {"assessed_income_6m": None if proposed_income is None else str(proposed_income),
                             "left": gone, "new_members": resolution.new_members, "changes": diff}}
    db.session.add(CaseEvent(case=case, seq=next_event_seq(case.id), action="reconcile_visit", from_status=case.status,
                             to_status=case.status, actor_id=actor.id, on_date=today, data=data))
    audit.record("visit.reconcile", "case", case.id, actor=actor, before={"record_version": before_version},
                 after={"visit": visit.id, "record_version": case.record_version, "changes": diff,
                        "new_members": resolution.new_members, "left": resolution.left,
                        "evidence_only": case.status not in workflow.RECORD_STAGES,
                        "proposed_income_6m": None if proposed_income is None else str(proposed_income)})
    db.session.commit()
    return resolution
