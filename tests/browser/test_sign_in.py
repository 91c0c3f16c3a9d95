"""The sign-in page in a real Chromium: Chinese first, English on request, signing in reaches the unit."""

from __future__ import annotations

from tests.browser.conftest import screenshot


def test_sign_in_in_the_browser(live_server, page, org):
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "工作人员登录"
    screenshot(page, "sign-in-zh")

    page.fill("input[name=username]", "gc_case")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "用户名或密码错误"

    page.fill("input[name=password]", "correct-horse-1")
    page.click("button[type=submit]")
    page.wait_for_selector("table.stages")
    assert page.locator("h1").inner_text() == "南关街街道办事处"
    screenshot(page, "home-zh")

    page.click("text=English")
    assert page.locator("html").get_attribute("lang") == "en"
    first, *rest = page.locator("h2").all_inner_texts()
    assert first.startswith("Waiting for me") and rest == ["Time limits", "Cases by stage"]
    page.click("text=Sign out")
    assert page.locator("h1").inner_text() == "Staff sign-in"
