"""The case list through HTTP: pages with their total, filters, sorting, escaped search, and the export that
holds exactly the filtered cases."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from server.extensions import db
from server.models import AuditEntry, Case, Household, Member, Unit, User
from server.operations.cases import perform, register_application
from tests.conftest import id_number, sign_in

TODAY = dt.date(2025, 11, 3)  # Monday


def bulk_cases(org, n: int, *, start: int = 1) -> None:
    """``n`` cases of the guancheng office, straight into the tables (fast): odd ones in community c1, even
    ones in c2; every fifth approved in 2025-09; applied one day apart going back from TODAY."""
    office, c1, c2 = (db.session.get(Unit, i) for i in (org.office, org.c1, org.c2))
    for i in range(start, start + n):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=i)
        household = Household(unit=c1 if i % 2 else c2, members=[Member(
            position=0, name=f"批量{i:04d}", id_number=id_number("410104", born, i % 1000), relation="head",
            birth_date=born, sex="male")])
        approved = i % 5 == 0
        db.session.add(Case(number=f"{office.code}-2025-{i:05d}", household=household, office=office,
                            community=household.unit, profile_id="guancheng",
                            status="in_payment" if approved else "application",
                            applied_on=TODAY - dt.timedelta(days=i),
                            decided_on=dt.date(2025, 9, 1) + dt.timedelta(days=i % 20) if approved else None))
    db.session.commit()


@pytest.fixture
def many(app, org):
    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        bulk_cases(org, 243)
    return org


def numbers(page: str) -> list[str]:
    return re.findall(r'<tr data-case="([^"]+)"', page)


def test_every_case_is_reachable_page_by_page_with_the_total(client, many):
    sign_in(client, "gc_case")
    seen = []
    for p in (1, 2, 3, 4, 5):
        page = client.get(f"/cases?page={p}").get_data(as_text=True)
        assert "共 243 条" in page
        seen += numbers(page)
    assert len(seen) == 243 == len(set(seen))        # nothing missing, nothing twice
    assert seen[0].endswith("-00243") and seen[-1].endswith("-00001")   # newest number first
    last = client.get("/cases?page=99").get_data(as_text=True)
    assert numbers(last)[-1].endswith("-00001")      # a page past the end shows the last page


def test_filters_combine_and_sorting_reverses(client, many):
    sign_in(client, "gc_case")
    page = client.get(f"/cases?community={many.c2}&status=in_payment&per=100").get_data(as_text=True)
    got = numbers(page)
    expected = [f"410104005-2025-{i:05d}" for i in range(243, 0, -1) if i % 2 == 0 and i % 5 == 0]
    assert got == expected and f"共 {len(expected)} 条" in page
    asc = numbers(client.get("/cases?sort=applied_on&dir=asc&per=20").get_data(as_text=True))
    assert asc[0].endswith("-00243")                 # applied longest ago
    ranged = numbers(client.get("/cases?decided_from=2025-09-05&decided_to=2025-09-10&per=100").get_data(as_text=True))
    assert ranged and all(int(n[-5:]) % 5 == 0 and 4 <= int(n[-5:]) % 20 <= 9 for n in ranged)
    applied = numbers(client.get("/cases?applied_from=2025-10-30&applied_to=2025-11-02").get_data(as_text=True))
    assert sorted(applied) == [f"410104005-2025-{i:05d}" for i in (1, 2, 3, 4)]


def test_search_escapes_wildcards_and_finds_partial_id_numbers(client, many, app):
    sign_in(client, "gc_case")
    assert "共 0 条" in client.get("/cases?q=%25").get_data(as_text=True)     # "%" is a percent sign
    assert "共 0 条" in client.get("/cases?q=_").get_data(as_text=True)
    with app.app_context():
        member = db.session.query(Member).filter_by(name="批量0042").one()
        tail = member.id_number[-8:]
    got = numbers(client.get(f"/cases?q={tail}").get_data(as_text=True))
    assert "410104005-2025-00042" in got
    assert numbers(client.get("/cases?q=批量0042").get_data(as_text=True)) == ["410104005-2025-00042"]
    assert numbers(client.get("/cases?q=2025-00042").get_data(as_text=True)) == ["410104005-2025-00042"]


@pytest.mark.parametrize("query", ["status=nonsense", "applied_from=2025-13-01", "sort=password", "within=x&urgency=due_within",
                                   "community=abc", "community=99999999999999999999", "office=%C2%B2",
                                   "within=%C2%B2&urgency=due_within", "urgency=late"])
def test_a_bad_filter_is_a_400_that_names_it(client, many, query):
    sign_in(client, "gc_case")
    response = client.get(f"/cases?{query}")
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["page=%C2%B2", "page=99999999999999", "per=%C2%B2", "per=7", "page=0"])
def test_odd_paging_falls_back_without_error(client, many, query):
    sign_in(client, "gc_case")
    response = client.get(f"/cases?{query}")
    assert response.status_code == 200 and "共 243 条" in response.get_data(as_text=True)


def test_the_export_holds_exactly_the_filtered_cases(client, many, app):
    sign_in(client, "gc_case")
    query = f"community={many.c1}&status=application&sort=number&dir=asc"
    listed = []
    for p in (1, 2):
        listed += numbers(client.get(f"/cases?{query}&page={p}").get_data(as_text=True))
    response = client.get(f"/cases/export.csv?{query}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][0] == "案件编号"
    assert [r[0] for r in rows[1:]] == listed and len(listed) == 98
    assert not any(re.search(r"\d{17}[\dX]", cell) for r in rows for cell in r)   # no ID numbers leave
    xlsx = client.get(f"/cases/export.xlsx?{query}")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == listed
    with app.app_context():
        entry = db.session.query(AuditEntry).filter_by(action="case.export").order_by(AuditEntry.id).all()
        assert [e.after["rows"] for e in entry] == [98, 98]


def test_export_is_for_office_staff_and_scoped(client, many):
    sign_in(client, "gc_inv1")
    assert client.get("/cases/export.csv").status_code == 403
    other = client.application.test_client()
    sign_in(other, "other_case")
    rows = other.get("/cases/export.csv").get_data().decode("utf-8-sig").splitlines()
    assert len(rows) == 1                                  # the header only: another office's cases stay out


def accepted(org, day: dt.date, seq: int) -> str:
    case = register_application(
        community=db.session.get(Unit, org.c1), actor=db.session.get(User, org.gc_case), today=day,
        members=[{"name": f"计时{seq}", "relation": "head", "id_number": id_number("410104", dt.date(1971, 1, seq), 20 + seq)}],
        materials=["application", "hukou_id", "income_property_statement", "integrity_pledge",
                   "verification_authorisation"])
    perform(case, "accept", db.session.get(User, org.gc_case), {"applicant_signed": True}, today=day)
    return case.number


def test_overdue_and_due_within_filters(client, app, org):
    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        late = accepted(org, dt.date(2025, 10, 24), 1)    # visit due 10-31: overdue
        soon = accepted(org, dt.date(2025, 10, 29), 2)    # due 11-05: 2 working days
        ok = accepted(org, dt.date(2025, 11, 3), 3)       # due 11-10: 5 working days
    sign_in(client, "gc_case")
    assert numbers(client.get("/cases?urgency=overdue").get_data(as_text=True)) == [late]
    assert numbers(client.get("/cases?urgency=due_within&within=2").get_data(as_text=True)) == [soon]
    assert set(numbers(client.get("/cases?urgency=due_within&within=5").get_data(as_text=True))) == {soon, ok}
    assert len(numbers(client.get("/cases?within=2").get_data(as_text=True))) == 3   # N alone filters nothing


def test_guancheng_offers_no_meeting_stage(client, org):
    sign_in(client, "gc_case")
    assert 'value="meeting_held"' not in client.get("/cases").get_data(as_text=True)
    yj = client.application.test_client()
    sign_in(yj, "yj_case")
    assert 'value="meeting_held"' in yj.get("/cases").get_data(as_text=True)
