"""Signing in and out through HTTP: passwords, lock-out, CSRF, audit, safe redirects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, User
from tests.conftest import csrf_token, sign_in


def audit_actions(app) -> list[str]:
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_sign_in_shows_the_users_unit(app, client, org):
    r = sign_in(client, "gc_case")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "南关街街道办事处" in page and "经办人" in page
    assert audit_actions(app)[-1] == "login"


def test_wrong_password_is_refused_with_401_and_audited(app, client, org):
    r = sign_in(client, "gc_case", "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.get_data(as_text=True)
    assert client.get("/").get_data(as_text=True).count("工作人员登录") == 1
    assert audit_actions(app)[-1] == "login.failed"


def test_unknown_user_gets_the_same_answer(client, org):
    r = sign_in(client, "nobody")
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)


def test_repeated_failures_lock_the_account(app, client, org):
    for _ in range(app.config["RUHU_LOGIN_MAX_FAILURES"]):
        assert sign_in(client, "gc_case", "wrong-password").status_code == 401
    r = sign_in(client, "gc_case")  # even the right password is refused while locked
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "锁定" in r.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "gc_case"))
        assert user.locked_until is not None


def test_english_error_message(client, org):
    client.get("/?lang=en")
    r = sign_in(client, "gc_case", "wrong-password")
    assert "wrong username or password" in r.get_data(as_text=True)


def test_sign_in_without_csrf_token_is_refused(client, org):
    r = client.post("/login", data={"username": "gc_case", "password": "correct-horse-1"})
    assert r.status_code == 400
    assert "工作人员登录" in client.get("/").get_data(as_text=True)


def test_sign_out_needs_post_and_csrf(client, org):
    sign_in(client, "gc_case")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert "工作人员登录" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target, expected", [
    ("/healthz", "/healthz"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
])
def test_next_only_follows_local_paths(client, org, target, expected):
    r = client.post("/login", data={"username": "gc_case", "password": "correct-horse-1", "next": target,
                                    "csrf_token": csrf_token(client)})
    assert r.headers["Location"] == expected


def test_inactive_user_cannot_sign_in(app, client, org):
    with app.app_context():
        db.session.get(User, org.gc_case).active = False
        db.session.commit()
    assert sign_in(client, "gc_case").status_code == 401


def test_home_counts_only_the_users_own_unit(app, client, org):
    import datetime as dt

    from server.operations.cases import register_application
    from tests.conftest import id_number

    with app.app_context():
        from server.models import Unit

        other = db.session.get(User, org.other_case)
        register_application(community=db.session.get(Unit, org.oc), actor=other, today=dt.date(2026, 11, 2),
                             members=[{"name": "王五", "relation": "head",
                                       "id_number": id_number("410104", dt.date(1970, 1, 1), 11)}])
    sign_in(client, "gc_case")
    assert "暂无案件" in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    sign_in(client, "other_case")
    page = client.get("/").get_data(as_text=True)
    assert 'data-status="application"' in page


def test_sign_in_attempts_are_rate_limited_per_address(app, client, org):
    app.config["RUHU_LOGIN_RATE"] = "3 per minute"
    for _ in range(3):
        assert sign_in(client, "nobody").status_code == 401
    r = sign_in(client, "gc_case")
    assert r.status_code == 429 and "尝试过于频繁" in r.get_data(as_text=True)
    assert r.headers["Retry-After"]
