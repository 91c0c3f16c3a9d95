"""The start page's "what I must do now" per role, through HTTP: each row a link, overdue first, counts that
link to the filtered list."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from server.extensions import db
from server.models import Case, Household, Member, Unit
from tests.conftest import id_number, sign_in

TODAY = dt.date(2025, 11, 3)  # Monday


def staged(org, seq: int, status: str, **dates) -> tuple[int, str]:
    office, c1 = db.session.get(Unit, org.office), db.session.get(Unit, org.c1)
    born = dt.date(1965, 1, seq)
    household = Household(unit=c1, members=[Member(position=0, name=f"排队{seq}", relation="head", birth_date=born,
                                                   sex="female", id_number=id_number("410104", born, 30 + seq))])
    case = Case(number=f"{office.code}-2025-{seq:05d}", household=household, office=office, community=c1,
                profile_id="guancheng", status=status, applied_on=dt.date(2025, 9, 1),
                verification_requested_on=dt.date(2025, 9, 3), **{"accepted_on": dt.date(2025, 9, 2), **dates})
    db.session.add(case)
    db.session.commit()
    return case.id, case.number


@pytest.fixture
def queued(app, org):
    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        return {
            # verification report 2025-10-20: the review was due 10-27, overdue
            "late_review": staged(org, 1, "review_signing", verification_report_on=dt.date(2025, 10, 20)),
            # report 11-03: review due 11-10, on time
            "review": staged(org, 2, "review_signing", verification_report_on=TODAY, accepted_on=dt.date(2025, 10, 27)),
            "approval": staged(org, 3, "publicity_closed", publicity_closed_on=dt.date(2025, 10, 31),
                               verification_report_on=dt.date(2025, 10, 1)),
            "application": staged(org, 4, "application"),
        }


def queue(page: str) -> list[str]:
    body = page.split('id="my-queue"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'data-queue="([^"]+)"', body)


def test_the_leader_sees_reviews_to_sign_overdue_first(client, queued):
    sign_in(client, "gc_lead")
    page = client.get("/").get_data(as_text=True)
    assert queue(page) == [queued["late_review"][1], queued["review"][1]]
    assert "签署审核意见" in page
    assert f'href="/cases/{queued["late_review"][0]}"' in page


def test_the_director_sees_decisions(client, queued):
    sign_in(client, "gc_dir")
    page = client.get("/").get_data(as_text=True)
    assert queue(page) == [queued["approval"][1]]
    assert "审批：批准或不予批准" in page


def test_the_caseworker_sees_every_step_due_and_counts_link_to_the_list(client, queued):
    sign_in(client, "gc_case")
    page = client.get("/").get_data(as_text=True)
    got = queue(page)
    assert got[0] == queued["late_review"][1]                    # the overdue one first
    assert queued["application"][1] in got                         # an application waits for acceptance
    link = re.search(r'href="([^"]+)" data-count="overdue"', page).group(1).replace("&amp;", "&")
    listed = client.get(link).get_data(as_text=True)
    overdue = re.findall(r'<tr data-case="([^"]+)"', listed)
    assert queued["late_review"][1] in overdue and queued["review"][1] not in overdue
    assert 'href="/cases?status=review_signing"' in page


def test_the_bureau_sees_submitted_rosters(client, app, org):
    from server.models.money import Roster

    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        roster = Roster(unit_id=org.office, month="2025-12", profile_id="guancheng", status="submitted",
                        due_on=dt.date(2025, 11, 25), payment_due_on=dt.date(2025, 12, 10))
        db.session.add(roster)
        db.session.commit()
        rid = roster.id
    sign_in(client, "gc_bureau")
    page = client.get("/").get_data(as_text=True)
    assert queue(page) == ["2025-12"]
    assert f'href="/rosters/{rid}"' in page and "审核发放名册" in page
    other = client.application.test_client()
    sign_in(other, "yj_bureau")
    assert queue(other.get("/").get_data(as_text=True)) == []     # another district's roster is not theirs
