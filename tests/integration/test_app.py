"""The application factory, start-up validation and the health check."""

from __future__ import annotations

import pytest

from server.rules import ProfileError
from tests.conftest import make_app, sign_in


def test_healthz_tells_an_anonymous_caller_only_the_status(client, migrated_url):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_healthz_reports_a_migrated_database_to_staff(client, migrated_url, org):
    sign_in(client, "gc_inv1")
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["revision"] == body["database"]["head"] is not None
    assert body["database"]["dialect"] == migrated_url.split(":")[0].split("+")[0].replace("postgresql", "postgresql")
    assert body["profiles"] == ["guancheng", "yijun"]


def test_healthz_reports_an_unmigrated_database_as_degraded(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "degraded"}


def test_healthz_with_a_session_on_an_unmigrated_database_is_degraded_not_an_error(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    client = app.test_client()
    with client.session_transaction() as s:   # a browser still signed in from before the database was replaced
        s["uid"] = 1
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "degraded"}


def test_healthz_reads_the_migration_scripts_once_per_app(client, migrated_url, monkeypatch):
    """A load balancer polls /healthz every few seconds: parsing every migration script each time cost ~12 ms."""
    from alembic.script import ScriptDirectory

    reads = []
    original = ScriptDirectory.get_current_head
    monkeypatch.setattr(ScriptDirectory, "get_current_head", lambda self: reads.append(1) or original(self))
    for _ in range(3):
        assert client.get("/healthz").get_json() == {"status": "ok"}
    assert len(reads) <= 1


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path, caplog):
    app = make_app(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite3'}")
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json() == {"status": "error"}
    assert "OperationalError" in caplog.text                     # the reason goes to the log, not to the caller


def test_sign_in_page_is_chinese(client):
    r = client.get("/")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'lang="zh-CN"' in page and "工作人员登录" in page and 'name="csrf_token"' in page


def test_english_is_available(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page and "Staff sign-in" in page and "工作人员登录" not in page


@pytest.mark.parametrize("replace, key", [
    ('overall = 25 ', "deadlines.overall"),
    ('unit = "calendar_days"', "publicity.unit"),
])
def test_a_broken_deployment_profile_stops_the_app(tmp_path, migrated_url, replace, key):
    from server.rules import BUILTIN_DIR

    text = (BUILTIN_DIR / "guancheng.toml").read_text(encoding="utf-8")
    broken = text.replace(replace, replace.replace("25", '"25"').replace("calendar_days", "fortnights"), 1)
    assert broken != text
    (tmp_path / "guancheng.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        make_app(migrated_url, RUHU_PROFILE_DIRS=[str(tmp_path)])
    assert err.value.key == key and str(tmp_path / "guancheng.toml") in err.value.message


def test_a_bad_calendar_override_stops_the_app(tmp_path, migrated_url):
    from server.domain.calendar import CalendarOverrideError

    path = tmp_path / "calendar.toml"
    path.write_text('holidays = ["2027-02-30"]\n', encoding="utf-8")
    with pytest.raises(CalendarOverrideError) as err:
        make_app(migrated_url, RUHU_CALENDAR=str(path))
    assert str(path) in err.value.message_en


def test_a_calendar_override_is_used_by_the_app(tmp_path, migrated_url):
    from server import services

    path = tmp_path / "calendar.toml"
    path.write_text('holidays = [2027-01-01]\nworkdays = ["2026-12-26"]\n', encoding="utf-8")
    app = make_app(migrated_url, RUHU_CALENDAR=str(path))
    with app.app_context():
        import datetime as dt

        cal = services().calendar
        assert cal.is_workday(dt.date(2026, 12, 26)) and not cal.is_workday(dt.date(2027, 1, 1))
        assert cal.add_workdays(dt.date(2026, 12, 31), 1).provisional is False


def test_postgres_urls_are_normalised_to_psycopg3():
    from server.config import normalise_database_url

    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"
