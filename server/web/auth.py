"""Who is signed in, and the decorators that guard console routes."""

from __future__ import annotations

import functools

from flask import abort, g, redirect, request, session, url_for

from server.extensions import db
from server.models import User
from server.security import session_is_current


def current_user() -> User | None:
    if "user" not in g:
        uid = session.get("uid")
        user = db.session.get(User, uid) if isinstance(uid, int) else None
        if user is not None and not (user.active and session_is_current(user)):
            session.pop("uid", None)   # signed out elsewhere, or idle too long: sign in again
            user = None
        g.user = user
    return g.user


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("web.index", next=request.path))
        return view(*args, **kwargs)
    return wrapper


def roles_required(*roles: str):
    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user().role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorate
