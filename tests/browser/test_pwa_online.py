"""The field app online: the partner signs a visit found in the pull (no QR), the sender amends a record
already on the server (``supersedes``), and a bureau inspector's phone does a spot check with a two-rates
survey on the same trip — each checked on the server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from server.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.test_pwa_attention import quick_survey
from tests.browser.test_pwa_flow import (  # noqa: F401 (fixtures)
    TODAY,
    PhoneApp,
    enrol_code,
    field_case,
    new_phone,
    pwa_app,
    pwa_server,
    server_state,
)


def open_assignment(p: PhoneApp, number: str):
    p.open("#/")
    p.page.locator(f"#assignments .card:has-text('{number}')").click()


def finalise_online(p: PhoneApp) -> str:
    p.page.click("#finalise")
    p.page.wait_for_selector("#attest-qr")
    visit_id = p.page.locator("[data-visit]").first.get_attribute("data-visit")
    p.page.wait_for_selector(f"[data-visit='{visit_id}'][data-status='synced']")
    return visit_id


def first_record_sent_online(app, a: PhoneApp, b: PhoneApp, case: dict) -> str:
    """Both phones enrolled (the case's two investigators); phone ``a`` fills the survey and sends it online;
    returns the visit id."""
    a.enrol(enrol_code(app, case["inv1"]))
    b.enrol(enrol_code(app, case["inv2"]))
    open_assignment(a, case["number"])
    a.page.click("#start-visit")
    a.page.wait_for_selector("[data-path='members/0/name']")
    quick_survey(a, [case["inv1"], case["inv2"]])
    return finalise_online(a)


def confirm_from_pull(p: PhoneApp, visit_id: str, expect_summary: str | None = None, survey: bool = True,
                      expect_words: tuple[str, ...] = ()):
    p.open("#/")
    p.sync()
    p.page.locator(f"#to-attest [data-visit='{visit_id}']").click()
    p.page.wait_for_selector("#confirm-sign")
    # it says truthfully how the record came (the list, no QR) and shows the record's own findings
    assert p.page.locator("#confirm-via").get_attribute("data-via") == "list"
    assert p.page.locator("#confirm-via").get_attribute("data-source") == "list_envelope"
    assert "未扫码" in p.page.locator("#confirm-via").inner_text()
    assert "服务器上的记录与列表中的一致" in p.page.locator("#server-check").inner_text()
    assert "二维码" not in p.page.locator("#server-check").inner_text()
    if survey:
        assert p.page.locator("#confirm-members").inner_text() == "张建国（户主）、李秀英（配偶）"
        assert p.page.locator("#confirm-recommendation").inner_text() == "符合条件"
        assert p.page.locator("#confirm-income").inner_text() == "0.00 元"
    for words in expect_words:
        assert words in p.page.locator("#confirm-answers").inner_text()
    if expect_summary:
        assert expect_summary in p.page.locator("#confirm-summary").inner_text()
    p.page.click("#confirm-sign")
    p.page.wait_for_selector(f"#partner-list [data-visit='{visit_id}'][data-status='synced']")
    assert p.page.locator(f"#to-attest [data-visit='{visit_id}']").count() == 0


def test_the_partner_signs_from_the_pull_and_a_sent_record_is_amended(browser, pwa_app, pwa_server, field_case):  # noqa: F811
    team = [field_case["inv1"], field_case["inv2"]]
    a, b = new_phone(browser, pwa_server), new_phone(browser, pwa_server)
    try:
        first = first_record_sent_online(pwa_app, a, b, field_case)

        # the partner's phone lists it after a sync and signs it there: no QR, no camera
        confirm_from_pull(b, first, expect_summary="情况属实")
        screenshot(b.page, "pwa-partner-online")
        state = server_state(pwa_app, field_case["case_id"])
        assert [(v["id"], v["status"]) for v in state["visits"]] == [(first, "accepted")]
        assert state["case_status"] == "visited" and len(state["attestations"]) == 2

        # the sender corrects the record after sending it: a new record that supersedes the first
        a.open(f"#/v/{first}")
        a.sync()                                  # learns that the first record was taken into the case
        a.page.wait_for_selector("[data-visit][data-server='accepted']")
        a.page.click("#amend")
        a.page.wait_for_selector("#amends")
        summary = a.page.locator("[data-path='findings/summary'] textarea")
        assert summary.input_value() == "情况属实"                         # the answers carried over
        assert "重新签字" in a.page.locator("#amends").inner_text()
        assert a.page.locator("[data-signature][data-signed='1']").count() == 0   # a new statement: signed afresh
        summary.fill("情况属实；补充：配偶每月打零工收入约300元")
        a.page.click("#finalise")                                          # unsigned: refused on the phone
        a.page.wait_for_selector("#problems li")
        assert a.page.locator("#problems li[data-code='unsigned']").count() == 2
        assert a.page.locator("[data-visit]").first.get_attribute("data-status") == "draft"
        a.draw("applicant")
        for uid in team:
            a.draw(f"investigators:{uid}")
        a.wait_saved()
        second = finalise_online(a)
        assert second != first
        a.open(f"#/v/{first}")
        a.page.wait_for_selector(f"[data-visit='{first}'] #server-status")   # a hash change: wait for the redraw
        assert "同组人员确认、记入案件后才替换本记录" in a.page.locator("#server-status").inner_text()
        assert a.page.locator("#amend").get_attribute("href")          # the open amendment, not a second one

        confirm_from_pull(b, second, expect_summary="配偶每月打零工")
        a.open(f"#/v/{second}")
        a.page.wait_for_selector(f"[data-visit='{second}']")
        a.sync()                                  # learns that the amendment was accepted
        a.page.wait_for_selector(f"[data-visit='{second}'][data-server='accepted']")
        a.open(f"#/v/{first}")
        a.page.wait_for_selector(f"[data-visit='{first}'] #server-status")
        assert "已被修改后的新记录替换" in a.page.locator("#server-status").inner_text()
        assert a.page.locator("#amend").count() == 0
        assert not a.errors and not b.errors, a.errors + b.errors
        state = server_state(pwa_app, field_case["case_id"])
        statuses = {v["id"]: v["status"] for v in state["visits"]}
        assert statuses == {first: "superseded", second: "accepted"}
        amended = next(v for v in state["visits"] if v["id"] == second)
        assert amended["envelope"]["supersedes"] == first
        assert amended["envelope"]["answers"]["findings"]["summary"].endswith("约300元")
        old_sigs = {i["sha256"] for i in next(v for v in state["visits"] if v["id"] == first)["envelope"]["attachments"]
                    if i["role"] == "signature"}
        new_sigs = {i["sha256"] for i in amended["envelope"]["attachments"] if i["role"] == "signature"}
        assert len(new_sigs) == 3 and not (old_sigs & new_sigs)            # fresh signatures, none reused
        signers = sorted(x["user"] for x in state["attestations"] if x["visit"] == second)
        assert signers == sorted(team) and all(x["valid"] for x in state["attestations"])
    finally:
        a.context.close()
        b.context.close()


def spot_check_world(app, org) -> dict:
    """One household of 南关街 in payment, drawn and sent to two bureau inspectors."""
    from server.models import Unit, User
    from server.operations.accounts import add_user
    from server.operations.oversight import assign_spot_checks, draw_spot_checks
    from tests.integration.test_oversight import paying_case

    with app.app_context():
        add_user("gc_bureau2", "bureau_supervisor", "410104", "correct-horse-1", "管城区抽查员")
        second = db.session.scalar(select(User.id).where(User.username == "gc_bureau2"))
        office, c1 = db.session.get(Unit, org.office), db.session.get(Unit, org.c1)
        case = paying_case(office, c1, 1, decided_on=TODAY - dt.timedelta(days=200))
        db.session.commit()
        bureau = db.session.get(User, org.gc_bureau)
        draw = draw_spot_checks(office, TODAY.year, actor=bureau, today=TODAY, seed=11, share=Decimal("1"))
        assign_spot_checks(draw, bureau, [org.gc_bureau, second], today=TODAY)
        return {"draw_id": draw.id, "case_id": case.id, "number": case.number, "one": org.gc_bureau, "two": second}


def test_an_attestation_the_server_could_not_take_just_then_is_sent_again(browser, pwa_app, pwa_server,  # noqa: F811
                                                                          field_case):  # noqa: F811
    """409 edited_meanwhile (the office changed the case while the server worked out the acceptance): the
    partner's phone keeps the signature pending and sends it again, instead of asking the investigator."""
    import json

    a = new_phone(browser, pwa_server)
    b = new_phone(browser, pwa_server, service_workers="block")   # so that the route sees every request
    try:
        visit_id = first_record_sent_online(pwa_app, a, b, field_case)
        seen = {"busy": 0, "sent": 0}

        def busy_once(route):
            if route.request.method == "POST" and route.request.url.endswith("/api/v1/attestations"):
                seen["sent"] += 1
                if seen["busy"] == 0:
                    seen["busy"] += 1
                    route.fulfill(status=409, content_type="application/json", body=json.dumps({
                        "error": "edited_meanwhile", "message": "该记录刚被其他人修改，请刷新后重试",
                        "message_en": "someone else changed this record just now: reload and try again"}))
                    return
            route.continue_()

        b.context.route("**/api/v1/**", busy_once)
        b.open("#/")
        b.sync()
        b.page.locator(f"#to-attest [data-visit='{visit_id}']").click()
        b.page.click("#confirm-sign")
        b.page.wait_for_selector(f"#partner-list [data-visit='{visit_id}'][data-status='pending']")
        assert seen == {"busy": 1, "sent": 1}
        for _ in range(5):
            b.sync()
            if b.page.locator(f"#partner-list [data-visit='{visit_id}'][data-status='synced']").count():
                break
        b.page.wait_for_selector(f"#partner-list [data-visit='{visit_id}'][data-status='synced']")
        assert seen["sent"] == 2 and not b.errors, (seen, b.errors)
        state = server_state(pwa_app, field_case["case_id"])
        assert [(v["id"], v["status"]) for v in state["visits"]] == [(visit_id, "accepted")]
        assert state["case_status"] == "visited" and len(state["attestations"]) == 2
    finally:
        a.context.close()
        b.context.close()


def test_a_spot_check_and_a_two_rates_survey_on_a_bureau_phone(browser, pwa_app, pwa_server, org):  # noqa: F811
    from server.models import User
    from server.models.oversight import SpotCheckDraw, SpotCheckResult, TwoRatesResponse
    from server.operations.oversight import collect_synced

    world = spot_check_world(pwa_app, org)
    a, b = new_phone(browser, pwa_server), new_phone(browser, pwa_server)
    try:
        a.enrol(enrol_code(pwa_app, world["one"]))
        b.enrol(enrol_code(pwa_app, world["two"]))
        card = a.page.locator(f"#assignments .card:has-text('{world['number']}')")
        assert "抽查" in card.inner_text()
        card.click()
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='household/household_found']")
        a.choose("household/household_found", "是")
        a.choose("household/members_match", "否")
        for month, amount in enumerate(["500", "500", "500", "500", "500", "500.50"]):
            a.page.locator("[data-path='income/total'] input").nth(month).fill(amount)
        a.choose("findings/accuracy", "信息有误")
        a.fill("findings/notes", "实际共同生活人数少一人")
        for uid in (world["one"], world["two"]):
            a.draw(f"investigators:{uid}")
        a.wait_saved()
        spot = finalise_online(a)

        # the two-rates survey of a neighbour, on the same assignment
        open_assignment(a, world["number"])
        a.page.click("[data-extra-form='two_rates']")
        a.page.wait_for_selector("[data-path='respondent/kind']")
        a.choose("respondent/kind", "邻里")
        a.choose("awareness/knows_policy", "基本了解")
        a.choose("satisfaction/rating", "不满意")
        a.fill("satisfaction/comments", "希望公示更及时")
        a.wait_saved()
        survey = finalise_online(a)
        screenshot(a.page, "pwa-two-rates")
        open_assignment(a, world["number"])      # both records listed; another survey can be started
        a.page.wait_for_selector("[data-extra-form='two_rates']")
        assert a.page.locator(".record").count() == 2

        confirm_from_pull(b, spot, survey=False)
        confirm_from_pull(b, survey, survey=False)
        assert not a.errors and not b.errors, a.errors + b.errors

        with pwa_app.app_context():
            draw = db.session.get(SpotCheckDraw, world["draw_id"])
            assert collect_synced(draw, db.session.get(User, world["one"])) == (1, 1)
            result = db.session.scalar(select(SpotCheckResult))
            assert (result.case_id, result.accuracy, result.members_match, result.income_found_6m, result.visit_id) == \
                (world["case_id"], "wrong", False, Decimal("3000.50"), spot)
            answer = db.session.scalar(select(TwoRatesResponse))
            assert (answer.respondent, answer.aware, answer.satisfied, answer.visit_id) == ("neighbour", True, False, survey)
    finally:
        a.context.close()
        b.context.close()


def test_the_democratic_appraisal_is_recorded_from_two_phones(browser, pwa_app, pwa_server, field_case, org):  # noqa: F811
    from server.models import Case, User
    from server.operations.cases import perform
    from server.operations.visits import assign_visit
    from tests.browser.test_pwa_flow import camera_jpeg, file_payload

    team = [field_case["inv1"], field_case["inv2"]]
    with pwa_app.app_context():
        case = db.session.get(Case, field_case["case_id"])
        perform(case, "record_home_visit", db.session.get(User, team[0]),
                {"investigators": team, "signed": team, "applicant_signed": True, "visit_on": TODAY}, today=TODAY)
        assign_visit(case, db.session.get(User, org.gc_case), team, kind="appraisal", today=TODAY)
    a, b = new_phone(browser, pwa_server), new_phone(browser, pwa_server)
    try:
        a.enrol(enrol_code(pwa_app, team[0]))
        b.enrol(enrol_code(pwa_app, team[1]))
        card = a.page.locator(f"#assignments .card:has-text('{field_case['number']}'):has-text('民主评议记录')")
        card.click()
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='meeting/appraisal_on']")
        a.fill("meeting/appraisal_on", TODAY.isoformat())
        a.fill("meeting/place", "社区二楼会议室")
        a.fill("meeting/host", "王主任")
        a.fill("meeting/recorder", "李干事")
        for field in ("policy_briefed", "applicant_present", "investigators_present"):
            a.choose(f"meeting/{field}", "是")
        panel = [("赵居民", "resident"), ("钱居民", "resident"), ("孙委员", "committee")]
        for i, (name, category) in enumerate(panel):
            if i:
                a.page.click("[data-add='panel']")
            a.page.wait_for_selector(f"[data-path='panel/{i}/name']")
            a.fill(f"panel/{i}/name", name)
            a.page.select_option(f"[data-path='panel/{i}/category'] select", category)
            a.choose(f"panel/{i}/signed", "是")
        a.choose("result/conclusion", "情况属实")
        a.fill("result/minutes", "宣讲政策；申请人介绍家庭情况；调查人员介绍调查结果；评议人员一致认为情况属实。")
        a.page.set_input_files("#file-signed_record-photo", [file_payload("sheet.jpg", camera_jpeg((2400, 3200), seed=9))])
        a.page.wait_for_selector(".photos[data-slot='signed_record'] figure")
        for n, uid in enumerate(team):
            a.draw(f"investigators:{uid}", wiggle=n * 4)
        a.wait_saved()
        screenshot(a.page, "pwa-appraisal")
        visit_id = finalise_online(a)

        confirm_from_pull(b, visit_id, survey=False, expect_words=("情况属实", "社区二楼会议室", "3 项"))
        assert not a.errors and not b.errors, a.errors + b.errors
        with pwa_app.app_context():
            case = db.session.get(Case, field_case["case_id"])
            assert case.status == "appraised" and case.appraisal_on == TODAY
            event = case.events[-1]
            assert (event.action, event.data["residents"], event.data["panel"]) == ("record_appraisal", 2, 3)
            assert event.actor_id == org.gc_case          # the office's step, in the sender's name
    finally:
        a.context.close()
        b.context.close()
