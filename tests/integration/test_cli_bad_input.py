"""Bad input to the ``ruhu`` commands and to the objection form: a clear refusal in Chinese and English,
a non-zero exit (or a 4xx), never a traceback, and nothing written — on SQLite and on PostgreSQL."""

# ruff: noqa: F811 (the ``cli`` fixture is imported and requested by name)
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent
from tests.integration.test_cli import cli  # noqa: F401  (the fixture, requested by name)
from tests.integration.test_console import Console, on, register, status_of
from tests.integration.test_decisions import START, review, sign, to_appraised

CJK = re.compile("[\u4e00-\u9fff]")
BIG = str(2**31)
HUGE = str(2**63)


def _counts(app) -> dict[str, int]:
    """Rows in every table: a refused command leaves every one as it was."""
    with app.app_context():
        return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def refused(app, cli, args, english: str, *, input=None, code: int | None = None):
    before = _counts(app)
    r = cli(*args, input=input)
    out = r.output
    assert r.exit_code != 0, (args, out)
    if code is not None:
        assert r.exit_code == code, (args, r.exit_code, out)
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert "Traceback" not in out
    assert CJK.search(out) and english in out, (args, out)
    assert _counts(app) == before, args
    return r


# --- ids past a 32-bit column, zero and negative ---------------------------------------------------

ID_COMMANDS = [
    ["boards", "rotate", "{id}"],
    ["boards", "poster", "{id}", "--out", "{tmp}/p.png"],
    ["rosters", "export", "{id}", "--format", "csv", "--out", "{tmp}/r.csv"],
    ["spotchecks", "verify", "{id}"],
]


@pytest.mark.parametrize("value", [BIG, HUGE, "0", "12x", "-1", "-2147483648", "-" + HUGE])
@pytest.mark.parametrize("command", ID_COMMANDS)
def test_ids_out_of_range_are_refused(app, org, cli, tmp_path, command, value):
    args = [a.format(id=value, tmp=tmp_path) for a in command]
    r = refused(app, cli, args, "must be a whole number from 1 to 2147483647")
    assert "No such option" not in r.output
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ID_COMMANDS)
def test_an_unknown_option_before_an_id_is_still_refused_as_one(app, org, cli, tmp_path, command):
    """A negative id reaches the id's check; an unknown option in its place is still called one."""
    args = [a.format(id="--bogus", tmp=tmp_path) for a in command]
    r = refused(app, cli, args, "no such option: --bogus")
    assert "没有此选项" in r.output
    assert not list(tmp_path.iterdir())


def test_a_negative_id_after_the_options_is_refused(app, org, cli, tmp_path):
    refused(app, cli, ["rosters", "export", "--format", "csv", "--out", f"{tmp_path}/r.csv", "-1"],
            "must be a whole number from 1 to 2147483647")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, english", [
    (["spotchecks", "draw", "--unit", "410104005", "--year", "2026", "--seed", BIG], "from 0 to 2147483647"),
    (["spotchecks", "draw", "--unit", "410104005", "--year", "2026", "--seed", "-1"], "from 0 to 2147483647"),
    (["spotchecks", "draw", "--unit", "410104005", "--year", BIG], "whole number from 2000"),
    (["spotchecks", "draw", "--unit", "410104005", "--year", "1999"], "whole number from 2000"),
    (["files", "sweep", "--days", HUGE], "whole number from 1 to 3650"),
    (["spotchecks", "draw", "--unit", "410104005", "--year", "2026", "--seed", "12x"], "must be a whole number"),
])
def test_other_numbers_out_of_range_are_refused(app, org, cli, args, english):
    refused(app, cli, args, english)


# --- the assessment year ---------------------------------------------------------------------------

@pytest.mark.parametrize("year, english", [
    ("10000", "whole number from 2000"), ("0", "whole number from 2000"), ("-1", "whole number from 2000"),
    (BIG, "whole number from 2000"), ("1999", "whole number from 2000"), ("2027", "the year must be from 2000 to 2026"),
])
def test_assessment_rank_refuses_a_year_out_of_range(app, org, cli, year, english):
    on(app, dt.date(2026, 11, 20))
    refused(app, cli, ["assessment", "rank", "--district", "610222", "--year", year], english)


def test_assessment_rank_still_ranks_this_year(app, org, cli):
    on(app, dt.date(2026, 11, 20))
    r = cli("assessment", "rank", "--district", "610222", "--year", "2026", "--json")
    assert r.exit_code == 0, r.output


# --- users add: name, username, password ------------------------------------------------------------

@pytest.mark.parametrize("username, name, password, english", [
    ("okuser1", "张" * 51, "correct-horse-1", "at most 50 characters"),
    ("okuser1", "a" * 51, "correct-horse-1", "at most 50 characters"),
    ("okuser1", "张三", "correct\x00horse-1", "must not contain a NUL"),
    ("u" * 65, "", "correct-horse-1", "the username must be 1-64 characters"),
])
def test_users_add_refuses_what_no_account_can_hold(app, org, cli, username, name, password, english):
    refused(app, cli, ["users", "add", username, "--role", "caseworker", "--unit", "410104005", "--name", name,
                       "--password-stdin"], english, input=password + "\n", code=1)


def test_users_add_with_a_long_username_and_no_name(app, org, cli):
    r = cli("users", "add", "u" * 64, "--role", "caseworker", "--unit", "410104005", "--password-stdin",
            input="correct-horse-1\n")
    assert r.exit_code == 0, r.output


def test_users_add_with_a_50_character_name(app, org, cli):
    r = cli("users", "add", "okuser1", "--role", "caseworker", "--unit", "410104005", "--name", "张" * 50,
            "--password-stdin", input="correct-horse-1\n")
    assert r.exit_code == 0, r.output


# --- text that is not UTF-8 (a GBK terminal), NUL and control characters -----------------------------

GBK = "\udcc4\udcbe"   # what Python makes of GBK bytes it cannot decode as UTF-8


@pytest.mark.parametrize("bad", [GBK, "a\x00b", "a\x1bb", "a\nb"])
@pytest.mark.parametrize("command", [
    ["units", "add", "{bad}", "测试区", "--level", "district", "--profile", "guancheng"],
    ["units", "add", "410199", "{bad}", "--level", "district", "--profile", "guancheng"],
    ["units", "add", "410104099", "测试街道", "--level", "street_office", "--parent", "{bad}"],
    ["units", "add", "410199", "测试区", "--level", "district", "--profile", "guancheng", "--name-en", "{bad}"],
    ["users", "add", "{bad}", "--role", "caseworker", "--unit", "410104005", "--password-stdin"],
    ["users", "add", "okuser1", "--role", "caseworker", "--unit", "{bad}", "--password-stdin"],
    ["users", "add", "okuser1", "--role", "caseworker", "--unit", "410104005", "--name", "{bad}",
     "--password-stdin"],
    ["devices", "enrol-code", "{bad}"],
    ["devices", "revoke", "{bad}"],
    ["rosters", "generate", "--unit", "{bad}", "--month", "2026-12"],
    ["rosters", "generate", "--unit", "410104005", "--month", "{bad}"],
    ["rosters", "late", "--district", "{bad}", "--month", "2026-12"],
    ["rereviews", "due", "--unit", "{bad}"],
    ["spotchecks", "draw", "--unit", "{bad}", "--year", "2026"],
    ["spotchecks", "draw", "--unit", "410104005", "--year", "2026", "--share", "{bad}"],
    ["assessment", "rank", "--district", "{bad}", "--year", "2026"],
    ["workdays", "add", "--from", "{bad}", "--days", "3"],
    ["workdays", "between", "--from", "2026-01-05", "--to", "{bad}"],
])
def test_bad_text_is_refused_up_front(app, org, cli, command, bad):
    on(app, dt.date(2026, 11, 20))
    args = [a.replace("{bad}", bad) for a in command]
    refused(app, cli, args, "not valid text", input="correct-horse-1\n", code=1)


# --- working days past the calendar ---------------------------------------------------------------

@pytest.mark.parametrize("start, days", [("9999-12-31", "5"), ("2026-01-05", "100000000"),
                                         ("2026-01-05", str(2**31 - 1))])
def test_workdays_past_the_last_date_are_refused(app, cli, start, days):
    refused(app, cli, ["workdays", "add", "--from", start, "--days", days], "past the last date", code=1)


def test_workdays_days_past_int4_are_refused(app, cli):
    refused(app, cli, ["workdays", "add", "--from", "2026-01-05", "--days", BIG], "whole number from 0")


# --- roster months before 2000 (or after 2199) ------------------------------------------------------

@pytest.mark.parametrize("month", ["1900-01", "1999-12", "0001-01", "2200-01", "9999-12"])
def test_rosters_late_refuses_a_month_out_of_range(app, org, cli, month):
    refused(app, cli, ["rosters", "late", "--district", "410104", "--month", month], "the month must be YYYY-MM",
            code=1)


@pytest.mark.parametrize("month", ["1900-01", "1999-12", "9999-12"])
def test_rosters_generate_refuses_a_month_out_of_range(app, org, cli, month):
    refused(app, cli, ["rosters", "generate", "--unit", "410104005", "--month", month],
            "the month must be YYYY-MM", code=1)


def test_rosters_late_for_january_2000(app, org, cli):
    r = cli("rosters", "late", "--district", "410104", "--month", "2000-01", "--json")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("month", ["1900-01", "9999-12"])
def test_the_bureau_page_refuses_a_month_out_of_range(app, org, month):
    bureau = Console(app, "gc_bureau")
    before = _counts(app)
    r = bureau.get(f"/rosters/bureau?month={month}")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "YYYY-MM" in page and "Traceback" not in page
    assert _counts(app) == before


# --- the objection's source ------------------------------------------------------------------------

@pytest.fixture
def in_publicity(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    to_appraised(app, org, gc, case_id)
    assert review(gc, case_id).status_code == 302
    sign(app, case_id)
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    return gc, case_id


@pytest.mark.parametrize("source", ["<b>自称局长</b>" + "x" * 3000, "director", "Window", " window", "\u200bphone"])
def test_an_objection_from_an_unknown_source_is_refused(app, in_publicity, source):
    gc, case_id = in_publicity
    before = _counts(app)
    r = gc.act(case_id, "record_objection", {"text": "有车未申报", "source": source})
    assert r.status_code == 422
    assert "请选择异议来源：窗口、电话或公示栏扫码" in r.get_data(as_text=True)
    r = gc.post(f"/cases/{case_id}/act/record_objection?lang=en", {"text": "有车未申报", "source": source})
    assert r.status_code == 422
    assert "choose where the objection came in: window, phone or board" in r.get_data(as_text=True)
    assert "自称局长" not in r.get_data(as_text=True)
    assert _counts(app) == before
    assert status_of(app, case_id) == "publicity"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "case.record_objection")) == 0


@pytest.mark.parametrize("source", ["window", "phone", "board"])
def test_an_objection_from_the_page_s_sources_is_recorded(app, in_publicity, source):
    gc, case_id = in_publicity
    assert gc.act(case_id, "record_objection", {"text": "有车未申报", "source": source}).status_code == 302
    with app.app_context():
        event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                          CaseEvent.action == "record_objection"))
        assert event.data["source"] == source
        assert db.session.get(Case, case_id).objection_on is not None


def test_the_workflow_refuses_an_unknown_source_too(app, in_publicity):
    from server.domain.workflow import OBJECTION_SOURCES, PreconditionFailed, _record_objection

    assert set(OBJECTION_SOURCES) == {"window", "phone", "board"}
    with pytest.raises(PreconditionFailed) as exc:
        _record_objection(None, None, None, None, START, {"text": "有车未申报", "source": "<b>x</b>"})
    assert exc.value.code == "source_invalid" and CJK.search(exc.value.message)
