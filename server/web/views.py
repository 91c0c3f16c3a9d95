"""Sign-in, the home page and the health check."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from server import CHINA, services, today
from server.domain import workflow
from server.extensions import db, limiter
from server.models import Case
from server.models.users import ROLE_NAMES
from server.operations import OperationError
from server.operations.accounts import sign_in
from server.operations.cases import CATEGORY_NAMES, deadline_rows, visible_cases
from server.web import bp
from server.web.auth import current_user, login_required


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect): see ``security.safe_next``."""
    from server.security import safe_next

    return safe_next(target)


@bp.get("/")
def index():
    user = current_user()
    if user is None:
        return render_template("login.html", next=request.args.get("next", ""))
    return home(user)


def home(user):
    """The signed-in start page: the unit's cases by stage and the running time limits, most urgent first."""
    counts = dict(db.session.execute(
        select(Case.status, func.count(Case.id)).where(Case.id.in_(visible_cases(user).with_only_columns(Case.id)))
        .group_by(Case.status)).all())
    rows = [(s, workflow.STATE_NAMES[s], counts.get(s, 0)) for s in workflow.STATES]
    urgency = request.args.get("urgency")
    if urgency not in (None, "", "overdue", "due_soon", "ok"):
        abort(400)
    from server.operations.work_queues import my_queue

    every = deadline_rows(user, today())
    marks = {m: sum(1 for r in every if r["urgency"] == m) for m in ("overdue", "due_soon")}
    deadlines = [r for r in every if not urgency or r["urgency"] == urgency]
    queue, queue_total = my_queue(user, today())
    return render_template("home.html", user=user, unit=user.unit, rows=rows, total=sum(counts.values()),
                           deadlines=deadlines, urgency=urgency or "", queue=queue, queue_total=queue_total,
                           marks=marks, profile=services().profiles.get(user.unit.profile_id), today=today(),
                           role_names=ROLE_NAMES)


@bp.get("/login")
def login_form():
    """``/login`` typed or bookmarked: the sign-in form lives on the start page."""
    target = request.args.get("next")
    return redirect(url_for("web.index", next=target) if target else url_for("web.index"))


@bp.post("/login")
@limiter.limit(lambda: current_app.config["RUHU_LOGIN_RATE"])
def login():
    username = request.form.get("username", "")
    cfg = current_app.config
    try:
        user = sign_in(username, request.form.get("password", ""), dt.datetime.now(dt.UTC),
                       max_failures=cfg["RUHU_LOGIN_MAX_FAILURES"], lock_minutes=cfg["RUHU_LOGIN_LOCK_MINUTES"],
                       remote_addr=request.remote_addr or "")
    except OperationError as exc:
        headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else {}
        return render_template("login.html", error=exc, username=username,
                               next=request.form.get("next", "")), exc.status, headers
    lang = session.get("lang")
    session.clear()  # a fresh session on sign-in (no fixation)
    from server.security import start_session

    start_session(user)
    if lang:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
@login_required
def logout():
    from server.operations.accounts import end_sessions

    end_sessions(current_user(), remote_addr=request.remote_addr or "")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("web.index"))


def _migration_head() -> str | None:
    """The code's newest schema revision.  Reading it parses every migration script (about 12 ms), and the code
    does not change while the process runs: read once per app, so that a load balancer polling an open URL
    costs the server next to nothing."""
    head = current_app.extensions.get("ruhu_migration_head")
    if head is None:
        from alembic.script import ScriptDirectory
        from flask_migrate import Migrate  # noqa: F401  (configures alembic)

        head = ScriptDirectory(current_app.extensions["migrate"].directory).get_current_head()
        current_app.extensions["ruhu_migration_head"] = head
    return head


@bp.get("/healthz")
def healthz():
    """The service's state for a load balancer: ``{"status": "ok"}`` (200), ``"degraded"`` while migrations are
    pending (200), ``"error"`` when the database is unreachable (503).  Which database, the schema revision
    against the code's head and the rules profiles are shown only to a signed-in user: nobody else needs to
    know what the server runs."""
    from alembic.runtime.migration import MigrationContext

    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
        head = _migration_head()
    except Exception as exc:  # the health check reports every failure instead of raising
        current_app.logger.warning("health check: the database is unreachable (%s)", type(exc).__name__)
        return jsonify({"status": "error"}), 503
    body: dict = {"status": "ok" if current == head else "degraded"}
    try:
        signed_in = current_user() is not None
    except SQLAlchemyError:   # a schema not made yet (status "degraded"): nobody can be signed in
        db.session.rollback()
        signed_in = False
    if signed_in:
        body["profiles"] = sorted(services().profiles)
        body["database"] = {"ok": True, "dialect": db.engine.dialect.name, "revision": current, "head": head,
                            "up_to_date": current == head}
    return jsonify(body), 200


@bp.app_errorhandler(StaleDataError)
def edited_meanwhile(exc):
    """Two people changed the same record at once: the second write is refused, nothing is lost."""
    db.session.rollback()
    zh, en = "该记录刚被其他人修改，请刷新后重试", "someone else changed this record just now: reload and try again"
    if request.path.startswith("/api/"):
        return jsonify({"error": "edited_meanwhile", "message": zh, "message_en": en}), 409
    return render_template("error.html", message=zh, message_en=en), 409


@bp.app_errorhandler(429)
def too_many_requests(exc):
    page = render_template("login.html", error=_RateLimited(), next="")
    return page, 429, {"Retry-After": "60"}


class _RateLimited:
    message = "尝试过于频繁，请稍后再试"
    message_en = "too many attempts: please wait a minute and try again"


@bp.app_context_processor
def _inject():
    return {"current_user": current_user(), "lang": str(get_locale() or "zh"), "_": _,
            "state_names": workflow.STATE_NAMES, "rule_names": RULE_NAMES, "category_names": CATEGORY_NAMES,
            "history_names": HISTORY_NAMES, "china": CHINA}


RULE_NAMES = {action: (rule.zh, rule.en) for action, rule in workflow.RULES.items()}
# The case's recorded events that are not steps of the procedure (each named for what it was).
HISTORY_NAMES = {"register": ("登记申请", "Application registered"),
                 "reconcile_visit": ("核对入户调查结果", "Home visit reconciled"),
                 "gradual_exit_month": ("渐退月份推进", "Gradual exit month advanced")}


@bp.app_template_filter("ud")
def user_data(value) -> Markup:
    """Text someone typed (opinions, reasons, minutes), marked as such so it is never taken for the interface."""
    return Markup('<span class="ud">{}</span>').format(value if value is not None else "")


@bp.app_template_filter("yuan")
def yuan(value) -> str:
    """Money for display: yuan with two decimals (exact values such as 6277/12 rounded here, for reading); an
    amount kept as text in an event's data ("18000") is read as the decimal it is."""
    from decimal import Decimal, InvalidOperation

    from server.domain.benefit import to_fen

    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        try:
            value = Decimal(str(value))
        except InvalidOperation:
            return str(value)
    return f"{to_fen(value):.2f}" if value is not None else ""
