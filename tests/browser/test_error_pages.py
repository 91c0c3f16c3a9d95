"""Every error page a signed-in user can reach by a link or a typed address, in Chromium, in Chinese and
English: the console's own layout (header and navigation), the status with its title in both languages,
and a way back that works."""

from __future__ import annotations

import pytest

from tests.browser.test_console_day import desk

pytestmark = pytest.mark.browser

# (who, address, status, Chinese title, English title)
PAGES = [
    ("gc_case", "/cases?q=%00", 400, "请求内容无效", "The request is not valid"),
    ("gc_case", "/oversight", 403, "无权访问此页面", "You may not open this page"),
    ("gc_case", "/cases/2147483648", 404, "页面不存在", "This page does not exist"),
    ("gc_case", "/no-such-page", 404, "页面不存在", "This page does not exist"),
    ("gc_case", "/logout", 405, "不支持此请求方法", "This method is not allowed here"),
]
BACK = {"zh": "返回首页", "en": "Back to the start page"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_error_pages_in_the_console_layout_with_a_way_back(browser, live_server, org, lang):
    context, page = desk(browser, live_server, "gc_case", lang)
    try:
        page.wait_for_selector("#my-queue")   # signed in (desk() returns as soon as any h1 is there)
        for _who, address, status, zh, en in PAGES:
            response = page.goto(live_server + address)
            assert response.status == status, address
            assert page.locator("header.top nav, header.top a").count() > 0, address   # the console's header
            section = page.locator(f".error-page[data-status='{status}']")
            heading = section.locator("h1").inner_text()
            assert zh in heading and en in heading, (address, heading)   # both languages, whichever is chosen
            assert "Werkzeug" not in page.content() and "Traceback" not in page.content()
            page.click(f"text={BACK[lang]}")
            page.wait_for_selector("#my-queue", timeout=5000)            # back on the start page, still signed in
    finally:
        context.close()


def test_get_login_opens_the_sign_in_form(page, live_server):
    response = page.goto(live_server + "/login")
    assert response.status == 200
    assert page.locator("input[name=username]").count() == 1 and page.locator("input[name=password]").count() == 1
