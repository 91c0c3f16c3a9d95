"""One guard for every request: hostile input is refused before a view sees it, and every error
has a page (console, public) or a JSON problem body (API) in Chinese and English — never a 5xx
from input.

- Text that no form field can hold is refused with 400: NUL characters and lone UTF-16 surrogates
  anywhere in the path, the query, a form or a JSON body, or a single value longer than
  ``RUHU_MAX_FIELD_CHARS``.
- Integers in URLs (``<int:...>``) stop at the largest PostgreSQL ``integer`` (2^31-1): a larger one
  is a 404, as no row can have that id.  Integers in JSON bodies past 2^63-1 are a 422.
- A text value longer than its model column is refused before the flush, on SQLite as on
  PostgreSQL (422, naming the limit).
- What still overflows in the database (a string longer than its column on PostgreSQL, an integer
  out of range, a date-time past year 9999 after a time-zone shift) is answered 422 with the same
  problem shape, the transaction rolled back.
- Every HTTP error renders in the console's layout (or the public pages' layout, and headers, on
  residents' addresses, even where no view answers: see :func:`server.public.public_headers`),
  Chinese first with English beside it, with links back; the API answers ``application/problem+json``.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, current_app, g, jsonify, render_template, request
from sqlalchemy import event
from sqlalchemy.exc import DataError, StatementError
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from server.extensions import db

log = logging.getLogger(__name__)

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1

# Bilingual titles of the statuses the application answers with.
TITLES: dict[int, tuple[str, str]] = {
    400: ("请求内容无效", "The request is not valid"),
    401: ("需要登录或登记", "Sign-in or enrolment is required"),
    403: ("无权访问此页面", "You may not open this page"),
    404: ("页面不存在", "This page does not exist"),
    405: ("不支持此请求方法", "This method is not allowed here"),
    409: ("与现有记录冲突", "This conflicts with an existing record"),
    410: ("此内容已不再提供", "This is no longer available"),
    413: ("提交的内容过大", "What was sent is too large"),
    422: ("输入的内容无法处理", "The input cannot be processed"),
    429: ("请求过于频繁，请稍后再试", "Too many requests: please wait a minute and try again"),
    500: ("服务器出错，请稍后再试", "The server failed: please try again later"),
}
DETAILS: dict[int, tuple[str, str]] = {
    400: ("输入中含有无法处理的字符（例如空字符）或格式不正确，请检查后重新提交。",
          "The input holds characters that cannot be processed (such as NUL) or is malformed: check it and send again."),
    403: ("您的角色或单位不能办理此事项。", "Your role or unit may not do this."),
    404: ("链接可能有误，或内容已被删除。", "The link may be wrong, or the item was removed."),
    405: ("请从页面上的按钮或链接进入。", "Please use the buttons and links on the page."),
    413: ("请缩小文件或减少文字后重新提交。", "Make the file smaller or the text shorter and send again."),
    422: ("某个值超出了允许的长度或范围，请检查后重新提交。",
          "A value is longer or larger than allowed: check it and send again."),
    429: ("请等待一分钟后再试。", "Wait a minute and try again."),
    500: ("已记录此错误，请稍后再试；如仍出错，请联系系统管理员。",
          "The error was logged; try again later, and tell the administrator if it persists."),
}


class TooLong(ValueError):
    """A text value longer than its database column (checked before every flush, on every database)."""

    def __init__(self, table: str, column: str, limit: int):
        super().__init__(f"{table}.{column} longer than {limit}")
        self.limit = limit


def _check_lengths(session, flush_context, instances) -> None:  # noqa: ARG001
    """SQLite would store a string longer than its column and PostgreSQL refuse it mid-transaction:
    both are refused here alike, before anything is written (answered 422 by :func:`_too_long`)."""
    for obj in list(session.new) + list(session.dirty):
        table = getattr(obj, "__table__", None)
        if table is None:
            continue
        limits = _LIMITS.get(table)
        if limits is None:
            limits = _LIMITS[table] = tuple((column.key, column.type.length) for column in table.columns
                                            if getattr(column.type, "length", None))
        for key, length in limits:
            value = getattr(obj, key, None)
            if isinstance(value, str) and len(value) > length:
                raise TooLong(table.name, key, length)


_LIMITS: dict = {}   # table -> ((column key, length), ...) of its bounded text columns


class BoundedInt(IntegerConverter):
    """``<int:...>`` that matches only ids a database column can hold (up to 2^31-1): larger is 404."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", INT4_MAX)
        super().__init__(map, *args, **kwargs)


class InputRefused(BadRequest):
    def __init__(self, where: str):
        super().__init__(description=where)
        self.where = where


_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")   # NUL, or a lone surrogate (not encodable as UTF-8)


def _bad_text(value: str) -> bool:
    return _BAD_CHARACTER.search(value) is not None


def _check_text(value: str, where: str, limit: int) -> None:
    if _bad_text(value):
        raise InputRefused(where)
    if len(value) > limit:
        g.guard_status = 413
        raise InputRefused(where)


def _check_json(value, where: str, limit: int, depth: int = 0) -> None:
    if depth > 64:
        raise InputRefused(where)
    if isinstance(value, str):
        _check_text(value, where, limit)
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if abs(value) > INT8_MAX:
            g.guard_status = 422
            raise InputRefused(where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where, limit)
            _check_json(item, f"{where}/{key}", limit, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}/{index}", limit, depth + 1)


def check_json(value, where: str) -> None:
    """The checks a JSON body gets, for JSON read from elsewhere (a multipart part)."""
    _check_json(value, where, current_app.config["RUHU_MAX_FIELD_CHARS"])


def check_request() -> None:
    """Refuse hostile text anywhere in the request (called before every view)."""
    limit = current_app.config["RUHU_MAX_FIELD_CHARS"]
    _check_text(request.path, "path", 4096)
    for key, value in request.args.items(multi=True):
        _check_text(key, "query", limit)
        _check_text(value, f"query/{key}", limit)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # A part may come without a name (werkzeug then keys it None): nothing to check in a missing name.
            for key, value in request.form.items(multi=True):
                _check_text(key or "", "form", limit)
                _check_text(value or "", f"form/{key}", limit)
            for key, file in request.files.items(multi=True):
                _check_text(key or "", "form", limit)
                _check_text(file.filename or "", f"form/{key}", limit)
        elif request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:   # nested deeper than the parser follows: refused before any view reads it
                raise InputRefused("body") from None
            if body is not None:
                _check_json(body, "body", limit)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, code: str, message: str, message_en: str, **extra):
    """An ``application/problem+json`` answer (RFC 9457) that also carries the API's usual fields."""
    title_zh, title_en = TITLES.get(status, TITLES[500 if status >= 500 else 400])
    body = {"type": "about:blank", "title": title_en, "status": status, "detail": message_en,
            "error": code, "message": message, "message_en": message_en, "title_zh": title_zh, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def error_page(status: int, message: str | None = None, message_en: str | None = None, headers=None):
    """The error page in the right layout: residents' pages keep theirs, everything else the console's."""
    title_zh, title_en = TITLES.get(status, TITLES[500 if status >= 500 else 400])
    detail_zh, detail_en = DETAILS.get(status, ("", ""))
    from server.public import is_public_path

    public = request.blueprint == "public" or is_public_path(request.path)
    template = "public/problem.html" if public else "error.html"
    page = render_template(template, status=status, title=title_zh, title_en=title_en,
                           message=message or detail_zh, message_en=message_en or detail_en)
    return page, status, headers or {}


def http_error(exc: HTTPException):
    status = exc.code or 500
    headers = {}
    if status == 429:
        headers["Retry-After"] = "60"
    if status == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if isinstance(exc, InputRefused):
        status = g.get("guard_status", 400)
        zh, en = DETAILS[status]
        if wants_json():
            return problem(status, "input_refused", zh, en, path=exc.where)
        return error_page(status, zh, en)
    if status >= 500:
        db.session.rollback()
    if wants_json():
        zh, en = TITLES.get(status, TITLES[500 if status >= 500 else 400])
        response = problem(status, {404: "not_found", 405: "method_not_allowed", 413: "too_large",
                                    429: "rate_limited"}.get(status, f"http_{status}"), zh, en)
        response.headers.update(headers)
        return response
    return error_page(status, headers=headers)


def _out_of_range(exc: Exception):
    """The database (or Python's date arithmetic) could not hold a value: 422, nothing stored."""
    db.session.rollback()
    log.info("input out of range on %s %s: %s", request.method, request.path, type(exc).__name__)
    zh, en = DETAILS[422]
    if wants_json():
        return problem(422, "value_out_of_range", zh, en)
    return error_page(422, zh, en)


def _too_long(exc: TooLong):
    db.session.rollback()
    zh = f"某项内容超过了允许的长度（最多{exc.limit}个字符），请缩短后重新提交。"
    en = f"A value is longer than allowed (at most {exc.limit} characters): shorten it and send again."
    if wants_json():
        return problem(422, "too_long", zh, en)
    return error_page(422, zh, en)


def _unparsable(exc: ValueError):
    """A value a view could not parse (``int("abc")``, a date of year 10000): 400, logged for the developers."""
    db.session.rollback()
    log.warning("unparsable input on %s %s", request.method, request.path, exc_info=exc)
    zh, en = DETAILS[400]
    if wants_json():
        return problem(400, "input_invalid", zh, en)
    return error_page(400, zh, en)


def _statement_error(exc: StatementError):
    if isinstance(exc.orig, (OverflowError, UnicodeEncodeError, ValueError)) or isinstance(exc, DataError):
        return _out_of_range(exc)
    raise exc


def _server_error(exc: Exception):
    db.session.rollback()
    if isinstance(exc, HTTPException):
        return http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return http_error(InternalServerError())


def init_app(app: Flask) -> None:
    """Install the guard: the bounded ``int`` converter (before any blueprint) and the handlers."""
    app.config.setdefault("RUHU_MAX_FIELD_CHARS", 20000)
    app.url_map.converters["int"] = BoundedInt
    app.before_request(check_request)
    app.register_error_handler(HTTPException, http_error)
    for code in TITLES:
        if code >= 400:
            app.register_error_handler(code, http_error)
    app.register_error_handler(DataError, _out_of_range)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(UnicodeEncodeError, _out_of_range)
    app.register_error_handler(StatementError, _statement_error)
    app.register_error_handler(ValueError, _unparsable)
    app.register_error_handler(TooLong, _too_long)
    if not event.contains(Session, "before_flush", _check_lengths):
        event.listen(Session, "before_flush", _check_lengths)
    if not app.testing and not app.debug:
        app.register_error_handler(Exception, _server_error)
