"""The ``ruhu`` command line: units, users, working days, profiles, demo data."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=list(args), input=input)
    return invoke


def test_units_list_json(cli, org):
    r = cli("units", "list", "--json")
    assert r.exit_code == 0
    units = {u["code"]: u for u in json.loads(r.output)}
    assert units["410104005"] == {"code": "410104005", "name": "南关街街道办事处", "level": "street_office",
                                  "profile": "guancheng", "parent": "410104"}
    assert units["610222002"]["profile"] == "yijun"


def test_units_list_text(cli, org):
    r = cli("units", "list")
    assert r.exit_code == 0 and "南关街街道办事处" in r.output and "610222002" in r.output


# --- units add: an empty production database gets its organisation tree --------------------------

def _audited(app, action: str) -> list[dict]:
    from sqlalchemy import select

    from server.extensions import db
    from server.models import AuditEntry

    with app.app_context():
        return [{"actor": e.actor_label, "code": (e.after or {}).get("code")} for e in
                db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def _documented_account_commands() -> list[tuple[list[str], str | None]]:
    """The ``ruhu`` lines of docs/operations.md's Accounts block, as (arguments, standard input)."""
    section = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8").split("## Accounts", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        stdin = None
        if " | ruhu " in line:
            echo, line = line.split(" | ", 1)
            stdin = shlex.split(echo)[1] + "\n"
        words = shlex.split(line)
        assert words[0] == "ruhu", line
        commands.append((words[1:], stdin))
    return commands


def test_the_documented_account_commands_work_on_an_empty_database(app, cli):
    """docs/operations.md as written on a fresh database: district, street office, community, then a
    caseworker at the street office; each unit audited."""
    assert json.loads(cli("units", "list", "--json").output) == []
    commands = _documented_account_commands()
    assert [args[:2] for args, _ in commands] == [["units", "add"]] * 3 + [["units", "list"], ["users", "add"]]
    for args, stdin in commands:
        r = cli(*args, input=stdin)
        assert r.exit_code == 0, (args, r.output)
    units = {u["code"]: u for u in json.loads(cli("units", "list", "--json").output)}
    assert units == {
        "410104": {"code": "410104", "name": "管城回族区", "level": "district", "profile": "guancheng", "parent": None},
        "410104005": {"code": "410104005", "name": "南关街街道办事处", "level": "street_office",
                      "profile": "guancheng", "parent": "410104"},
        "410104005001": {"code": "410104005001", "name": "南关和平社区", "level": "community",
                         "profile": "guancheng", "parent": "410104005"},
    }
    assert _audited(app, "unit.create") == [{"actor": "cli", "code": code}
                                            for code in ("410104", "410104005", "410104005001")]
    assert [(u["username"], u["role"], u["unit"]) for u in json.loads(cli("users", "list", "--json").output)] == \
        [("wang_case", "caseworker", "410104005")]
    r = cli("units", "add", "6102220", "x", "--level", "community", "--parent", "410104005", "--profile", "guancheng")
    assert r.exit_code == 0 and "created: 6102220 x (community, guancheng, under 410104005)" in r.output


@pytest.mark.parametrize("args, message", [
    (["4101040099", "某单位", "--level", "county", "--parent", "410104"], "unknown unit level: county"),
    (["4101040099", "某单位", "--level", "street_office", "--parent", "999"], "no parent unit with code 999"),
    (["410104005", "又一个", "--level", "street_office", "--parent", "410104"], "unit code already exists: 410104005"),
    (["4101040099", "某村", "--level", "village", "--parent", "410104"], "a village cannot sit under a district"),
    (["4101040059", "某自然村", "--level", "natural_village", "--parent", "410104005"],
     "a natural_village cannot sit under a street_office"),
    (["4101040099", "某单位", "--level", "street_office"], "a street_office needs a parent unit"),
    (["410105", "某区", "--level", "district", "--parent", "410104", "--profile", "guancheng"],
     "a district has no parent unit"),
    (["610222", "宜君县", "--level", "district", "--profile", "nope"], "unknown rules profile: nope"),
    (["610222", "宜君县", "--level", "district"], "a district needs a rules profile"),
    (["4101040099", "某单位", "--level", "street_office", "--parent", "410104", "--profile", "yijun"],
     "a unit uses its parent's rules profile (guancheng), not yijun"),
    (["41 01", "某单位", "--level", "street_office", "--parent", "410104"], "the unit code must be"),
    (["4101040099", " ", "--level", "street_office", "--parent", "410104"], "the unit name must be"),
])
def test_units_add_refusals(app, cli, args, message):
    for setup in (["410104", "管城回族区", "--level", "district", "--profile", "guancheng"],
                  ["410104005", "南关街街道办事处", "--level", "street_office", "--parent", "410104"]):
        assert cli("units", "add", *setup).exit_code == 0
    before, audited = cli("units", "list", "--json").output, _audited(app, "unit.create")
    r = cli("units", "add", *args)
    assert r.exit_code == 1, r.output
    assert message in r.output and "错误：" in r.output and "error: " + message in r.output
    assert cli("units", "list", "--json").output == before and _audited(app, "unit.create") == audited


def test_users_list_by_role(cli, org):
    r = cli("users", "list", "--role", "director", "--json")
    assert r.exit_code == 0
    assert sorted(u["username"] for u in json.loads(r.output)) == ["gc_dir", "yj_dir"]


def test_users_add_reads_the_password_from_stdin(app, cli, org):
    r = cli("users", "add", "new_case", "--role", "caseworker", "--unit", "410104005", "--password-stdin",
            input="a-long-password\n")
    assert r.exit_code == 0, r.output
    from server.extensions import db
    from server.models import User

    with app.app_context():
        from sqlalchemy import select

        user = db.session.scalar(select(User).where(User.username == "new_case"))
        assert user.check_password("a-long-password") and user.unit.code == "410104005"


@pytest.mark.parametrize("args, stdin, message", [
    (["dup", "--role", "caseworker", "--unit", "410104005"], "short\n", "at least 8"),
    (["gc_case", "--role", "caseworker", "--unit", "410104005"], "a-long-password\n", "already exists"),
    (["x1", "--role", "caseworker", "--unit", "999"], "a-long-password\n", "no unit with code 999"),
    (["x2", "--role", "caseworker", "--unit", "410104005001"], "a-long-password\n", "cannot belong to a community"),
    (["x3", "--role", "bureau_supervisor", "--unit", "410104005"], "a-long-password\n", "cannot belong"),
])
def test_users_add_refusals(cli, org, args, stdin, message):
    before = json.loads(cli("users", "list", "--json").output)
    r = cli("users", "add", *args, "--password-stdin", input=stdin)
    assert r.exit_code == 1
    assert message in r.output and "错误" in r.output
    assert json.loads(cli("users", "list", "--json").output) == before


def test_users_add_rejects_an_unknown_role(cli, org):
    r = cli("users", "add", "x", "--role", "king", "--unit", "410104005", "--password-stdin", input="p" * 10)
    assert r.exit_code == 2 and "king" in r.output


@pytest.mark.parametrize("args, expected", [
    (["--from", "2025-09-26", "--days", "25"], "2025-11-06"),
    (["--from", "2026-02-13", "--days", "1"], "2026-02-14"),       # Spring Festival make-up Saturday
    (["--from", "2026-12-25", "--days", "10"], "2027-01-08 (provisional)"),
])
def test_workdays_add(cli, args, expected):
    r = cli("workdays", "add", *args)
    assert r.exit_code == 0 and r.output.strip() == expected


def test_workdays_add_json_and_override(cli, tmp_path):
    r = cli("workdays", "add", "--from", "2026-12-25", "--days", "10", "--json")
    assert json.loads(r.output) == {"deadline": "2027-01-08", "provisional": True}
    cal = tmp_path / "cal.toml"
    cal.write_text("holidays = [2027-01-01]\n", encoding="utf-8")
    r = cli("workdays", "add", "--from", "2026-12-25", "--days", "10", "--calendar", str(cal), "--json")
    assert json.loads(r.output) == {"deadline": "2027-01-11", "provisional": False}


def test_workdays_between(cli):
    r = cli("workdays", "between", "--from", "2025-09-26", "--to", "2025-11-06", "--json")
    assert json.loads(r.output) == {"workdays": 25, "provisional": False}
    assert cli("workdays", "between", "--from", "2025-09-30", "--to", "2025-10-09").output.strip() == "1"


@pytest.mark.parametrize("args", [
    ["add", "--from", "2025-13-01", "--days", "3"],
    ["add", "--from", "2025-09-26", "--days", "-1"],
    ["between", "--from", "yesterday", "--to", "2025-01-01"],
])
def test_workdays_bad_input(cli, args):
    r = cli("workdays", *args)
    assert r.exit_code == 2


def test_workdays_bad_calendar_file(cli, tmp_path):
    cal = tmp_path / "cal.toml"
    cal.write_text("holidays = [\"soon\"]\n", encoding="utf-8")
    r = cli("workdays", "add", "--from", "2026-12-25", "--days", "1", "--calendar", str(cal))
    assert r.exit_code == 2 and str(cal) in r.output


def test_profiles_check(cli, tmp_path):
    from server.rules import BUILTIN_DIR

    assert cli("profiles", "check", str(BUILTIN_DIR / "yijun.toml")).output.startswith("ok: yijun")
    bad = tmp_path / "yijun.toml"
    bad.write_text((BUILTIN_DIR / "yijun.toml").read_text(encoding="utf-8").replace("min_team = 2", "min_team = 0"),
                   encoding="utf-8")
    r = cli("profiles", "check", str(bad))
    assert r.exit_code == 2 and "home_visit.min_team" in r.output


def test_the_installed_command_runs_end_to_end(tmp_path):
    """``ruhu`` as a user runs it: migrate a fresh database, load the demo once, list what it made."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", SECRET_KEY="x",
               RUHU_PASSWORD_METHOD="pbkdf2:sha256:1000", RUHU_CALENDAR=str(tmp_path / "none.toml"))
    ruhu = [sys.executable, "-m", "server.cli"] if not (Path(sys.executable).parent / "ruhu").exists() \
        else [str(Path(sys.executable).parent / "ruhu")]

    def run(*args):
        return subprocess.run([*ruhu, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert run("db", "upgrade").returncode == 0
    first = run("demo", "load")
    assert first.returncode == 0, first.stderr
    second = run("demo", "load")
    assert second.returncode == 0 and "already present" in second.stdout
    units = json.loads(run("units", "list", "--json").stdout)
    offices = [u for u in units if u["parent"] == "410104"]
    assert len(offices) == 12 and {u["profile"] for u in units} == {"guancheng", "yijun"}
    users = json.loads(run("users", "list", "--json").stdout)
    assert {u["role"] for u in users} == {"investigator", "caseworker", "leader", "director",
                                          "bureau_supervisor", "admin"}


# --- demo logins tell the truth -------------------------------------------------------------------

def _accepts(app, username: str, password: str) -> bool:
    from sqlalchemy import select

    from server.extensions import db
    from server.models import User

    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username)).check_password(password)


def test_demo_logins_never_print_a_password_the_demo_was_not_loaded_with(app, cli):
    r = cli("demo", "load", "--password", "given-password-1")
    assert r.exit_code == 0, r.output
    for username in ("gc_admin", "nanguanjie_caseworker", "gc_bureau2", "yj_bureau2"):
        assert _accepts(app, username, "given-password-1"), username
    r = cli("demo", "logins")
    assert r.exit_code == 0 and "nanguanjie_caseworker" in r.output
    assert "ruhu-demo-2026" not in r.output and "the one given to ruhu demo load --password" in r.output


def test_demo_load_and_logins_use_ruhu_demo_password(app, cli):
    app.config["RUHU_DEMO_PASSWORD"] = "configured-password-1"     # what RUHU_DEMO_PASSWORD sets
    assert cli("demo", "load").exit_code == 0
    assert _accepts(app, "gc_bureau2", "configured-password-1")
    assert "password / 密码: configured-password-1)" in cli("demo", "logins").output
    app.config["RUHU_DEMO_PASSWORD"] = ""                           # unset later: the truth is not known
    assert "the one given to ruhu demo load --password" in cli("demo", "logins").output


def test_demo_logins_without_demo_data_say_so(cli):
    r = cli("demo", "logins")
    assert r.exit_code == 0 and "no demo accounts in this database" in r.output and "ruhu-demo-2026" not in r.output


def test_demo_load_refuses_a_short_password_and_writes_nothing(cli):
    r = cli("demo", "load", "--password", "short")
    assert r.exit_code == 1 and "错误" in r.output and "at least 8 characters" in r.output
    assert json.loads(cli("units", "list", "--json").output) == []
