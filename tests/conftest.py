"""Shared test set-up: apps on a migrated database (SQLite by default, PostgreSQL when asked)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("RUHU_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("RUHU_REQUIRE_POSTGRES") == "1"
FAST_HASH = "pbkdf2:sha256:1000"  # tests create many accounts; production keeps the default (scrypt)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The test database: a fresh SQLite file, or the PostgreSQL named by RUHU_TEST_DATABASE_URL."""
    if not PG_URL:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'ruhu-test.sqlite3'}"
    try:
        _reset_postgres(PG_URL)
    except Exception as exc:  # no server on this machine
        message = f"PostgreSQL at {PG_URL} is not reachable ({type(exc).__name__}); PostgreSQL tests not run"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    return PG_URL


def make_app(database_url: str, **overrides):
    from server import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "RUHU_CALENDAR": str(FIXTURES / "no-such-calendar.toml"),
        "RUHU_PASSWORD_METHOD": FAST_HASH,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def migrated_url(database_url) -> str:
    from flask_migrate import upgrade

    app = make_app(database_url)
    with app.app_context():
        upgrade()
        from server.extensions import db
        db.engine.dispose()
    return database_url


def _empty_tables(app) -> None:
    from server.extensions import db

    with app.app_context():
        db.session.remove()
        names = [t.name for t in reversed(db.metadata.sorted_tables)]
        existing = set(inspect(db.engine).get_table_names())
        with db.engine.begin() as conn:
            for name in names:
                if name in existing:
                    conn.execute(text(f"DELETE FROM {name}"))
        db.engine.dispose()


@pytest.fixture
def app(migrated_url):
    app = make_app(migrated_url)
    yield app
    _empty_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, username: str, password: str = "correct-horse-1"):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})
