"""The JSON API the phones use (``/api/v1``).  Errors: ``{"error", "message" (zh), "message_en"}``."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from server import today
from server.extensions import autocommit_reads, csrf, db, limiter
from server.operations import OperationError
from server.operations import sync as ops

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies: there is no ambient credential to forge


def error(code: str, message: str, message_en: str, status: int, **extra):
    """An ``application/problem+json`` answer that also carries ``error``, ``message``, ``message_en``."""
    from server.guard import problem

    return problem(status, code, message, message_en, **extra)


@bp.errorhandler(OperationError)
def _operation_error(exc: OperationError):
    db.session.rollback()
    extra = {k: v for k, v in exc.details.items() if k in ("problems", "paths", "visit_id")}
    return error(exc.code, exc.message, exc.message_en, exc.status, **extra)


@bp.errorhandler(404)
def _not_found(exc):
    return error("not_found", "接口不存在", "no such endpoint", 404)


@bp.errorhandler(405)
def _not_allowed(exc):
    return error("method_not_allowed", "不支持此请求方法", "method not allowed", 405)


@bp.errorhandler(413)
def _too_large(exc):
    return error("too_large", "上传内容过大", "the upload is too large", 413)


def device_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method == "GET":
            autocommit_reads()   # PostgreSQL: no BEGIN/ROLLBACK round trips for a read (the pull ends it to write)
        device = ops.authenticate(request.headers.get("Authorization"))
        if device is None:
            return error("unauthorized", "手机未登记或已被停用，请重新登记",
                         "this phone is not enrolled or was revoked: enrol it again", 401)
        g.device = device
        return view(*args, **kwargs)
    return wrapper


def json_body():
    body = request.get_json(silent=True)
    if body is None:
        raise OperationError("body_invalid", "请求内容应为 JSON", "the body must be JSON", 400)
    return body


@bp.errorhandler(429)
def _rate_limited(exc):
    # The console's 429 page is a sign-in form: a phone gets the API's problem body (Retry-After: the limiter's).
    return error("rate_limited", "请求过于频繁，请稍后再试", "too many requests: please wait and try again", 429)


@bp.post("/devices/enroll")
@limiter.limit(lambda: current_app.config.get("RUHU_ENROLL_RATE", "20 per hour"))
def enroll():
    body = json_body()
    if not isinstance(body, dict):
        raise OperationError("body_invalid", "请求内容应为 JSON 对象", "the body must be a JSON object", 400)
    device, token = ops.enrol(str(body.get("code") or ""), str(body.get("device_name") or ""), body.get("public_key"))
    return jsonify({"device_id": device.id, "token": token, "user": {"id": device.user.id, "name": device.user.name,
                                                                     "unit": device.user.unit.name}}), 201


@bp.get("/me")
@device_required
def me():
    d = g.device
    return jsonify({"device_id": d.id, "device_name": d.name,
                    "user": {"id": d.user.id, "name": d.user.name, "unit": d.user.unit.name}})


@bp.get("/sync/pull")
@device_required
def pull():
    return jsonify(ops.pull(g.device, request.args.get("since"), request.args.get("forms")))


@bp.put("/attachments/<sha256>")
@device_required
def put_attachment(sha256: str):
    status, body = ops.put_attachment(g.device, sha256, request.get_data(cache=False),
                                      request.headers.get("Content-Type"))
    return jsonify(body), status


@bp.post("/visits")
@device_required
def post_visit():
    if request.mimetype == "multipart/form-data":
        return _post_bundle()
    result = ops.submit_visit(g.device, json_body(), request.headers.get("Idempotency-Key"), today())
    return jsonify(result.body), result.status


def _json_part(name: str, required: bool):
    """A JSON part of a multipart request (a file part, so that its size is the request's limit, not a form
    field's), checked like a JSON body."""
    import json

    from server.guard import check_json

    part = request.files.get(name)
    text = part.read() if part is not None else request.form.get(name, "").encode() or None
    if text is None:
        if required:
            raise OperationError("body_invalid", f"缺少 {name} 部分", f"the request has no '{name}' part", 400)
        return None
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):   # (RecursionError: nested past what the parser follows)
        raise OperationError("body_invalid", f"{name} 部分应为 JSON", f"the '{name}' part must be JSON", 400) from None
    check_json(value, name)
    return value


def _post_bundle():
    """``multipart/form-data``: part ``envelope`` (the visit envelope, JSON), one part per file named by its
    SHA-256, optionally part ``attestation`` (this phone's own, JSON as for POST /attestations)."""
    envelope = _json_part("envelope", required=True)
    attestation = _json_part("attestation", required=False)
    files = [(name, part.read(), part.mimetype or None) for name, part in request.files.items(multi=True)
             if name not in ("envelope", "attestation")]
    result = ops.submit_bundle(g.device, envelope, files, attestation, request.headers.get("Idempotency-Key"),
                               today())
    return jsonify(result.body), result.status


@bp.get("/visits/<visit_id>")
@device_required
def get_visit(visit_id: str):
    from server.models import Visit

    visit = db.session.get(Visit, visit_id)
    if visit is None or g.device.user_id not in (visit.investigator_ids or []):
        return error("visit_unknown", "调查记录不存在", "no such visit", 404)
    return jsonify(ops.visit_body(visit))


@bp.post("/attestations")
@device_required
def post_attestation():
    status, body = ops.attest(g.device, json_body())
    return jsonify(body), status


@bp.get("/openapi.json")
def openapi():
    from server.api.openapi import document

    return jsonify(document())
