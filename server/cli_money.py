"""CLI commands: money (monthly rosters) and dynamic management (re-reviews due), for scripts and schedulers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from server.cli_input import ID
from server.extensions import db
from server.operations import OperationError


def _fail(exc: OperationError, code: int = 1):
    click.echo(f"错误：{exc.message}\nerror: {exc.message_en}", err=True)
    sys.exit(code)


def _unit(code: str):
    from server.models import Unit

    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        _fail(OperationError("unit_unknown", f"单位不存在：{code}", f"no such unit: {code}", 404))
    return unit


@click.group("rosters", help="发放名册 / monthly payment rosters")
def rosters_cli():
    pass


@rosters_cli.command("generate")
@click.option("--unit", "unit_code", required=True, help="street office / township code (ruhu units list)")
@click.option("--month", required=True, help="the month paid, YYYY-MM")
@with_appcontext
def rosters_generate(unit_code: str, month: str):
    """Generate the unit's roster for the month (or bring its draft up to date); prints the roster id."""
    from server import today
    from server.operations.rosters import generate_roster

    unit = _unit(unit_code)
    try:
        roster = generate_roster(unit, month, actor=None, actor_label="cli", today=today())
    except OperationError as exc:
        db.session.rollback()
        _fail(exc)
    click.echo(str(roster.id))
    click.echo(f"{roster.unit.name} {roster.month}: {roster.households} 户 / households, {roster.people} 人 / people, "
               f"{roster.total} 元 / yuan ({roster.status})", err=True)


@rosters_cli.command("export")
@click.argument("roster_id", type=ID)
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "xlsx"]))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="file to write")
@with_appcontext
def rosters_export(roster_id: int, fmt: str, out: str):
    """Write the roster as CSV (UTF-8) or XLSX with Chinese headers and a 合计 row."""
    from server.models.money import Roster
    from server.operations.rosters import export_csv, export_xlsx

    roster = db.session.get(Roster, roster_id)
    if roster is None:
        _fail(OperationError("roster_unknown", f"名册不存在：{roster_id}", f"no such roster: {roster_id}", 404))
    body = export_csv(roster) if fmt == "csv" else export_xlsx(roster)
    Path(out).write_bytes(body)
    click.echo(f"{out}: {len(roster.lines)} 行 / lines, 合计 / total {roster.total}", err=True)


@rosters_cli.command("late")
@click.option("--district", "district_code", required=True, help="district / county code")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def rosters_late(district_code: str, month: str, as_json: bool):
    """Every unit of the district with its roster's filing for the month, late ones first."""
    from server import today
    from server.operations.rosters import late_units

    try:
        rows = late_units(_unit(district_code), month, today())
    except OperationError as exc:
        _fail(exc)
    data = [{"unit": r["unit"].code, "name": r["unit"].name, "due_on": r["due_on"].isoformat(), "filing": r["filing"],
             "late": r["late"], "roster_id": r["roster"].id if r["roster"] else None,
             "status": r["roster"].status if r["roster"] else None} for r in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for d in data:
        click.echo(f"{d['unit']:<12} {d['due_on']} {d['filing']:<8} {d['status'] or '-':<10} {d['name']}")


@click.group("rereviews", help="定期复核 / re-reviews")
def rereviews_cli():
    pass


@rereviews_cli.command("due")
@click.option("--unit", "unit_code", required=True, help="street office / township code")
@click.option("--until", "until", default=None, help="also list re-reviews due up to this date (YYYY-MM-DD)")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def rereviews_due(unit_code: str, until: str | None, as_json: bool):
    """Families in payment whose re-review is due (per household class, from the profile)."""
    import datetime as dt

    from server import today
    from server.operations.dynamic import due_rereviews

    unit = _unit(unit_code)
    try:
        limit = dt.date.fromisoformat(until) if until else None
    except ValueError:
        raise click.BadParameter(f"{until!r} 不是 YYYY-MM-DD 格式的日期 / is not a YYYY-MM-DD date",
                                 param_hint="--until") from None
    rows = due_rereviews(unit, today(), limit)
    data = [{"case_id": r["case"].id, "case_number": r["case"].number, "household_class": r["household_class"],
             "interval_months": r["interval"], "last_review": r["last"].isoformat(), "due": r["due"].isoformat(),
             "overdue_days": r["days_overdue"]} for r in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for d in data:
        late = f" ({d['overdue_days']} 天逾期 / days overdue)" if d["overdue_days"] else ""
        click.echo(f"{d['case_number']:<24} {d['household_class']:<17} due {d['due']}{late}")


groups: list[click.Group] = [rosters_cli, rereviews_cli]
