"""The public "two rates" survey (两率调查): residents scan a street office's or township's QR code and
say whether they know the dibao policy and whether they are satisfied.

Anonymous (no name, phone or address is asked or kept), CSRF-protected, rate-limited per client, and
one answer per unit and year from one browser.  Answers count as source "public" and are reported
beside the visit and paper answers, never mixed into them silently.
"""

from __future__ import annotations

from flask import current_app, make_response, render_template, request, session
from flask_limiter.util import get_remote_address
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from server import today
from server.extensions import db, limiter
from server.models import Unit
from server.models.orgs import OFFICE_LEVELS
from server.models.oversight import RESPONDENTS
from server.operations import OperationError
from server.operations.oversight import public_response
from server.public import bp

SESSION_KEY = "two_rates_done"


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
    return _form(unit)


@bp.post("/survey/<code>")
@limiter.limit(lambda: current_app.config.get("RUHU_SURVEY_RATE", "20 per hour"), key_func=get_remote_address)
def two_rates_submit(code: str):
    unit = _unit(code)
    if unit is None:
        return _page("public/not_found.html", 404)
    done = list(session.get(SESSION_KEY, []))
    if _done_key(unit) in done:
        return _page("oversight/survey_thanks.html", unit=unit, again=True)
    form = request.form
    try:
        public_response(unit, respondent=form.get("respondent"), knows=form.get("knows"), rating=form.get("rating"),
                        today=today(), remote_addr=request.remote_addr or "")
    except OperationError as exc:
        db.session.rollback()
        return _form(unit, form, exc, exc.status)
    session[SESSION_KEY] = (done + [_done_key(unit)])[-20:]
    return _page("oversight/survey_thanks.html", unit=unit, again=False)
