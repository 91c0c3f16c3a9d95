"""A record the server refuses (422) is marked on that record, with the server's reasons, and does not hold
up the others; it can be corrected and sent again under a new visit id."""

from __future__ import annotations

import datetime as dt
import json

from tests.browser.test_pwa_flow import (  # noqa: F401 (fixtures)
    enrol_code,
    finalise,
    make_case,
    new_phone,
    pwa_app,
    pwa_server,
    server_state,
)


def quick_survey(p, team):
    """The least a household survey needs: both members' answers, the findings and the signatures."""
    for i in range(2):
        p.choose(f"members/{i}/health", "健康")
        p.choose(f"members/{i}/disabled", "否")
        p.choose(f"members/{i}/student", "否")
        p.choose(f"members/{i}/work", "失业")
        p.choose(f"members/{i}/able_to_work", "否")
    p.fill("findings/summary", "情况属实")
    p.choose("findings/recommendation", "符合条件")
    p.draw("applicant")
    for uid in team:
        p.draw(f"investigators:{uid}")
    p.wait_saved()


def test_a_refused_record_does_not_block_the_others(browser, pwa_app, pwa_server, org):  # noqa: F811
    first = make_case(pwa_app, org, [("王一", "head", dt.date(1970, 1, 2), 31), ("王二", "spouse", dt.date(1971, 2, 3), 42)])
    second = make_case(pwa_app, org, [("赵一", "head", dt.date(1960, 3, 4), 51), ("赵二", "child", dt.date(1990, 4, 5), 62)])
    team = [first["inv1"], first["inv2"]]
    a = new_phone(browser, pwa_server)
    try:
        a.enrol(enrol_code(pwa_app, first["inv1"]))
        assert a.page.locator("#assignments .card").count() == 2
        a.offline()
        visits = {}
        for case in (first, second):
            a.open("#/")
            a.page.locator(f"#assignments .card:has-text('{case['number']}')").click()
            a.page.click("#start-visit")
            a.page.wait_for_selector("[data-path='members/0/name']")
            quick_survey(a, team)
            visits[case["number"]] = finalise(a)
        refused = visits[first["number"]]["visit_id"]

        def refuse_first(route):
            if route.request.headers.get("idempotency-key") == refused:   # the visit id, JSON or multipart
                route.fulfill(status=422, content_type="application/json", body=json.dumps({
                    "error": "answers_invalid", "message": "调查表填写有误", "message_en": "the survey answers are not valid",
                    "problems": [{"path": "answers/findings/summary", "code": "too_short", "message": "综述过于简单",
                                  "message_en": "the summary is too short"}]}))
            else:
                route.continue_()

        a.context.route("**/api/v1/visits", refuse_first)
        a.offline(False)
        a.open("#/")
        a.sync()
        cards = {n: a.page.locator(f"#assignments .card:has-text('{n}') [data-status]") for n in visits}
        assert cards[first["number"]].get_attribute("data-status") == "attention"
        assert cards[second["number"]].get_attribute("data-status") == "synced"
        state = server_state(pwa_app, second["case_id"])
        assert [v["id"] for v in state["visits"]] == [visits[second["number"]]["visit_id"]]

        a.open(f"#/v/{refused}")
        assert "综述过于简单" in a.page.locator("#server-error").inner_text()
        a.page.click("#reopen")
        a.page.wait_for_selector("#finalise")
        assert refused not in a.page.url
        assert a.page.locator("[data-path='findings/summary'].invalid .err").inner_text() == "综述过于简单"
        a.page.locator("[data-path='findings/summary'] textarea").fill("户主失业，配偶无收入，情况属实。")
        a.wait_saved()
        a.context.unroute("**/api/v1/visits")
        again = finalise(a)
        assert again["visit_id"] != refused
        a.sync()
        assert a.visit_status() == "synced"
        state = server_state(pwa_app, first["case_id"])
        assert [v["id"] for v in state["visits"]] == [again["visit_id"]]
        assert not a.errors, a.errors
    finally:
        a.context.close()
