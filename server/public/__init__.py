"""Public pages for residents (no sign-in): notice boards, objections, receipts, certificate checks.

- ``/b/<token>`` — a board's current publicity and long-term list.  Phone-first, Chinese, no
  JavaScript, one small stylesheet; ``Cache-Control: private, no-cache`` with an ETag, so a phone
  revalidates and gets ``304`` until a decision changes the list (then the next visit shows it at
  once), and no shared cache keeps it; gzip when the phone accepts it.  A token that was rotated
  answers **410 Gone** with a page saying "此二维码已更换" (and no list); an unknown token answers 404.
- ``/b/<token>/report`` — the objection / tip-off form (CSRF, size limits, rate-limited per client
  and board and per client): see :func:`server.operations.boards.submit_report`.
- ``/r`` and ``/r/<receipt>`` — the status of a report by its receipt number (rate-limited).
- ``/v/<token>`` — the check behind the QR code on a 低保证.

Every response of this blueprint (the survey's too) passes the **number guard** on its way out
(:func:`number_guard`): a page whose visible text holds an ID-number-like or phone-number-like run
(:mod:`server.domain.numberguard`: NFKC, any separator, any digit script) is not sent.  The pages are
built from structured fields, so this never fires unless something upstream is wrong; when it does,
the reader gets **451** with a page saying the page is withheld, and the log gets an error naming the
endpoint and the kind of number, never the number.  Two exceptions: the tip-off lines the profiles
publish, the identifiers a view publishes by design (:func:`publishes`: a certificate's number), and
what the request itself sent (a form shown again with the reporter's own phone number,
a receipt number typed into the lookup).
"""

from __future__ import annotations

import gzip
import logging

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from server import today
from server.domain import numberguard
from server.extensions import client_key, db, limiter
from server.models import Case
from server.operations import OperationError
from server.operations import boards as ops

bp = Blueprint("public", __name__)

GZIP_MIN = 1400   # bytes; smaller pages are not worth compressing
CERTIFICATE_IN_FORCE = ("certified", "in_payment", "rereview", "gradual_exit")


log = logging.getLogger("ruhu.public")


def _lang() -> str:
    return "en" if str(get_locale() or "zh") == "en" else "zh"


PUBLIC_PREFIXES = ("/b/", "/r/", "/v/", "/survey/")


def is_public_path(path: str) -> bool:
    """A residents' address, whether or not a view of this blueprint answers it (a wrong method, an
    unknown page below it, input refused by the guard before any view)."""
    return path == "/r" or path.startswith(PUBLIC_PREFIXES)


def _public(response, *, cache: bool = False):
    """Headers every public page carries."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    if not cache:
        response.headers["Cache-Control"] = "no-store"
    return response


def _page(template: str, status: int = 200, **context):
    return _public(make_response(render_template(template, **context), status))


@bp.after_app_request
def public_headers(response):
    """Every response on a residents' address gets the public pages' headers, the error pages that no view
    of this blueprint rendered too (the guard's 400, a 404 or 405 from routing): none may be stored by a
    cache, indexed, framed or named in a Referer.  A view that chose its caching (the board) keeps it."""
    if is_public_path(request.path):
        _public(response, cache="Cache-Control" in response.headers)
    return response


def _board_or_error(token: str):
    """The board for a current token, or a response: 410 for a replaced token, 404 for an unknown one."""
    board, current = ops.find_by_token(token)
    if board is None:
        return None, _page("public/not_found.html", 404)
    if not current:
        return None, _page("public/replaced.html", 410, board=board)
    return board, None


# --- the board ------------------------------------------------------------------------------------

_SEP = "\x1f"


def _rows_html(rows) -> Markup:
    """The long-term table's rows, escaped once per row rather than once per cell (a board may list
    thousands of families, and per-cell escaping was the slowest part of the page)."""
    return Markup("\n".join(
        "<tr><td>" + str(escape(_SEP.join(c.replace(_SEP, "") for c in r.cells))).replace(_SEP, "<td>")
        for r in rows))


@bp.get("/b/<token>")
def board(token: str):
    found, error = _board_or_error(token)
    if error is not None:
        return error
    page = ops.board_page(found, today(), _lang())
    body = render_template("public/board.html", page=page, board=found, today=today(),
                           long_term_rows=_rows_html(page.lists.long_term)).encode("utf-8")
    response = make_response(body)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(body) >= GZIP_MIN:
        response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding, Accept-Language, Cookie"
    # Always revalidate: the list changes the moment a decision is made; unchanged lists cost a 304.  Private:
    # masked names and amounts are for the reader's phone, never for a shared cache on the way.
    response.headers["Cache-Control"] = "private, no-cache"
    response.add_etag()
    response.make_conditional(request)
    return _public(response, cache=True)


# --- objections and tip-offs ----------------------------------------------------------------------

def _client_and_board() -> str:
    return f"{client_key()}|{(request.view_args or {}).get('token', '')}"


def _report_form(board, form=None, error=None, status: int = 200):
    page = ops.board_page(board, today(), _lang())
    return _page("public/report.html", status, board=board, page=page, form=form or MultiDict(), error=error,
                 limits={"text": ops.TEXT_MAX, "name": ops.PERSON_NAME_MAX, "phone": ops.PHONE_MAX},
                 photo_mb=int(current_app.config.get("RUHU_PUBLIC_MAX_PHOTO", 5 * 2**20)) // 2**20)


@bp.get("/b/<token>/report")
def report_form(token: str):
    found, error = _board_or_error(token)
    if error is not None:
        return error
    return _report_form(found, MultiDict({"case": request.args.get("case", "")}))


@bp.post("/b/<token>/report")
@limiter.limit(lambda: current_app.config.get("RUHU_REPORT_RATE", "6 per hour"), key_func=_client_and_board)
@limiter.limit(lambda: current_app.config.get("RUHU_REPORT_CLIENT_RATE", "30 per day"), key_func=client_key)
def report_submit(token: str):
    found, error = _board_or_error(token)
    if error is not None:
        return error
    form = request.form
    upload = request.files.get("photo")
    photo = None
    if upload is not None and upload.filename:
        limit = int(current_app.config.get("RUHU_PUBLIC_MAX_PHOTO", 5 * 2**20))
        photo = (upload.read(limit + 1), upload.mimetype)
    try:
        report = ops.submit_report(found, case_ref=form.get("case", ""), text=form.get("text", ""),
                                   name=form.get("name", ""), phone=form.get("phone", ""), photo=photo,
                                   remote_addr=request.remote_addr or "", today=today())
    except OperationError as exc:
        db.session.rollback()
        return _report_form(found, form, exc, exc.status)
    return redirect(url_for("public.receipt", receipt=report.receipt, new=1), 303)


@bp.get("/r")
@limiter.limit(lambda: current_app.config.get("RUHU_RECEIPT_RATE", "30 per hour"), key_func=client_key)
def receipt_lookup():
    typed = (request.args.get("n") or "").strip()
    if not typed:
        return _page("public/receipt.html", report=None, typed="")
    report = ops.report_by_receipt(typed)
    if report is None:
        return _page("public/receipt.html", 404, report=None, typed=typed[:40], not_found=True)
    return redirect(url_for("public.receipt", receipt=report.receipt), 303)


@bp.get("/r/<receipt>")
@limiter.limit(lambda: current_app.config.get("RUHU_RECEIPT_RATE", "30 per hour"), key_func=client_key)
def receipt(receipt: str):
    report = ops.report_by_receipt(receipt)
    if report is None:
        return _page("public/receipt.html", 404, report=None, typed=receipt[:40], not_found=True)
    return _page("public/receipt.html", report=report, typed="", new=request.args.get("new") == "1")


# --- the certificate check ---------------------------------------------------------------------------

def certificate_url(token: str) -> str:
    """The public address printed as a QR code on a certificate (RUHU_PUBLIC_BASE_URL, like the posters)."""
    from server.urls import public_base_url

    base = public_base_url()
    return base + url_for("public.certificate_check", token=token)


def certificate_state(case: Case, on) -> str:
    """"valid", "not_yet" (before its first day), "expired" (past its last day) or "revoked" (payment stopped)."""
    if case.status not in CERTIFICATE_IN_FORCE:
        return "revoked"
    if case.certificate_until is None or case.certificate_until < on:
        return "expired"
    if case.certificate_from is not None and case.certificate_from > on:
        return "not_yet"
    return "valid"


@bp.get("/v/<token>")
def certificate_check(token: str):
    from server.domain.masking import mask_name
    from server.domain.workflow import publishable_certificate_number

    case = db.session.scalar(select(Case).where(Case.certificate_token == token)) if 0 < len(token) <= 32 else None
    if case is None:
        return _page("public/certificate_check.html", 404, case=None)
    head = case.household.head
    on = today()
    # The certificate's number (office code, year, serial) is published by design when it has the shape the
    # console accepts (rows stored before that check may hold typed text) and carries no family member's ID
    # number nor the household's phone, however separated: otherwise the page is shown without it.
    number = case.certificate_number or ""
    digits = numberguard.digits_of([number])
    private = numberguard.digits_of([m.id_number for m in case.household.members] + [case.household.phone or ""])
    if publishable_certificate_number(number) and not any(p[:15] in n or n in p for p in private for n in digits):
        publishes(number)
    else:
        number = ""
    return _page("public/certificate_check.html", case=case, state=certificate_state(case, on), number=number,
                 holder=mask_name(head.name) if head else "", people=len(case.household.covered), today=on)


# --- friendly errors -------------------------------------------------------------------------------

@bp.errorhandler(429)
def too_many(exc):
    response = _page("public/limited.html", 429)
    response.headers.setdefault("Retry-After", "3600")
    return response


@bp.errorhandler(413)
def too_large(exc):
    return _page("public/error.html", 413, kind="too_large", text_max=ops.TEXT_MAX,
                 photo_mb=int(current_app.config.get("RUHU_PUBLIC_MAX_PHOTO", 5 * 2**20)) // 2**20)


@bp.errorhandler(CSRFError)
def csrf_failed(exc):
    # A report typed on a page that expired (or in a phone browser that dropped its cookie) is not lost: the form
    # comes back with what was written and a fresh token, and nothing is stored until it is sent again.
    if request.endpoint == "public.report_submit":
        found, error = _board_or_error((request.view_args or {}).get("token", ""))
        if error is None:
            expired = OperationError("page_expired", "页面已过期，填写的内容已保留：请核对后再提交一次（如有照片，请重新选择）",
                                     "The page had expired. What you wrote is kept: check it and send it again "
                                     "(choose the photo again, if any).", 400)
            return _report_form(found, request.form, expired, 400)
    return _page("public/error.html", 400, kind="csrf")


@bp.errorhandler(404)
def not_found(exc):
    return _page("public/not_found.html", 404)


# --- the number guard: the last line of defence ------------------------------------------------------

_SCANNED = ("text/html", "text/plain", "application/json")


def publishes(*numbers: str) -> None:
    """A view shows these structured identifiers by design (a certificate's number, which holds the
    office code and year): the guard lets them through on this response only."""
    g.public_numbers = (*g.get("public_numbers", ()), *numbers)


def _own_input() -> tuple[str, ...]:
    """Everything this request sent that a page may show back to the sender."""
    values = [v for _, v in request.args.items(multi=True)]
    try:
        values += [v for _, v in request.form.items(multi=True)]
    except HTTPException:   # a body refused as too large (413): nothing of it is shown back either
        pass
    values += [str(v) for v in (request.view_args or {}).values()]
    return numberguard.digits_of(values)


@bp.after_request
def number_guard(response):
    """Withhold a public response whose visible text holds an ID-, phone- or account-number-like run."""
    if (response.direct_passthrough or response.is_streamed or response.mimetype not in _SCANNED
            or 300 <= response.status_code < 400):   # a redirect's body is Werkzeug's stub naming our own URL
        return response
    body = response.get_data()
    if not body:
        return response
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    text = body.decode(response.mimetype_params.get("charset", "utf-8"), "replace")
    if response.mimetype == "text/html":
        text = numberguard.visible_text(text)
    found = numberguard.find(text, allowed=(*ops.published_numbers(), *g.get("public_numbers", ())),
                             echoed=_own_input())
    if not found:
        return response
    # The log names where and what kind, never the number (nor the path, which may hold it).
    log.error("public response withheld by the number guard: endpoint=%s status=%s found=%s",
              request.endpoint, response.status_code,
              ", ".join(f"{f.kind}/{len(f.digits)} digits" for f in found))
    withheld = _page("public/withheld.html", 451)
    withheld.headers["Cache-Control"] = "no-store"
    return withheld
