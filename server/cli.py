"""The ``ruhu`` command: Flask's CLI (``ruhu run``, ``ruhu routes``, ``ruhu db ...``) plus Ruhu's own."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from server import services
from server.cli_input import IntRange, guard_commands
from server.config import ConfigError
from server.domain.calendar import CalendarOverrideError, WorkCalendar
from server.extensions import db
from server.models import Unit, User
from server.models.orgs import LEVEL_NAMES
from server.models.users import ROLE_NAMES
from server.operations import OperationError
from server.rules import ProfileError, load_profile_file


def _fail(exc: OperationError | ConfigError | ProfileError | CalendarOverrideError, code: int = 1):
    click.echo(f"错误：{exc.message}\nerror: {exc.message_en}", err=True)
    sys.exit(code)


def _print_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _iso(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} 不是 YYYY-MM-DD 格式的日期 / is not a YYYY-MM-DD date",
                                 param_hint=name) from None


# --- units -------------------------------------------------------------------------------------

@click.group("units", help="组织单位 / organisation units")
def units_cli():
    pass


@units_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@with_appcontext
def units_list(as_json: bool):
    rows = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    data = [{"code": u.code, "name": u.name, "level": u.level, "profile": u.profile_id,
             "parent": u.parent.code if u.parent else None} for u in rows]
    if as_json:
        _print_json(data)
        return
    for d in data:
        click.echo(f"{d['code']:<14} {d['level']:<15} {d['profile']:<10} {d['name']}")


@units_cli.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--level", required=True, help="one of: " + ", ".join(LEVEL_NAMES))
@click.option("--parent", "parent_code", default=None, help="the parent unit's code (every level but district)")
@click.option("--profile", "profile_id", default=None,
              help="rules profile id (ruhu profiles list); a district needs one, other units use their parent's")
@click.option("--name-en", default="", help="English name")
@with_appcontext
def units_add(code: str, name: str, level: str, parent_code: str | None, profile_id: str | None, name_en: str):
    """Create an organisation unit: a district first, then the units under it."""
    from server.operations.accounts import add_unit

    parent = None
    if parent_code is not None:
        parent = db.session.scalar(select(Unit).where(Unit.code == parent_code))
        if parent is None:
            _fail(OperationError("unit_unknown", f"上级单位不存在：{parent_code}",
                                 f"no parent unit with code {parent_code}", 404))
    try:
        unit = add_unit(code, name, level, profile_id, parent, name_en, known_profiles=services().profiles)
        db.session.commit()
    except OperationError as exc:
        db.session.rollback()
        _fail(exc)
    click.echo(f"已创建 / created: {unit.code} {unit.name} ({unit.level}, {unit.profile_id}"
               + (f", under {parent.code})" if parent else ")"))


# --- users -------------------------------------------------------------------------------------

@click.group("users", help="工作人员账户 / staff accounts")
def users_cli():
    pass


@users_cli.command("list")
@click.option("--role", type=click.Choice(list(ROLE_NAMES)), help="only this role")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@with_appcontext
def users_list(role: str | None, as_json: bool):
    query = select(User).order_by(User.username)
    if role:
        query = query.where(User.role == role)
    data = [{"username": u.username, "name": u.name, "role": u.role, "unit": u.unit.code, "active": u.active}
            for u in db.session.scalars(query)]
    if as_json:
        _print_json(data)
        return
    for d in data:
        click.echo(f"{d['username']:<24} {d['role']:<18} {d['unit']:<14} {d['name']}")


@users_cli.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(list(ROLE_NAMES)))
@click.option("--unit", "unit_code", required=True, help="unit code (ruhu units list)")
@click.option("--name", default="", help="display name")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from standard input")
@with_appcontext
def users_add(username: str, role: str, unit_code: str, name: str, password_stdin: bool):
    from server.operations.accounts import add_user

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = add_user(username, role, unit_code, password, name)
        db.session.commit()
    except OperationError as exc:
        db.session.rollback()
        _fail(exc)
    click.echo(f"已创建 / created: {user.username} ({user.role}, {user.unit.code})")


# --- workdays ----------------------------------------------------------------------------------

def _calendar(path: str | None) -> WorkCalendar:
    if path is None:
        return services().calendar
    try:
        return WorkCalendar.from_file(path)
    except CalendarOverrideError as exc:
        _fail(exc, 2)


@click.group("workdays", help="工作日计算 / working-day clock")
def workdays_cli():
    pass


@workdays_cli.command("add")
@click.option("--from", "start", required=True, help="start date YYYY-MM-DD (not counted)")
@click.option("--days", required=True, type=IntRange(0, 2**31 - 1), help="working days to add")
@click.option("--calendar", "calendar_path", type=click.Path(), help="calendar override TOML file")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def workdays_add(start: str, days: int, calendar_path: str | None, as_json: bool):
    begin = _iso(start, "--from")
    try:
        deadline = _calendar(calendar_path).add_workdays(begin, days)
    except ValueError:
        _fail(OperationError("date_out_of_range", f"{begin} 之后第 {days} 个工作日超出了日历可表示的范围（最晚 9999-12-31）",
                             f"{days} working days after {begin} is past the last date a calendar holds (9999-12-31)"))
    if as_json:
        _print_json({"deadline": deadline.date.isoformat(), "provisional": deadline.provisional})
    else:
        click.echo(deadline.date.isoformat() + (" (provisional)" if deadline.provisional else ""))


@workdays_cli.command("between")
@click.option("--from", "start", required=True, help="YYYY-MM-DD (not counted)")
@click.option("--to", "end", required=True, help="YYYY-MM-DD (counted)")
@click.option("--calendar", "calendar_path", type=click.Path(), help="calendar override TOML file")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def workdays_between(start: str, end: str, calendar_path: str | None, as_json: bool):
    count = _calendar(calendar_path).workdays_between(_iso(start, "--from"), _iso(end, "--to"))
    if as_json:
        _print_json({"workdays": count.days, "provisional": count.provisional})
    else:
        click.echo(str(count.days) + (" (provisional)" if count.provisional else ""))


# --- profiles ----------------------------------------------------------------------------------

@click.group("profiles", help="规则文件 / rules profiles")
def profiles_cli():
    pass


@profiles_cli.command("list")
@with_appcontext
def profiles_list():
    for pid, p in sorted(services().profiles.items()):
        click.echo(f"{pid:<12} {p.name}  ({p.source})")


@profiles_cli.command("check")
@click.argument("path", type=click.Path())
def profiles_check(path: str):
    """Validate a profile file without starting the app."""
    try:
        p = load_profile_file(path)
    except ProfileError as exc:
        _fail(exc, 2)
    click.echo(f"ok: {p.id} ({p.name})")


# --- devices -------------------------------------------------------------------------------------

@click.group("devices", help="调查人员手机 / investigators' phones")
def devices_cli():
    pass


@devices_cli.command("enrol-code")
@click.argument("username")
@with_appcontext
def devices_enrol_code(username: str):
    """Print a one-time enrolment code (24 h) for an investigator's phone."""
    from server.operations.sync import create_enrolment

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _fail(OperationError("user_unknown", f"用户不存在：{username}", f"no such user: {username}", 404))
    try:
        row = create_enrolment(user, None, actor_label="cli")
    except OperationError as exc:
        _fail(exc)
    click.echo(row.code)
    china = dt.timezone(dt.timedelta(hours=8))
    expires = (row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)).astimezone(china)
    click.echo(f"expires / 有效期至: {expires:%Y-%m-%d %H:%M:%S%z} (Asia/Shanghai, 北京时间)", err=True)


@devices_cli.command("revoke")
@click.argument("device_id")
@with_appcontext
def devices_revoke(device_id: str):
    from server.models import Device
    from server.operations.sync import revoke

    device = db.session.get(Device, device_id)
    if device is None:
        _fail(OperationError("device_unknown", f"手机不存在：{device_id}", f"no such device: {device_id}", 404))
    revoke(device, None, actor_label="cli")
    click.echo(f"已停用 / revoked: {device_id}")


@devices_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def devices_list(as_json: bool):
    from server.models import Device

    data = [{"device_id": d.id, "name": d.name, "user": d.user.username, "revoked": d.revoked_at is not None}
            for d in db.session.scalars(select(Device).order_by(Device.created_at))]
    if as_json:
        _print_json(data)
        return
    for d in data:
        click.echo(f"{d['device_id']}  {d['user']:<20} {'revoked' if d['revoked'] else 'active':<8} {d['name']}")


# --- demo --------------------------------------------------------------------------------------

@click.group("demo", help="演示数据 / demo data")
def demo_cli():
    pass


@demo_cli.command("load")
@click.option("--password", default=None,
              help="the demo accounts' password (default: $RUHU_DEMO_PASSWORD, else ruhu-demo-2026)")
@with_appcontext
def demo_load(password: str | None):
    from server.demo import load_demo

    if db.session.scalar(select(Unit.id).limit(1)) is not None:
        click.echo("演示数据已存在，未重复加载 / demo data already present, not loaded again")
        return
    try:
        load_demo(password)
    except OperationError as exc:
        db.session.rollback()
        _fail(exc)
    click.echo("演示数据已加载 / demo data loaded (ruhu demo logins)")


@demo_cli.command("logins")
@with_appcontext
def demo_logins():
    """The demo accounts and their password (RUHU_DEMO_PASSWORD or the built-in one, checked against an
    account; a password given to ``demo load --password`` is not kept, so it is not printed)."""
    from server.demo import PROBE_ACCOUNT, describe_logins, loaded_password

    if db.session.scalar(select(User.id).where(User.username == PROBE_ACCOUNT)) is None:
        click.echo("此数据库中没有演示账户（ruhu demo load 只装入空数据库）/ "
                   "no demo accounts in this database (ruhu demo load loads them into an empty database only)")
        return
    click.echo(describe_logins(loaded_password()))


def _create_app():
    from server import create_app

    try:
        return create_app()
    except (ConfigError, ProfileError, CalendarOverrideError) as exc:
        _fail(exc, 2)


@click.group("sync", help="手机同步 / phone sync")
def sync_cli():
    pass


@sync_cli.command("sweep")
@with_appcontext
def sync_sweep():
    """Accept every visit that qualifies but was left behind (e.g. by a crash after an attestation)."""
    from server.operations.sync import sweep

    click.echo(f"accepted or completed / 已接收或补全: {sweep()}")


@click.group("files", help="上传的文件 / stored files")
def files_cli():
    pass


@files_cli.command("sweep")
@click.option("--days", type=IntRange(1, 3650), default=7, show_default=True,
              help="only files nobody stored or sent again for this many days")
@click.option("--dry-run", is_flag=True, help="list what would be removed, remove nothing")
@with_appcontext
def files_sweep(days: int, dry_run: bool):
    """Remove stored photos and documents that no record names (e.g. a phone's refused visit left them)."""
    from server.operations.attachments import sweep_unnamed

    removed = sweep_unnamed(days, dry_run=dry_run)
    for sha in removed:
        click.echo(sha)
    label = "would be removed / 将删除" if dry_run else "removed / 已删除"
    click.echo(f"{label}: {len(removed)}")


def register(app) -> None:
    """Add Ruhu's command groups to the app's CLI (so ``ruhu`` and ``flask --app server`` both have them)."""
    from server import cli_audit, cli_boards, cli_money, cli_oversight

    groups = (units_cli, users_cli, workdays_cli, profiles_cli, demo_cli, devices_cli, sync_cli, files_cli,
              *cli_boards.groups, *cli_money.groups, *cli_oversight.groups, *cli_audit.groups)
    guard_commands(*groups)
    for group in groups:
        app.cli.add_command(group)


cli = FlaskGroup(create_app=_create_app, help="Ruhu (入户) — dibao casework server")


def main() -> None:
    cli(prog_name="ruhu")


if __name__ == "__main__":
    main()
