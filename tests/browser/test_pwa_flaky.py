"""A bad network: the phone's first four pushes of the visit (the visit, its files and its attestation in one
request) fail and every third other request to the API fails — half of them before reaching the server, half
after the server did the work (the answer is lost). The outbox retries until everything is confirmed, and the
server still ends up with exactly one visit, each file once, accepted into the case.  And a server or proxy
that refuses the one big request (413): the phone sends the files one by one instead."""

from __future__ import annotations

from sqlalchemy import func, select

from server.extensions import db
from tests.browser.test_pwa_flow import (  # noqa: F401 (fixtures)
    PhoneApp,
    camera_jpeg,
    enrol_code,
    field_case,
    fill_survey,
    finalise,
    new_phone,
    pwa_app,
    pwa_server,
    server_state,
)


def test_every_third_request_fails_and_still_exactly_one_visit(browser, pwa_app, pwa_server, field_case):  # noqa: F811 (fixtures)
    from tests.integration.test_sync_api import Phone

    # Requests the service worker answers are invisible to page.route: this phone runs without one.
    a = new_phone(browser, pwa_server, service_workers="block")
    try:
        a.enrol(enrol_code(pwa_app, field_case["inv1"]))
        partner = Phone(pwa_app.test_client())
        assert partner.enrol(enrol_code(pwa_app, field_case["inv2"])).status_code == 201

        seen = {"requests": 0, "dropped": 0, "lost_answers": 0, "pushes": 0}

        def flaky(route):
            seen["requests"] += 1
            push = route.request.method == "POST" and route.request.url.endswith("/api/v1/visits")
            seen["pushes"] = seen.get("pushes", 0) + push
            if (seen["pushes"] > 4 or not push) and (push or seen["requests"] % 3):
                route.continue_()
            elif (seen["dropped"] + seen["lost_answers"]) % 2 == 0:
                seen["dropped"] += 1
                route.abort("connectionreset")
            else:
                seen["lost_answers"] += 1
                route.fetch()                       # the server does the work ...
                route.abort("connectionreset")      # ... and the phone never hears back

        a.context.route("**/api/v1/**", flaky)
        a.page.locator("#assignments .card").first.click()
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='members/0/name']")
        small = [camera_jpeg((1200, 900), seed=s) for s in (5, 6, 7)]
        fill_survey(a, {"house_outside": small[:2], "documents": small[2:]}, [field_case["inv1"], field_case["inv2"]])
        visit = finalise(a)

        for _ in range(25):
            if a.visit_status() == "synced":
                break
            a.sync()
        assert a.visit_status() == "synced", a.page.locator("#problems").inner_text()
        assert seen["dropped"] >= 2 and seen["lost_answers"] >= 2 and seen["pushes"] >= 5, seen
        assert not a.errors, a.errors

        assert partner.attest(visit["visit_id"], visit["hash"]).status_code == 201
        state = server_state(pwa_app, field_case["case_id"])
        assert len(state["visits"]) == 1 and state["visits"][0]["id"] == visit["visit_id"]
        assert state["visits"][0]["status"] == "accepted" and state["case_status"] == "visited"
        assert state["attachments"] == 6                      # 3 photos + 3 signatures, each stored once
        assert all(stored == sha for sha, (_, stored) in state["stored"].items())
        assert len(state["attestations"]) == 2 and all(x["valid"] for x in state["attestations"])
        with pwa_app.app_context():
            from server.models import AuditEntry

            assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "visit.submit")) == 1
    finally:
        a.context.close()


def test_a_refused_bundle_goes_file_by_file(browser, pwa_app, pwa_server, field_case):  # noqa: F811 (fixtures)
    from tests.integration.test_sync_api import Phone

    a = new_phone(browser, pwa_server, service_workers="block")
    try:
        a.enrol(enrol_code(pwa_app, field_case["inv1"]))
        partner = Phone(pwa_app.test_client())
        assert partner.enrol(enrol_code(pwa_app, field_case["inv2"])).status_code == 201
        seen = {"refused": 0, "puts": 0, "json_posts": 0}

        def too_large(route):
            request = route.request
            if request.method == "POST" and request.url.endswith("/api/v1/visits") and \
                    "multipart/form-data" in (request.headers.get("content-type") or ""):
                seen["refused"] += 1   # as a proxy with a small body limit answers
                route.fulfill(status=413, content_type="text/html", body="<h1>413 Request Entity Too Large</h1>")
                return
            seen["puts"] += request.method == "PUT"
            seen["json_posts"] += request.method == "POST" and request.url.endswith("/api/v1/visits")
            route.continue_()

        a.context.route("**/api/v1/**", too_large)
        a.page.locator("#assignments .card").first.click()
        a.page.click("#start-visit")
        a.page.wait_for_selector("[data-path='members/0/name']")
        photos = [camera_jpeg((1200, 900), seed=s) for s in (8, 9)]
        fill_survey(a, {"house_outside": photos[:1], "documents": photos[1:]}, [field_case["inv1"], field_case["inv2"]])
        visit = finalise(a)
        for _ in range(10):
            if a.visit_status() == "synced":
                break
            a.sync()
        assert a.visit_status() == "synced", a.page.locator("#problems").inner_text()
        assert seen["refused"] == 1 and seen["puts"] == 5 and seen["json_posts"] == 1, seen   # 2 photos, 3 signatures
        assert not a.errors, a.errors
        assert partner.attest(visit["visit_id"], visit["hash"]).status_code == 201
        state = server_state(pwa_app, field_case["case_id"])
        assert [v["status"] for v in state["visits"]] == ["accepted"] and state["attachments"] == 5
        assert all(stored == sha for sha, (_, stored) in state["stored"].items())
    finally:
        a.context.close()
