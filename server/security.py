"""Headers, sessions and the proxy: the ASVS level-2 basics every response shares.

- Every response: ``Content-Security-Policy`` (scripts only from this site, no inline script,
  ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``,
  ``X-Frame-Options: DENY``; over HTTPS also ``Strict-Transport-Security`` and Secure cookies.
- Console sessions carry the account's session epoch (``users.session_epoch``): signing out raises
  it, so every cookie issued before stops working at once; a session unused for
  ``RUHU_SESSION_IDLE_MINUTES`` ends.
- ``RUHU_PROXY_HOPS`` reverse proxies in front: Werkzeug's ProxyFix takes the client address and
  scheme from that many ``X-Forwarded-*`` hops (rate limits and the audit log see the client).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, current_app, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'; worker-src 'self'; manifest-src 'self'")
# A stored file (a photo, a scanned PDF) opened on its own is never a page of this site: no script, no plugin,
# a unique origin (sandbox), so a crafted file can neither run nor read anything.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
HSTS = "max-age=31536000; includeSubDomains"


def safe_next(target: str | None) -> str:
    """A same-site path to go to after sign-in, or the start page (no open redirect).

    Browsers drop tabs and newlines and read a backslash as a slash, so ``/\\tevil``, ``/%09/evil``
    and ``/\\evil`` all lead off-site; only a plain absolute path without a host survives here."""
    if not target or not target.startswith("/"):
        return url_for("web.index")
    if any(ch in target for ch in "\\\t\r\n") or any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in target):
        return url_for("web.index")
    cleaned = target
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or cleaned.startswith("//") or cleaned.startswith("/%09") \
            or "%5c" in cleaned.lower() or "%09" in cleaned.lower() or "%0a" in cleaned.lower() \
            or "%0d" in cleaned.lower():
        return url_for("web.index")
    return cleaned


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def session_is_current(user) -> bool:
    """The signed-in session belongs to the account's current epoch and was used recently."""
    if session.get("sv") != user.session_epoch:
        return False
    idle = current_app.config["RUHU_SESSION_IDLE_MINUTES"] * 60
    now = int(time.time())
    seen = session.get("seen")
    if not isinstance(seen, int) or now - seen > idle:
        return False
    if now - seen >= 30:   # refresh at most twice a minute (each refresh is a new cookie)
        session["seen"] = now
    return True


def start_session(user) -> None:
    session["uid"] = user.id
    session["sv"] = user.session_epoch
    session["seen"] = int(time.time())


class _SessionInterface(SecureCookieSessionInterface):
    """Under HTTPS the session cookie is Secure even when RUHU_SECURE_COOKIES was not set."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def init_app(app: Flask) -> None:
    hops = int(app.config.get("RUHU_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.session_interface = _SessionInterface()
    app.after_request(_headers)
