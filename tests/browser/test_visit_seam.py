"""The seam from the phones to the office (issue 11, "done when"), in one Chromium: two investigators visit a
household offline on two phones and find a grandchild living there, the partner attests by QR, the outbox
drains; then the case's caseworker opens the case page, its reconciliation and the printed 入户调查表 and reads
the summary, the recommendation in Chinese, the new member by name, the income, the photo with its capture
time and the signatures; accepts the new member by clicking; and the household and the per-capita income
shown for the review follow the accepted family."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from server.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.test_console_day import desk
from tests.browser.test_pwa_flow import (  # noqa: F401 (fixtures)
    TAKEN,
    PhoneApp,
    camera_jpeg,
    enrol_code,
    field_case,
    file_payload,
    finalise,
    new_phone,
    pwa_app,
    pwa_server,
)
from tests.conftest import id_number
from tests.integration.test_pages_i18n import visible_text
from tests.integration.test_visit_office import PATHS, RAW

pytestmark = pytest.mark.browser

GRANDCHILD = ("张小宝", id_number("410104", dt.date(2019, 6, 1), 33))
WAGES = ["300", "300", "0", "450.50", "300", "0"]
PENSIONS = ["600"] * 6
SUMMARY = "户主因病丧失劳动能力，配偶打零工，孙子随祖父母共同生活。"
STATUS_WORDS = re.compile(r"\b(accepted|complete|incomplete|superseded|recorded|pending|rejected|ready|synced|"
                          r"eligible|ineligible|visited|draft)\b")


def survey_with_a_grandchild(p: PhoneApp, photo: bytes, team: list[int]):
    """The whole household survey as the investigators tap it in, with a third member found at the visit."""
    assert p.page.locator("[data-path='members/0/name'] input").input_value() == "张建国"   # from the pull
    for i, (health, disabled, work, able) in enumerate([("慢性病", "否", "无法就业", "否"), ("健康", "否", "在业", "是")]):
        p.choose(f"members/{i}/health", health)
        p.choose(f"members/{i}/disabled", disabled)
        p.choose(f"members/{i}/student", "否")
        p.choose(f"members/{i}/work", work)
        p.choose(f"members/{i}/able_to_work", able)
    p.page.click("[data-add='members']")
    p.page.wait_for_selector("[data-path='members/2/name']")
    p.fill("members/2/name", GRANDCHILD[0])
    p.fill("members/2/id_number", GRANDCHILD[1])
    p.page.select_option("select[name='members/2/relation']", "grandchild")
    p.choose("members/2/co_residing", "是")
    p.choose("members/2/health", "健康")
    p.choose("members/2/disabled", "否")
    p.choose("members/2/student", "是")
    p.fill("members/2/school", "南关小学一年级")
    p.choose("members/2/work", "无法就业")
    p.choose("members/2/able_to_work", "否")
    for month, amount in enumerate(WAGES):
        p.page.locator("[data-path='income/wages'] input").nth(month).fill(amount)
    for month, amount in enumerate(PENSIONS):
        p.page.locator("[data-path='income/pensions'] input").nth(month).fill(amount)
    p.fill("property/housing", "自有住房一套，约45平方米")
    p.fill("property/vehicles_count", "0")
    p.page.locator("[data-path='living/conditions'] label", has_text="无取暖设施").click()
    p.fill("findings/summary", SUMMARY)
    p.choose("findings/recommendation", "符合条件")
    p.page.set_input_files("#file-house_inside-photo", [file_payload("inside.jpg", photo)])
    p.page.wait_for_function(
        "document.querySelectorAll(\".photos[data-slot='house_inside'][data-role='photo'] figure\").length === 1")
    p.draw("applicant")
    for n, uid in enumerate(team):
        p.draw(f"investigators:{uid}", wiggle=n * 5)
    p.wait_saved()


def assert_plain_chinese(page) -> None:
    """No raw internal path in the page; no raw boolean, option value or English status word in what it shows."""
    source = page.content()
    for path in PATHS:
        assert path not in source, f"raw internal path {path!r} on {page.url}"
    text = html.unescape(visible_text(source))
    assert not RAW.findall(text), (page.url, RAW.findall(text))
    assert not STATUS_WORDS.findall(text), (page.url, STATUS_WORDS.findall(text))


def assert_images_loaded(locator, n: int) -> None:
    assert locator.count() == n, locator.count()
    assert locator.evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")


def appraise(app, case_id: int) -> None:
    """The democratic appraisal, recorded as the caseworker would (not this test's subject)."""
    from server.models import Case, User
    from server.operations.cases import perform

    with app.app_context():
        case = db.session.get(Case, case_id)
        caseworker = db.session.scalar(select(User).where(User.username == "gc_case"))
        panel = [{"name": "街道干部", "category": "office_staff", "signed": True}] + \
            [{"name": f"居民代表{i}", "category": "resident", "signed": True} for i in range(4)]
        day = max(case.visit_on, app.config["RUHU_TODAY"])   # the visit's China date may be a day ahead of UTC's
        perform(case, "record_appraisal", caseworker, {"panel": panel, "conclusion": "agree", "minutes": "评议属实",
                                                       "appraisal_on": day}, today=day)
        db.session.commit()


def test_a_visit_done_offline_is_read_reconciled_and_printed_in_the_office(browser, pwa_app, pwa_server,  # noqa: F811
                                                                          field_case):  # noqa: F811
    team = [field_case["inv1"], field_case["inv2"]]
    a = new_phone(browser, pwa_server)
    b = new_phone(browser, pwa_server)
    office = None
    try:
        a.enrol(enrol_code(pwa_app, field_case["inv1"]), "调查员一的手机")
        b.enrol(enrol_code(pwa_app, field_case["inv2"]), "调查员二的手机")
        a.wait_service_worker()
        b.wait_service_worker()

        # --- the visit, offline on both phones
        a.offline()
        b.offline()
        a.page.wait_for_selector("#net.off")
        a.page.locator("#assignments .card").first.click()
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='members/0/name']")
        photo = camera_jpeg(seed=7, taken=TAKEN.strftime("%Y:%m:%d %H:%M:%S"))
        survey_with_a_grandchild(a, photo, team)
        visit = finalise(a)

        qr_png = a.page.locator("#attest-qr").screenshot()
        b.open("#/scan")
        b.page.set_input_files("#scan-file", {"name": "qr.png", "mimeType": "image/png", "buffer": qr_png})
        b.page.wait_for_selector("#confirm-sign")
        assert b.page.locator("#confirm-via").get_attribute("data-via") == "qr"
        assert GRANDCHILD[0] in b.page.locator("#confirm-members").inner_text()
        b.page.click("#confirm-sign")
        b.page.wait_for_selector(f"#partner-list [data-visit='{visit['visit_id']}'][data-status='pending']")

        # --- online: the outboxes drain
        a.offline(False)
        b.offline(False)
        a.sync()
        a.page.wait_for_selector("[data-status='synced']")
        b.sync()
        b.page.wait_for_selector(f"#partner-list [data-visit='{visit['visit_id']}'][data-status='synced']")
        assert not a.errors and not b.errors, a.errors + b.errors
        with pwa_app.app_context():
            from server.models import Visit
            stored = db.session.scalars(select(Visit).where(Visit.case_id == field_case["case_id"])).all()
            assert [v.status for v in stored] == ["accepted"]

        # --- the caseworker, in the same browser
        office, page = desk(browser, pwa_server, "gc_case")
        total = sum(Decimal(x) for x in WAGES + PENSIONS)
        taken = f"拍摄时间：{TAKEN:%Y-%m-%d %H:%M}"

        page.goto(f"{pwa_server}/cases/{field_case['case_id']}")
        card = page.locator(f".visit[data-visit='{visit['visit_id']}']")
        found = card.locator("dl.findings")
        assert found.locator(".summary").inner_text() == SUMMARY
        assert found.locator(".recommendation").inner_text() == "符合条件"
        new_row = card.locator("table.members.found tr.new-member")
        assert new_row.count() == 1 and GRANDCHILD[0] in new_row.inner_text() and "孙子女" in new_row.inner_text()
        incomes = card.locator("table.income.found").inner_text()
        assert "工资性收入" in incomes and "450.50" in incomes and "养老金" in incomes and f"{total:.2f}" in incomes
        assert taken in card.locator("figure.photo figcaption").inner_text()
        assert_images_loaded(card.locator("figure.photo img"), 1)
        captions = card.locator("figure.signature figcaption").all_inner_texts()
        assert len(captions) == 3 and any("申请人" in c for c in captions), captions
        assert_images_loaded(card.locator("figure.signature img"), 3)
        declared_row = page.locator("tr[data-row='income-wages']").inner_text()
        assert "1350.50" in declared_row
        assert_plain_chinese(page)
        screenshot(page, "seam-case-page")

        # the reconciliation: the new member as one row by name, the income by its Chinese label
        form = page.locator(f"#reconcile-{visit['visit_id']}")
        assert form.locator("tr.new_member").count() == 1
        assert f"新增成员：{GRANDCHILD[0]}（孙子女）" in form.locator("tr.new_member").inner_text()
        assert "工资性收入" in form.inner_text()
        form.evaluate("e => e.scrollIntoView()")
        screenshot(page, "seam-reconcile")

        # the printed 入户调查表
        printed = office.new_page()
        printed.goto(f"{pwa_server}/cases/{field_case['case_id']}/print/visit_form")
        text = printed.locator("body").inner_text()
        for shown in (SUMMARY, "符合条件", GRANDCHILD[0], "新增成员", "450.50", f"{total:.2f}", taken):
            assert shown in text, shown
        assert printed.locator(".income-total").inner_text() == f"{total:.2f}"
        assert_images_loaded(printed.locator("img.signature.applicant"), 1)
        assert_images_loaded(printed.locator("img.signature:not(.applicant)"), 2)
        assert_images_loaded(printed.locator("figure.photo img"), 1)
        assert_plain_chinese(printed)
        screenshot(printed, "seam-visit-form")
        printed.close()

        # --- accept the new member, as a user would: pick "加入家庭" on its row and confirm
        form.locator("tr.new_member label", has_text="加入家庭").click()
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        page.wait_for_selector("#household")
        household = page.locator("#household table").first.inner_text()
        assert GRANDCHILD[0] in household and "孙子女" in household
        assert page.locator("#household table tbody tr").count() == 3
        # the right per-capita figure for the accepted family: the found income over 6 months and 3 people
        expected = (total / 6 / 3).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert page.locator("td.per-capita").inner_text() == f"{expected}（3人）"
        assert page.locator("p.standing").get_attribute("data-per-capita") == f"{expected}"
        assert f"认定人均月收入 {expected} 元（3人）" in page.locator("p.standing").inner_text()
        assert "核对入户调查结果" in page.locator("#history").inner_text()
        assert_plain_chinese(page)
        screenshot(page, "seam-case-after-reconcile")

        # the caseworker's review (经办人审核, after the democratic appraisal) checks eligibility on that family
        appraise(pwa_app, field_case["case_id"])
        page.reload()
        review = page.locator("form:has(input[name=assessed_income_6m])")
        assert review.locator("input[name=assessed_income_6m]").input_value() == f"{total:.2f}"
        assert f"家庭月人均收入 {expected} 元" in review.locator(".eligibility").inner_text()
        assert_plain_chinese(page)
    finally:
        for ctx in (a.context, b.context, office):
            if ctx is not None:
                ctx.close()
