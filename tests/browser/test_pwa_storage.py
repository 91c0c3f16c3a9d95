"""Nothing typed is lost or falsely reported saved: when the phone's storage is full (IndexedDB writes fail
with QuotaExceededError) the visit screen shows a warning that stays, in Chinese, with what to do, never
"已保存"; once space is back, "重新保存" writes everything on the screen and a reload shows it all. The
export the settings page writes is the file the console imports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select

from server.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.test_pwa_attention import quick_survey
from tests.browser.test_pwa_flow import (  # noqa: F401 (fixtures)
    enrol_code,
    field_case,
    finalise,
    new_phone,
    pwa_app,
    pwa_server,
)
from tests.integration.test_console import Console

# Every write to the visits and blobs stores fails while window.__quotaFull is set, as a full disk makes it.
QUOTA = """
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (...args) {
  if (self.__quotaFull && (this.name === 'visits' || this.name === 'blobs')) {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  }
  return put.apply(this, args);
};
"""


def scribble(p, key: str):
    canvas = p.page.locator(f"[data-signature='{key}'] canvas")
    canvas.evaluate("e => e.scrollIntoView({block: 'center'})")
    box = canvas.bounding_box()
    p.page.mouse.move(box["x"] + 20, box["y"] + 60)
    p.page.mouse.down()
    for i in range(1, 10):
        p.page.mouse.move(box["x"] + 20 + i * 25, box["y"] + 60 + (20 if i % 2 else -20), steps=2)
    p.page.mouse.up()


def seen_text(page: str) -> str:
    """The console page's main content as text: its message, problems and result rows."""
    main = page.split("<main", 1)[-1]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())[:1500]


def export_summary(exported: dict) -> list:
    """Each record of a phone's export: id, status, the attachments its envelope lists and the files it carries."""
    return [{"visit": v.get("visit_id"), "status": v.get("status"),
             "listed": [a.get("sha256", "")[:8] for a in (v.get("envelope") or {}).get("attachments") or []],
             "files": [(f.get("sha256", "")[:8], f.get("type"), len(f.get("data") or "")) for f in v.get("files") or []]}
            for v in exported.get("visits", [])]


def test_a_full_disk_is_told_and_nothing_typed_is_lost_and_the_export_imports(browser, pwa_app, pwa_server,  # noqa: F811
                                                                             field_case):  # noqa: F811
    team = [field_case["inv1"], field_case["inv2"]]
    p = new_phone(browser, pwa_server)
    p.context.add_init_script(QUOTA)
    try:
        p.enrol(enrol_code(pwa_app, field_case["inv1"]))
        p.page.locator("#assignments .card").first.click()
        p.page.click("#start-visit")
        p.page.wait_for_selector("[data-path='members/0/name']")
        p.fill("findings/summary", "第一句")
        p.wait_saved()
        assert "已保存" in p.page.locator("#saved").inner_text()

        p.page.evaluate("window.__quotaFull = true")
        p.fill("findings/summary", "第一句。户主因病丧失劳动能力")
        p.page.wait_for_selector("#save-failed")
        scribble(p, "applicant")                                         # signed while the disk is full
        p.wait_saved()
        assert p.page.locator("[data-signature='applicant'][data-signed='1']").count() == 0   # its image not stored
        warning = p.page.locator("#save-failed").inner_text()
        assert "存储空间已满" in warning and "立即同步" in warning and "导出" in warning and "不要关闭" in warning
        assert "已保存" not in p.page.locator("#saved").inner_text() and "未保存" in p.page.locator("#saved").inner_text()
        toast = p.page.locator("#toast").inner_text()
        assert toast and not re.search(r"[A-Za-z]", toast), toast       # all Chinese, no "QuotaExceededError"
        screenshot(p.page, "pwa-storage-full")
        p.fill("living/notes", "冬季无取暖")                            # still failing: the warning stays
        p.wait_saved()
        assert p.page.locator("#save-failed").is_visible()

        p.page.evaluate("window.__quotaFull = false")                  # space freed
        p.page.click("#save-again")
        p.page.wait_for_selector("#save-failed", state="detached")
        p.wait_saved()
        p.page.reload()
        p.page.wait_for_selector("[data-path='findings/summary']")
        assert p.page.locator("[data-path='findings/summary'] textarea").input_value() == "第一句。户主因病丧失劳动能力"
        assert p.page.locator("[data-path='living/notes'] textarea").input_value() == "冬季无取暖"
        p.page.wait_for_selector("[data-signature='applicant'][data-signed='1']")

        # finished offline, then the last resort: the export, imported by the caseworker in the console
        p.offline()
        quick_survey(p, team)
        visit = finalise(p)
        p.open("#/settings")
        with p.page.expect_download() as download:
            p.page.click("#export")
        exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert [v["visit_id"] for v in exported["visits"]] == [visit["visit_id"]]
        gc = Console(pwa_app, "gc_case")
        raw = json.dumps(exported, ensure_ascii=False).encode()
        r = gc.post("/imports", files={"file": (raw, "ruhu-export.json", "application/json")})
        page = r.get_data(as_text=True)
        # On failure, say what the caseworker saw and what the file held (a flaky run once hid both).
        assert r.status_code == 200 and f'data-visit="{visit["visit_id"]}" data-outcome="imported"' in page, \
            (r.status_code, seen_text(page), export_summary(exported))
        from server.models import Visit

        with pwa_app.app_context():
            stored = db.session.scalars(select(Visit)).one()
            assert stored.id == visit["visit_id"] and stored.content_hash == visit["hash"]
            assert stored.envelope["answers"]["living"]["notes"] == "冬季无取暖"
        assert not p.errors, p.errors
    finally:
        p.context.close()
