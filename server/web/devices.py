"""Enrolling investigators' phones from the console (one-time QR codes) and revoking them."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from sqlalchemy import select

from server.extensions import db
from server.models import Device, Unit, User
from server.operations import OperationError, case_lists
from server.operations.sync import create_enrolment, revoke
from server.qr import svg
from server.web import bp
from server.web.auth import current_user, login_required


def _office_investigators(user: User) -> list[User]:
    office = db.session.get(Unit, user.unit_id)
    unit_ids = [office.id] + [c.id for c in office.children]
    return db.session.scalars(select(User).where(User.role == "investigator", User.unit_id.in_(unit_ids))
                              .order_by(User.unit_id, User.username)).all()


def _caseworker() -> User:
    user = current_user()
    if user.role != "caseworker":
        abort(403)
    return user


def enrol_link(code: str) -> str:
    return url_for("web.index", _external=True).rstrip("/") + f"/app/#enrol={code}"


@bp.get("/devices")
@login_required
def devices():
    user = _caseworker()
    page = case_lists.page_of(list(_office_investigators(user)), request.args)
    phones = {u.id: db.session.scalars(select(Device).where(Device.user_id == u.id).order_by(Device.created_at)).all()
              for u in page.items}
    return render_template("devices/list.html", people=page.items, phones=phones, page=page,
                           page_sizes=case_lists.PAGE_SIZES)


@bp.post("/devices/code/<int:user_id>")
@login_required
def device_code(user_id: int):
    user = _caseworker()
    investigator = db.session.get(User, user_id)
    if investigator is None or investigator not in _office_investigators(user):
        abort(404)
    try:
        row = create_enrolment(investigator, user)
    except OperationError as exc:
        return render_template("devices/list.html", people=_office_investigators(user), phones={},
                               error=exc), exc.status
    link = enrol_link(row.code)
    return render_template("devices/code.html", row=row, investigator=investigator, link=link, qr=svg(link))


@bp.post("/devices/<device_id>/revoke")
@login_required
def device_revoke(device_id: str):
    user = _caseworker()
    device = db.session.get(Device, device_id)
    if device is None or device.user not in _office_investigators(user):
        abort(404)
    revoke(device, user)
    return devices()
