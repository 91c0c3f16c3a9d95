"""The start page's time limits through HTTP: overdue red, due within 2 working days amber, filters, scope."""

from __future__ import annotations

import datetime as dt

import pytest

from server.extensions import db
from server.models import Unit, User
from server.operations.cases import perform, register_application
from tests.conftest import id_number, sign_in


def accepted_case(org, accepted_on: dt.date, seq: int, unit="c1"):
    case = register_application(
        community=db.session.get(Unit, getattr(org, unit)), actor=db.session.get(User, org.gc_case),
        today=accepted_on, members=[{"name": f"户主{seq}", "relation": "head",
                                     "id_number": id_number("410104", dt.date(1970, 1, seq), 10 + seq)}],
        materials=["application", "hukou_id", "income_property_statement", "integrity_pledge",
                   "verification_authorisation"])
    perform(case, "accept", db.session.get(User, org.gc_case), {"applicant_signed": True}, today=accepted_on)
    return case.number


@pytest.fixture
def three_cases(app, org):
    # Today is pinned to Monday 2025-11-03.  Accepted 2025-10-24: verification/visit due 10-31 -> overdue.
    # Accepted 2025-10-29: due 11-05 -> 2 working days left -> amber.  Accepted 2025-11-03: due 11-10 -> ok.
    app.config["RUHU_TODAY"] = dt.date(2025, 11, 3)
    with app.app_context():
        return {mark: accepted_case(org, day, i) for i, (mark, day) in enumerate(
            [("overdue", dt.date(2025, 10, 24)), ("due_soon", dt.date(2025, 10, 29)),
             ("ok", dt.date(2025, 11, 3))], start=1)}


def row_class(page: str, number: str) -> str:
    import re

    match = re.search(r'<tr class="(\w+)" data-case="' + re.escape(number) + '"', page)
    assert match, f"{number} not listed"
    return match.group(1)


def test_each_running_case_is_marked(client, three_cases):
    sign_in(client, "gc_case")
    page = client.get("/").get_data(as_text=True)
    for mark, number in three_cases.items():
        assert row_class(page, number) == mark
    assert page.index(three_cases["overdue"]) < page.index(three_cases["due_soon"]) < page.index(three_cases["ok"])
    assert "2025-10-31" in page and "已超期" in page


@pytest.mark.parametrize("urgency", ["overdue", "due_soon"])
def test_filter_by_urgency(client, three_cases, urgency):
    sign_in(client, "gc_case")
    page = client.get(f"/?urgency={urgency}").get_data(as_text=True)
    assert [n for n in three_cases.values() if f'data-case="{n}"' in page] == [three_cases[urgency]]


def test_a_bad_filter_is_a_400(client, three_cases):
    sign_in(client, "gc_case")
    assert client.get("/?urgency=soonish").status_code == 400


@pytest.mark.parametrize("username, sees", [("other_case", False), ("gc_bureau", True), ("yj_bureau", False)])
def test_other_offices_and_the_bureau(client, three_cases, username, sees):
    sign_in(client, username)
    page = client.get("/").get_data(as_text=True)
    assert [f'data-case="{n}"' in page for n in three_cases.values()] == [sees] * 3


def test_provisional_deadlines_are_marked(app, client, org):
    app.config["RUHU_TODAY"] = dt.date(2026, 12, 28)
    with app.app_context():
        number = accepted_case(org, dt.date(2026, 12, 28), 7)
    sign_in(client, "gc_case")
    page = client.get("/").get_data(as_text=True)
    assert f'data-case="{number}"' in page and "（暂定）" in page
