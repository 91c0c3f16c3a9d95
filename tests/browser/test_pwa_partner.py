"""The partner's confirm screen reads the record itself: a member found at the visit (a new grandchild) that
the partner's own copy of the assignment does not list is shown, by name, offline from the QR, and named as
new; the screen says the record came by QR."""

from __future__ import annotations

import datetime as dt

from tests.browser.conftest import screenshot
from tests.browser.test_pwa_attention import quick_survey
from tests.browser.test_pwa_flow import enrol_code, field_case, finalise, new_phone, pwa_app, pwa_server  # noqa: F401
from tests.conftest import id_number


def test_the_partner_sees_the_records_members_not_their_own_copy(browser, pwa_app, pwa_server, field_case):  # noqa: F811
    team = [field_case["inv1"], field_case["inv2"]]
    a, b = new_phone(browser, pwa_server), new_phone(browser, pwa_server)
    try:
        a.enrol(enrol_code(pwa_app, field_case["inv1"]))
        b.enrol(enrol_code(pwa_app, field_case["inv2"]))
        a.offline()
        b.offline()
        a.page.locator("#assignments .card").first.click()
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='members/0/name']")
        a.page.click("[data-add='members']")                       # a grandchild born since the application
        a.page.wait_for_selector("[data-path='members/2/name']")
        a.fill("members/2/name", "张小宝")
        a.fill("members/2/id_number", id_number("410104", dt.date(2024, 6, 1), 33))
        a.page.select_option("[data-path='members/2/relation'] select", "grandchild")
        a.choose("members/2/co_residing", "是")
        for field, label in (("health", "健康"), ("disabled", "否"), ("student", "否"), ("work", "无法就业"),
                             ("able_to_work", "否")):
            a.choose(f"members/2/{field}", label)
        for month, value in enumerate(("800", "0", "0", "0", "0", "0")):   # all six months, 0 where none
            a.page.locator("[data-path='income/wages'] input").nth(month).fill(value)
        quick_survey(a, team)
        finalise(a)
        qr_png = a.page.locator("#attest-qr").screenshot()

        b.open("#/scan")
        b.page.set_input_files("#scan-file", {"name": "qr.png", "mimeType": "image/png", "buffer": qr_png})
        b.page.wait_for_selector("#confirm-sign")
        assert b.page.locator("#confirm-via").get_attribute("data-source") == "qr_digest"
        assert "扫码" in b.page.locator("#confirm-via").inner_text()
        assert b.page.locator("#confirm-members").inner_text() == "张建国、李秀英、张小宝"
        assert "记录中新增成员：张小宝" in b.page.locator("#confirm-member-diff").inner_text()
        assert b.page.locator("#confirm-income").inner_text() == "800.00 元"
        assert b.page.locator("#confirm-recommendation").inner_text() == "符合条件"
        screenshot(b.page, "pwa-partner-new-member")
        assert not a.errors and not b.errors, a.errors + b.errors
    finally:
        a.context.close()
        b.context.close()
