"""The console's other growing lists page like the case list (issue 14): a total, previous / next, the same
page sizes; a page past the end shows the last page and an unreadable number the first."""

from __future__ import annotations

import re

from server.extensions import db
from tests.conftest import PASSWORD
from tests.integration.test_console import Console


def test_the_devices_list_pages_with_a_total(app, org):
    from server.operations.accounts import add_user

    with app.app_context():
        for i in range(22):
            add_user(f"gc_more{i:02d}", "investigator", "410104005001", PASSWORD, f"调查员{i:02d}")
        db.session.commit()
    cw = Console(app, "gc_case")
    first = cw.get("/devices?per=20").get_data(as_text=True)      # 3 investigators of the fixture + 22
    assert 'data-total="25"' in first and "共 25 条" in first
    assert first.count("data-user=") == 20 and 'rel="next"' in first and 'rel="prev"' not in first
    second = cw.get("/devices?per=20&page=2").get_data(as_text=True)
    assert second.count("data-user=") == 5 and 'rel="prev"' in second and 'rel="next"' not in second
    assert cw.get("/devices?per=20&page=9").get_data(as_text=True).count("data-user=") == 5
    assert cw.get("/devices?page=-1&per=x").get_data(as_text=True).count("data-user=") == 25
    assert 'data-user="other_inv"' not in cw.get("/devices?per=100").get_data(as_text=True)   # scope kept


def test_the_rosters_list_pages_with_a_total(app, org):
    import datetime as dt

    from server.models.money import Roster

    with app.app_context():
        for i in range(23):
            year, month = 2024 + i // 12, i % 12 + 1
            db.session.add(Roster(unit_id=org.office, month=f"{year}-{month:02d}", profile_id="guancheng",
                                  due_on=dt.date(year, month, 1)))
        db.session.commit()
    cw = Console(app, "gc_case")
    first = cw.get("/rosters?per=20").get_data(as_text=True)
    assert 'data-total="23"' in first and first.count("data-month=") == 20 and 'rel="next"' in first
    assert 'data-month="2025-11"' in first and 'data-month="2024-01"' not in first     # newest first
    second = cw.get("/rosters?per=20&page=2").get_data(as_text=True)
    assert second.count("data-month=") == 3 and 'data-month="2024-01"' in second and 'rel="prev"' in second
    assert "共 23 条" in second and 'rel="next"' not in second


def test_the_dynamic_management_list_pages_with_a_total(app, org):
    import datetime as dt

    from tests.integration.test_console import on
    from tests.integration.test_rosters import paid_case

    for seq in range(1, 22):
        paid_case(app, org, seq=seq)
    on(app, dt.date(2027, 3, 1))
    cw = Console(app, "gc_case")
    first = cw.get("/dynamic?until=next_month&per=20").get_data(as_text=True)
    assert 'data-total="21"' in first and "共 21 条" in first and 'rel="next"' in first
    assert "until=next_month" in re.search(r'rel="next" href="([^"]+)"', first).group(1)   # the filter is kept
    second = cw.get("/dynamic?until=next_month&per=20&page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and 'rel="next"' not in second
    numbers = {n for p in (first, second) for n in re.findall(r'data-case="([^"]+)"', p)}
    assert len(numbers) == 21                                               # every household on one page or the other
