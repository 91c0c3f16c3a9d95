"""One record per assignment, on the phone: the partner's phone shows that a teammate already sent a record
for the household (the pull's ``records``), discourages a second one, and when the server refuses a second
independent record (409 naming the existing one) the outbox keeps it, says so in Chinese and does not loop.

The server half (``records`` in the pull, the 409) is helper H1's; the pull and the 409 are shaped here as
the agreed contract says, so the phone's side is tested whatever the server on this branch does."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.test_pwa_attention import quick_survey
from tests.browser.test_pwa_flow import (  # noqa: F401 (fixtures)
    enrol_code,
    field_case,
    new_phone,
    pwa_app,
    pwa_server,
)
from tests.browser.test_pwa_online import finalise_online, first_record_sent_online, open_assignment


def test_a_teammates_record_is_shown_and_a_second_record_is_kept_not_looped(browser, pwa_app, pwa_server,  # noqa: F811
                                                                            field_case):  # noqa: F811
    team = [field_case["inv1"], field_case["inv2"]]
    a, b = new_phone(browser, pwa_server), new_phone(browser, pwa_server)
    try:
        first = first_record_sent_online(pwa_app, a, b, field_case)

        def with_records(route):
            response = route.fetch(url=route.request.url.split("?")[0])   # the full list, as after a teammate's upload
            body = response.json()
            for item in body.get("assignments", []):
                item["records"] = [{"visit_id": first, "status": "incomplete", "investigators": ["gc_inv1", "gc_inv2"],
                                    "received_at": "2026-11-20T01:40:00+00:00"}]
            route.fulfill(response=response, body=json.dumps(body), content_type="application/json")

        posts: list[str] = []

        def second_refused(route):
            visit_id = route.request.headers.get("idempotency-key")   # the visit id, JSON or multipart
            posts.append(visit_id)
            route.fulfill(status=409, content_type="application/json", body=json.dumps({
                "error": "record_exists", "message": "这项调查任务已有一份调查记录", "message_en": "this assignment already has a record",
                "visit_id": first}))

        b.page.route("**/api/v1/sync/pull*", with_records)
        b.open("#/")
        b.sync()
        card = b.page.locator(f"#assignments .card:has-text('{field_case['number']}')")
        # The list re-renders once the pull is stored: wait for it (Playwright retries up to 5 s).
        expect(card).to_contain_text("gc_inv1、gc_inv2 已上传记录（2026-11-20 09:40）")   # in China time
        card.click()
        b.page.wait_for_selector("#teammate-records")
        assert "等待补传照片或确认" in b.page.locator("#teammate-records").inner_text()
        assert "一户只应有一份调查记录" in b.page.locator("#teammate-records").inner_text()
        assert b.page.locator("#start-visit").inner_text() == "仍要另起一份记录"   # discouraged, not the big button
        assert "primary" not in b.page.locator("#start-visit").get_attribute("class")

        b.page.route("**/api/v1/visits", second_refused)
        b.page.click("#start-visit")                      # the confirm dialog is accepted by the test phone
        b.page.wait_for_selector("[data-path='members/0/name']")
        quick_survey(b, team)
        b.page.click("#finalise")
        b.page.wait_for_selector("[data-visit][data-status='attention']")
        second = b.page.locator("[data-visit]").first.get_attribute("data-visit")
        text = b.page.locator("#server-error").inner_text()
        assert f"编号 {first[:8]}" in text and "本记录已保留在本机" in text and "不会自动重发" in text
        assert b.page.locator("#reopen").count() == 0
        sent = len(posts)
        assert sent >= 1 and set(posts) == {second}
        b.sync()
        b.sync()
        assert len(posts) == sent                          # no loop: an attention record is not resent by itself
        kept = b.idb(f"return (await db.getVisit({json.dumps(second)})).status;")
        assert kept == "attention"
        assert not a.errors and not b.errors, a.errors + b.errors
    finally:
        a.context.close()
        b.context.close()


def test_against_the_server_a_second_record_is_refused_and_kept(browser, pwa_app, pwa_server, field_case):  # noqa: F811
    """The same, with nothing stood in: the server's pull lists the teammate's record and its 409 names it."""
    team = [field_case["inv1"], field_case["inv2"]]
    a, b = new_phone(browser, pwa_server), new_phone(browser, pwa_server)
    try:
        a.enrol(enrol_code(pwa_app, field_case["inv1"]))
        b.enrol(enrol_code(pwa_app, field_case["inv2"]))
        b.open("#/")
        b.page.locator("#assignments .card").first.click()
        b.page.click("#start-visit")                       # B starts too, before A's record exists
        b.page.wait_for_selector("[data-path='members/0/name']")
        b.offline()
        quick_survey(b, team)
        b.page.click("#finalise")
        b.page.wait_for_selector("#attest-qr")
        second = b.page.locator("[data-visit]").first.get_attribute("data-visit")

        open_assignment(a, field_case["number"])
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='members/0/name']")
        quick_survey(a, team)
        first = finalise_online(a)

        b.offline(False)
        b.sync()
        b.open(f"#/v/{second}")
        b.page.wait_for_selector(f"[data-visit='{second}'][data-status='attention'] #server-error")
        text = b.page.locator("#server-error").inner_text()
        assert f"编号 {first[:8]}" in text and "本记录已保留在本机" in text
        # the pull lists the teammate's record (a full pull: the incremental one only resends changed assignments)
        b.idb("await db.deleteMeta('cursor');")
        b.open("#/")
        b.sync()
        card = b.page.locator(f"#assignments .card:has-text('{field_case['number']}')")
        card.click()
        b.page.wait_for_selector("#teammate-records")
        assert "gc_inv1" in b.page.locator("#teammate-records").inner_text()
        assert not a.errors and not b.errors, a.errors + b.errors
    finally:
        a.context.close()
        b.context.close()
