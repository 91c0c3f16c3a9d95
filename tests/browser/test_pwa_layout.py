"""The phone at 360x740, as Chinese users type: the header stays one line with a long name, the assignment's
申报情况 is in Chinese words, full-width digits and thousands separators are taken in money and ID fields,
nothing covers any signature pad wherever it is scrolled, and after finalising the partner's QR is on screen
without scrolling."""

from __future__ import annotations

import re

from server.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.test_pwa_attention import quick_survey
from tests.browser.test_pwa_flow import PHONE, PhoneApp, enrol_code, field_case, pwa_app, pwa_server  # noqa: F401

SMALL = {**PHONE, "viewport": {"width": 360, "height": 740}}
LONG_NAME = "欧阳慕容司马诸葛东方皇甫尉迟"

# For each point inside an element (corners inset, centre): is the element itself what is hit there?
UNCOVERED = """(el) => {
  const r = el.getBoundingClientRect();
  const pts = [[r.left + 4, r.top + 4], [r.right - 4, r.top + 4], [r.left + 4, r.bottom - 4], [r.right - 4, r.bottom - 4],
               [(r.left + r.right) / 2, (r.top + r.bottom) / 2]];
  return pts.map(([x, y]) => { const hit = document.elementFromPoint(x, y); return hit === el || el.contains(hit); });
}"""


def overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def test_the_phone_at_360_by_740(browser, pwa_app, pwa_server, field_case):  # noqa: F811
    from server.models import User

    with pwa_app.app_context():
        db.session.get(User, field_case["inv1"]).name = LONG_NAME
        db.session.commit()
    team = [field_case["inv1"], field_case["inv2"]]
    p = PhoneApp(browser.new_context(**SMALL), pwa_server)
    try:
        p.enrol(enrol_code(pwa_app, field_case["inv1"]))
        # the header: one line, nothing wrapped, the long name cut rather than pushing the buttons down
        top = p.page.locator("#top").bounding_box()
        assert top["height"] <= 64, top
        for sel in ("#top .brand", "#net", "#sync-now", "#top .icon-link"):
            box = p.page.locator(sel).bounding_box()
            assert box["y"] >= top["y"] - 1 and box["y"] + box["height"] <= top["y"] + top["height"] + 1, sel
            assert box["x"] + box["width"] <= 360 + 0.5, sel
        screenshot(p.page, "pwa-360-home")

        # 申报情况 in words, months labelled
        p.page.locator("#assignments .card").first.click()
        declared = p.page.locator("#declared").inner_text()
        assert "工资性收入" in declared and "房产" in declared and "前6月 300.00" in declared and "合计 300.00 元" in declared
        assert not re.search(r"\b(wages|housing|income|property)\b", declared), declared

        p.page.click("#start-visit")
        p.page.wait_for_selector("[data-path='members/0/name']")
        # full-width digits and separators in money, a full-width ID number: taken as typed by a Chinese keyboard
        wages = p.page.locator("[data-path='income/wages'] input")
        wages.nth(0).fill("１,２００")
        wages.nth(1).fill("１，２００．５０")
        wages.nth(2).fill("0")
        ident = p.page.locator("[data-path='members/0/id_number'] input")
        typed = ident.input_value().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        ident.fill(typed)
        ident.blur()
        wages.nth(3).click()
        assert wages.nth(0).input_value() == "1200" and wages.nth(1).input_value() == "1200.50"
        assert re.fullmatch(r"[0-9X]{18}", ident.input_value())
        assert p.page.locator("[data-path='members/0/id_number'] .err").inner_text() == ""

        # Offline, three months typed and three blank: a blank month is never 0, the phone names the blank
        # months; a comma that groups no thousands is named too; the record cannot be finalised until every
        # month is typed (0 for a month without income).
        p.offline()
        wages_err = p.page.locator("[data-path='income/wages'] .err")
        assert wages_err.inner_text() == "“工资性收入”第4个月、第5个月、第6个月未填写：6个月须全部填写（没有收入的月份填0），或全部留空（没有此项收入）"
        for i, typed in ((3, "12,50"), (4, "0"), (5, "0")):
            wages.nth(i).fill(typed)
        wages.nth(0).click()
        assert wages.nth(3).input_value() == "12,50"   # left as typed, never read as 1250
        assert wages_err.inner_text() == "“工资性收入”第4个月的金额中的逗号只能用作千位分隔符（如1,200或12,345.60），小数点请用“.”"
        wages.nth(3).fill("0")
        wages.nth(5).fill("")
        wages.nth(0).click()
        assert wages_err.inner_text().startswith("“工资性收入”第6个月未填写")

        # every signature pad, scrolled to the bottom, the middle and the top of the screen: nothing over it
        quick_survey(p, team)
        p.page.click("#finalise")
        p.page.wait_for_selector("[data-path='income/wages'].invalid")
        assert p.page.locator("#attest-qr").count() == 0 and wages_err.inner_text().startswith("“工资性收入”第6个月未填写")
        wages.nth(5).fill("0")
        wages.nth(0).click()
        assert wages_err.inner_text() == ""
        p.offline(False)
        pads = p.page.locator("canvas.pad")
        assert pads.count() == 3
        for i in range(pads.count()):
            for block in ("end", "center", "start"):
                pads.nth(i).evaluate(f"e => e.scrollIntoView({{block: '{block}'}})")
                assert all(pads.nth(i).evaluate(UNCOVERED)), (i, block)
                pad = pads.nth(i).bounding_box()
                assert not overlaps(pad, p.page.locator("#top").bounding_box()), (i, block)
                assert not overlaps(pad, p.page.locator("#finalise").bounding_box()), (i, block)
        screenshot(p.page, "pwa-360-signatures")

        # finalise: the QR for the partner is on screen, whole and uncovered, without scrolling
        p.page.click("#finalise")
        p.page.wait_for_selector("#attest-qr")
        p.page.wait_for_function("window.scrollY === 0")
        # The screen settles (the save and the outbox re-render it); then, in one step, the QR must be whole
        # below the header, inside 740 px, at least 240 px wide and covered by nothing.  If it never
        # settles that way, the wait times out and the test fails with the last state read.
        state = """() => {
            const el = document.querySelector('#attest-qr'), top = document.querySelector('#top');
            if (!el || !top) return null;
            const r = el.getBoundingClientRect();
            const covered = (UNCOVERED)(el);
            return {y: r.y, height: r.height, width: r.width, top: top.getBoundingClientRect().height,
                    scrollY: window.scrollY, uncovered: covered.every(Boolean)};
        }""".replace("UNCOVERED", UNCOVERED)
        try:
            p.page.wait_for_function(f"""() => {{ const s = ({state})();
                return s && s.scrollY === 0 && s.uncovered && s.y >= s.top && s.y + s.height <= 740 && s.width >= 240; }}""",
                                     timeout=10_000)
        finally:
            last = p.page.evaluate(state)
        assert last["y"] >= last["top"] and last["y"] + last["height"] <= 740 and last["width"] >= 240, last
        assert last["uncovered"] and last["scrollY"] == 0, last
        screenshot(p.page, "pwa-360-qr")
        assert not p.errors, p.errors
    finally:
        p.context.close()
