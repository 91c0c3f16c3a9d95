"""Importing a phone's export file (设置 → 导出未同步记录) in the console: the last resort when a phone
cannot reach the server.  The caseworker uploads the file; every record in it is processed exactly as if
the enrolled phone that wrote it had synced it — the same operations (``put_attachment``, ``submit_visit``,
``attest`` in ``server.operations.sync``), so the same checks, the same idempotency and the same acceptance
into the case.

Nothing is stored unless the whole file is intact: first every attachment's bytes are hashed against the
SHA-256 the record lists, every record's content hash is recomputed from its envelope, and every device
signature (the phone's own attestation of its records, its attestations of partners' records) is verified
with the public key the phone registered at enrolment.  Any mismatch refuses the file (422, nothing stored).
Re-importing the same file changes nothing (the operations answer "already there").

The file (``format`` "ruhu-unsynced-export", ``version`` 1), as ``pwa/ui/settings.js`` writes it::

    device        {"device_id", "user": {"id", "name", ...}, "name"}
    visits        [{"visit_id", "status", "envelope" (absent on drafts), "content_hash", "own_signature",
                    "files": [{"id", "sha256", "type", "size", "data": "data:<type>;base64,..."}], ...}]
    attestations  [{"visit_id", "content_hash", "signature", "assignment_id", "status"}]
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import Device, Unit, User
from server.operations import OperationError, audit
from server.operations.sync import _verify, attest, put_attachment, submit_visit
from sync.protocol import attestation_message, content_hash, is_content_hash, is_visit_id

EXPORT_FORMAT = "ruhu-unsynced-export"
EXPORT_VERSION = 1
FILE_TYPES = ("image/jpeg", "image/png")


@dataclass
class Item:
    """What became of one record of the file."""

    kind: str              # visit | attestation | draft
    visit_id: str
    outcome: str           # imported | already | refused | waiting | skipped
    message: str = ""
    message_en: str = ""
    status: str = ""       # the visit's status on the server afterwards


@dataclass
class ImportResult:
    device: Device
    items: list[Item] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)


@dataclass
class _Prepared:
    visit_id: str
    envelope: dict
    content_hash: str
    signature: str
    files: list[tuple[str, str, bytes]]   # (sha256, type, bytes)


def _refuse(problems: list[tuple[str, str, str]]) -> OperationError:
    return OperationError("export_tampered", "导出文件未通过校验（内容被改动或不完整），未导入任何内容",
                          "the export file failed verification (changed or incomplete); nothing was imported", 422,
                          problems=[{"path": p, "message": zh, "message_en": en} for p, zh, en in problems])


def read_export(raw: bytes) -> dict[str, Any]:
    """The parsed file, or 422 when it is not a phone's export at all."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):   # (RecursionError: nested past what the parser follows)
        data = None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise OperationError("export_invalid", "这不是入户调查手机导出的文件", "this is not a field app export file", 422)
    if data.get("version") != EXPORT_VERSION:
        raise OperationError("export_version", "导出文件的版本不受支持，请更新手机应用后重新导出",
                             "unsupported export version: update the app and export again", 422)
    if not isinstance(data.get("device"), dict) or not isinstance(data.get("visits", []), list) or \
            not isinstance(data.get("attestations", []), list):
        raise OperationError("export_invalid", "导出文件结构不完整", "the export file is incomplete", 422)
    return data


def _office_unit_ids(user: User) -> set[int]:
    office = db.session.get(Unit, user.unit_id)
    return {office.id, *(c.id for c in office.children)}


def _device_in_scope(data: dict, actor: User) -> Device:
    device = db.session.get(Device, str(data["device"].get("device_id") or ""))
    if device is None:
        raise OperationError("device_unknown", "文件中的手机未在本系统登记", "the phone that wrote the file is not enrolled here",
                             422)
    if device.user is None or device.user.unit_id not in _office_unit_ids(actor):
        raise OperationError("device_out_of_scope", "这部手机的调查人员不属于本单位，不能在此导入",
                             "this phone's investigator is not in your office", 403)
    if device.revoked_at is not None:
        raise OperationError("device_revoked", "这部手机已被停用，其导出文件不能导入",
                             "this phone was revoked; its export cannot be imported", 422)
    return device


def _decode(data_url: Any) -> bytes | None:
    if not isinstance(data_url, str) or ";base64," not in data_url:
        return None
    try:
        return base64.b64decode(data_url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None


def verify(data: dict, device: Device) -> tuple[list[_Prepared], list[dict], list[Item]]:
    """Every integrity check, before anything is stored: (finalised visits, attestations, skipped drafts)."""
    from server.models.attachments import Attachment

    problems: list[tuple[str, str, str]] = []
    prepared: list[_Prepared] = []
    drafts: list[Item] = []
    for i, rec in enumerate(data.get("visits", [])):
        where = f"visits/{i}"
        if not isinstance(rec, dict):
            problems.append((where, "记录格式有误", "not a record"))
            continue
        visit_id = str(rec.get("visit_id") or "")
        envelope = rec.get("envelope")
        if envelope is None:
            drafts.append(Item("draft", visit_id, "skipped", "草稿尚未完成（未锁定、未签名），不能导入：请在手机上完成后同步",
                               "a draft (not finished or signed) cannot be imported: finish it on the phone"))
            continue
        if not isinstance(envelope, dict) or not is_visit_id(visit_id) or envelope.get("visit_id") != visit_id:
            problems.append((where, "记录编号与内容不符", "the record id does not match its content"))
            continue
        try:
            recomputed = content_hash(envelope)
        except (TypeError, ValueError):
            recomputed = None
        if recomputed is None or recomputed != rec.get("content_hash"):
            problems.append((where, "记录内容与其内容摘要不一致（内容被改动）", "the record's content does not match its hash"))
            continue
        signature = str(rec.get("own_signature") or "")
        if not _verify(device.public_key, attestation_message(visit_id, recomputed), signature):
            problems.append((where, "手机签名校验失败", "the phone's signature does not verify"))
            continue
        files: dict[str, tuple[str, bytes]] = {}
        for j, f in enumerate(rec.get("files") or []):
            raw = _decode(f.get("data")) if isinstance(f, dict) else None
            if raw is None or f.get("type") not in FILE_TYPES or hashlib.sha256(raw).hexdigest() != f.get("sha256"):
                problems.append((f"{where}/files/{j}", "照片或签字文件与其摘要不一致（内容被改动）",
                                 "a photo or signature does not match its SHA-256"))
                continue
            files[f["sha256"]] = (f["type"], raw)
        listed = [a.get("sha256") for a in envelope.get("attachments") or [] if isinstance(a, dict)]
        absent = [s for s in listed if s not in files]
        stored = set(db.session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(absent)))) if absent else set()
        for sha in absent:
            if sha not in stored:
                problems.append((where, "文件中缺少记录所列的照片或签字", f"the file lacks the attachment {sha}"))
        prepared.append(_Prepared(visit_id, envelope, recomputed, signature,
                                  [(s, *files[s]) for s in listed if s in files]))
    attestations: list[dict] = []
    for i, a in enumerate(data.get("attestations", [])):
        where = f"attestations/{i}"
        ok = isinstance(a, dict) and is_visit_id(a.get("visit_id")) and is_content_hash(a.get("content_hash"))
        if not ok or not _verify(device.public_key, attestation_message(a["visit_id"], a["content_hash"]),
                                 str(a.get("signature") or "")):
            problems.append((where, "确认签名校验失败", "an attestation signature does not verify"))
            continue
        attestations.append(a)
    if problems:
        raise _refuse(problems)
    return prepared, attestations, drafts


def import_export(raw: bytes, actor: User, today: dt.date, remote_addr: str = "") -> ImportResult:
    """Verify the whole file, then process each record as a sync from the phone that wrote it."""
    data = read_export(raw)
    device = _device_in_scope(data, actor)
    prepared, attestations, drafts = verify(data, device)
    result = ImportResult(device=device, items=list(drafts))
    for rec in prepared:
        result.items.append(_import_visit(device, rec, today))
    for a in attestations:
        result.items.append(_import_attestation(device, a))
    counts = {k: result.count(k) for k in ("imported", "already", "refused", "waiting", "skipped")}
    audit.record("visits.import", "device", device.id, actor=actor, remote_addr=remote_addr,
                 after={"counts": counts, "visits": [i.visit_id for i in result.items if i.kind == "visit"],
                        "attestations": [i.visit_id for i in result.items if i.kind == "attestation"]})
    db.session.commit()
    return result


def _import_visit(device: Device, rec: _Prepared, today: dt.date) -> Item:
    try:
        for sha, mime, body in rec.files:
            put_attachment(device, sha, body, mime)
        submission = submit_visit(device, rec.envelope, rec.visit_id, today)
        status, _ = attest(device, {"visit_id": rec.visit_id, "content_hash": rec.content_hash,
                                    "device_id": device.id, "signature": rec.signature})
    except OperationError as exc:
        db.session.rollback()
        return Item("visit", rec.visit_id, "refused", exc.message, exc.message_en)
    new = submission.status == 201 or status == 201
    return Item("visit", rec.visit_id, "imported" if new else "already", status=_status_of(rec.visit_id))


def _import_attestation(device: Device, a: dict) -> Item:
    try:
        status, body = attest(device, {"visit_id": a["visit_id"], "content_hash": a["content_hash"],
                                       "device_id": device.id, "signature": a["signature"]})
    except OperationError as exc:
        db.session.rollback()
        if exc.code == "visit_unknown":
            return Item("attestation", a["visit_id"], "waiting", "对方的调查记录尚未到达服务器：对方同步或导入后，再导入本文件即可",
                        "the partner's record is not on the server yet: import this file again after it arrives")
        return Item("attestation", a["visit_id"], "refused", exc.message, exc.message_en)
    return Item("attestation", a["visit_id"], "imported" if status == 201 else "already", status=body.get("status", ""))


def _status_of(visit_id: str) -> str:
    from server.models import Visit

    visit = db.session.get(Visit, visit_id)
    return visit.status if visit else ""
