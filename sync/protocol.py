r"""The visit envelope, canonical JSON, content hashes and idempotency decisions — pure.

Canonical JSON (``canonical_json``)
===================================
The bytes that get hashed and signed. The PWA reproduces them byte for byte (then hashes them with
``crypto.subtle.digest("SHA-256", bytes)`` and writes the digest as lowercase hex); the shared
vectors are in ``tests/fixtures/sync_envelopes.json``. The algorithm:

1. **Values.** Only ``null``, ``true``, ``false``, integers, strings, arrays and objects (Python:
   ``None``, ``bool``, ``int``, ``str``, ``list``, ``dict`` with ``str`` keys). Integers must lie in
   -(2**53 - 1) .. 2**53 - 1 (JavaScript: ``Number.isSafeInteger(n)``). Any other number —
   fractions, floats even when integral in Python (``1.0``), NaN, Infinity — and any other type
   (tuples, dates, ``undefined``, ...) is an error: Python raises ``TypeError`` (``ValueError`` for
   an integer out of range). Amounts, coordinates and other decimals travel as strings.
2. **Strings**, keys included, must be valid Unicode (no lone surrogates; JavaScript:
   ``s.isWellFormed()``; Python raises ``ValueError``) and are normalised to NFC (JavaScript:
   ``s.normalize("NFC")``). Two keys of one object that are equal after NFC are an error
   (``ValueError``).
3. **Object keys are sorted by UTF-16 code units**, after normalisation — exactly what JavaScript's
   default ``Array.prototype.sort()`` does on strings (never ``localeCompare``). For keys made only of
   characters below U+10000 (every key the protocol defines is ASCII) this is plain code-point order.
4. **No whitespace** anywhere: objects are ``{`` + ``"key":value`` pairs joined by ``,`` + ``}``,
   arrays are ``[`` + values joined by ``,`` + ``]``; array order is kept.
5. **Scalars**: ``null``, ``true``, ``false``; integers in decimal with a leading ``-`` when negative,
   no ``+``, no leading zeros, no exponent, no fraction (JavaScript: ``String(n)``); strings quoted as
   ``JSON.stringify(s)`` quotes them: ``"`` -> ``\"``, ``\`` -> ``\\``, U+0008 -> ``\b``, U+0009 ->
   ``\t``, U+000A -> ``\n``, U+000C -> ``\f``, U+000D -> ``\r``, every other character below U+0020 ->
   ``\u00XX`` with **lowercase** hex digits; every other character — DEL, U+2028, U+2029, all
   non-ASCII text — is written as itself (``ensure_ascii=False``; no ``\uXXXX`` for non-ASCII).
6. **Encoding**: UTF-8 without a byte-order mark (JavaScript: ``new TextEncoder().encode(text)``).

So in JavaScript, after step 2, ``JSON.stringify`` of an object rebuilt with its keys inserted in
sorted order gives the same text — provided no key looks like an array index ("0", "17"): JavaScript
objects list those first whatever the insertion order, so a serialiser must walk the sorted keys
itself rather than rely on property order. The protocol's own keys never look like indices; answers
may (they are free-form objects), so write the small recursive serialiser.

The visit envelope
==================
One JSON object per visit revision, made on the phone; all keys are required, no other keys are
allowed (``unknown_key``)::

    protocol        int, == PROTOCOL_VERSION
    visit_id        UUID, lowercase canonical form (8-4-4-4-12 hex digits), made on the phone;
                    a new id for every revision
    assignment_id   int > 0
    case_id         int > 0
    form_id         str (e.g. "household_survey")
    form_version    int >= 1
    base_version    int >= 1: the case version the visit started from (the merge base)
    supersedes      null, or the visit_id of the revision this one replaces
    answers         object: the form's answers (checked by sync.validate, not here)
    attachments     list of {"sha256": 64 lowercase hex digits, "size": int > 0,
                             "type": "image/jpeg" | "image/png",
                             "role": "photo" | "signature" | "fingerprint",
                             "slot": str (a slot of the form, e.g. "house_outside"),
                             optional "captured_at": when the photo was taken, a date-time as started_at,
                             optional "position": where, a POSITION as in gps};
                    no two with the same sha256 and role. The two optional keys are read on the phone
                    before it downscales (which strips EXIF) and are signed with the rest.
    investigators   list of distinct user ids (int > 0), at least one
    gps             {"start": POSITION, "finish": POSITION} where POSITION is
                    {"lat": "34.7466", "lon": "113.6253", "accuracy": "12.5"} (decimal strings;
                    lat -90..90, lon -180..180, accuracy >= 0 metres) or {"refused": true}
    started_at      ISO 8601 date-time with seconds and an offset: "2026-11-20T09:15:00+08:00",
    finished_at     "2026-11-20T01:15:00.123Z" (at most 6 fractional digits); finished >= started

The transport key ``received_at`` (set by the server) may also be present; it is not signed.
``content_hash`` covers exactly the ``SIGNED_KEYS`` present, so the hash of an envelope does not
change when the server stamps it. Devices sign ``attestation_message(visit_id, content_hash)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sync.errors import EnvelopeError, Problem, join_path

__all__ = [
    "ATTACHMENT_OPTIONAL_KEYS",
    "ATTACHMENT_ROLES",
    "ATTACHMENT_TYPES",
    "ATTESTATION_PURPOSE",
    "MAX_SAFE_INTEGER",
    "OUTCOMES",
    "PROTOCOL_VERSION",
    "SIGNED_KEYS",
    "TRANSPORT_KEYS",
    "Attachment",
    "Envelope",
    "attestation_message",
    "canonical_form",
    "canonical_json",
    "classify_submission",
    "content_hash",
    "is_content_hash",
    "is_visit_id",
    "parse_envelope",
]

PROTOCOL_VERSION = 1

SIGNED_KEYS: tuple[str, ...] = (
    "protocol", "visit_id", "assignment_id", "case_id", "form_id", "form_version", "base_version",
    "supersedes", "answers", "attachments", "investigators", "gps", "started_at", "finished_at",
)
TRANSPORT_KEYS: tuple[str, ...] = ("received_at",)

MAX_SAFE_INTEGER = 2**53 - 1
ATTACHMENT_TYPES = ("image/jpeg", "image/png")
ATTACHMENT_ROLES = ("photo", "signature", "fingerprint")
ATTACHMENT_OPTIONAL_KEYS = ("captured_at", "position")   # a photo's facts, read before downscaling
ATTESTATION_PURPOSE = "ruhu-visit-attestation"
OUTCOMES = ("new", "replay", "conflict", "stale_revision")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})", re.ASCII)
_DECIMAL = re.compile(r"-?(0|[1-9]\d{0,5})(\.\d{1,12})?", re.ASCII)
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)


# --- canonical JSON --------------------------------------------------------------------------

def _well_formed(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _utf16_order(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like sequences of UTF-16 code units.
    return key.encode("utf-16-be", "surrogatepass")


def _canon(obj: Any, path: str, bad: list[tuple[str, type[Exception], str, str, str]]) -> Any:
    """The canonical form of obj; every deviation is appended to ``bad`` as
    (path, exception class, English reason, Chinese reason, English reason for people)."""
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        if -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            return int(obj)
        bad.append((path, ValueError, "integer outside -(2**53-1)..2**53-1",
                    "整数超出允许范围", "The integer is too large; send large numbers as strings"))
        return int(obj)
    if isinstance(obj, str):
        if not _well_formed(obj):
            bad.append((path, ValueError, "string with a lone surrogate",
                        "文字中含有无效字符", "The text contains an invalid character (a lone surrogate)"))
            return str(obj)
        return unicodedata.normalize("NFC", obj)
    if isinstance(obj, list):
        return [_canon(item, join_path(path, str(i)), bad) for i, item in enumerate(obj)]
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                bad.append((join_path(path, repr(key)), TypeError, f"key of type {type(key).__name__}",
                            "键必须是字符串", "Object keys must be strings"))
                continue
            canonical_key = _canon(key, join_path(path, key), bad)
            if canonical_key in out:
                bad.append((join_path(path, canonical_key), ValueError, "two keys equal after NFC",
                            "两个键在Unicode规范化后相同", "Two keys are the same after Unicode normalisation"))
                continue
            out[canonical_key] = _canon(value, join_path(path, canonical_key), bad)
        return {key: out[key] for key in sorted(out, key=_utf16_order)}
    if isinstance(obj, float):
        reason_en = "Numbers must be integers; send amounts and other decimals as strings"
        bad.append((path, TypeError, "float (amounts travel as strings)", "数字只能是整数，金额等小数请用字符串",
                    reason_en))
        return obj
    bad.append((path, TypeError, f"unsupported type {type(obj).__name__}",
                "不支持的数据类型", f"Unsupported value of type {type(obj).__name__}"))
    return obj


class _Deviation(Exception):
    """The quick pass met something it does not take as it is: the careful pass (``_canon``) names it."""


def _canon_quick(obj: Any) -> Any:
    """``_canon`` for a value that is already fine (every value a phone sends), without working out the path of
    each node; anything unusual (a subclass, a float, a bad integer or string, colliding keys) raises
    ``_Deviation`` and the caller runs ``_canon``, which gives the same result and says where."""
    kind = type(obj)
    if kind is str:
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            raise _Deviation from None
        return unicodedata.normalize("NFC", obj)
    if kind is dict:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if type(key) is not str:
                raise _Deviation
            canonical_key = _canon_quick(key)
            if canonical_key in out:
                raise _Deviation
            out[canonical_key] = _canon_quick(value)
        return {key: out[key] for key in sorted(out, key=_utf16_order)}
    if kind is list:
        return [_canon_quick(item) for item in obj]
    if obj is None or kind is bool:
        return obj
    if kind is int and -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
        return obj
    raise _Deviation


def _canonical(obj: Any, bad: list[tuple[str, type[Exception], str, str, str]]) -> Any:
    """The canonical form of obj, deviations appended to ``bad`` (the quick pass first)."""
    try:
        return _canon_quick(obj)
    except _Deviation:
        return _canon(obj, "", bad)


def canonical_form(obj: Any) -> Any:
    """obj with every string NFC-normalised and every object's keys in canonical order.

    Raises TypeError for a value of a type canonical JSON does not allow (floats included) and
    ValueError for an out-of-range integer, a lone surrogate or keys that collide after NFC.
    """
    bad: list[tuple[str, type[Exception], str, str, str]] = []
    result = _canonical(obj, bad)
    if bad:
        path, exc_class, reason, _, _ = bad[0]
        raise exc_class(f"not canonical JSON at {path or '<root>'}: {reason}")
    return result


def canonical_json(obj: Any) -> bytes:
    """The canonical JSON bytes of obj (see the module docstring)."""
    return json.dumps(canonical_form(obj), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def content_hash(envelope: Mapping[str, Any]) -> str:
    """Lowercase hex SHA-256 of the canonical JSON of the envelope's signed part.

    The signed part is exactly the keys of ``SIGNED_KEYS`` present in the envelope; anything else
    (the transport key ``received_at``, or keys ``parse_envelope`` would reject) is left out.
    """
    if not isinstance(envelope, Mapping):
        raise TypeError("content_hash() needs a mapping")
    signed = {key: envelope[key] for key in SIGNED_KEYS if key in envelope}
    return hashlib.sha256(canonical_json(signed)).hexdigest()


def is_visit_id(value: Any) -> bool:
    """A UUID in lowercase canonical form."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def is_content_hash(value: Any) -> bool:
    """64 lowercase hex digits."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def attestation_message(visit_id: str, content_hash: str) -> bytes:
    """Exactly the bytes a device signs (ECDSA P-256, SHA-256) to attest a visit revision."""
    if not is_visit_id(visit_id):
        raise ValueError("visit_id must be a lowercase canonical UUID")
    if not is_content_hash(content_hash):
        raise ValueError("content_hash must be 64 lowercase hex digits")
    return canonical_json({"protocol": PROTOCOL_VERSION, "purpose": ATTESTATION_PURPOSE,
                           "visit_id": visit_id, "content_hash": content_hash})


# --- idempotency ----------------------------------------------------------------------------

def classify_submission(existing_hash: str | None, new_hash: str, *, supersedes: str | None,
                        supersedes_is_current: bool | None) -> str:
    """What to do with a posted visit, given what is stored.

    ``existing_hash``: the content hash stored under the posted visit_id, None when that id is new.
    ``supersedes_is_current``: whether the revision named by ``supersedes`` is the current revision
    of its visit; None when ``supersedes`` is None. An unknown superseded id (False or None) counts
    as stale.

    - "replay": the same id with the identical hash -> 200, nothing changes. A replay stays a replay
      even when a later revision has superseded it since;
    - "conflict": the same id with a different hash -> 409 visit_conflict;
    - "stale_revision": a new id whose ``supersedes`` is not the current revision -> 409;
    - "new": store it -> 201.
    """
    if not is_content_hash(new_hash):
        raise ValueError("new_hash must be 64 lowercase hex digits")
    if existing_hash is not None and not is_content_hash(existing_hash):
        raise ValueError("existing_hash must be None or 64 lowercase hex digits")
    if supersedes is None and supersedes_is_current is not None:
        raise ValueError("supersedes_is_current must be None when supersedes is None")
    if existing_hash is not None:
        return "replay" if existing_hash == new_hash else "conflict"
    if supersedes is not None and supersedes_is_current is not True:
        return "stale_revision"
    return "new"


# --- the envelope ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Attachment:
    sha256: str
    size: int
    type: str
    role: str
    slot: str
    captured_at: datetime | None = None
    position: dict[str, Any] | None = None


@dataclass(frozen=True)
class Envelope:
    protocol: int
    visit_id: str
    assignment_id: int
    case_id: int
    form_id: str
    form_version: int
    base_version: int
    supersedes: str | None
    answers: dict[str, Any]
    attachments: tuple[Attachment, ...]
    investigators: tuple[int, ...]
    gps: dict[str, Any]
    started_at: datetime  # timezone-aware
    finished_at: datetime
    raw: dict[str, Any]  # the validated envelope in canonical form (NFC strings, sorted keys)
    hash: str  # content_hash(raw)


_TYPE_NAMES = {
    int: ("整数", "an integer"), str: ("字符串", "a string"), dict: ("对象", "an object"),
    list: ("列表", "a list"), bool: ("true或false", "true or false"),
}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, code: str, message: str, message_en: str) -> None:
        self.problems.append(Problem(path, code, message, message_en))

    def typed(self, value: Any, expected: type, path: str) -> bool:
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            zh, en = _TYPE_NAMES[expected]
            self.add(path, "wrong_type", f"应为{zh}", f"Must be {en}")
        return ok

    def integer(self, value: Any, path: str, minimum: int) -> int | None:
        if not self.typed(value, int, path):
            return None
        if value < minimum:
            self.add(path, "too_small", f"应不小于{minimum}", f"Must be at least {minimum}")
            return None
        return value

    def uuid(self, value: Any, path: str) -> str | None:
        if not self.typed(value, str, path):
            return None
        if not is_visit_id(value):
            if _UUID.fullmatch(value.lower()):
                self.add(path, "invalid_uuid", "UUID应使用小写字母", "The UUID must be written in lowercase")
            else:
                self.add(path, "invalid_uuid", "不是有效的UUID（8-4-4-4-12位十六进制）",
                         "Not a UUID in canonical form (8-4-4-4-12 hex digits)")
            return None
        return value

    def keys(self, value: dict, path: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                self.add(join_path(path, key), "unknown_key", "不允许的字段", f"Unknown key {key!r}")
        for key in required:
            if key not in value:
                self.add(join_path(path, key), "missing", "缺少必需的字段", f"Missing required key {key!r}")

    def datetime(self, value: Any, path: str) -> datetime | None:
        if not self.typed(value, str, path):
            return None
        parsed = None
        if _DATETIME.fullmatch(value):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.add(path, "invalid_datetime", "时间格式应为带时区的ISO 8601，例如2026-11-20T09:15:00+08:00",
                     "Must be an ISO 8601 date-time with an offset, e.g. 2026-11-20T09:15:00+08:00")
            return None
        return parsed

    def decimal(self, value: Any, path: str, low: int | None, high: int | None) -> None:
        if not self.typed(value, str, path):
            return
        if not _DECIMAL.fullmatch(value):
            self.add(path, "invalid_decimal", "应为十进制数字字符串，例如\"34.7466\"",
                     'Must be a decimal number written as a string, e.g. "34.7466"')
            return
        number = Decimal(value)
        if (low is not None and number < low) or (high is not None and number > high):
            lo = "" if low is None else str(low)
            hi = "" if high is None else str(high)
            self.add(path, "out_of_range", f"超出范围（{lo}～{hi}）", f"Out of range ({lo}..{hi})")

    def position(self, value: Any, path: str) -> None:
        if not self.typed(value, dict, path):
            return
        if "refused" in value:
            if value["refused"] is not True:
                self.add(join_path(path, "refused"), "invalid_value", "拒绝定位时应为true",
                         "Must be true (send lat, lon and accuracy to record a position)")
            self.keys(value, path, ("refused",), ())
            return
        self.keys(value, path, ("lat", "lon", "accuracy"), ("lat", "lon", "accuracy"))
        for key, low, high in (("lat", -90, 90), ("lon", -180, 180), ("accuracy", 0, None)):
            if key in value:
                self.decimal(value[key], join_path(path, key), low, high)

    def attachment(self, value: Any, path: str) -> Attachment | None:
        if not self.typed(value, dict, path):
            return None
        fields = ("sha256", "size", "type", "role", "slot")
        before = len(self.problems)   # counted before the key check: a missing key is a problem too
        self.keys(value, path, (*fields, *ATTACHMENT_OPTIONAL_KEYS), fields)
        sha = value.get("sha256")
        if "sha256" in value and self.typed(sha, str, f"{path}/sha256") and not is_content_hash(sha):
            self.add(f"{path}/sha256", "invalid_sha256", "应为64位小写十六进制SHA-256",
                     "Must be a SHA-256 digest: 64 lowercase hex digits")
        if "size" in value:
            self.integer(value["size"], f"{path}/size", 1)
        for key, allowed in (("type", ATTACHMENT_TYPES), ("role", ATTACHMENT_ROLES)):
            if key in value and self.typed(value[key], str, f"{path}/{key}") and value[key] not in allowed:
                self.add(f"{path}/{key}", "invalid_choice", f"应为{'、'.join(allowed)}之一",
                         f"Must be one of {', '.join(allowed)}")
        slot = value.get("slot")
        if "slot" in value and self.typed(slot, str, f"{path}/slot") and not _NAME.fullmatch(slot):
            self.add(f"{path}/slot", "invalid_slot", "栏位名称应为小写字母、数字和下划线",
                     "A slot name is lowercase letters, digits and underscores, starting with a letter")
        captured = None
        if "captured_at" in value:
            captured = self.datetime(value["captured_at"], f"{path}/captured_at")
        if "position" in value:
            self.position(value["position"], f"{path}/position")
        if len(self.problems) != before:
            return None
        return Attachment(sha256=sha, size=value["size"], type=value["type"], role=value["role"], slot=slot,
                          captured_at=captured, position=value.get("position"))


def parse_envelope(raw: Any) -> Envelope:
    """Check the envelope's shape (not the form answers) and return it; raises EnvelopeError
    listing every problem found."""
    check = _Checker()
    if not isinstance(raw, dict):
        raise EnvelopeError([Problem("", "wrong_type", "访视记录应为JSON对象", "The envelope must be a JSON object")])

    bad: list[tuple[str, type[Exception], str, str, str]] = []
    env = _canonical(raw, bad)
    for path, _, _, zh, en in bad:
        check.add(path, "not_canonical", zh, en)

    check.keys(env, "", SIGNED_KEYS + TRANSPORT_KEYS, SIGNED_KEYS)

    protocol = env.get("protocol")
    if "protocol" in env and check.typed(protocol, int, "protocol") and protocol != PROTOCOL_VERSION:
        check.add("protocol", "unsupported_protocol", f"不支持的协议版本，应为{PROTOCOL_VERSION}，请更新应用",
                  f"Unsupported protocol version; this server speaks {PROTOCOL_VERSION}. Update the app")

    visit_id = check.uuid(env["visit_id"], "visit_id") if "visit_id" in env else None
    for key in ("assignment_id", "case_id"):
        if key in env:
            check.integer(env[key], key, 1)
    if "form_id" in env and check.typed(env["form_id"], str, "form_id") and not _NAME.fullmatch(env["form_id"]):
        check.add("form_id", "invalid_value", "表单编号无效", "Not a form id")
    for key in ("form_version", "base_version"):
        if key in env:
            check.integer(env[key], key, 1)

    supersedes = env.get("supersedes")
    if supersedes is not None and check.uuid(supersedes, "supersedes") and supersedes == visit_id:
        check.add("supersedes", "supersedes_itself", "修订记录不能替代自身", "A revision cannot supersede itself")

    if "answers" in env:
        check.typed(env["answers"], dict, "answers")

    attachments: list[Attachment] = []
    if "attachments" in env and check.typed(env["attachments"], list, "attachments"):
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(env["attachments"]):
            attachment = check.attachment(item, f"attachments/{i}")
            if attachment is None:
                continue
            if (attachment.sha256, attachment.role) in seen:
                check.add(f"attachments/{i}", "duplicate", "同一文件以相同用途重复列出",
                          "The same file is listed twice with the same role")
            seen.add((attachment.sha256, attachment.role))
            attachments.append(attachment)

    if "investigators" in env and check.typed(env["investigators"], list, "investigators"):
        if not env["investigators"]:
            check.add("investigators", "empty", "至少需要一名调查人员", "At least one investigator is needed")
        ids: set[int] = set()
        for i, uid in enumerate(env["investigators"]):
            if check.integer(uid, f"investigators/{i}", 1) is None:
                continue
            if uid in ids:
                check.add(f"investigators/{i}", "duplicate", "调查人员重复", "The same investigator is listed twice")
            ids.add(uid)

    if "gps" in env and check.typed(env["gps"], dict, "gps"):
        check.keys(env["gps"], "gps", ("start", "finish"), ("start", "finish"))
        for key in ("start", "finish"):
            if key in env["gps"]:
                check.position(env["gps"][key], f"gps/{key}")

    started = check.datetime(env["started_at"], "started_at") if "started_at" in env else None
    finished = check.datetime(env["finished_at"], "finished_at") if "finished_at" in env else None
    if started is not None and finished is not None and finished < started:
        check.add("finished_at", "finished_before_started", "结束时间早于开始时间",
                  "The visit finishes before it starts")

    if "received_at" in env:
        check.datetime(env["received_at"], "received_at")

    if check.problems:
        raise EnvelopeError(check.problems)
    assert started is not None and finished is not None and visit_id is not None
    return Envelope(
        protocol=env["protocol"], visit_id=visit_id, assignment_id=env["assignment_id"], case_id=env["case_id"],
        form_id=env["form_id"], form_version=env["form_version"], base_version=env["base_version"],
        supersedes=supersedes, answers=env["answers"], attachments=tuple(attachments),
        investigators=tuple(env["investigators"]), gps=env["gps"], started_at=started, finished_at=finished,
        raw=env, hash=content_hash(env),
    )
