"""Console pages: the office's notice boards (create, rename, rotate the QR token, print the poster) and
the objections and tip-offs residents sent from them (see, mark as being investigated, answer).

Office roles see them (caseworker, leader, director); caseworkers and leaders change them.  A board or
report of another office answers 404, a wrong role 403.
"""

from __future__ import annotations

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from server import today
from server.extensions import db
from server.models import Unit
from server.models.boards import BOARD_KINDS, REPORT_KINDS, REPORT_OUTCOMES, REPORT_STATUSES
from server.operations import OperationError, case_lists
from server.operations import boards as ops
from server.web import bp
from server.web.auth import current_user, login_required
from server.web.forms import FormError, Reader

# How the typed fields are named when one holds a control or text-direction character (forms.Reader.check_text).
NAME_LABEL = ("公示栏名称", "The board name")
ANSWER_LABEL = ("核实和处理情况", "What was checked and done")


def _viewer():
    user = current_user()
    if not ops.can_view(user):
        abort(403)
    return user


def _manager():
    user = current_user()
    if not ops.can_manage(user):
        abort(403)
    return user


def _units(user) -> list[Unit]:
    return sorted(ops.office_units(user.unit), key=lambda u: u.code)


def _boards_page(user, error=None, status: int = 200, form=None, renaming: tuple[int, str] | None = None):
    """The list of boards; ``renaming`` (board id, the name typed) keeps a refused new name in its board's row."""
    page = case_lists.page_of(list(ops.boards_of(user)), request.args)
    counts = {}
    for r in ops.reports_of(user):
        counts[r.status] = counts.get(r.status, 0) + 1
    return render_template("boards/list.html", page=page, page_sizes=case_lists.PAGE_SIZES, units=_units(user), kinds=BOARD_KINDS,
                           error=error, form=form or MultiDict(), can_manage=ops.can_manage(user),
                           public_url=ops.public_url, shows_publicity=ops.shows_publicity, counts=counts,
                           statuses=REPORT_STATUSES, renaming=renaming), status


@bp.get("/boards")
@login_required
def boards():
    return _boards_page(_viewer())


@bp.post("/boards")
@login_required
def board_create():
    user = _manager()
    form = request.form
    try:
        unit = db.session.get(Unit, int(form.get("unit") or 0))
    except ValueError:
        unit = None
    reader = Reader(form)   # a board's name is one line, without control or text-direction characters
    if unit is None or unit.id not in {u.id for u in _units(user)}:
        reader.fail("unit", "请选择公示栏所属的单位", "choose the unit the board belongs to")
    reader.check_text("name", form.get("name", ""), line=True, label=NAME_LABEL)
    if reader.errors:
        return _boards_page(user, FormError(reader.errors), 422, form)
    try:
        board = ops.create_board(user, unit, form.get("kind", ""), form.get("name", ""))
    except OperationError as exc:
        db.session.rollback()
        return _boards_page(user, exc, exc.status, form)
    return redirect(url_for("web.boards") + f"#board-{board.id}")


def _board_or_404(board_id: int):
    board = ops.board_for(current_user(), board_id)
    if board is None:
        abort(404)
    return board


@bp.post("/boards/<int:board_id>/rename")
@login_required
def board_rename(board_id: int):
    user = _manager()
    board = _board_or_404(board_id)
    name = request.form.get("name", "")
    reader = Reader(request.form)
    reader.check_text("name", name, line=True, label=NAME_LABEL)
    try:
        reader.done()
        ops.rename_board(user, board, name)
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _boards_page(user, exc, exc.status, renaming=(board.id, name))
    return redirect(url_for("web.boards") + f"#board-{board.id}")


@bp.post("/boards/<int:board_id>/rotate")
@login_required
def board_rotate(board_id: int):
    user = _manager()
    board = _board_or_404(board_id)
    ops.rotate_token(user, board)
    return redirect(url_for("web.boards") + f"#board-{board.id}")


@bp.get("/boards/<int:board_id>/poster")
@login_required
def board_poster(board_id: int):
    from server.posters import MISSING_FONT_ZH, find_font
    from server.qr import svg

    _viewer()
    board = _board_or_404(board_id)
    poster = ops.poster_text(board, today())
    font_missing = find_font(explicit=current_app.config.get("RUHU_POSTER_FONT")) is None
    return render_template("boards/poster.html", board=board, poster=poster, qr_svg=svg(poster.url),
                           font_missing=MISSING_FONT_ZH if font_missing else "")


@bp.get("/boards/<int:board_id>/poster.png")
@login_required
def board_poster_png(board_id: int):
    from server.posters import render_png

    _viewer()
    board = _board_or_404(board_id)
    data, warning = render_png(ops.poster_text(board, today()), font_path=current_app.config.get("RUHU_POSTER_FONT"))
    response = make_response(data)
    response.headers["Content-Type"] = "image/png"
    response.headers["Content-Disposition"] = f'attachment; filename="poster-{board.code}.png"'
    response.headers["Cache-Control"] = "private, no-store"
    if warning:
        response.headers["X-Ruhu-Warning"] = warning
    return response


# --- objections and tip-offs ---------------------------------------------------------------------

@bp.get("/boards/reports")
@login_required
def board_reports():
    user = _viewer()
    status = request.args.get("status") or ""
    if status and status not in REPORT_STATUSES:
        abort(400)
    return render_template("boards/reports.html", reports=ops.reports_of(user, status or None), status=status,
                           statuses=REPORT_STATUSES, kinds=REPORT_KINDS)


def _report_or_404(report_id: int):
    report = ops.report_for(current_user(), report_id)
    if report is None:
        abort(404)
    return report


def _report_page(report, error=None, status: int = 200, form=None):
    return render_template("boards/report.html", report=report, error=error, form=form or MultiDict(),
                           statuses=REPORT_STATUSES, kinds=REPORT_KINDS, outcomes=REPORT_OUTCOMES,
                           can_manage=ops.can_manage(current_user())), status


@bp.get("/boards/reports/<int:report_id>")
@login_required
def board_report(report_id: int):
    _viewer()
    return _report_page(_report_or_404(report_id))


@bp.post("/boards/reports/<int:report_id>/investigate")
@login_required
def board_report_investigate(report_id: int):
    user = _manager()
    report = _report_or_404(report_id)
    try:
        ops.start_investigating(user, report)
    except OperationError as exc:
        db.session.rollback()
        return _report_page(report, exc, exc.status)
    return redirect(url_for("web.board_report", report_id=report.id))


@bp.post("/boards/reports/<int:report_id>/answer")
@login_required
def board_report_answer(report_id: int):
    user = _manager()
    report = _report_or_404(report_id)
    reader = Reader(request.form)   # the answer is several lines (a <textarea>): tabs and line breaks are kept
    reader.check_text("answer", request.form.get("answer", ""), label=ANSWER_LABEL)
    try:
        reader.done()
        ops.answer_report(user, report, request.form.get("outcome", ""), request.form.get("answer", ""))
    except (FormError, OperationError) as exc:
        db.session.rollback()
        return _report_page(report, exc, exc.status, request.form)
    return redirect(url_for("web.board_report", report_id=report.id))

