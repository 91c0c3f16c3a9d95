"""The staff-relatives register (近亲属备案登记) for the office and the bureau: list, filter, CSV export."""

from __future__ import annotations

from flask import Response, abort, render_template, request

from server.domain import workflow
from server.extensions import db
from server.operations import OperationError
from server.operations import relatives as ops
from server.web import bp
from server.web.auth import current_user, login_required


def _filters():
    status = request.args.get("status") or ""
    raw = request.args.get("office") or ""
    office_id = None
    if raw:
        try:
            office_id = int(raw)
        except ValueError:
            abort(400)
    return status, office_id


@bp.get("/staff-relatives")
@login_required
def staff_relatives():
    user = current_user()
    status, office_id = _filters()
    page = {"status": status, "office_id": office_id, "offices": ops.offices_for(user),
            "state_names": workflow.STATE_NAMES}
    try:
        rows = ops.register_rows(user, status=status, office_id=office_id)
    except OperationError as exc:
        if exc.status == 403:
            abort(403)
        return render_template("cases/relatives.html", rows=[], error=exc, **page), 422
    return render_template("cases/relatives.html", rows=ops.describe(rows), error=None, **page)


@bp.get("/staff-relatives.csv")
@login_required
def staff_relatives_csv():
    user = current_user()
    status, office_id = _filters()
    try:
        rows = ops.register_rows(user, status=status, office_id=office_id)
        body = ops.export_csv(user, rows, remote_addr=request.remote_addr or "")
    except OperationError as exc:
        db.session.rollback()
        abort(exc.status if exc.status in (400, 403) else 422)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=staff-relatives.csv", "Cache-Control": "no-store"})
