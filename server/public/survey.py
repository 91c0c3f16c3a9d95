"""The public "two rates" survey (两率调查): residents scan a street office's or township's QR code and
say whether they know the dibao policy and whether they are satisfied.

Anonymous (no name, phone or address is asked or kept), CSRF-protected, rate-limited per client, and
one answer per unit and year from one browser (a random cookie, and the session), and a few per
client address and day — both kept only as keyed hashes in ``survey_marks``, see ``_claim_marks``.  Answers count as source "public" and are reported
beside the visit and paper answers, never mixed into them silently.
"""

from __future__ import annotations

from flask import current_app, make_response, render_template, request, session
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from server import today
from server.extensions import client_key, db, limiter
from server.models import Unit
from server.models.orgs import OFFICE_LEVELS
from server.models.oversight import RESPONDENTS
from server.operations import OperationError
from server.operations.oversight import public_response
from server.public import bp

SESSION_KEY = "two_rates_done"
DEVICE_COOKIE = "ruhu_survey"          # a random value naming nothing but "this browser", for a year
DEVICE_COOKIE_AGE = 400 * 24 * 3600


def _mark(*parts: str) -> str:
    """A keyed hash (HMAC-SHA256 with the secret key) of what limits answers: unlinkable to anyone."""
    import hashlib
    import hmac

    key = ("ruhu-survey-mark:" + str(current_app.config["SECRET_KEY"])).encode()
    return hmac.new(key, "|".join(parts).encode(), hashlib.sha256).hexdigest()


def _claim_marks(unit: Unit, device: str) -> bool:
    """Spend this browser's answer for the unit and year, and one of the client address's answers for
    the unit and day (``RUHU_SURVEY_ADDRESS_DAILY``, several: households and carriers share addresses; an IPv6
    client counts by its /64, as the rate limits do).  False when either is spent.  The marks are added to the
    session: the answer's commit keeps them."""
    from server.models.oversight import SurveyMark

    on = today()
    device_key = _mark("device", unit.code, str(on.year), device)
    slots = int(current_app.config.get("RUHU_SURVEY_ADDRESS_DAILY", 3))
    address = client_key()
    address_keys = [_mark("address", unit.code, on.isoformat(), address, str(n)) for n in range(slots)]
    taken = set(db.session.scalars(select(SurveyMark.key).where(SurveyMark.key.in_([device_key, *address_keys]))))
    free = [k for k in address_keys if k not in taken]
    if device_key in taken or not free:
        return False
    db.session.add_all([SurveyMark(key=device_key), SurveyMark(key=free[0])])
    return True


def _with_device_cookie(response, device: str):
    response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax",
                        secure=request.is_secure, path="/survey")
    return response


def _device() -> str:
    value = request.cookies.get(DEVICE_COOKIE, "")
    if len(value) == 43 and all(c.isalnum() or c in "-_" for c in value):
        return value
    import secrets

    return secrets.token_urlsafe(32)


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    return response


def _unit(code: str) -> Unit | None:
    if len(code) > 32:
        return None
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    return unit if unit is not None and unit.level in OFFICE_LEVELS else None


def _done_key(unit: Unit) -> str:
    return f"{unit.code}:{today().year}"


def _form(unit: Unit, form=None, error=None, status: int = 200):
    return _page("oversight/survey_public.html", status, unit=unit, form=form or MultiDict(), error=error,
                 respondents=RESPONDENTS,
                 done=_done_key(unit) in session.get(SESSION_KEY, []))


@bp.get("/survey/<code>")
def two_rates_survey(code: str):
    unit = _unit(code)
    if unit is None:
        return _page("public/not_found.html", 404)
    return _with_device_cookie(_form(unit), _device())


@bp.post("/survey/<code>")
@limiter.limit(lambda: current_app.config.get("RUHU_SURVEY_RATE", "20 per hour"), key_func=client_key)
def two_rates_submit(code: str):
    unit = _unit(code)
    if unit is None:
        return _page("public/not_found.html", 404)
    done = list(session.get(SESSION_KEY, []))
    if _done_key(unit) in done:
        return _page("oversight/survey_thanks.html", unit=unit, again=True)
    form = request.form
    device = _device()
    if not _claim_marks(unit, device):
        db.session.rollback()
        return _with_device_cookie(_page("oversight/survey_thanks.html", unit=unit, again=True), device)
    try:
        public_response(unit, respondent=form.get("respondent"), knows=form.get("knows"), rating=form.get("rating"),
                        today=today())
    except OperationError as exc:
        db.session.rollback()
        return _with_device_cookie(_form(unit, form, exc, exc.status), device)
    except IntegrityError:     # the same mark claimed by a simultaneous answer
        db.session.rollback()
        return _with_device_cookie(_page("oversight/survey_thanks.html", unit=unit, again=True), device)
    session[SESSION_KEY] = (done + [_done_key(unit)])[-20:]
    return _with_device_cookie(_page("oversight/survey_thanks.html", unit=unit, again=False), device)
