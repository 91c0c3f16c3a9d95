"""Every documented setting is read: set in the environment, it reaches the app; a bad one stops it."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from server.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def test_attachments_go_where_ruhu_attachments_says(monkeypatch, migrated_url, tmp_path):
    target = tmp_path / "backed-up" / "attachments"
    monkeypatch.setenv("RUHU_ATTACHMENTS", str(target))
    from server import create_app
    from server.operations.attachments import store

    app = create_app({"SQLALCHEMY_DATABASE_URI": migrated_url, "SECRET_KEY": "x", "TESTING": True,
                      "RUHU_CALENDAR": "/nonexistent"})
    with app.app_context():
        ingested = store().ingest(_png(), declared_type="image/png")
        db.engine.dispose()
    sha = getattr(ingested, "sha256", None) or ingested[0]
    stored = [p for p in target.rglob("*") if p.is_file()]
    assert stored and any(sha in p.name or sha in str(p) for p in stored)
    assert not (Path(app.instance_path) / "attachments" / "originals").exists() or \
        not any(sha in str(p) for p in (Path(app.instance_path) / "attachments").rglob("*"))


def test_production_extra_brings_gunicorn_and_redis():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", dep, maxsplit=1)[0] for dep in extras["production"]}
    assert {"gunicorn", "redis"} <= names
    ops = (ROOT / "docs" / "operations.md").read_text()
    assert "ruhu[production]" in ops


# --- every documented setting reaches the app ----------------------------------------------------

# Names the docs mention that are not settings of the app: the test suite's and CI's switches.
NOT_APP_SETTINGS = {
    "RUHU_TEST_DATABASE_URL": "the database the tests run on (tests/conftest.py)",
    "RUHU_TEST_POSTGRES_URL": "the PostgreSQL database `make test-postgres` hands to the tests (Makefile)",
    "RUHU_TEST_CRASH_AT": "a fault hook of the crash tests, obeyed only by a TESTING app (docs/api.md)",
    "RUHU_REQUIRE_POSTGRES": "CI: fail instead of skipping when PostgreSQL is unreachable (tests/conftest.py)",
}
SETTINGS_TABLE_ROW = re.compile(r"^\| (`[A-Z][A-Z0-9_]*`(?: / `[A-Z][A-Z0-9_]*`)*) \|", re.M)
EXPORT = re.compile(r"^\s*export ([A-Z][A-Z0-9_]*)=", re.M)


def _documented_names() -> set[str]:
    """Every RUHU_* name in README.md and docs/*.md, every name in a settings table's first column, and
    every variable a documented shell block exports."""
    names: set[str] = set()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\bRUHU_[A-Z][A-Z0-9_]*[A-Z0-9]\b", text))
        for cell in SETTINGS_TABLE_ROW.findall(text):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cell))
        names |= set(EXPORT.findall(text))
    return names


def _sentinels(tmp: Path) -> dict[str, tuple[str, str, object]]:
    """name -> (value set in the environment, app.config key, what that key must then hold): valid values,
    none of them a default."""
    forms, pwa, profiles = tmp / "forms", tmp / "pwa", tmp / "profiles"
    shutil.copytree(ROOT / "pwa" / "forms", forms)
    pwa.mkdir()
    profiles.mkdir()
    from server.rules import BUILTIN_DIR

    (profiles / "sentinel.toml").write_text((BUILTIN_DIR / "yijun.toml").read_text(encoding="utf-8")
                                            .replace('id = "yijun"', 'id = "sentinel"', 1), encoding="utf-8")
    rate = "7 per hour"
    return {
        "DATABASE_URL": (f"sqlite:///{tmp / 'sentinel.sqlite3'}", "SQLALCHEMY_DATABASE_URI",
                         f"sqlite:///{tmp / 'sentinel.sqlite3'}"),
        "SECRET_KEY": ("sentinel-secret", "SECRET_KEY", "sentinel-secret"),
        "RUHU_PROFILE_DIRS": (str(profiles), "RUHU_PROFILE_DIRS", [str(profiles)]),
        "RUHU_CALENDAR": (str(tmp / "sentinel-calendar.toml"), "RUHU_CALENDAR", str(tmp / "sentinel-calendar.toml")),
        "RUHU_LOGIN_MAX_FAILURES": ("7", "RUHU_LOGIN_MAX_FAILURES", 7),
        "RUHU_LOGIN_LOCK_MINUTES": ("17", "RUHU_LOGIN_LOCK_MINUTES", 17),
        "RUHU_SECURE_COOKIES": ("1", "SESSION_COOKIE_SECURE", True),
        "RUHU_PASSWORD_METHOD": ("pbkdf2:sha256:1007", "RUHU_PASSWORD_METHOD", "pbkdf2:sha256:1007"),
        "RUHU_LOGIN_RATE": ("7 per minute", "RUHU_LOGIN_RATE", "7 per minute"),
        "RUHU_RATELIMIT_STORAGE": ("memory://sentinel", "RATELIMIT_STORAGE_URI", "memory://sentinel"),
        "RUHU_ATTACHMENTS": (str(tmp / "attachments"), "RUHU_ATTACHMENTS", str(tmp / "attachments")),
        "RUHU_FORMS_DIR": (str(forms), "RUHU_FORMS_DIR", str(forms)),
        "RUHU_PWA_DIR": (str(pwa), "RUHU_PWA_DIR", str(pwa)),
        "RUHU_PUBLIC_BASE_URL": ("https://sentinel.example", "RUHU_PUBLIC_BASE_URL", "https://sentinel.example"),
        "RUHU_HOST": ("10.7.7.7", "RUHU_LOCAL_BASE_URL", "http://10.7.7.7:5077"),
        "RUHU_PORT": ("5077", "RUHU_LOCAL_BASE_URL", "http://10.7.7.7:5077"),
        "RUHU_PROXY_HOPS": ("3", "RUHU_PROXY_HOPS", 3),
        "RUHU_SESSION_IDLE_MINUTES": ("37", "RUHU_SESSION_IDLE_MINUTES", 37),
        "RUHU_SURVEY_ADDRESS_DAILY": ("9", "RUHU_SURVEY_ADDRESS_DAILY", 9),
        "RUHU_MAX_FIELD_CHARS": ("4321", "RUHU_MAX_FIELD_CHARS", 4321),
        "RUHU_REPORT_RATE": (rate, "RUHU_REPORT_RATE", rate),
        "RUHU_REPORT_CLIENT_RATE": ("8 per day", "RUHU_REPORT_CLIENT_RATE", "8 per day"),
        "RUHU_RECEIPT_RATE": ("9 per hour", "RUHU_RECEIPT_RATE", "9 per hour"),
        "RUHU_SURVEY_RATE": ("10 per hour", "RUHU_SURVEY_RATE", "10 per hour"),
        "RUHU_ENROLL_RATE": ("11 per hour", "RUHU_ENROLL_RATE", "11 per hour"),
        "RUHU_MAX_UPLOAD": ("7654321", "RUHU_MAX_UPLOAD", 7654321),
        "RUHU_PUBLIC_MAX_PHOTO": ("1234567", "RUHU_PUBLIC_MAX_PHOTO", 1234567),
        "RUHU_POSTER_FONT": (str(tmp / "sentinel.ttf"), "RUHU_POSTER_FONT", str(tmp / "sentinel.ttf")),
        "RUHU_DEMO_PASSWORD": ("sentinel-password", "RUHU_DEMO_PASSWORD", "sentinel-password"),
    }


# Documented names that are app.config keys only, never read from the environment, with what they do.
def _pinned_today(app) -> None:
    from server import today

    assert app.config.get("RUHU_TODAY") is None          # the environment cannot pin a server's day
    app.config["RUHU_TODAY"] = dt.date(2025, 11, 7)      # tests pin it in app.config
    with app.app_context():
        assert today() == dt.date(2025, 11, 7)


CONFIG_ONLY = {"RUHU_TODAY": _pinned_today}


def test_every_documented_setting_reaches_the_app(monkeypatch, tmp_path):
    """Each setting the README or docs/ name, set in the environment, is what the app built from it holds;
    a documented name this test does not know fails it (add its check here)."""
    documented = _documented_names()
    sentinels = _sentinels(tmp_path)
    unknown = sorted(documented - set(sentinels) - set(CONFIG_ONLY) - set(NOT_APP_SETTINGS))
    assert unknown == [], f"documented but not checked here: {unknown}"
    stale = sorted((set(sentinels) | set(CONFIG_ONLY)) - documented)
    assert stale == [], f"checked here but documented nowhere: {stale}"

    for name, (value, _, _) in sentinels.items():
        monkeypatch.setenv(name, value)
    for name in CONFIG_ONLY:
        monkeypatch.setenv(name, "2001-01-01")
    from server import create_app, services

    app = create_app()
    wrong = {name: app.config.get(key) for name, (_, key, expected) in sentinels.items()
             if app.config.get(key) != expected}
    assert wrong == {}
    for check in CONFIG_ONLY.values():
        check(app)
    with app.app_context():                               # what the directories are read for
        from server.pwa import pwa_dir

        assert "sentinel" in services().profiles
        assert ("two_rates", 1) in app.extensions["ruhu_forms"]
        assert pwa_dir() == tmp_path / "pwa"
        db.engine.dispose()


def test_the_code_reads_no_undocumented_environment_variable():
    """Every name server/ and sync/ read from os.environ is documented (or a test switch)."""
    code = "\n".join(p.read_text(encoding="utf-8") for d in ("server", "sync") for p in (ROOT / d).rglob("*.py"))
    read = set(re.findall(r"""os\.environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""", code))
    read |= set(re.findall(r"""_(?:whole|rate)\(\s*["']([A-Z][A-Z0-9_]*)["']""", code))
    assert "RUHU_LOGIN_RATE" in read and "RUHU_PUBLIC_MAX_PHOTO" in read
    assert sorted(read - _documented_names()) == []


@pytest.mark.parametrize("name, value", [
    ("RUHU_PUBLIC_MAX_PHOTO", "5MB"),
    ("RUHU_PUBLIC_MAX_PHOTO", "0"),
    ("RUHU_MAX_FIELD_CHARS", "-1"),
    ("RUHU_LOGIN_MAX_FAILURES", "2.5"),
    ("RUHU_PROXY_HOPS", "one"),
    ("RUHU_SESSION_IDLE_MINUTES", "0"),
    ("RUHU_REPORT_RATE", "often"),
    ("RUHU_REPORT_CLIENT_RATE", "30 a day"),
    ("RUHU_RECEIPT_RATE", "per hour"),
    ("RUHU_SURVEY_RATE", "20 per fortnight"),
    ("RUHU_LOGIN_RATE", "lots"),
    ("RUHU_ENROLL_RATE", "20 an hour"),
    ("RUHU_MAX_UPLOAD", "15MiB"),
    ("RUHU_MAX_UPLOAD", "0"),
    ("RUHU_DEMO_PASSWORD", "short"),
])
def test_a_bad_setting_stops_the_app_naming_it(monkeypatch, name, value):
    from server import create_app
    from server.config import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        create_app({"SECRET_KEY": "x", "TESTING": True, "RUHU_CALENDAR": "/nonexistent"})
    assert err.value.name == name and name in err.value.message and name in err.value.message_en


@pytest.mark.parametrize("max_upload, max_body", [(None, 20 * 2**20), ("1000", 20 * 2**20),
                                                 (str(40 * 2**20), 41 * 2**20)])
def test_request_bodies_make_room_for_the_largest_upload(monkeypatch, tmp_path, max_upload, max_body):
    if max_upload is not None:
        monkeypatch.setenv("RUHU_MAX_UPLOAD", max_upload)
    assert _app(tmp_path).config["MAX_CONTENT_LENGTH"] == max_body


def test_ruhu_max_upload_limits_what_a_phone_may_upload(monkeypatch, migrated_url, org, tmp_path):
    from server.models import User
    from server.operations.sync import create_enrolment
    from tests.conftest import make_app
    from tests.integration.test_sync_api import Phone, jpeg

    monkeypatch.setenv("RUHU_MAX_UPLOAD", "10000")
    app = make_app(migrated_url, RUHU_ATTACHMENTS=str(tmp_path / "attachments"))
    with app.app_context():
        code = create_enrolment(db.session.get(User, org.gc_inv1), None).code
    phone = Phone(app.test_client())
    assert phone.enrol(code).status_code == 201
    assert phone.put(jpeg()).status_code == 201
    r = phone.put(jpeg() + b"\0" * 10_000)
    assert r.status_code == 413 and r.json["error"] == "too_large"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_ruhu_command_refuses_a_bad_setting_in_both_languages(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", SECRET_KEY="x",
               RUHU_CALENDAR=str(tmp_path / "none.toml"), RUHU_SURVEY_RATE="twenty an hour")
    r = subprocess.run([*_ruhu(), "units", "list"], env=env, cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "设置 RUHU_SURVEY_RATE" in r.stderr and "setting RUHU_SURVEY_RATE: not a rate limit" in r.stderr


def _wsgi_env(tmp_path, **settings) -> dict:
    return dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", SECRET_KEY="x",
                RUHU_CALENDAR=str(tmp_path / "none.toml"), **settings)


def test_the_wsgi_entry_point_stops_a_bad_setting_in_both_languages_without_a_traceback(tmp_path):
    """What gunicorn loads ('server.wsgi:app', docs/operations.md): exit status 3 is gunicorn's "worker failed
    to boot", on which it stops instead of starting workers over and over."""
    r = subprocess.run([sys.executable, "-c", "import server.wsgi"], cwd=ROOT, capture_output=True, text=True,
                       env=_wsgi_env(tmp_path, RUHU_LOGIN_RATE="twenty a minute"), timeout=120)
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr
    assert "设置 RUHU_LOGIN_RATE" in r.stderr and "setting RUHU_LOGIN_RATE: not a rate limit" in r.stderr
    ok = subprocess.run([sys.executable, "-c", "import server.wsgi as w; print(w.app.name)"], cwd=ROOT,
                        capture_output=True, text=True, env=_wsgi_env(tmp_path), timeout=120)
    assert ok.returncode == 0 and ok.stdout.strip() == "server.app", ok.stderr
    assert "'server.wsgi:app'" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def _ruhu() -> list[str]:
    installed = Path(sys.executable).parent / "ruhu"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "server.cli"]


# --- directories checked at start-up --------------------------------------------------------------

def _app(tmp_path, **overrides):
    from server import create_app

    return create_app({"SECRET_KEY": "x", "TESTING": True, "RUHU_CALENDAR": "/nonexistent",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", **overrides})


def test_a_missing_forms_directory_stops_the_app(tmp_path):
    """As after a non-editable install, where pwa/forms is not next to the package."""
    from server.config import ConfigError

    with pytest.raises(ConfigError) as err:
        _app(tmp_path, RUHU_FORMS_DIR=str(tmp_path / "no-forms"))
    assert err.value.name == "RUHU_FORMS_DIR" and str(tmp_path / "no-forms") in err.value.message_en


def test_a_forms_directory_without_a_definition_stops_the_app(tmp_path):
    from server.config import ConfigError

    forms = tmp_path / "forms"
    forms.mkdir()
    shutil.copy(ROOT / "pwa" / "forms" / "renderer.js", forms)     # the phone's code, but no definition
    with pytest.raises(ConfigError) as err:
        _app(tmp_path, RUHU_FORMS_DIR=str(forms))
    assert "RUHU_FORMS_DIR" in err.value.message and "no form definition" in err.value.message_en


def test_a_broken_form_definition_stops_the_app_naming_the_file(tmp_path):
    from server.config import ConfigError

    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "pwa" / "forms", forms)
    (forms / "two_rates.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        _app(tmp_path, RUHU_FORMS_DIR=str(forms))
    assert err.value.name == "RUHU_FORMS_DIR" and "two_rates.json" in err.value.message_en


@pytest.mark.parametrize("make", ["missing", "file"])
def test_a_pwa_directory_that_is_not_one_stops_the_app(tmp_path, monkeypatch, make):
    from server.config import ConfigError

    path = tmp_path / "pwa"
    if make == "file":
        path.write_text("not a directory")
    monkeypatch.setenv("RUHU_PWA_DIR", str(path))
    with pytest.raises(ConfigError) as err:
        _app(tmp_path)
    assert err.value.name == "RUHU_PWA_DIR" and str(path) in err.value.message


def test_the_forms_follow_the_pwa_directory(tmp_path, monkeypatch):
    """A copy of the phone app named by RUHU_PWA_DIR brings its own forms/, which the server checks too."""
    from server.config import ConfigError

    pwa = tmp_path / "pwa"
    pwa.mkdir()
    monkeypatch.setenv("RUHU_PWA_DIR", str(pwa))
    monkeypatch.delenv("RUHU_FORMS_DIR", raising=False)
    with pytest.raises(ConfigError) as err:
        _app(tmp_path)
    assert err.value.name == "RUHU_FORMS_DIR" and str(pwa / "forms") in err.value.message_en
    shutil.copytree(ROOT / "pwa" / "forms", pwa / "forms")
    app = _app(tmp_path)
    assert app.config["RUHU_FORMS_DIR"] == str(pwa / "forms") and app.extensions["ruhu_forms"]


def test_the_documented_production_install_is_the_makefiles():
    """docs/operations.md installs as make does: editable from the checkout (pwa/ and its forms are not in the
    package) and the phone app's libraries with npm ci; nothing is published on PyPI."""
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install -q -e ." in make and "npm ci --prefix pwa" in make
    assert "pip install -e '/path/to/ruhu[production]'" in ops
    assert "npm ci --prefix /path/to/ruhu/pwa" in ops
    assert not re.search(r"pip install '?ruhu", ops)
    packaged = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert not any(p.startswith("pwa") for p in packaged["include"])    # hence the editable install
