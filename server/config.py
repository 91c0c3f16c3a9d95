"""Configuration from the environment, with defaults that make ``make run`` work on a fresh machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in ``instance/secret_key``."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_environment(instance_path: str) -> dict:
    instance = Path(instance_path)
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'ruhu.sqlite3'}"
    dirs = [d for d in os.environ.get("RUHU_PROFILE_DIRS", "").split(os.pathsep) if d]
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(db_url),
        # hide_parameters: a failed statement's message (and so a traceback or log line) never carries
        # the values bound to it — ID numbers, names, phone numbers.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "RUHU_PROFILE_DIRS": dirs,
        "RUHU_CALENDAR": os.environ.get("RUHU_CALENDAR") or str(instance / "calendar.toml"),
        # The survey form definitions, shared with the phone app.
        # The address residents' phones reach the server at (printed in QR codes); unset: the server's own
        # address (see server/urls.py), and for CLI commands http://$RUHU_HOST:$RUHU_PORT (set by make).
        "RUHU_PUBLIC_BASE_URL": os.environ.get("RUHU_PUBLIC_BASE_URL", ""),
        "RUHU_LOCAL_BASE_URL": f"http://{os.environ.get('RUHU_HOST') or '127.0.0.1'}:{os.environ.get('RUHU_PORT') or '5000'}",
        "RUHU_FORMS_DIR": os.environ.get("RUHU_FORMS_DIR") or str(Path(__file__).resolve().parents[1] / "pwa" / "forms"),
        # Sign-in protection: after this many failures in a row the account is locked for a while.
        "RUHU_LOGIN_MAX_FAILURES": int(os.environ.get("RUHU_LOGIN_MAX_FAILURES", "5")),
        "RUHU_LOGIN_LOCK_MINUTES": int(os.environ.get("RUHU_LOGIN_LOCK_MINUTES", "15")),
        # Werkzeug password-hash method; the default (scrypt) is right for production.
        "RUHU_PASSWORD_METHOD": os.environ.get("RUHU_PASSWORD_METHOD", "scrypt"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RUHU_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Sign-in attempts per client address (on top of the per-account lock-out).
        "RUHU_LOGIN_RATE": os.environ.get("RUHU_LOGIN_RATE", "20 per minute"),
        "BABEL_DEFAULT_LOCALE": "zh",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("RUHU_SECURE_COOKIES", "0") == "1",
        "WTF_CSRF_TIME_LIMIT": None,
        # Where uploaded files are kept (content-addressed); back it up with the database.
        "RUHU_ATTACHMENTS": os.environ.get("RUHU_ATTACHMENTS") or str(instance / "attachments"),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none).
        "RUHU_PROXY_HOPS": int(os.environ.get("RUHU_PROXY_HOPS", "0")),
        # A console session unused for this long ends (sign-out ends it, and every older cookie, at once).
        "RUHU_SESSION_IDLE_MINUTES": int(os.environ.get("RUHU_SESSION_IDLE_MINUTES", "30")),
        # The longest single text value any form or JSON field may carry (longer: 413 before any view).
        "RUHU_MAX_FIELD_CHARS": int(os.environ.get("RUHU_MAX_FIELD_CHARS", "20000")),
        # Public two-rates survey: answers per client address, unit and day (one per browser and year besides).
        "RUHU_SURVEY_ADDRESS_DAILY": int(os.environ.get("RUHU_SURVEY_ADDRESS_DAILY", "3")),
        # Largest request body (the attachment store refuses files over 15 MiB with its own 413).
        "MAX_CONTENT_LENGTH": 20 * 2**20,
    }
