"""Forms that say everything at once: intake answers every problem in one round, keeps what was typed, and
enforces the database's lengths (maxlength in the page from the model columns); months are calendar months."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from server.extensions import db
from server.models import Case
from tests.integration.test_console import START, Console, intake_form, on, register


def test_five_mistakes_are_answered_in_one_round(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    form = intake_form(org, community="", address="路" * 201, m1_id="410104196503080221", m2_id="410104196503080221",
                       income_wages_2="abc")
    r = gc.post("/cases/new", form)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    fields = re.findall(r'<li data-field="([^"]+)">', page)
    assert {"community", "address", "m1_id", "m2_name", "income_wages_2"} <= set(fields), fields
    assert "居住地址不能超过200个字" in page and "第2个月的金额无效" in page and "（2025年6月）" in page and "第3行成员缺少姓名" in page
    assert 'value="张建国"' in page and 'value="abc"' in page and "路" * 201 in page     # nothing typed is lost
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 0


def test_maxlength_in_the_page_is_the_column_length(app, org):
    on(app, START)
    page = Console(app, "gc_case").get("/cases/new").get_data(as_text=True)
    assert re.search(r'name="m0_name"[^>]*maxlength="50"', page)
    assert re.search(r'name="address"[^>]*maxlength="200"', page)
    assert re.search(r'name="phone"[^>]*maxlength="20"', page)
    assert re.search(r'name="m0_hukou"[^>]*maxlength="200"', page)


def test_a_ten_thousand_character_name_is_refused_not_stored(app, org):
    on(app, START)
    r = Console(app, "gc_case").post("/cases/new", intake_form(org, m0_name="名" * 10000))
    assert r.status_code == 422 and "不能超过50个字" in r.get_data(as_text=True)


def test_income_months_are_calendar_months(app, org):
    on(app, START)                                     # applied 2025-11-03: May to October 2025
    gc = Console(app, "gc_case")
    page = gc.get("/cases/new").get_data(as_text=True)
    assert re.findall(r'data-month="([\d-]+)"', page) == ["2025-05", "2025-06", "2025-07", "2025-08", "2025-09",
                                                          "2025-10"]
    assert "2025年5月" in page and "第1月" not in page
    with gc.client.session_transaction() as session:
        session["lang"] = "en"
    assert "May 2025" in gc.get("/cases/new").get_data(as_text=True)


def test_a_too_long_opinion_is_refused_with_the_text_kept(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    r = gc.act(case_id, "accept", {"materials": intake_form(org)["materials"], "applicant_signed": "1"})
    assert r.status_code == 302
    r = gc.act(case_id, "abandon", {"reason": "理" * 2500})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "不能超过2000个字" in page
    with app.app_context():
        assert db.session.get(Case, case_id).status == "accepted"
