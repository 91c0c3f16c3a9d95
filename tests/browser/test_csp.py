"""The Content-Security-Policy holds in a real Chromium: console, print, error and public pages load
with no violation, the print button works from its static script, and a signed-out cookie is dead."""

from __future__ import annotations

from tests.integration.test_console import START, Console, on, register


def test_pages_load_without_csp_violations(app, live_server, page, org):
    on(app, START)
    case_id = register(app, Console(app, "gc_case"), org)
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(live_server + "/")
    page.fill("input[name=username]", "gc_case")
    page.fill("input[name=password]", "correct-horse-1")
    page.click("button[type=submit]")
    page.wait_for_selector("table.stages")
    for path in ("/cases", "/cases/new", f"/cases/{case_id}", "/boards", "/devices", "/no-such-page",
                 f"/cases/{case_id}/print/approval_form"):
        page.goto(live_server + path)
    page.evaluate("window.__printed = 0; window.__clicks = 0; window.print = () => { window.__printed += 1; };"
                  "document.addEventListener(\"click\", () => { window.__clicks += 1; })")
    page.click("[data-print]")
    assert page.evaluate("window.__clicks") == 1 and page.evaluate("window.__printed") >= 1
    page.goto(live_server + "/no-such-page")
    assert "页面不存在" in page.content() and "This page does not exist" in page.content()
    cookies = page.context.cookies()
    page.goto(live_server + "/")
    page.click("form.logout button")
    page.context.add_cookies(cookies)      # the cookie from before sign-out, put back
    page.goto(live_server + "/cases")
    assert page.locator("input[name=username]").count() == 1
    page.goto(live_server + "/b/unknown")
    assert violations == []
