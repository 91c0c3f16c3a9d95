"""The console import of a phone's export file (the phone's last resort): caseworkers of the office the
phone's investigator belongs to upload it; ``server.operations.imports`` verifies and processes it."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from server import today
from server.extensions import db
from server.operations import OperationError
from server.operations.imports import import_export
from server.web import bp
from server.web.auth import current_user, login_required


def _caseworker():
    user = current_user()
    if user.role != "caseworker":
        abort(403)
    return user


@bp.get("/imports")
@login_required
def imports():
    _caseworker()
    return render_template("imports/form.html")


@bp.post("/imports")
@login_required
def imports_upload():
    user = _caseworker()
    upload = request.files.get("file")
    raw = upload.read() if upload else b""
    if not raw:
        error = OperationError("file_missing", "请选择手机导出的文件", "choose the file the phone exported", 400)
        return render_template("imports/form.html", error=error), 400
    try:
        result = import_export(raw, user, today(), remote_addr=request.remote_addr or "")
    except OperationError as exc:
        db.session.rollback()
        return render_template("imports/form.html", error=exc, problems=exc.details.get("problems", [])), exc.status
    return render_template("imports/form.html", result=result)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    """An export over the upload limit (raised as the form is read, before the view): said in words on the
    import page; other console pages get the
    console's own error page."""
    if request.endpoint != "web.imports_upload":
        from server.guard import http_error  # this handler shadows the app's for the whole console

        return http_error(exc)
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    mb = f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{limit} B"
    error = OperationError("file_too_large", f"文件超过上传上限（{mb}），未导入任何内容：请让调查人员在手机上先同步一部分记录后重新导出",
                           f"the file is over the upload limit ({mb}); nothing was imported: have the phone sync some "
                           "records first and export again", 413)
    return render_template("imports/form.html", error=error), 413
