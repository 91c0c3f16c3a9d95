"""ASVS basics through HTTP: headers on every kind of page, sessions that end at sign-out and when
idle, a safe ``next``, the same answer for unknown users, the proxy, and readable messages."""

from __future__ import annotations

import time

import pytest

from server.extensions import db
from server.models import AuditEntry, User
from tests.conftest import PASSWORD, csrf_token, make_app, sign_in
from tests.integration.test_console import Console, gc, intake_form, register  # noqa: F401  (fixture)

# --- headers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/no-such-page", "/b/unknown-token", "/survey/nope", "/app/",
                                  "/api/v1/openapi.json", "/healthz"])
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    csp = r.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
        csp.split("script-src", 1)[1].split(";", 1)[0]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers.get("Referrer-Policy")
    assert "Strict-Transport-Security" not in r.headers       # plain HTTP: no HSTS promise


PUBLIC_FOOTER = "本页不显示身份证号码"   # the residents' layout, not the console's


def _public_board(app) -> str:
    from tests.integration.test_boards import make_board

    return make_board(app, "410104005001", "community", "南关和平社区社会救助公示栏")[2]


def _assert_public_headers(r, where: str) -> None:
    assert r.headers.get("Cache-Control") == "no-store", where
    assert r.headers.get("X-Robots-Tag", "").startswith("noindex"), where
    assert r.headers.get("Referrer-Policy") == "no-referrer", where
    assert r.headers.get("X-Frame-Options") == "DENY" and r.headers.get("X-Content-Type-Options") == "nosniff", where


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/b/unknown-token", 404),            # the view's own 404
    ("GET", "/b/unknown-token/no/such", 404),     # no view: routing's 404
    ("PUT", "/b/{token}", 405),
    ("DELETE", "/b/{token}/report", 405),
    ("GET", "/b/%00", 400),                       # the guard, before any view
    ("GET", "/r?n=%00", 400),
    ("GET", "/r/%00", 400),
    ("POST", "/r", 405),
    ("GET", "/v/unknown", 404),
    ("PATCH", "/v/unknown", 405),
    ("GET", "/v/%00", 400),
    ("GET", "/survey/nope", 404),
    ("PUT", "/survey/410104005", 405),
    ("GET", "/survey/410104005?x=%00", 400),
])
def test_every_answer_on_a_public_path_carries_the_public_headers(app, client, org, method, path, status):
    """Error pages no public view rendered (the guard's, routing's 404 and 405) are residents' pages too: not
    stored, not indexed, no Referer, in the residents' layout."""
    path = path.replace("{token}", _public_board(app))
    r = client.open(path, method=method)
    assert r.status_code == status, path
    _assert_public_headers(r, path)
    assert PUBLIC_FOOTER in r.get_data(as_text=True), path


def test_refused_public_posts_carry_the_public_headers(app, client, org):
    """A NUL in the report form (the guard's 400) and a post without its CSRF token (the report and the survey)."""
    token = _public_board(app)
    form = client.get(f"/b/{token}/report")
    _assert_public_headers(form, "form")
    csrf = form.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(f"/b/{token}/report", data={"case": "", "text": "有人冒领\x00低保", "csrf_token": csrf})
    assert r.status_code == 400 and "空字符" in r.get_data(as_text=True)
    _assert_public_headers(r, "NUL")
    for path in (f"/b/{token}/report", "/survey/410104005"):
        r = client.post(path, data={"text": "有人冒领低保", "respondent": "resident"})
        assert r.status_code == 400, path
        _assert_public_headers(r, path)


@pytest.mark.parametrize("path", ["/boards", "/rosters", "/reports-like", "/v", "/survey"])
def test_console_paths_that_merely_look_public_keep_the_console_headers(client, path):
    r = client.get(path)
    assert "X-Robots-Tag" not in r.headers and r.headers["Referrer-Policy"] == "same-origin", path


def test_console_pages_have_no_inline_script(client, org):
    sign_in(client, "gc_case")
    for path in ("/", "/cases", "/cases/new", "/boards", "/no-such"):
        body = client.get(path).get_data(as_text=True)
        assert "<script>" not in body and " onclick=" not in body and "javascript:" not in body, path


def test_https_adds_hsts_and_secure_cookie(client, org):
    page = client.get("/", base_url="https://localhost").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"username": "gc_case", "password": PASSWORD, "csrf_token": token},
                    base_url="https://localhost", headers={"Referer": "https://localhost/"})
    assert r.status_code == 302
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


# --- sessions -----------------------------------------------------------------------------------

def test_sign_out_revokes_the_old_cookie(app, client, org):
    assert sign_in(client, "gc_case").status_code == 302
    stolen = client.get_cookie("session").value           # an attacker's copy of the cookie
    assert client.get("/cases").status_code == 200
    token = csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    r = replay.get("/cases")
    assert r.status_code == 302 and "next=" in r.headers["Location"]
    with app.app_context():
        assert db.session.get(User, org.gc_case).session_epoch == 1
        assert db.session.query(AuditEntry).filter_by(action="logout").count() == 1


def test_idle_sessions_end(app, client, org):
    app.config["RUHU_SESSION_IDLE_MINUTES"] = 1
    assert sign_in(client, "gc_case").status_code == 302
    assert client.get("/cases").status_code == 200
    with client.session_transaction() as s:
        s["seen"] = int(time.time()) - 61
    assert client.get("/cases").status_code == 302
    with client.session_transaction() as s:
        assert "uid" not in s


def test_idle_setting_is_read_from_the_environment(monkeypatch, migrated_url):
    monkeypatch.setenv("RUHU_SESSION_IDLE_MINUTES", "7")
    monkeypatch.setenv("RUHU_PROXY_HOPS", "2")
    monkeypatch.setenv("RUHU_ATTACHMENTS", "/srv/ruhu-attachments")
    monkeypatch.setenv("RUHU_MAX_FIELD_CHARS", "500")
    from server import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": migrated_url, "SECRET_KEY": "x", "TESTING": True,
                      "RUHU_CALENDAR": "/nonexistent"})
    assert app.config["RUHU_SESSION_IDLE_MINUTES"] == 7 and app.config["RUHU_PROXY_HOPS"] == 2
    assert app.config["RUHU_ATTACHMENTS"] == "/srv/ruhu-attachments"
    assert app.config["RUHU_MAX_FIELD_CHARS"] == 500
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


# --- next ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("target, expected", [
    ("/cases", "/cases"),
    ("/cases?q=1", "/cases?q=1"),
    ("/\t/evil.example/", "/"),
    ("/%09/evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("/%5cevil.example", "/"),
    ("https://evil.example/", "/"),
    ("/\r\nSet-Cookie:x", "/"),
    ("", "/"),
])
def test_next_stays_on_site(client, org, target, expected):
    token = csrf_token(client)
    r = client.post("/login", data={"username": "gc_case", "password": PASSWORD, "csrf_token": token,
                                    "next": target})
    assert r.status_code == 302 and r.headers["Location"] == expected


def test_next_from_the_query_string_stays_on_site(client, org):
    page = client.get("/?next=/%09/evil.example/").get_data(as_text=True)
    token = csrf_token(client)
    assert 'name="next"' in page
    r = client.post("/login", data={"username": "gc_case", "password": PASSWORD, "csrf_token": token,
                                    "next": "/\t/evil.example/"})
    assert r.headers["Location"] == "/"


# --- unknown users ------------------------------------------------------------------------------

def test_unknown_and_existing_users_get_the_same_answers(app, client, org):
    app.config["RUHU_LOGIN_MAX_FAILURES"] = 3
    answers = {}
    for username in ("gc_case", "nobody_here"):
        statuses = []
        for _ in range(5):
            token = csrf_token(client)
            r = client.post("/login", data={"username": username, "password": "wrong-pass-1", "csrf_token": token})
            page = r.get_data(as_text=True)
            message = page.split('role="alert">', 1)[1].split("<", 1)[0] if 'role="alert">' in page else ""
            statuses.append((r.status_code, message))
        answers[username] = statuses
    assert answers["gc_case"] == answers["nobody_here"]
    assert [s for s, _ in answers["gc_case"]] == [401, 401, 401, 429, 429]


def test_unknown_users_cost_a_password_hash(app, client, org, monkeypatch):
    import werkzeug.security

    from server.operations import accounts

    calls = []
    real = werkzeug.security.check_password_hash
    monkeypatch.setattr(werkzeug.security, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    accounts._DUMMY_HASHES.clear()
    token = csrf_token(client)
    client.post("/login", data={"username": "nobody_here", "password": "x" * 10, "csrf_token": token})
    assert len(calls) == 1 and calls[0].startswith("pbkdf2:sha256")


# --- proxy --------------------------------------------------------------------------------------

def test_proxy_hops_give_the_client_address(migrated_url, org):
    behind = make_app(migrated_url, RUHU_PROXY_HOPS=1)
    client = behind.test_client()
    token = csrf_token(client)
    client.post("/login", data={"username": "gc_case", "password": "wrong-pass-1", "csrf_token": token},
                headers={"X-Forwarded-For": "203.0.113.9"})
    direct = make_app(migrated_url).test_client()
    token = csrf_token(direct)
    direct.post("/login", data={"username": "gc_case", "password": "wrong-pass-1", "csrf_token": token},
                headers={"X-Forwarded-For": "203.0.113.10"})
    with behind.app_context():
        addrs = [e.remote_addr for e in db.session.query(AuditEntry).filter_by(action="login.failed")
                 .order_by(AuditEntry.id)]
    assert addrs == ["203.0.113.9", "127.0.0.1"]   # without hops a forged header is not believed
    _dispose(behind, direct.application)


def test_rate_limits_count_each_client_behind_the_proxy(migrated_url, org):
    behind = make_app(migrated_url, RUHU_PROXY_HOPS=1, RUHU_LOGIN_RATE="2 per minute")
    client = behind.test_client()
    token = csrf_token(client)

    def attempt(addr):
        return client.post("/login", data={"username": "x", "password": "y", "csrf_token": token},
                           headers={"X-Forwarded-For": addr}).status_code

    assert [attempt("198.51.100.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("198.51.100.2") == 401        # another resident is not locked out
    _dispose(behind)


def _dispose(*apps):
    for one in apps:
        with one.app_context():
            db.session.remove()
            db.engine.dispose()


# --- messages with names, not codes -------------------------------------------------------------

def test_wrong_role_names_the_roles(app, org, gc):  # noqa: F811
    case_id = register(app, gc, org)
    leader = Console(app, "gc_lead")
    r = leader.act(case_id, "accept", {"materials": intake_form(org)["materials"], "applicant_signed": "1"})
    text = r.get_data(as_text=True)
    assert r.status_code == 403 and "只能由以下角色办理：经办人" in text and "caseworker" not in text


def test_event_log_names_missing_materials(app, org, gc):  # noqa: F811
    case_id = register(app, gc, org, materials=["application"])
    assert gc.act(case_id, "notify_missing", {"materials": ["application"]}).status_code == 302
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    history = page.split('id="history"', 1)[1]
    assert "integrity_pledge" not in history and "诚信" in history


def test_no_template_has_inline_script_or_handlers():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pages = list((root / "server" / "templates").rglob("*.html")) + list((root / "pwa").glob("*.html"))
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.I)
    offenders = [str(p.relative_to(root)) for p in pages if inline.search(p.read_text(encoding="utf-8"))]
    assert pages and offenders == []
