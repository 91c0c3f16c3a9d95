"""Printed documents worth archiving: each has its official title, the office and the dates; every appraisal round
and the meeting record are printable; long typed texts wrap; the refusal names who hears a review."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest

from server.extensions import db
from server.models import Case
from tests.integration.test_console import (
    START,
    Console,
    intake_form,
    on,
    pdf_bytes,
    png_bytes,
    register,
    signature,
    status_of,
    walk_to_review,
)


def h1(page: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert match, "no <h1>"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.fixture
def certified(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    walk_to_review(app, org, gc, case_id)
    Console(app, "gc_lead").act(case_id, "sign_review", {"opinion": "同意", "signature": signature()})
    on(app, START + dt.timedelta(days=3))
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    on(app, dt.date(2025, 11, 13))
    assert gc.act(case_id, "close_publicity").status_code == 302
    assert Console(app, "gc_dir").act(case_id, "approve", {"signature": signature(), "opinion": "同意" * 900}
                                      ).status_code == 302
    assert gc.act(case_id, "issue_certificate", {"number": "GC-0001", "valid_from": "2025-11-13",
                                                 "valid_until": "2026-11-12"}).status_code == 302
    return gc, case_id


@pytest.mark.parametrize(("doc", "title"), [
    ("approval_form", "管城回族区最低生活保障申请审批表"),
    ("visit_form", "最低生活保障入户调查表"),
    ("appraisal_record", "最低生活保障民主评议记录"),
    ("certificate", "城市居民最低生活保障金领取证"),
])
def test_each_print_has_its_title_and_office(certified, doc, title):
    gc, case_id = certified
    page = gc.get(f"/cases/{case_id}/print/{doc}").get_data(as_text=True)
    assert h1(page) == title
    assert "南关街街道办事处" in page
    assert "print.css" in page


def test_the_approval_form_in_english_has_a_title_and_dates(certified):
    gc, case_id = certified
    with gc.client.session_transaction() as session:
        session["lang"] = "en"
    page = gc.get(f"/cases/{case_id}/print/approval_form").get_data(as_text=True)
    assert h1(page).startswith("Minimum Living Allowance") and "Guancheng" in h1(page)
    assert "2025-11-03" in page and "2025-11-13" in page


def test_a_long_opinion_wraps_within_the_layout(app, certified):
    gc, case_id = certified
    with app.test_client().get("/static/print.css") as r:
        css = r.get_data(as_text=True)
    assert "overflow-wrap: anywhere" in css and "table-layout: fixed" in css
    page = gc.get(f"/cases/{case_id}/print/approval_form").get_data(as_text=True)
    assert 'class="ud"' in page


def test_every_appraisal_round_prints_and_a_disputed_one_keeps_its_link(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    assert gc.act(case_id, "accept", accept).status_code == 302
    inv = [str(org.gc_inv1), str(org.gc_inv2)]
    assert gc.post(f"/cases/{case_id}/assign", {"team": inv}).status_code == 302
    on(app, START + dt.timedelta(days=1))
    visit = {"team": inv, "signed": inv, "applicant_signed": "1", "visit_on": (START + dt.timedelta(days=1)).isoformat(),
             "income_wages_1": "1800", **{f"income_wages_{m}": "0" for m in range(2, 7)}, "living_notes": "住房简陋", "summary": "情况属实", "recommendation": "eligible"}
    assert gc.post(f"/cases/{case_id}/paper-visit", visit,
                   files={"scan": (png_bytes(), "form.png", "image/png")}).status_code == 302
    panel = {"panel_name": ["王干事", "居民甲", "居民乙", "居民丙"],
             "panel_category": ["office_staff", "resident", "resident", "resident"],
             "panel_signed": ["0", "1", "2", "3"], "minutes": "第一次评议：争议较大。", "conclusion": "disputed"}
    assert gc.act(case_id, "record_appraisal", panel).status_code == 302
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/cases/{case_id}/print/appraisal_record" in page          # the disputed record stays printable
    printed = gc.get(f"/cases/{case_id}/print/appraisal_record").get_data(as_text=True)
    assert "第一次评议：争议较大。" in printed and h1(printed) == "最低生活保障民主评议记录"


def signed_yijun_case(app, org):
    """A yijun case whose review the leader has signed: its meeting comes next.  (console, case id, signed on)"""
    on(app, START)
    yj = Console(app, "yj_case")
    case_id = register(app, yj, org, unit="village", region="610222")
    walk_to_review(app, org, yj, case_id, prefix="yj_", fingerprint=True)
    Console(app, "yj_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    with app.app_context():
        signed_on = db.session.get(Case, case_id).reviewed_on
    return yj, case_id, signed_on


def test_the_yijun_meeting_record_prints(app, org):
    yj, case_id, signed_on = signed_yijun_case(app, org)
    today = app.config["RUHU_TODAY"]
    # Everything wrong at once: a date in the future, one attendee named twice, no conclusion, no minutes.
    bad = {"meeting_on": (today + dt.timedelta(days=1)).isoformat(), "attendee": ["王镇长", "王镇长"],
           "decision": "maybe", "record": ""}
    r = yj.act(case_id, "record_meeting", bad)
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and status_of(app, case_id) == "reviewed"
    for zh in ("会议日期不能晚于今天", "参会人员姓名重复", "请选择研究结论", "请填写会议记录"):
        assert zh in body, zh
    assert body.count('value="王镇长"') == 2                          # what was typed is kept
    r = yj.act(case_id, "record_meeting", {"meeting_on": (signed_on - dt.timedelta(days=1)).isoformat(),
                                           "attendee": ["王镇长"], "decision": "approve", "record": "会议研究同意"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "会议日期不能早于分管领导签署审核意见日期" in body and "参会人员至少2人" in body
    assert "会议研究同意" in body and 'value="王镇长"' in body
    r = yj.act(case_id, "record_meeting", {"meeting_on": "2025-13-01", "attendee": ["王镇长", "李干事"],
                                           "decision": "approve", "record": "x"}, csrf=False)
    assert r.status_code == 400 and status_of(app, case_id) == "reviewed"   # no CSRF token: refused
    en = Console(app, "yj_case")
    en.get("/?lang=en")
    r = en.act(case_id, "record_meeting", {"attendee": ["王镇长"], "decision": "approve", "record": "x"})
    assert r.status_code == 422 and "at least 2 attendees are required" in r.get_data(as_text=True)

    good = {"meeting_on": signed_on.isoformat(), "attendee": ["王镇长", " 李干事 ", "", "赵委员"],
            "decision": "approve", "record": "会议研究同意"}
    scan = {"scan": (png_bytes(), "meeting.png", "image/png")}
    assert yj.act(case_id, "record_meeting", good, files=scan).status_code == 302
    assert f"/cases/{case_id}/print/meeting_record" in yj.get(f"/cases/{case_id}").get_data(as_text=True)
    page = yj.get(f"/cases/{case_id}/print/meeting_record").get_data(as_text=True)
    assert h1(page) == "最低生活保障拟保障意见会议研究记录"
    assert "会议研究同意" in page and "彭镇" in page and "拟批准" in page
    assert f"会议日期：{signed_on.isoformat()}" in page and "王镇长、李干事、赵委员" in re.sub(r"<[^>]+>", "", page)
    # The scanned picture is on the printed page, and the browser can load it.
    src = re.search(r'<img class="scan" src="([^"]+)"', page).group(1)
    picture = yj.get(src)
    status, kind, data = picture.status_code, picture.mimetype, picture.data
    picture.close()
    assert status == 200 and kind.startswith("image/") and data[:4] == b"\x89PNG"
    approval = yj.get(f"/cases/{case_id}/print/approval_form").get_data(as_text=True)
    assert h1(approval) == "宜君县最低生活保障申请审核审批表"


def test_a_meeting_scan_in_pdf_prints_as_a_named_file_not_as_a_broken_picture(app, org):
    yj, case_id, signed_on = signed_yijun_case(app, org)
    document = pdf_bytes()
    good = {"meeting_on": signed_on.isoformat(), "attendee": ["王镇长", "李干事"], "decision": "approve",
            "record": "会议研究同意"}
    assert yj.act(case_id, "record_meeting", good,
                  files={"scan": (document, "meeting.pdf", "application/pdf")}).status_code == 302
    sha = hashlib.sha256(document).hexdigest()
    for lang, words in (("zh", "PDF 文件"), ("en", "PDF file")):
        yj.get(f"/?lang={lang}")
        page = yj.get(f"/cases/{case_id}/print/meeting_record").get_data(as_text=True)
        assert '<img class="scan"' not in page            # a PDF is no picture: it never printed
        row = re.search(r'<td class="scan-file">(.*?)</td>', page, re.S).group(1)
        assert words in row and sha[:16] in row and f"{len(document):,}" in row.replace("\u202f", ",")
        link = re.search(r'href="([^"]+)"', row).group(1)
        original = yj.get(link)                               # on screen, the file opens from the page
        status, data = original.status_code, original.data
        original.close()
        assert status == 200 and data == document


def test_the_refusal_names_who_hears_the_review(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    walk_to_review(app, org, gc, case_id)
    Console(app, "gc_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    assert Console(app, "gc_dir").act(case_id, "refuse", {"reasons": "人均收入高于标准"}).status_code == 302
    page = gc.get(f"/cases/{case_id}/print/refusal_notice").get_data(as_text=True)
    assert "向管城回族区人民政府申请行政复议" in page and h1(page) == "不予批准最低生活保障决定通知书"
