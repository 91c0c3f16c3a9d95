"""A street office's working day in Chromium at 1366x900, in Chinese and English: a list of 250 cases paged,
filtered and exported; each role's start page and a click from an overdue row to the case; intake with five
mistakes answered in one round; each print with its title; a printed QR decoded and opened against this server
(started on a free, non-default port, with no RUHU_PUBLIC_BASE_URL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import zxingcpp
from PIL import Image

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, id_number
from tests.integration.test_case_list import TODAY, bulk_cases
from tests.integration.test_prints import certified  # noqa: F401  (a fixture: a guancheng case to the certificate)
from tests.integration.test_work_queues import staged

pytestmark = pytest.mark.browser
LANGS = {"zh": {"total": "共 {n} 条", "next": "下一页", "search": "搜索"},
         "en": {"total": "{n} in all", "next": "Next", "search": "Search"}}


def desk(browser, base: str, username: str, lang: str = "zh"):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(base + f"/?lang={lang}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    return context, page


def assert_header_fits(page) -> None:
    """The header on one line at 1366 px: no link wraps, nothing runs past the window's width."""
    heights = page.locator("header.top a").evaluate_all("links => links.map(a => a.getBoundingClientRect().height)")
    assert heights and max(heights) < 30, heights
    assert page.evaluate("document.querySelector('header.top').scrollWidth") <= 1366
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def listed(page) -> list[str]:
    return page.locator("table.cases tbody tr[data-case]").evaluate_all("rows => rows.map(r => r.dataset.case)")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_list_of_250_cases_pages_filters_and_exports(browser, live_server, app, org, lang, tmp_path):
    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        bulk_cases(org, 250)
    words = LANGS[lang]
    context, page = desk(browser, live_server, "gc_case", lang)
    try:
        page.click("nav.main a[href='/cases']")
        assert page.locator(".list-summary .total").inner_text() == words["total"].format(n=250)
        first = listed(page)
        assert len(first) == 50 and first[0].endswith("-00250")
        page.click("nav.pagination a[rel=next]")
        second = listed(page)
        assert len(second) == 50 and not set(first) & set(second)
        assert_header_fits(page)

        page.select_option("select[name=community]", str(org.c2))
        page.select_option("select[name=status]", "in_payment")
        page.fill("input[name=applied_from]", "2025-07-01")
        page.click("form.case-filter button[type=submit]")
        page.wait_for_load_state()
        expected = sorted(f"410104005-2025-{i:05d}" for i in range(1, 251)
                          if i % 2 == 0 and i % 5 == 0 and TODAY - dt.timedelta(days=i) >= dt.date(2025, 7, 1))
        assert page.locator(".list-summary .total").inner_text() == words["total"].format(n=len(expected))
        assert sorted(listed(page)) == expected
        screenshot(page, f"case-list-{lang}")

        page.click("th a[data-sort=applied_on]")            # sort by the application date, newest first
        page.wait_for_load_state()
        dates = page.locator("table.cases tbody tr td:nth-child(5)").all_inner_texts()
        assert dates == sorted(dates, reverse=True) and len(dates) == len(expected)

        for fmt in ("csv", "xlsx"):
            with page.expect_download() as info:
                page.click(f"a.export[data-format={fmt}]")
            path = tmp_path / f"export.{fmt}"
            info.value.save_as(path)
            if fmt == "csv":
                rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
                header, body = rows[0], [r[0] for r in rows[1:]]
            else:
                from openpyxl import load_workbook

                sheet = load_workbook(path).active
                values = list(sheet.iter_rows(values_only=True))
                header, body = list(values[0]), [r[0] for r in values[1:]]
            assert header[0] == ("Case number" if lang == "en" else "案件编号")
            assert body == listed(page)                      # exactly the filtered rows, in the list's order
    finally:
        context.close()


@pytest.mark.parametrize(("user", "lang"), [("gc_case", "zh"), ("gc_lead", "en"), ("gc_dir", "zh"), ("gc_bureau", "en")])
def test_each_roles_start_page_and_a_click_to_the_overdue_case(browser, live_server, app, org, user, lang):
    from server.extensions import db
    from server.models.money import Roster

    app.config["RUHU_TODAY"] = TODAY
    with app.app_context():
        late = staged(org, 1, "review_signing", verification_report_on=dt.date(2025, 10, 20))
        staged(org, 2, "publicity_closed", publicity_closed_on=dt.date(2025, 10, 20),
               verification_report_on=dt.date(2025, 10, 1))
        db.session.add(Roster(unit_id=org.office, month="2025-12", profile_id="guancheng", status="submitted",
                              due_on=dt.date(2025, 11, 25), payment_due_on=dt.date(2025, 10, 31)))
        db.session.commit()
    context, page = desk(browser, live_server, user, lang)
    try:
        assert_header_fits(page)
        rows = page.locator("table.queue tbody tr[data-queue]")
        assert rows.count() >= 1
        assert rows.first.get_attribute("class") == "overdue"           # overdue first
        screenshot(page, f"start-{user}-{lang}")
        target = {"gc_case": late[1], "gc_lead": late[1], "gc_dir": "410104005-2025-00002", "gc_bureau": "2025-12"}[user]
        page.locator(f"table.queue tr[data-queue='{target}'] a").first.click()
        page.wait_for_load_state()
        if user == "gc_bureau":
            assert re.search(r"/rosters/\d+$", page.url)
        else:
            assert page.url.endswith(f"/cases/{late[0] if target == late[1] else late[0] + 1}")
            assert target in page.locator("h1").inner_text()
    finally:
        context.close()


def test_intake_with_five_mistakes_is_answered_in_one_round(browser, live_server, app, org):
    app.config["RUHU_TODAY"] = TODAY
    context, page = desk(browser, live_server, "gc_case")
    try:
        page.goto(live_server + "/cases/new")
        page.select_option("select[name=community]", str(org.c1))
        page.fill("input[name=address]", "和平路1号")
        good = id_number("410104", dt.date(1962, 5, 1), 11)
        page.fill("input[name=m0_name]", "张建国")
        page.fill("input[name=m0_id]", good[:-1] + ("0" if good[-1] != "0" else "1"))   # 1: wrong check digit
        page.fill("input[name=m1_id]", id_number("410104", dt.date(1965, 3, 8), 22))    # 2: no name
        page.fill("input[name=m2_name]", "王五")
        page.fill("input[name=m2_id]", "41010419650308")                                 # 3: too short
        page.select_option("select[name=m2_relation]", "head")                           # 4: two heads
        page.fill("input[name=income_wages_2]", "三百")                                  # 5: not an amount
        page.click("form.intake button[type=submit]")
        page.wait_for_load_state()
        fields = page.locator("[role=alert] li").evaluate_all("items => items.map(i => i.dataset.field)")
        assert {"m0_id", "m1_name", "m2_id", "m0_relation", "income_wages_2"} <= set(fields), fields
        assert page.input_value("input[name=m2_name]") == "王五"                         # everything typed kept
        assert page.input_value("input[name=income_wages_2]") == "三百"
        assert page.locator("input[name=m0_name]").get_attribute("maxlength") == "50"
        assert page.locator("th[data-month]").first.inner_text() == "2025年5月"
        screenshot(page, "intake-five-mistakes")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_print_has_its_title_and_the_qr_opens_this_server(browser, live_server, app, certified, lang):  # noqa: F811
    _console, case_id = certified
    titles = {"zh": {"approval_form": "管城回族区最低生活保障申请审批表", "visit_form": "最低生活保障入户调查表",
                     "appraisal_record": "最低生活保障民主评议记录", "certificate": "城市居民最低生活保障金领取证"}}
    context, page = desk(browser, live_server, "gc_case", lang)
    try:
        for doc in ("approval_form", "visit_form", "appraisal_record", "certificate"):
            page.goto(live_server + f"/cases/{case_id}/print/{doc}")
            title = page.locator("h1").first.inner_text().strip()
            assert title, doc
            if lang == "zh":
                assert title == titles["zh"][doc]
            else:
                assert not re.search(r"[\u4e00-\u9fff]", title), (doc, title)
            assert page.locator("article.a4").bounding_box()["width"] <= 800        # 210 mm at 96 dpi = 794 px
        # The certificate's QR code, decoded from the pixels Chromium drew, names this server's own port.
        png = page.locator(".qr svg").screenshot()
        urls = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
        assert len(urls) == 1 and urls[0].startswith(live_server + "/v/"), (urls, live_server)
        assert not live_server.endswith(":5000")
        phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        resident = phone.new_page()
        resident.goto(urls[0])
        assert "有效" in resident.content() and "南关街街道办事处" in resident.content()
        phone.close()
    finally:
        context.close()
