"""Configuration from the environment, with defaults that make ``make run`` work on a fresh machine."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]   # the checkout: pwa/ lies next to server/


class ConfigError(ValueError):
    """A setting cannot be used: the app refuses to start.  ``message`` is Chinese, ``message_en`` English."""

    def __init__(self, name: str, problem_zh: str, problem_en: str):
        self.name = name
        self.message = f"设置 {name}：{problem_zh}"
        self.message_en = f"setting {name}: {problem_en}"
        super().__init__(f"{self.message_en} / {self.message}")


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


def _whole(name: str, default: int, minimum: int = 1) -> int:
    """A whole number of at least ``minimum`` from the environment (unset or empty: ``default``)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]+", raw) or int(raw) < minimum:
        raise ConfigError(name, f"应为不小于 {minimum} 的整数，而不是 {raw!r}",
                          f"must be a whole number of at least {minimum}, not {raw!r}")
    return int(raw)


def _rate(name: str, default: str) -> str:
    """A rate limit such as ``20 per minute`` (flask-limiter's notation; unset or empty: ``default``)."""
    from limits import parse_many

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(name, f"不是有效的频率限制：{raw!r}（例如 \"20 per hour\"）",
                          f"not a rate limit: {raw!r} (e.g. \"20 per hour\")") from None
    return raw


def _demo_password() -> str:
    """The demo accounts' password for ``ruhu demo load`` (empty: the built-in one)."""
    from server.models.users import MIN_PASSWORD

    password = os.environ.get("RUHU_DEMO_PASSWORD", "")
    if password and len(password) < MIN_PASSWORD:
        raise ConfigError("RUHU_DEMO_PASSWORD", f"密码至少{MIN_PASSWORD}个字符",
                          f"the password needs at least {MIN_PASSWORD} characters")
    return password


def from_environment(instance_path: str) -> dict:
    instance = Path(instance_path)
    pwa_dir = os.environ.get("RUHU_PWA_DIR", "")
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'ruhu.sqlite3'}"
    dirs = [d for d in os.environ.get("RUHU_PROFILE_DIRS", "").split(os.pathsep) if d]
    max_upload = _whole("RUHU_MAX_UPLOAD", 15 * 2**20)
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(db_url),
        # hide_parameters: a failed statement's message (and so a traceback or log line) never carries
        # the values bound to it — ID numbers, names, phone numbers.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "RUHU_PROFILE_DIRS": dirs,
        "RUHU_CALENDAR": os.environ.get("RUHU_CALENDAR") or str(instance / "calendar.toml"),
        # The address residents' phones reach the server at (printed in QR codes); unset: the server's own
        # address (see server/urls.py), and for CLI commands http://$RUHU_HOST:$RUHU_PORT (set by make).
        "RUHU_PUBLIC_BASE_URL": os.environ.get("RUHU_PUBLIC_BASE_URL", ""),
        "RUHU_LOCAL_BASE_URL": f"http://{os.environ.get('RUHU_HOST') or '127.0.0.1'}:{os.environ.get('RUHU_PORT') or '5000'}",
        # The phone app's files (server/pwa.py; empty: pwa/ of the checkout) and the survey form definitions
        # it shares with the server (default: its forms/).  Both are checked at start-up (server/app.py).
        "RUHU_PWA_DIR": pwa_dir,
        "RUHU_FORMS_DIR": os.environ.get("RUHU_FORMS_DIR") or str(Path(pwa_dir or PACKAGE_ROOT / "pwa") / "forms"),
        # Sign-in protection: after this many failures in a row the account is locked for a while.
        "RUHU_LOGIN_MAX_FAILURES": _whole("RUHU_LOGIN_MAX_FAILURES", 5),
        "RUHU_LOGIN_LOCK_MINUTES": _whole("RUHU_LOGIN_LOCK_MINUTES", 15),
        # Werkzeug password-hash method; the default (scrypt) is right for production.
        "RUHU_PASSWORD_METHOD": os.environ.get("RUHU_PASSWORD_METHOD", "scrypt"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RUHU_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Sign-in attempts per client address (on top of the per-account lock-out).
        "RUHU_LOGIN_RATE": _rate("RUHU_LOGIN_RATE", "20 per minute"),
        # Residents' pages, per client address (docs/boards.md, docs/oversight.md): reports to one board,
        # reports to all boards, receipt look-ups, public two-rates survey answers.
        "RUHU_REPORT_RATE": _rate("RUHU_REPORT_RATE", "6 per hour"),
        "RUHU_REPORT_CLIENT_RATE": _rate("RUHU_REPORT_CLIENT_RATE", "30 per day"),
        "RUHU_RECEIPT_RATE": _rate("RUHU_RECEIPT_RATE", "30 per hour"),
        "RUHU_SURVEY_RATE": _rate("RUHU_SURVEY_RATE", "20 per hour"),
        # Phone enrolments (POST /api/v1/devices/enroll, no sign-in: the one-time code is the credential).
        "RUHU_ENROLL_RATE": _rate("RUHU_ENROLL_RATE", "20 per hour"),
        # The largest photo (bytes) a resident may attach to a report.
        "RUHU_PUBLIC_MAX_PHOTO": _whole("RUHU_PUBLIC_MAX_PHOTO", 5 * 2**20),
        # The font file posters are drawn with (empty: Debian's Noto CJK when installed; server/posters.py).
        "RUHU_POSTER_FONT": os.environ.get("RUHU_POSTER_FONT", ""),
        # The demo accounts' password (empty: server.demo.DEMO_PASSWORD); `ruhu demo load` and `demo logins`.
        "RUHU_DEMO_PASSWORD": _demo_password(),
        "BABEL_DEFAULT_LOCALE": "zh",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("RUHU_SECURE_COOKIES", "0") == "1",
        "WTF_CSRF_TIME_LIMIT": None,
        # Where uploaded files are kept (content-addressed); back it up with the database.
        "RUHU_ATTACHMENTS": os.environ.get("RUHU_ATTACHMENTS") or str(instance / "attachments"),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Port to trust (0: none).
        "RUHU_PROXY_HOPS": _whole("RUHU_PROXY_HOPS", 0, minimum=0),
        # A console session unused for this long ends (sign-out ends it, and every older cookie, at once).
        "RUHU_SESSION_IDLE_MINUTES": _whole("RUHU_SESSION_IDLE_MINUTES", 30),
        # The longest single text value any form or JSON field may carry (longer: 413 before any view).
        "RUHU_MAX_FIELD_CHARS": _whole("RUHU_MAX_FIELD_CHARS", 20000),
        # Public two-rates survey: answers per client address, unit and day (one per browser and year besides).
        "RUHU_SURVEY_ADDRESS_DAILY": _whole("RUHU_SURVEY_ADDRESS_DAILY", 3),
        # The largest file (bytes) a phone or the console may upload: larger, the attachment store answers 413.
        "RUHU_MAX_UPLOAD": max_upload,
        # Largest request body: 20 MiB, or the largest file and 1 MiB for the form around it.
        "MAX_CONTENT_LENGTH": max(20 * 2**20, max_upload + 2**20),
    }
