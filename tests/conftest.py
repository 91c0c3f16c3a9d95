"""Shared test set-up: apps on a migrated database (SQLite by default, PostgreSQL when asked)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, inspect, text

from server.domain.ids import check_character

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
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL ruhu.maintenance = 'on'"))  # lift the insert-only triggers
            for name in names:
                if name in existing:
                    conn.execute(text(f"DELETE FROM {name}"))
        db.engine.dispose()


@pytest.fixture
def app(migrated_url, tmp_path):
    app = make_app(migrated_url, RUHU_ATTACHMENTS=str(tmp_path / "attachments"))
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


# --- a small organisation for integration and browser tests ---------------------------------------

PASSWORD = "correct-horse-1"


def id_number(region: str, born: dt.date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


@pytest.fixture
def org(app):
    """Units and users through the operations layer; returns their ids and usernames."""
    from server import services
    from server.extensions import db
    from server.operations.accounts import add_unit, add_user

    with app.app_context():
        profiles = services().profiles
        out = SimpleNamespace()
        gc = add_unit("410104", "管城回族区", "district", "guancheng", known_profiles=profiles)
        office = add_unit("410104005", "南关街街道办事处", "street_office", "guancheng", gc, known_profiles=profiles)
        other = add_unit("410104008", "二里岗街道办事处", "street_office", "guancheng", gc, known_profiles=profiles)
        c1 = add_unit("410104005001", "南关和平社区", "community", "guancheng", office, known_profiles=profiles)
        c2 = add_unit("410104005002", "南关幸福社区", "community", "guancheng", office, known_profiles=profiles)
        oc = add_unit("410104008001", "二里岗社区", "community", "guancheng", other, known_profiles=profiles)
        yj = add_unit("610222", "宜君县", "district", "yijun", known_profiles=profiles)
        town = add_unit("610222002", "彭镇", "township", "yijun", yj, known_profiles=profiles)
        village = add_unit("610222002001", "彭村", "village", "yijun", town, known_profiles=profiles)
        for name, role, unit in [
            ("gc_case", "caseworker", office), ("gc_lead", "leader", office), ("gc_dir", "director", office),
            ("gc_inv1", "investigator", office), ("gc_inv2", "investigator", c1), ("gc_inv3", "investigator", c2),
            ("other_case", "caseworker", other), ("other_inv", "investigator", oc),
            ("gc_bureau", "bureau_supervisor", gc), ("gc_admin", "admin", gc),
            ("yj_case", "caseworker", town), ("yj_lead", "leader", town), ("yj_dir", "director", town),
            ("yj_inv1", "investigator", town), ("yj_inv2", "investigator", village),
            ("yj_bureau", "bureau_supervisor", yj),
        ]:
            user = add_user(name, role, unit.code, PASSWORD, name)
            setattr(out, name, user.id)
        db.session.commit()
        for key, unit in [("gc", gc), ("office", office), ("other", other), ("c1", c1), ("c2", c2), ("oc", oc),
                          ("yj", yj), ("town", town), ("village", village)]:
            setattr(out, key, unit.id)
    return out
