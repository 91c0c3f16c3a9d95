"""A resident's phone (390x844, touch, JavaScript off): read a board, object to a family, keep the receipt."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser.conftest import screenshot
from tests.integration.test_boards import make_board, to_publicity

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True,
                                  device_scale_factor=2, java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def fits_the_screen(page) -> bool:
    """Nothing on the page is wider than the phone (no sideways scrolling)."""
    widest = max(page.locator(sel).first.bounding_box()["width"] for sel in ("main", "footer"))
    return widest <= PHONE["width"]


def test_read_object_and_check_the_receipt_on_a_phone(app, org, live_server, phone):
    from server.extensions import db
    from server.models import Case

    _, code, token = make_board(app, "610222002001", "village", "彭村社会救助公示栏")
    case_id = to_publicity(app, org, "yijun", [code])
    app.config["RUHU_TODAY"] = dt.date(2025, 11, 7)

    phone.goto(f"{live_server}/b/{token}")
    assert phone.locator("h1").inner_text() == "彭村 · 村委会公示栏"     # unit and kind: the typed name stays inside
    card = phone.locator(f"li[data-ref='{case_id}']")
    assert "张**" in card.inner_text() and "张建国" not in phone.content()
    assert "2名调查人员入户核实" in card.inner_text() and "0919-0000000" in phone.content()
    assert "还剩6天" in phone.locator(".dates").inner_text()
    assert fits_the_screen(phone)
    screenshot(phone, "public-board-phone")

    card.locator("a.object").tap()
    phone.wait_for_selector("form.report")
    assert phone.locator("select[name=case]").input_value() == str(case_id)
    phone.locator("textarea[name=text]").fill("该户家中有一辆小汽车，申请时没有申报。")
    phone.locator("input[name=phone]").fill("13011112222")
    assert fits_the_screen(phone)
    screenshot(phone, "public-report-form-phone")
    phone.locator("form.report button[type=submit]").tap()
    phone.wait_for_selector(".receipt")
    receipt = phone.locator(".receipt").inner_text()
    assert re.fullmatch(r"\d{6}-[A-Z0-9]{8}", receipt)
    assert phone.locator("dd.status").inner_text() == "正在调查核实"
    assert "13011112222" not in phone.content() and "小汽车" not in phone.content()
    screenshot(phone, "public-receipt-phone")

    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "objection" and case.events[-1].data["redecision_due"] == "2025-11-28"

    # the board now says the family's publicity is being re-investigated; the receipt can be looked up again
    phone.goto(f"{live_server}/b/{token}")
    assert "正在重新调查核实" in phone.locator(f"li[data-ref='{case_id}']").inner_text()
    phone.goto(f"{live_server}/r")
    phone.locator("input[name=n]").fill(receipt.lower().replace("-", ""))
    phone.locator("form.lookup button").tap()
    phone.wait_for_selector(".receipt")
    assert phone.locator(".receipt").inner_text() == receipt

    # The township answers in its console; the resident's phone reads the conclusion, never what the office typed.
    from sqlalchemy import select

    from server.models.boards import Board, Report
    from tests.integration.test_console import Console

    with app.app_context():
        report_id = db.session.scalar(select(Report.id).where(Report.receipt == receipt))
        board_id = db.session.scalar(select(Board.id).where(Board.token == token))
    office = Console(app, "yj_lead")
    typed = "经入户核实，该车辆登记在其女儿名下（电话13911112222），维持原决定。"
    assert office.post(f"/boards/reports/{report_id}/answer", {"outcome": "not_upheld", "answer": typed}).status_code == 302
    phone.reload()
    assert phone.locator("dd.status").inner_text() == "已答复"
    assert phone.locator("dd.outcome").inner_text() == "经核实，反映的情况不属实"
    assert "车辆" not in phone.content() and "13911112222" not in phone.content()
    assert phone.locator(f"a[href$='/b/{token}']").count() == 1       # back to the board it was sent from

    # A rotated board (its link leaked): an old receipt does not hand out the new link.
    assert office.post(f"/boards/{board_id}/rotate", {}).status_code == 302
    with app.app_context():
        new_token = db.session.get(Board, board_id).token
    phone.reload()
    assert new_token != token and new_token not in phone.content() and phone.locator("a[href*='/b/']").count() == 0
