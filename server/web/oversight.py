"""Console pages: the bureau's supervision — dashboard with charts and CSV, spot-check draws and results,
the assessment (entries, ranking, confirmation, rectification notices) and the "two rates".

Only a bureau supervisor sees them, for the street offices and townships of their own district or
county: every other role gets 403, and another district's draw, unit, item or notice answers 404.
Views parse the form, call one operation (``server.operations.oversight``) and render.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from flask import abort, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from server import CHINA, today
from server.domain import scoring
from server.domain.scoring import ANNUAL
from server.extensions import db
from server.models import User
from server.models.households import HOUSEHOLD_CLASSES
from server.models.oversight import (
    ASSESSMENT_KINDS,
    RESPONDENTS,
    SPOT_CHECK_ACCURACY,
    TWO_RATES_SOURCES,
    AssessmentItem,
    RectificationNotice,
    SpotCheckDraw,
)
from server.operations import OperationError
from server.operations import oversight as ops
from server.public import survey as _survey  # noqa: F401  (registers /survey/<code> on the public blueprint)
from server.security import FILE_CSP
from server.web import bp
from server.web.auth import current_user, login_required
from server.web.forms import LONG_TEXT_LIMIT, FormError, Reader

CHARTS = ("stages", "on_time", "payments", "months", "objections", "accuracy", "two_rates")


# --- helpers -------------------------------------------------------------------------------------

def _district():
    """The signed-in bureau supervisor and their district; 403 for anyone else."""
    user = current_user()
    try:
        return user, ops.bureau_district(user)
    except OperationError:
        abort(403)


def _year(raw: str | None = None) -> int:
    value = request.args.get("year") if raw is None else raw
    if not value:
        return today().year
    try:
        year = int(value)
    except ValueError:
        abort(400)
    if not 2000 <= year <= today().year:
        abort(400)
    return year


def _lang() -> str:
    return "en" if str(get_locale() or "zh") == "en" else "zh"


def _name(pair) -> str:
    return pair[1] if _lang() == "en" else pair[0]


def _pct(ratio) -> str:
    rate = ratio.rate if ratio is not None else None
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _rate(ratio) -> float:
    rate = ratio.rate if ratio is not None else None
    return float(rate) if rate is not None else 0.0


def _ok(ops_call):
    """Run an operation for a POST; return (None, None) or (error, status) after rolling back."""
    try:
        ops_call()
    except (OperationError, FormError) as exc:
        db.session.rollback()
        return exc, exc.status
    return None, None


def _unit_or_404(user, unit_id):
    try:
        return ops.unit_for(user, unit_id)
    except OperationError as exc:
        abort(exc.status)


def survey_url(unit) -> str | None:
    """The public two-rates survey of a unit, as printed in its QR code."""
    try:
        path = url_for("public.two_rates_survey", code=unit.code)
    except BuildError:
        return None
    from server.urls import public_base_url

    return public_base_url() + path


@bp.app_template_filter("ov_pct")
def _pct_filter(ratio) -> str:
    return _pct(ratio)


@bp.app_template_filter("ov_pts")
def _points_filter(value) -> str:
    if value is None:
        return "—"
    value = Decimal(value)
    return f"{value:.1f}".rstrip("0").rstrip(".") if value == value.to_integral_value() else f"{value:.1f}"


@bp.app_template_filter("ov_time")
def _time_filter(moment) -> str:
    """A stored moment as China time, YYYY-MM-DD HH:MM (SQLite gives naive UTC back)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


# --- the dashboard ---------------------------------------------------------------------------------

def _charts(data: dict, year: int) -> dict:
    """Chart rows (label, bar value, text) for each of the dashboard's charts."""
    units = data["units"]
    most_money = max((float(u["amount"]) for u in units), default=0.0)
    most_cases = max((s["count"] for s in data["stages"]), default=0)
    most_month = max((float(m["total"]) for m in data["months"]), default=0.0)
    return {
        "stages": {"max": most_cases, "rows": [{"label": _name(s["names"]), "value": s["count"], "text": str(s["count"])}
                                               for s in data["stages"]]},
        "on_time": {"max": 1, "rows": [{"label": u["unit"].name, "value": _rate(u["on_time"]),
                                        "text": _pct(u["on_time"]), "low": u["on_time"].rate is not None
                                        and u["on_time"].rate < 1} for u in units]},
        "payments": {"max": most_money, "rows": [{"label": u["unit"].name, "value": float(u["amount"]),
                                                  "text": f"{u['amount']:.2f}"} for u in units]},
        "months": {"max": most_month, "rows": [{"label": m["month"], "value": float(m["total"]),
                                                "text": f"{m['total']:.2f}"} for m in data["months"]]},
        "objections": {"max": 1, "rows": [{"label": u["unit"].name, "value": _rate(u["objections"]),
                                           "text": _pct(u["objections"])} for u in units]},
        "accuracy": {"max": 1, "rows": [{"label": u["unit"].name, "value": _rate(u["accuracy"]),
                                         "text": _pct(u["accuracy"])} for u in units]},
        "aware": {"max": 1, "rows": [{"label": u["unit"].name, "value": _rate(u["aware"]), "text": _pct(u["aware"])}
                                     for u in units]},
        "satisfied": {"max": 1, "rows": [{"label": u["unit"].name, "value": _rate(u["satisfied"]),
                                          "text": _pct(u["satisfied"])} for u in units]},
    }


@bp.get("/oversight")
@login_required
def oversight_dashboard():
    _user, district = _district()
    year = _year()
    data = ops.dashboard(district, year, today())
    return render_template("oversight/dashboard.html", district=district, year=year, data=data,
                           charts=_charts(data, year), today=today(), section="dashboard")


def _csv_rows(chart: str, data: dict) -> tuple[list[str], list[list]]:
    units = data["units"]
    if chart == "stages":
        return [_name(("环节", "Stage")), _name(("件数", "Cases"))], [[_name(s["names"]), s["count"]]
                                                                       for s in data["stages"]]
    if chart == "months":
        return ([_name(("月份", "Month")), _name(("户数", "Households")), _name(("人数", "People")),
                 _name(("金额（元）", "Amount (yuan)"))],
                [[m["month"], m["households"], m["people"], f"{m['total']:.2f}"] for m in data["months"]])
    head = [_name(("单位编码", "Unit code")), _name(("单位", "Unit"))]
    if chart == "on_time":
        return head + [_name(("按时办结", "Decided in time")), _name(("应办结", "Judged")), _name(("按时率", "Rate"))], \
            [[u["unit"].code, u["unit"].name, int(u["on_time"].numerator), u["on_time"].denominator, _pct(u["on_time"])]
             for u in units]
    if chart == "payments":
        return head + [_name(("在保户数", "Households")), _name(("保障人数", "People")),
                       _name(("月保障金（元）", "Monthly amount (yuan)"))], \
            [[u["unit"].code, u["unit"].name, u["households"], u["people"], f"{u['amount']:.2f}"] for u in units]
    if chart == "objections":
        return head + [_name(("按时答复", "Answered in time")), _name(("应答复", "Judged")), _name(("按时率", "Rate"))], \
            [[u["unit"].code, u["unit"].name, int(u["objections"].numerator), u["objections"].denominator,
              _pct(u["objections"])] for u in units]
    if chart == "accuracy":
        names = [_name(SPOT_CHECK_ACCURACY[k]) for k in SPOT_CHECK_ACCURACY]
        return head + [_name(("抽查户数", "Checked")), *names, _name(("准确率", "Accuracy"))], \
            [[u["unit"].code, u["unit"].name, u["accuracy"].denominator,
              *[u["outcomes"][k] for k in SPOT_CHECK_ACCURACY], _pct(u["accuracy"])] for u in units]
    return head + [_name(("样本数", "Sample size")), _name(("知晓", "Aware")), _name(("知晓率", "Awareness rate")),
                   _name(("满意", "Satisfied")), _name(("满意率", "Satisfaction rate"))], \
        [[u["unit"].code, u["unit"].name, u["aware"].denominator, int(u["aware"].numerator), _pct(u["aware"]),
          int(u["satisfied"].numerator), _pct(u["satisfied"])] for u in units]


@bp.get("/oversight/export/<chart>.csv")
@login_required
def oversight_export(chart: str):
    _user, district = _district()
    if chart not in CHARTS:
        abort(404)
    year = _year()
    header, rows = _csv_rows(chart, ops.dashboard(district, year, today()))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    response = make_response("\ufeff" + buf.getvalue())   # a BOM so that spreadsheet programs read UTF-8 Chinese
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f"attachment; filename={district.code}-{year}-{chart}.csv"
    return response


# --- spot checks -------------------------------------------------------------------------------------

def _spotchecks_page(district, year: int, error=None, form=None, status: int = 200):
    units = ops.office_units(district)
    last = ops.last_places(district, year - 1, today())
    rows = []
    for unit in units:
        pop = ops.population(unit, year)
        share, raised = ops.minimum_share(unit, year, today(), last)
        rows.append({"unit": unit, "new": sum(1 for p in pop if p["stratum"] == "new"),
                     "registered": sum(1 for p in pop if p["stratum"] == "registered"), "share": share,
                     "raised": raised})
    draws = db.session.scalars(select(SpotCheckDraw).where(
        SpotCheckDraw.unit_id.in_([u.id for u in units] or [-1]), SpotCheckDraw.year == year)
        .order_by(SpotCheckDraw.id.desc())).all()
    accuracy = ops.accuracy_by_unit(units, year)
    return render_template("oversight/spotchecks.html", district=district, year=year, rows=rows, draws=draws,
                           accuracy=accuracy, error=error, form=form or MultiDict(), today=today(),
                           section="spotchecks"), status


@bp.get("/oversight/spotchecks")
@login_required
def oversight_spotchecks():
    _user, district = _district()
    return _spotchecks_page(district, _year())


@bp.post("/oversight/spotchecks/draw")
@login_required
def oversight_draw():
    user, district = _district()
    form = request.form
    year = _year(form.get("year") or None)
    if not form.get("unit"):
        error = FormError([("unit", "请选择抽查的单位", "choose the unit to draw")])
        return _spotchecks_page(district, year, error, form, error.status)
    unit = _unit_or_404(user, form.get("unit"))
    reader = Reader(form, None, user, today())
    seed = share = None
    if form.get("seed", "").strip():
        try:
            seed = int(form["seed"].strip())
        except ValueError:
            reader.fail("seed", "随机种子应为整数", "the seed must be a whole number")
    if form.get("share", "").strip():
        try:
            share = Decimal(form["share"].strip())
            if not share.is_finite():
                raise ValueError(share)
        except (ArithmeticError, ValueError):
            reader.fail("share", "抽查比例应为0到1之间的小数", "the share must be a decimal from 0 to 1")
    result = {}

    def run():
        reader.done()
        result["draw"] = ops.draw_spot_checks(unit, year, actor=user, today=today(), seed=seed, share=share,
                                              stratify=form.get("stratify") == "1",
                                              remote_addr=request.remote_addr or "")
    error, status = _ok(run)
    if error:
        return _spotchecks_page(district, year, error, form, status)
    return redirect(url_for("web.oversight_draw_detail", draw_id=result["draw"].id))


def _draw_or_404(user, draw_id):
    try:
        return ops.draw_for(user, draw_id)
    except OperationError as exc:
        abort(exc.status)


def _draw_page(draw, error=None, form=None, status: int = 200):
    district = draw.unit.parent
    cases = ops.cases_for(draw)
    strata = {p["case"]: p["stratum"] for p in draw.population}
    assignments = ops.open_spot_checks(draw.drawn_case_ids)
    team = db.session.scalars(select(User).where(User.unit_id == district.id, User.role == "bureau_supervisor",
                                                 User.active.is_(True)).order_by(User.id)).all()
    return render_template("oversight/draw.html", draw=draw, district=district, cases=cases, strata=strata,
                           results=ops.result_map(draw), assignments=assignments, team=team,
                           verified=ops.verify_draw(draw), waiting=ops.waiting_visits(draw),
                           accuracy=SPOT_CHECK_ACCURACY, stratum_names=ops.STRATUM_NAMES, classes=HOUSEHOLD_CLASSES,
                           error=error, form=form or MultiDict(), today=today(), section="spotchecks"), status


@bp.get("/oversight/spotchecks/<int:draw_id>")
@login_required
def oversight_draw_detail(draw_id: int):
    user, _district_ = _district()
    return _draw_page(_draw_or_404(user, draw_id))


@bp.post("/oversight/spotchecks/<int:draw_id>/assign")
@login_required
def oversight_draw_assign(draw_id: int):
    user, _district_ = _district()
    draw = _draw_or_404(user, draw_id)
    reader = Reader(request.form, None, user, today())
    team, chosen = reader.ids("team"), reader.ids("cases")
    note = reader.text("note", 400, line=True)

    def run():
        reader.done()
        ops.assign_spot_checks(draw, user, team, today=today(), case_ids=chosen or None,
                               note=note, remote_addr=request.remote_addr or "")
    error, status = _ok(run)
    if error:
        return _draw_page(draw, error, request.form, status)
    return redirect(url_for("web.oversight_draw_detail", draw_id=draw.id) + "#households")


@bp.post("/oversight/spotchecks/<int:draw_id>/results")
@login_required
def oversight_draw_result(draw_id: int):
    user, _district_ = _district()
    draw = _draw_or_404(user, draw_id)
    form = request.form
    reader = Reader(form, None, user, today())
    case_ids = reader.ids("case")
    found = form.get("household_found")
    if found not in ("1", "0"):
        reader.fail("household_found", "请选择是否找到该户", "say whether the household was found")
    match = {"1": True, "0": False}.get(form.get("members_match", ""))
    income = reader.optional_money("income_found_6m", "抽查核实的6个月收入", "Income found over 6 months")
    notes = reader.text("notes", LONG_TEXT_LIMIT)   # its length is the operation's to refuse, naming the field

    def run():
        if not case_ids:
            reader.fail("case", "请选择抽查的家庭", "choose the household")
        reader.done()
        ops.record_result(draw, case_ids[0], user, accuracy=form.get("accuracy", ""), household_found=found == "1",
                          members_match=match, income_found_6m=income, notes=notes,
                          remote_addr=request.remote_addr or "")
    error, status = _ok(run)
    if error:
        return _draw_page(draw, error, form, status)
    return redirect(url_for("web.oversight_draw_detail", draw_id=draw.id) + "#households")


@bp.post("/oversight/spotchecks/<int:draw_id>/collect")
@login_required
def oversight_draw_collect(draw_id: int):
    user, _district_ = _district()
    draw = _draw_or_404(user, draw_id)
    error, status = _ok(lambda: ops.collect_synced(draw, user, remote_addr=request.remote_addr or ""))
    if error:
        return _draw_page(draw, error, request.form, status)
    return redirect(url_for("web.oversight_draw_detail", draw_id=draw.id) + "#households")


# --- the assessment ---------------------------------------------------------------------------------

def _period_label(period: int) -> str:
    if period == ANNUAL:
        return _name(("年终考核", "Year-end"))
    return _name((f"第{period}季度", f"Q{period}"))


def _assessment_page(district, year: int, error=None, form=None, status: int = 200):
    profile = ops.profile_of(district)
    context = {"district": district, "year": year, "profile": profile, "error": error, "form": form or MultiDict(),
               "today": today(), "section": "assessment", "enabled": ops.assessment_enabled(district),
               "period_label": _period_label}
    if context["enabled"]:
        ranked, scores = ops.ranking(district, year, today())
        confirmed = ops.confirmed_periods(district, year)
        periods = ops.periods(profile)
        context.update(
            ranked=ranked, scores=scores, periods=periods, confirmed=confirmed,
            confirmable=[p for p in periods if p not in confirmed and ops.period_over(year, p, profile, today())],
            quarters=[p for p in periods if p != ANNUAL and ops.period_over(year, p, profile, today())],
            notices=db.session.scalars(select(RectificationNotice).where(
                RectificationNotice.unit_id.in_([u.id for u in ops.office_units(district)] or [-1]),
                RectificationNotice.year == year).order_by(RectificationNotice.quarter, RectificationNotice.unit_id)).all())
    return render_template("oversight/assessment.html", **context), status


@bp.get("/oversight/assessment")
@login_required
def oversight_assessment():
    _user, district = _district()
    return _assessment_page(district, _year())


def _period_field(reader: Reader, key: str = "period") -> int:
    raw = reader.form.get(key, "")
    try:
        return int(raw)
    except ValueError:
        reader.fail(key, "请选择考核期次", "choose the assessment period")
        return -1


@bp.post("/oversight/assessment/confirm")
@login_required
def oversight_confirm():
    user, district = _district()
    year = _year(request.form.get("year") or None)
    reader = Reader(request.form, None, user, today())
    period = _period_field(reader)

    def run():
        reader.done()
        ops.confirm_period(district, year, period, user, today=today(), remote_addr=request.remote_addr or "")
    error, status = _ok(run)
    if error:
        return _assessment_page(district, year, error, request.form, status)
    return redirect(url_for("web.oversight_assessment", year=year))


@bp.post("/oversight/assessment/notices")
@login_required
def oversight_issue_notices():
    user, district = _district()
    year = _year(request.form.get("year") or None)
    reader = Reader(request.form, None, user, today())
    quarter = _period_field(reader, "quarter")

    def run():
        reader.done()
        ops.issue_notices(district, year, quarter, user, today=today(), remote_addr=request.remote_addr or "")
    error, status = _ok(run)
    if error:
        return _assessment_page(district, year, error, request.form, status)
    return redirect(url_for("web.oversight_assessment", year=year) + "#notices")


def _unit_page(unit, year: int, error=None, form=None, status: int = 200):
    district = unit.parent
    profile = ops.profile_of(district)
    if not ops.assessment_enabled(district):
        return _assessment_page(district, year, error, form, status)
    _ranked, scores = ops.ranking(district, year, today())
    items = db.session.scalars(select(AssessmentItem).where(AssessmentItem.unit_id == unit.id,
                                                            AssessmentItem.year == year)
                               .order_by(AssessmentItem.quarter, AssessmentItem.id)).all()
    entered_options = [(p, s) for p in ops.periods(profile) for s in ops.specs(profile, p) if not s.computed]
    return render_template("oversight/unit.html", unit=unit, district=district, year=year, profile=profile,
                           score=scores[unit.id], items=items, entered_options=entered_options,
                           periods=ops.periods(profile), period_label=_period_label,
                           reasons=scoring.DEDUCTION_REASONS, kinds=ASSESSMENT_KINDS,
                           confirmed=ops.confirmed_periods(district, year), error=error, form=form or MultiDict(),
                           today=today(), section="assessment"), status


@bp.get("/oversight/assessment/units/<int:unit_id>")
@login_required
def oversight_unit(unit_id: int):
    user, _district_ = _district()
    return _unit_page(_unit_or_404(user, unit_id), _year())


@bp.post("/oversight/assessment/units/<int:unit_id>/items")
@login_required
def oversight_enter_item(unit_id: int):
    user, _district_ = _district()
    unit = _unit_or_404(user, unit_id)
    form = request.form
    year = _year(form.get("year") or None)
    reader = Reader(form, request.files, user, today())
    kind = form.get("kind", "")
    key, period = form.get("key", ""), ANNUAL
    if kind == "entered":
        raw = form.get("item", "")
        period_text, _sep, key = raw.partition(":")
        try:
            period = int(period_text)
        except ValueError:
            reader.fail("item", "请选择考核项目", "choose the item")
    elif kind == "deduction":
        period = _period_field(reader)
    # their lengths are the operation's to refuse, naming the field
    evidence, label = reader.text("evidence", LONG_TEXT_LIMIT), reader.text("label", LONG_TEXT_LIMIT, line=True)
    attachment = reader.upload("evidence_file", documents=True)

    def run():
        reader.done()
        ops.enter_item(unit, year, user, kind=kind, period=period, key=key, points=form.get("points", "0"),
                       evidence=evidence, label=label, value=form.get("value"),
                       attachment=attachment, today=today(), remote_addr=request.remote_addr or "")
    error, status = _ok(run)
    if error:
        return _unit_page(unit, year, error, form, status)
    return redirect(url_for("web.oversight_unit", unit_id=unit.id, year=year) + f"#{kind}")


@bp.post("/oversight/assessment/items/<int:item_id>/withdraw")
@login_required
def oversight_withdraw_item(item_id: int):
    user, _district_ = _district()
    try:
        item = ops.item_for(user, item_id)
    except OperationError as exc:
        abort(exc.status)
    unit, year = item.unit, item.year
    error, status = _ok(lambda: ops.withdraw_item(item, user, remote_addr=request.remote_addr or ""))
    if error:
        return _unit_page(unit, year, error, request.form, status)
    return redirect(url_for("web.oversight_unit", unit_id=unit.id, year=year))


@bp.get("/oversight/assessment/items/<int:item_id>/evidence")
@login_required
def oversight_evidence(item_id: int):
    """The file attached as evidence to an entry (downloaded, never shown inline)."""
    from server.models.attachments import Attachment
    from server.operations.attachments import store

    user, _district_ = _district()
    try:
        item = ops.item_for(user, item_id)
    except OperationError as exc:
        abort(exc.status)
    att = db.session.get(Attachment, item.attachment_sha256) if item.attachment_sha256 else None
    path = store().original_path(att.sha256) if att else None
    if att is None or path is None or not path.exists():
        abort(404)
    suffix = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}.get(att.mime, "")
    response = send_file(path, mimetype=att.mime, as_attachment=True, download_name=f"evidence-{item.id}{suffix}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/oversight/notices/<int:notice_id>")
@login_required
def oversight_notice(notice_id: int):
    user, district = _district()
    try:
        notice = ops.notice_for(user, notice_id)
    except OperationError as exc:
        abort(exc.status)
    return render_template("oversight/notice.html", notice=notice, district=district, today=today())


# --- the two rates ------------------------------------------------------------------------------------

def _two_rates_page(district, year: int, error=None, form=None, status: int = 200):
    from server.qr import svg

    units = ops.office_units(district)
    rates = ops.two_rates(units, dt.date(year, 1, 1), dt.date(year, 12, 31))
    links = {u.id: survey_url(u) for u in units}
    qrs = {uid: svg(link, box_size=3) for uid, link in links.items() if link}
    return render_template("oversight/two_rates.html", district=district, year=year, units=units, rates=rates,
                           links=links, qrs=qrs, respondents=RESPONDENTS, sources=TWO_RATES_SOURCES, error=error,
                           form=form or MultiDict(), today=today(), section="two_rates"), status


@bp.get("/oversight/two-rates")
@login_required
def oversight_two_rates():
    _user, district = _district()
    return _two_rates_page(district, _year())


@bp.post("/oversight/two-rates/paper")
@login_required
def oversight_two_rates_paper():
    user, district = _district()
    form = request.form
    if not form.get("unit"):
        error = FormError([("unit", "请选择单位", "choose the unit")])
        return _two_rates_page(district, today().year, error, form, error.status)
    unit = _unit_or_404(user, form.get("unit"))
    reader = Reader(form, None, user, today())
    numbers = {}
    for key, zh, en in (("count", "问卷份数", "The number of questionnaires"), ("aware", "知晓份数", "Aware"),
                        ("satisfied", "满意份数", "Satisfied")):
        try:
            numbers[key] = int(form.get(key, "").strip())
        except ValueError:
            reader.fail(key, f"{zh}应为整数", f"{en} must be a whole number")
    surveyed_on = reader.date("surveyed_on", "调查日期", "Survey date", today())

    def run():
        reader.done()
        ops.record_paper_batch(unit, user, respondent=form.get("respondent", ""), count=numbers["count"],
                               aware=numbers["aware"], satisfied=numbers["satisfied"], surveyed_on=surveyed_on,
                               today=today(), remote_addr=request.remote_addr or "")
    error, status = _ok(run)
    year = surveyed_on.year if surveyed_on and 2000 <= surveyed_on.year <= today().year else today().year
    if error:
        return _two_rates_page(district, year, error, form, status)
    return redirect(url_for("web.oversight_two_rates", year=year))

