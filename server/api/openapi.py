"""The OpenAPI 3 document of ``/api/v1`` (served at ``/api/v1/openapi.json``; docs/api.md explains it)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


# What the input guard (server/guard.py) may answer on any operation, before its own checks.
GUARDED = (400, 413, 422)


def _err(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed request (NUL, lone surrogate, unparsable value)", 401: "No, unknown or revoked device token",
            403: "Not allowed", 404: "Not found", 405: "Method not allowed",
            409: "Conflict (visit_conflict, stale_revision, record_exists with visit_id)", 410: "Enrolment code used or expired",
            413: "Too large", 415: "Not really a JPEG/PNG", 422: "Invalid content, or a value out of range",
            429: "Too many requests"}
    return {str(c): {"description": text[c], "content": {"application/problem+json": {"schema": ERROR}}}
            for c in sorted(set(codes) | set(GUARDED))}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document() -> dict[str, Any]:
    sha = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
    uuid = {"type": "string", "format": "uuid"}
    visit_status = {"type": "object", "required": ["visit_id", "status", "missing_attachments"], "properties": {
        "visit_id": uuid, "status": {"type": "string", "enum": ["incomplete", "complete", "accepted", "superseded"]},
        "missing_attachments": {"type": "array", "items": sha}, "content_hash": sha,
        "attested_by": {"type": "array", "items": {"type": "integer"}}}}
    bearer = [{"device": []}]
    return {
        "openapi": "3.0.3",
        "info": {"title": "Ruhu sync API", "version": "1",
                 "description": "Phones (the field PWA) enrol, pull assignments, push attachments, visits and "
                                "attestations. Every write is idempotent. See docs/api.md."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"device": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message", "message_en", "status", "title"],
                          "description": "RFC 9457 problem details with Ruhu's code and bilingual messages",
                          "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "title_zh": {"type": "string"},
                    "status": {"type": "integer"}, "detail": {"type": "string"}, "path": {"type": "string"},
                    "error": {"type": "string"}, "message": {"type": "string"}, "message_en": {"type": "string"},
                    "problems": {"type": "array", "items": {"type": "object", "properties": {
                        "path": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"},
                        "message_en": {"type": "string"}}}}}},
                "JWK": {"type": "object", "required": ["kty", "crv", "x", "y"], "properties": {
                    "kty": {"type": "string", "enum": ["EC"]}, "crv": {"type": "string", "enum": ["P-256"]},
                    "x": {"type": "string"}, "y": {"type": "string"}}},
                "VisitEnvelope": {"type": "object", "required": [
                    "protocol", "visit_id", "assignment_id", "case_id", "form_id", "form_version", "base_version",
                    "supersedes", "answers", "attachments", "investigators", "gps", "started_at", "finished_at"],
                    "properties": {
                        "protocol": {"type": "integer", "enum": [1]}, "visit_id": uuid,
                        "assignment_id": {"type": "integer"}, "case_id": {"type": "integer"},
                        "form_id": {"type": "string"}, "form_version": {"type": "integer"},
                        "base_version": {"type": "integer"}, "supersedes": {**uuid, "nullable": True},
                        "answers": {"type": "object"},
                        "attachments": {"type": "array", "items": {"type": "object", "required": [
                            "sha256", "size", "type", "role", "slot"], "properties": {
                            "sha256": sha, "size": {"type": "integer"},
                            "type": {"type": "string", "enum": ["image/jpeg", "image/png"]},
                            "role": {"type": "string", "enum": ["photo", "signature", "fingerprint"]},
                            "slot": {"type": "string"},
                            "captured_at": {"type": "string", "format": "date-time",
                                            "description": "when the photo was taken (optional, signed)"},
                            "position": {"type": "object", "description": "where: {lat, lon, accuracy} decimal "
                                         "strings or {refused: true} (optional, signed)"}}}},
                        "investigators": {"type": "array", "items": {"type": "integer"}},
                        "gps": {"type": "object"}, "started_at": {"type": "string", "format": "date-time"},
                        "finished_at": {"type": "string", "format": "date-time"}}},
                "VisitStatus": visit_status,
            },
        },
        "paths": {
            "/devices/enroll": {"post": {
                "summary": "Enrol a phone with a one-time code", "operationId": "enroll",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["code", "device_name", "public_key"], "properties": {
                        "code": {"type": "string"}, "device_name": {"type": "string"},
                        "public_key": {"$ref": "#/components/schemas/JWK"}}}}}},
                "responses": {"201": _json({"type": "object", "required": ["device_id", "token"], "properties": {
                    "device_id": uuid, "token": {"type": "string"}, "user": {"type": "object"}}}, "Enrolled"),
                    **_err(400, 404, 410, 422, 429)}}},
            "/me": {"get": {"summary": "Who this phone belongs to", "operationId": "me", "security": bearer,
                            "responses": {"200": _json({"type": "object"}, "The device and its user"), **_err(401)}}},
            "/sync/pull": {"get": {
                "summary": "Assignments changed since a cursor", "operationId": "pull", "security": bearer,
                "parameters": [{"name": "since", "in": "query", "required": False, "schema": {"type": "string"}},
                               {"name": "forms", "in": "query", "required": False, "schema": {"type": "string"},
                                "description": "the forms_version the phone holds: forms are then omitted"}],
                "responses": {"200": _json({"type": "object", "required": ["cursor", "assignments", "forms", "revoked"],
                                            "properties": {"cursor": {"type": "string"}, "full": {"type": "boolean"},
                                                           "forms_version": {"type": "string"},
                                                           "assignments": {"type": "array", "items": {"type": "object"}},
                                                           "forms": {"type": "array", "items": {"type": "object"}},
                                                           "revoked": {"type": "array", "items": {"type": "integer"}},
                                                           "to_attest": {"type": "array", "items": {"type": "object"}}}},
                                           "Changes (all open assignments when full is true)"), **_err(401)}}},
            "/attachments/{sha256}": {"put": {
                "summary": "Upload a photo or signature by its SHA-256", "operationId": "putAttachment",
                "security": bearer,
                "parameters": [{"name": "sha256", "in": "path", "required": True, "schema": sha}],
                "requestBody": {"required": True, "content": {
                    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"200": _json({"type": "object"}, "Already stored"), "201": _json({"type": "object"}, "Stored"),
                              **_err(401, 413, 415, 422)}}},
            "/visits": {"post": {
                "summary": "Submit a visit (idempotent by visit_id)", "operationId": "postVisit", "security": bearer,
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True, "schema": uuid}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/VisitEnvelope"}},
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["envelope"],
                        "description": "The visit with its files (one part each, named by its SHA-256) and the "
                                       "sender's own attestation, in one request",
                        "properties": {"envelope": {"type": "string", "format": "binary",
                                                    "description": "the visit envelope (JSON)"},
                                       "attestation": {"type": "string", "format": "binary",
                                                       "description": "{content_hash, device_id, signature} (JSON)"}},
                        "additionalProperties": {"type": "string", "format": "binary"}}}}},
                "responses": {"200": _json(visit_status, "The same visit again: nothing changed"),
                              "201": _json(visit_status, "Stored"), **_err(400, 401, 404, 409, 413, 415, 422)}}},
            "/visits/{visit_id}": {"get": {
                "summary": "A visit's status", "operationId": "getVisit", "security": bearer,
                "parameters": [{"name": "visit_id", "in": "path", "required": True, "schema": uuid}],
                "responses": {"200": _json(visit_status, "Status"), **_err(401, 404)}}},
            "/attestations": {"post": {
                "summary": "A device's signature over a visit's content hash", "operationId": "postAttestation",
                "security": bearer,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["visit_id", "content_hash", "device_id", "signature"],
                    "properties": {"visit_id": uuid, "content_hash": sha, "device_id": uuid,
                                   "signature": {"type": "string", "description": "base64url of raw r||s (64 bytes)"}}}}}},
                "responses": {"200": _json({"type": "object"}, "Already attested"),
                              "201": _json({"type": "object"}, "Attested"), **_err(400, 401, 403, 404, 422)}}},
            "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                      "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document"),
                                                    **_err()}}},
        },
    }
