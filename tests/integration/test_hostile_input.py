"""No 5xx from input: NUL, lone surrogates, over-long text, ids past int4 / 2^63, far timestamps,
broken attachment items — in URLs, forms and JSON — are answered 400/404/413/422 with bilingual
messages; the API answers application/problem+json, the console its own error pages."""

from __future__ import annotations

import copy
from urllib.parse import quote_from_bytes

import pytest

from tests.conftest import csrf_token, sign_in
from tests.integration.test_sync_api import att, envelope, field, jpeg  # noqa: F401  (fixture)


def form_bytes(fields: dict) -> bytes:
    """A urlencoded body that may carry what a test client refuses to encode (lone surrogates as bytes)."""
    return "&".join(f"{k}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}" for k, v in fields.items()).encode()


HOSTILE_PATHS = [
    "/b/%00", "/v/%00", "/survey/%00", "/r/%00", "/cases/%00",
    "/cases/2147483648", "/cases/9223372036854775808", "/cases/99999999999999999999999",
    "/b/x%ED%A0%80", "/?q=%00", "/?lang=%00",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_anonymous_and_signed_in(client, org, path):
    for _ in range(2):
        r = client.get(path)
        assert r.status_code in (302, 400, 404), (path, r.status_code)
        if r.status_code in (400, 404):
            body = r.get_data(as_text=True)
            assert "<html" in body and ("返回" in body or "二维码" in body)
        sign_in(client, "gc_case")


def test_console_error_pages_are_bilingual_in_the_layout(client, org):
    sign_in(client, "gc_case")
    r = client.get("/cases/2147483648")
    body = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "页面不存在" in body and "This page does not exist" in body
    assert 'href="/"' in body and "退出" in body          # the console's header, a way back
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    r = client.post("/cases")  # a GET-only page
    assert r.status_code in (400, 405)
    r = client.get("/?q=" + "%00")
    assert r.status_code == 400 and "空字符" in r.get_data(as_text=True) and "NUL" in r.get_data(as_text=True)


def test_get_login_goes_to_the_sign_in_form(client):
    r = client.get("/login?next=/cases")
    assert r.status_code == 302 and r.headers["Location"].startswith("/")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'name="username"' in page and 'value="/cases"' in page


@pytest.mark.parametrize("username", ["a\x00b", "x" * 41, "x" * 300, "\ud800abc"])
def test_sign_in_with_hostile_usernames(client, org, username):
    token = csrf_token(client)
    body = form_bytes({"username": username, "password": "whatever-1", "csrf_token": token})
    r = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code in (400, 401, 413), r.status_code


def test_intake_with_hostile_fields_is_refused_not_500(client, org):
    sign_in(client, "gc_case")
    token = csrf_token(client, "/cases/new")
    for value in ("张\x00三", "\udcff", "张" * 300, "1" * 25000):
        r = client.post("/cases/new", data=form_bytes({"csrf_token": token, "community": str(org.c1), "address": value,
                                                       "m0_name": value, "m0_id": value, "phone": value}),
                        content_type="application/x-www-form-urlencoded")
        assert r.status_code < 500, (value[:5], r.status_code)
    for community in ("99999999999999999999", "2147483648", "abc", "-1"):
        r = client.post("/cases/new", data={"csrf_token": token, "community": community, "m0_name": "张三"})
        assert r.status_code < 500, (community, r.status_code)


def test_api_errors_are_problem_json(client):
    r = client.get("/api/v1/no-such")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert r.json["status"] == 404 and r.json["title"] and r.json["message"] and r.json["message_en"]
    r = client.post("/api/v1/devices/enroll", json={"code": "a\x00b", "device_name": "x"})
    assert r.status_code == 400 and r.mimetype == "application/problem+json" and r.json["error"] == "input_refused"
    r = client.post("/api/v1/devices/enroll", json={"code": "abc", "device_name": "\ud800"})
    assert r.status_code == 400
    r = client.post("/api/v1/devices/enroll", json={"code": 2**70, "device_name": "x"})
    assert r.status_code == 422 and r.json["message_en"]


def _hostile_envelopes(good: dict):
    def changed(**kw):
        env = copy.deepcopy(good)
        env.update(kw)
        return env

    yield changed(assignment_id=2**31)
    yield changed(assignment_id=2**63)
    yield changed(assignment_id=2**70)
    yield changed(case_id=2**31)
    yield changed(form_version=2**31)
    yield changed(base_version=2**40)
    yield changed(started_at="0001-01-01T00:00:00+08:00", finished_at="0001-01-01T00:30:00+08:00")
    yield changed(started_at="9999-12-31T23:00:00-08:00", finished_at="9999-12-31T23:50:00-08:00")
    env = copy.deepcopy(good)
    del env["attachments"][0]["size"]
    yield env
    env = copy.deepcopy(good)
    env["attachments"][0]["size"] = 2**64
    yield env
    env = copy.deepcopy(good)
    env["answers"]["members"][0]["name"] = "张" * 5000
    yield env
    yield changed(investigators=[2**31, 2**63 - 1])


def test_hostile_envelopes_get_4xx_problems(field):  # noqa: F811
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    photo = jpeg()
    assert a.put(photo).status_code in (200, 201)
    good = envelope(assignment, [att(photo, "photo", "house_outside")], [field["org"].gc_inv1, field["org"].gc_inv2])
    for env in _hostile_envelopes(good):
        r = a.post_visit(env)
        assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
        assert r.mimetype == "application/problem+json" and r.json["message"] and r.json["message_en"]
    r = a.client.get("/api/v1/visits/%00", headers=a.auth)
    assert r.status_code == 400
    r = a.client.get("/api/v1/sync/pull?since=%00", headers=a.auth)
    assert r.status_code == 400


def test_405_413_and_500_pages_in_both_languages(migrated_url, client, org):
    r = client.get("/logout")
    body = r.get_data(as_text=True)
    assert r.status_code == 405 and "不支持此请求方法" in body and "This method is not allowed here" in body
    assert "POST" in r.headers["Allow"]
    sign_in(client, "gc_case")
    token = csrf_token(client)
    r = client.post("/cases/new", data={"csrf_token": token, "address": "x" * (21 * 2**20)})
    assert r.status_code == 413 and "提交的内容过大" in r.get_data(as_text=True)
    r = client.get("/no-such-page?lang=en")
    assert r.status_code == 404 and "This page does not exist" in r.get_data(as_text=True)

    from tests.conftest import make_app

    live = make_app(migrated_url, TESTING=False)

    @live.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    r = live.test_client().get("/boom")
    body = r.get_data(as_text=True)
    assert r.status_code == 500 and "服务器出错" in body and "The server failed" in body and "a bug" not in body
    r = live.test_client().get("/api/v1/me", headers={"Authorization": "Bearer " + "x" * 30})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    with live.app_context():
        from server.extensions import db

        db.engine.dispose()


def test_text_longer_than_its_column_is_refused_on_every_database(app, client, org):
    from server.models.boards import Board

    sign_in(client, "gc_case")
    token = csrf_token(client, "/boards")
    r = client.post("/boards", data={"csrf_token": token, "unit": str(org.c1), "kind": "community", "name": "栏" * 500})
    body = r.get_data(as_text=True)
    assert r.status_code == 422, r.status_code
    assert ("最多" in body and "at most" in body) or "名称" in body
    with app.app_context():
        from server.extensions import db

        assert db.session.query(Board).count() == 0
        from server.guard import TooLong
        from server.models import Unit

        unit = db.session.get(Unit, org.c1)
        unit.name = "社" * 1000
        try:
            db.session.flush()
        except TooLong as exc:
            assert exc.limit < 1000
        else:
            raise AssertionError("a too-long name was flushed")
        db.session.rollback()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_past_the_parser_is_refused_not_500(app, field, depth):  # noqa: F811
    """JSON nested deeper than Python's parser follows (RecursionError, not ValueError) used to answer 500 — on
    the enrolment too, which needs no sign-in. Refused as bad input wherever JSON is read: a body, a bundle's
    part, an export file the office imports."""
    import io
    import json

    from tests.integration.test_console import Console

    app.config["PROPAGATE_EXCEPTIONS"] = False   # an unhandled error answers 500, as in production
    client, a = app.test_client(), field["phones"][0]
    deep = '{"code": ' + _nested(depth) + ', "device_name": "x"}'
    for path, headers in (("/api/v1/devices/enroll", {}), ("/api/v1/attestations", a.auth),
                          ("/api/v1/visits", {**a.auth, "Idempotency-Key": "k"})):
        r = client.post(path, data=deep, headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json["error"] == "input_refused" and r.json["message_en"], (path, r.status)
    r = client.post("/api/v1/visits", headers={**a.auth, "Idempotency-Key": "k"},
                    data={"envelope": (io.BytesIO(_nested(depth).encode()), "envelope.json", "application/json")})
    assert r.status_code == 400 and r.json["error"] == "body_invalid", r.get_data(as_text=True)[:300]
    gc = Console(app, "gc_case")
    r = gc.post("/imports", files={"file": (('{"format": ' + _nested(depth) + "}").encode(), "x.json",
                                            "application/json")})
    assert r.status_code == 422 and "这不是入户调查手机导出的文件" in r.get_data(as_text=True)
    assert json.loads(client.get("/healthz").get_data())["status"] in ("ok", "degraded")
