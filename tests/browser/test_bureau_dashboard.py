"""The bureau in Chromium: the dashboard's charts, a spot-check draw with a result, and (宜君) the ranking."""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models.oversight import SpotCheckDraw
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.integration.test_oversight import TODAY, YEAR, build_world


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def no_errors(page) -> None:
    alerts = page.locator("[role=alert]")
    assert alerts.count() == 0, alerts.first.inner_text()


def test_the_bureau_draws_checks_and_reads_the_dashboard(app, browser, live_server, org):
    world = build_world(app, org)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, "gc_bureau")

    page.goto(f"{live_server}/oversight/spotchecks")
    page.select_option("form#draw select[name=unit]", str(world.office))
    page.fill("form#draw input[name=seed]", "2026")
    page.click("form#draw button[type=submit]")
    page.wait_for_selector("[data-seed]")
    no_errors(page)
    assert page.locator("[data-seed]").inner_text() == "2026"
    assert "结果一致" in page.locator("#verified").inner_text()
    rows = page.locator("table.households tbody tr")
    assert rows.count() == 4

    page.click("#assign summary")
    page.check(f"#assign input[name=team][value='{world.gc_bureau}']")
    page.check(f"#assign input[name=team][value='{world.gc_bureau2}']")
    page.click("#assign button[type=submit]")
    page.wait_for_load_state()
    no_errors(page)
    assert page.locator("table.households").inner_text().count("已派发") == 4

    with app.app_context():
        drawn = db.session.scalar(select(SpotCheckDraw)).drawn_case_ids
    for n, case_id in enumerate(drawn[:3]):
        page.click("#result summary")
        page.select_option("#result select[name=case]", str(case_id))
        page.check("#result input[name=members_match][value='1']" if n != 2 else "#result input[name=members_match][value='0']")
        page.check(f"#result input[name=accuracy][value={'accurate' if n != 2 else 'wrong'}]")
        page.fill("#result input[name=income_found_6m]", "1200" if n != 2 else "2600")
        page.fill("#result textarea[name=notes]", "入户核实" if n != 2 else "有未申报的务工收入")
        page.click("#result button[type=submit]")
        page.wait_for_load_state()
        no_errors(page)
    assert page.locator("td.result strong").count() == 3
    assert "与登记不符" in page.locator("table.households").inner_text()
    screenshot(page, "bureau-spot-check-draw")

    page.goto(f"{live_server}/oversight?year={YEAR}")
    assert page.locator("svg.chart").count() >= 6
    accuracy = page.locator("#accuracy + .hint, #accuracy ~ .pair").first.inner_text()
    assert "66.7%" in accuracy
    assert page.locator("#no-rosters").count() == 1
    screenshot(page, "bureau-dashboard")

    page.click("text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("svg.chart").count() >= 6
    context.close()


def test_the_yijun_bureau_ranks_its_townships(app, browser, live_server, org):
    world = build_world(app, org)
    app.config["RUHU_TODAY"] = TODAY
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, "yj_bureau")
    page.goto(f"{live_server}/oversight/assessment/units/{world.town}")
    page.click("#entered summary")
    page.select_option("#entered select[name=item]", "1:standardisation")
    page.fill("#entered input[name=points]", "4.5")
    page.fill("#entered textarea[name=evidence]", "台账不全，公示照片缺失")
    page.click("#entered button[type=submit]")
    page.wait_for_load_state()
    no_errors(page)
    assert "台账不全" in page.locator("#period-1 + table").inner_text()
    page.click("#bonus-form summary")
    page.fill("#bonus-form input[name=label]", "社会救助创新试点")
    page.fill("#bonus-form input[name=points]", "2")
    page.fill("#bonus-form textarea[name=evidence]", "市民政局通报表扬")
    page.click("#bonus-form button[type=submit]")
    page.wait_for_load_state()
    no_errors(page)
    assert page.locator("#total").inner_text() != ""

    page.goto(f"{live_server}/oversight/assessment")
    row = page.locator("table.ranking tr[data-unit='610222002']")
    assert "前三名" in row.inner_text()
    page.select_option("form#issue select[name=quarter]", "1")
    page.click("form#issue button[type=submit]")
    page.wait_for_load_state()
    no_errors(page)
    assert page.locator("table.notices tr[data-notice]").count() == 1
    screenshot(page, "bureau-assessment-ranking")
    page.click("table.notices a")
    assert "整改告知单" in page.locator("h1").inner_text()
    assert "规范化管理" in page.locator("#items").inner_text() and "台账不全" in page.locator("#items").inner_text()
    screenshot(page, "bureau-rectification-notice")
    context.close()
