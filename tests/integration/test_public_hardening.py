"""What anyone may call without signing in, through HTTP: phone enrolment is rate-limited with the API's
problem body, every rate limit counts an IPv6 client by its /64, and a report's phone number is ASCII."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Device, User
from server.models.boards import Report
from server.operations.sync import create_enrolment
from tests.conftest import csrf_token
from tests.integration.test_boards import gc_board, public  # noqa: F401  (fixtures)
from tests.integration.test_survey_limits import _answer
from tests.integration.test_sync_api import Phone

# Three addresses in one /64 (a phone taking a new address at will), and one outside it.
SAME_64 = ["2001:db8:5:6::1", "2001:db8:5:6:a:b:c:d", "2001:DB8:5:6:ffff:ffff:ffff:ffff"]
NEXT_64 = "2001:db8:5:7::1"


def _code(app, org) -> str:
    with app.app_context():
        return create_enrolment(db.session.get(User, org.gc_inv3), None).code


# --- enrolment ------------------------------------------------------------------------------------

def test_enrolment_is_rate_limited_per_client_with_a_problem_body(app, org):
    app.config["RUHU_ENROLL_RATE"] = "3 per hour"
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert [Phone(guesser).enrol(f"GUESS{i}").status_code for i in range(3)] == [404, 404, 404]
    r = Phone(guesser).enrol(_code(app, org))                  # a right code does not get past the limit
    assert r.status_code == 429 and r.mimetype == "application/problem+json"
    assert r.json["error"] == "rate_limited" and r.json["status"] == 429 and r.headers["Retry-After"]
    assert r.json["message"] == "请求过于频繁，请稍后再试" and r.json["message_en"].startswith("too many requests")
    with app.app_context():
        assert db.session.scalar(select(Device.id)) is None
    investigator = app.test_client()
    investigator.environ_base["REMOTE_ADDR"] = "198.51.100.21"
    assert Phone(investigator).enrol(_code(app, org)).status_code == 201     # another client: its own limit


# --- IPv6 clients count by their /64 --------------------------------------------------------------

def _client(app, addr: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


def _enrol(app, addr: str) -> int:
    return Phone(_client(app, addr)).enrol("GUESS").status_code


def _receipt(app, addr: str) -> int:
    return _client(app, addr).get("/r?n=260101-AAAAAAAA").status_code


def _sign_in(app, addr: str) -> int:
    client = _client(app, addr)
    return client.post("/login", data={"username": "gc_case", "password": "wrong-pass-1",
                                       "csrf_token": csrf_token(client)}).status_code


def _survey(app, addr: str) -> int:
    client = _client(app, addr)
    return client.post("/survey/410104005", data={"csrf_token": csrf_token(client, "/survey/410104005"),
                                                  "respondent": "resident", "knows": "aware",
                                                  "rating": "basically"}).status_code


@pytest.mark.parametrize("setting, call, allowed", [
    ("RUHU_ENROLL_RATE", _enrol, 404),
    ("RUHU_RECEIPT_RATE", _receipt, 404),
    ("RUHU_LOGIN_RATE", _sign_in, 401),
    ("RUHU_SURVEY_RATE", _survey, 200),
])
def test_an_ipv6_client_cannot_rotate_past_a_limit_within_its_64(app, org, setting, call, allowed):
    app.config.update({setting: "2 per hour", "RUHU_LOGIN_MAX_FAILURES": 100, "RUHU_SURVEY_ADDRESS_DAILY": 100})
    assert [call(app, addr) for addr in SAME_64] == [allowed, allowed, 429]
    assert call(app, NEXT_64) == allowed                       # the neighbouring /64 is someone else
    assert call(app, "198.51.100.30") == allowed               # and IPv4 addresses count one by one
    assert call(app, "198.51.100.31") == allowed


def test_reports_count_an_ipv6_client_by_its_64(app, org, public, gc_board):  # noqa: F811
    _, _, token = gc_board
    app.config.update(RUHU_REPORT_RATE="2 per hour", RUHU_REPORT_CLIENT_RATE="30 per day")
    data = {"case": "", "text": "有人冒领低保，请核查。"}
    assert [public(addr).post(f"/b/{token}/report", data).status_code for addr in SAME_64] == [303, 303, 429]
    assert public(NEXT_64).post(f"/b/{token}/report", data).status_code == 303


def test_the_surveys_daily_answers_per_address_count_an_ipv6_client_by_its_64(app, org):
    app.config["RUHU_SURVEY_ADDRESS_DAILY"] = 2
    assert [_answer(app.test_client(), addr) for addr in SAME_64] == [True, True, False]
    assert _answer(app.test_client(), NEXT_64) is True


# --- the report's phone number --------------------------------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("138 1234 5678", "138 1234 5678"),
    ("１３８－１２３４－５６７８", "138-1234-5678"),       # a Chinese input method in full-width mode
    ("０３７１　６６２２３３４４", "0371 66223344"),
])
def test_a_reports_phone_number_is_kept_in_ascii(app, org, public, gc_board, typed, stored):  # noqa: F811
    _, _, token = gc_board
    r = public().post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，请核查。", "phone": typed})
    assert r.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Report.phone)) == stored


@pytest.mark.parametrize("typed", [
    "١٣٨١٢٣٤٥٦٧٨",          # Arabic-Indic
    "۱۳۸۱۲۳۴۵۶۷۸",          # Extended Arabic-Indic (Persian)
    "१३८१२३४५६७८",          # Devanagari
    "138¹²³⁴⁵⁶⁷⁸",          # superscripts
    "１３８１２３４5678๑",   # full-width and ASCII are fine, a Thai digit is not
])
def test_a_phone_number_in_another_scripts_digits_is_refused(app, org, public, gc_board, typed):  # noqa: F811
    _, _, token = gc_board
    r = public().post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，请核查。", "phone": typed})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "联系电话格式不正确" in page and typed in page    # the form comes back as typed
    with app.app_context():
        assert db.session.scalar(select(Report.id)) is None
