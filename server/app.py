"""The application factory and what every request shares (profiles, calendar)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from server import config as config_module
from server.config import ConfigError
from server.domain.calendar import WorkCalendar
from server.extensions import babel, csrf, db, end_read_only, limiter, migrate
from server.multipart import FastRequest
from server.rules import Profile, load_profiles

LOCALES = ("zh", "en")
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


@dataclass(frozen=True)
class Services:
    """What every request needs besides the database: the rules profiles and the calendar."""
    profiles: dict[str, Profile]
    calendar: WorkCalendar


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # noqa: ARG001
    """WAL and synchronous=FULL: an acknowledged write survives a power cut; foreign keys enforced."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def _select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LOCALES:
        session["lang"] = lang
        return lang
    if session.get("lang") in LOCALES:
        return session["lang"]
    return request.accept_languages.best_match(LOCALES) or "zh"


def _check_pwa_dir(config) -> None:
    """A phone-app directory that is named but not there stops the app (server/pwa.py would serve nothing)."""
    pwa = config.get("RUHU_PWA_DIR")
    if pwa and not Path(pwa).is_dir():
        raise ConfigError("RUHU_PWA_DIR", f"目录不存在：{pwa}", f"no such directory: {pwa}")


def _load_forms(directory: str) -> dict:
    """The survey form definitions; a missing or empty directory stops the app (phones could send nothing)."""
    from sync.validate import load_forms

    path = Path(directory)
    if not path.is_dir():
        raise ConfigError("RUHU_FORMS_DIR",
                          f"表单定义目录不存在：{path}（请从源码目录以 pip install -e 安装，或设置 RUHU_FORMS_DIR）",
                          f"no form definitions directory at {path} (install from the checkout with pip install -e, "
                          "or set RUHU_FORMS_DIR; see docs/operations.md)")
    try:
        forms = load_forms(path)
    except ValueError as exc:
        raise ConfigError("RUHU_FORMS_DIR", f"{path} 中的表单定义有误：{exc}",
                          f"a form definition in {path} is wrong: {exc}") from exc
    if not forms:
        raise ConfigError("RUHU_FORMS_DIR", f"{path} 中没有表单定义（*.json）",
                          f"{path} holds no form definition (*.json)")
    return forms


def create_app(overrides: dict | None = None) -> Flask:
    """Build the application.  ``overrides`` replace settings read from the environment (tests)."""
    app = Flask(__name__, instance_relative_config=False)
    app.request_class = FastRequest   # the ordinary multipart body split without werkzeug's stream parser
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(config_module.from_environment(app.instance_path))
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"])

    # A bad setting, profile, calendar file or form definition stops the app here, with a message naming
    # the setting, or the file and key.
    app.extensions["ruhu"] = Services(
        profiles=load_profiles(app.config["RUHU_PROFILE_DIRS"]),
        calendar=WorkCalendar.from_file(app.config["RUHU_CALENDAR"]),
    )

    _check_pwa_dir(app.config)
    app.extensions["ruhu_forms"] = _load_forms(app.config["RUHU_FORMS_DIR"])

    from server import models  # noqa: F401  (register the tables)
    from server.i18n import ensure_catalogs

    db.init_app(app)
    app.teardown_request(end_read_only)   # before Flask-SQLAlchemy's rollback (an app-context teardown)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    ensure_catalogs()
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")

    from server import guard, security

    security.init_app(app)
    guard.init_app(app)  # before the blueprints: their ``<int:...>`` converters and 429 page build on it

    from server.api import bp as api_bp
    from server.cli import register
    from server.public import bp as public_bp
    from server.pwa import bp as pwa_bp
    from server.web import bp as web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(pwa_bp)
    register(app)

    from server.logfilter import install as mask_access_logs

    mask_access_logs()
    return app
