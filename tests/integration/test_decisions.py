"""Decisions that survive an inspection (issue 12), through the console over HTTP with CSRF: required facts,
eligibility, return for correction, and dates that tell the truth."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent
from tests.integration.test_console import (
    START,
    Console,
    counts,
    intake_form,
    on,
    pdf_bytes,
    png_bytes,
    register,
    signature,
    status_of,
)


@pytest.fixture
def gc(app, org):
    on(app, START)
    return Console(app, "gc_case")


REPORT = {"report_file": (pdf_bytes(), "report.pdf", "application/pdf")}
SCAN = {"scan": (png_bytes(), "form.png", "image/png")}


def panel():
    return {"panel_name": ["王干事", "赵主任", "居民甲", "居民乙", "居民丙", "居民丁"],
            "panel_category": ["office_staff", "committee", "resident", "resident", "resident", "resident"],
            "panel_signed": ["0", "1", "2", "3", "4", "5"], "minutes": "宣讲政策、介绍情况、现场评议。",
            "conclusion": "agree"}


def to_visited(app, org, cw, case_id, *, visit_on=None, prefix="gc_"):
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature(),
              "accepted_on": START.isoformat()}
    finger = {"fingerprint": (png_bytes(), "finger.png", "image/png")} if prefix == "yj_" else None
    assert cw.act(case_id, "accept", accept, files=finger).status_code == 302
    with app.app_context():
        members = [str(m.id) for m in db.session.get(Case, case_id).household.members]
    assert cw.act(case_id, "request_verification", {"members": members,
                                                    "requested_on": START.isoformat()}).status_code == 302
    inv = [str(getattr(org, prefix + "inv1")), str(getattr(org, prefix + "inv2"))]
    visit = {"team": inv, "signed": inv, "applicant_signed": "1", "visit_on": (visit_on or START).isoformat(),
             "income_wages_1": "1800", **{f"income_wages_{m}": "0" for m in range(2, 7)}, "living_notes": "住房简陋", "summary": "情况属实", "recommendation": "eligible"}
    r = cw.post(f"/cases/{case_id}/paper-visit", visit, files=SCAN)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]


def to_appraised(app, org, cw, case_id, *, income="1800", prefix="gc_"):
    to_visited(app, org, cw, case_id, prefix=prefix)
    assert cw.act(case_id, "record_verification_report", {"found_income_6m": income, "report_on": START.isoformat()},
                  files=REPORT).status_code == 302
    assert cw.act(case_id, "record_appraisal", {**panel(), "appraisal_on": START.isoformat()}).status_code == 302
    assert status_of(app, case_id) == "appraised"


def review(cw, case_id, income="1800", **extra):
    data = {"recommendation": "approve", "opinion": "拟批准", "assessed_income_6m": income, "property_checked": "1"}
    data.update(extra)
    return cw.act(case_id, "review_opinion", data)


def sign(app, case_id, who="gc_lead"):
    assert Console(app, who).act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"}).status_code == 302


def to_publicity_closed(app, org, cw, case_id):
    to_appraised(app, org, cw, case_id)
    assert review(cw, case_id).status_code == 302
    sign(app, case_id)
    assert cw.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    on(app, START + dt.timedelta(days=7))
    assert cw.act(case_id, "close_publicity").status_code == 302
    assert status_of(app, case_id) == "publicity_closed"


def single_earner(org, monthly="1192.34", unit="c1", region="410104", **extra):
    """One person earning ``monthly`` for six months (the issue's household: 1,192.34 a month)."""
    form = intake_form(org, unit=unit, region=region, m1_name="", m1_id="",
                       **{f"income_wages_{m}": monthly for m in range(1, 7)})
    form.update(extra)
    return form


# --- required facts --------------------------------------------------------------------------------

def test_clearing_the_assessed_income_is_refused_not_stored_as_zero(app, org, gc):
    case_id = register(app, gc, org)
    to_appraised(app, org, gc, case_id)
    before = counts(app)
    r = review(gc, case_id, income="", opinion="经核对，拟批准（已清空认定收入）")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "认定的6个月家庭收入" in page
    assert "经核对，拟批准（已清空认定收入）" in page                         # what was typed is kept
    assert 'name="assessed_income_6m" value=""' in page
    r = gc.post(f"/cases/{case_id}/act/review_opinion?lang=en",
                {"recommendation": "approve", "opinion": "x", "assessed_income_6m": " ", "property_checked": "1"})
    assert r.status_code == 422 and "assessed 6-month income" in r.get_data(as_text=True)
    gc.get("/?lang=zh")
    assert counts(app) == before and status_of(app, case_id) == "appraised"
    with app.app_context():
        assert db.session.get(Case, case_id).assessed_income_6m == Decimal("1800.00")
    # the property must be checked item by item, explicitly
    r = review(gc, case_id, property_checked="")
    assert r.status_code == 422 and "逐项核对家庭财产" in r.get_data(as_text=True)
    assert review(gc, case_id, income="1500").status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).assessed_income_6m == Decimal("1500.00")


def test_a_verification_report_must_state_its_findings(app, org, gc):
    case_id = register(app, gc, org)
    to_visited(app, org, gc, case_id)
    before = counts(app)
    r = gc.act(case_id, "record_verification_report", {"found_income_6m": "", "found_property": "无",
                                                       "note": "平台回函"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "核对出的6个月收入" in page and "核对未发现收入" in page
    assert 'value="平台回函"' in page and 'name="found_property" value="无"' in page
    r = gc.act(case_id, "record_verification_report", {"found_income_6m": "0"})
    assert r.status_code == 422                                                 # 0 is the explicit choice
    r = gc.act(case_id, "record_verification_report", {"no_income_found": "1"})
    assert r.status_code == 422 and "核对报告文件" in r.get_data(as_text=True)   # ... with the report file
    assert counts(app) == before
    with app.app_context():
        assert "report" not in (db.session.get(Case, case_id).verification or {})
    assert gc.act(case_id, "record_verification_report", {"no_income_found": "1"}, files=REPORT).status_code == 302
    with app.app_context():
        report = db.session.get(Case, case_id).verification["report"]
        assert report["no_income_found"] is True and "found_income_6m" not in report and len(report["file"]) == 64


def test_a_paper_visit_with_every_finding_blank_is_refused(app, org, gc):
    case_id = register(app, gc, org)
    assert gc.act(case_id, "accept", {"materials": intake_form(org)["materials"],
                                      "applicant_signature": signature()}).status_code == 302
    inv = [str(org.gc_inv1), str(org.gc_inv2)]
    before = counts(app)
    blank = {"team": inv, "signed": inv, "applicant_signed": "1", "visit_on": START.isoformat(), "summary": ""}
    r = gc.post(f"/cases/{case_id}/paper-visit", blank, files=SCAN)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-field="summary"' in page
    assert counts(app) == before and status_of(app, case_id) == "accepted"
    assert gc.post(f"/cases/{case_id}/paper-visit", {**blank, "summary": "独居，无收入"}, files=SCAN).status_code == 302


def test_every_signed_opinion_is_required(app, org, gc):
    case_id = register(app, gc, org)
    to_appraised(app, org, gc, case_id)
    assert review(gc, case_id).status_code == 302
    leader = Console(app, "gc_lead")
    before = counts(app)
    r = leader.act(case_id, "sign_review", {"signature": signature(), "opinion": "  "})
    assert r.status_code == 422 and "分管领导的审核意见" in r.get_data(as_text=True)
    assert counts(app) == before and status_of(app, case_id) == "review_signing"
    sign(app, case_id)
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    on(app, START + dt.timedelta(days=7))
    assert gc.act(case_id, "close_publicity").status_code == 302
    director = Console(app, "gc_dir")
    before = counts(app)
    r = director.act(case_id, "approve", {"signature": signature(), "opinion": ""})
    assert r.status_code == 422 and "主任的审批意见" in r.get_data(as_text=True)
    assert counts(app) == before and status_of(app, case_id) == "publicity_closed"
    with app.app_context():
        assert db.session.get(Case, case_id).amount is None


# --- eligibility -----------------------------------------------------------------------------------

def test_a_household_above_the_standard_is_proposed_for_refusal_with_the_numbers(app, org, gc):
    r = gc.post("/cases/new", single_earner(org))
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    to_appraised(app, org, gc, case_id, income="7154.04")
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-eligible="no"' in page and "1192.34" in page and "700.00" in page
    assert '<option value="refuse" selected>' in page                         # proposed for refusal
    before = counts(app)
    r = review(gc, case_id, income="7154.04")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "不符合低保条件" in page and "1192.34" in page and "700.00" in page
    assert counts(app) == before
    r = review(gc, case_id, income="7154.04", recommendation="refuse", opinion="家庭月人均收入高于标准，拟不予批准")
    assert r.status_code == 302
    with app.app_context():
        ev = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                       CaseEvent.action == "review_opinion"))
        assert ev.data["eligibility"]["reasons"] == ["income_above_standard"]
        assert ev.data["eligibility"]["per_capita"] == "1192.34"
    sign(app, case_id)
    director = Console(app, "gc_dir")
    page = director.get(f"/cases/{case_id}").get_data(as_text=True)
    reasons = re.search(r'id="refuse".*?<textarea name="reasons"[^>]*>([^<]*)</textarea>', page, re.S).group(1)
    assert "1192.34" in reasons and "700.00" in reasons                          # the reason, written out
    assert director.act(case_id, "refuse", {"reasons": reasons}).status_code == 302
    r = gc.get(f"/cases/{case_id}/print/refusal_notice")
    assert r.status_code == 200, r.status_code
    assert "1192.34" in r.get_data(as_text=True)


def test_an_approval_of_a_failing_household_is_refused_showing_the_numbers(app, org, gc):
    case_id = register(app, gc, org)
    to_publicity_closed(app, org, gc, case_id)
    with app.app_context():   # a case reviewed before the check existed, at the figures
        case = db.session.get(Case, case_id)
        case.assessed_income_6m = Decimal("14308.08")      # 1192.34 per person per month for 2 people
        db.session.commit()
    director = Console(app, "gc_dir")
    before = counts(app)
    r = director.act(case_id, "approve", {"signature": signature(), "opinion": "同意"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "不能批准" in page and "1192.34" in page and "700.00" in page
    assert counts(app) == before and status_of(app, case_id) == "publicity_closed"
    with app.app_context():
        assert db.session.get(Case, case_id).amount is None and db.session.get(Case, case_id).certificate_number is None


def test_the_yijun_meeting_cannot_propose_approval_of_a_failing_household(app, org):
    on(app, START)
    yj = Console(app, "yj_case")
    r = yj.post("/cases/new", single_earner(org, unit="village", region="610222"))
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    to_appraised(app, org, yj, case_id, income="7154.04", prefix="yj_")
    assert review(yj, case_id, income="7154.04", recommendation="refuse", opinion="拟不予批准").status_code == 302
    sign(app, case_id, who="yj_lead")
    before = counts(app)
    r = yj.act(case_id, "record_meeting", {"record": "会议研究", "decision": "approve", "attendee": ["王镇长", "李干事"]})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "1192.34" in page and "682.00" in page
    assert counts(app) == before
    assert yj.act(case_id, "record_meeting", {"record": "会议研究", "decision": "refuse", "attendee": ["王镇长", "李干事"]}).status_code == 302


def test_local_hukou_is_checked(app, org, gc):
    r = gc.post("/cases/new", intake_form(org, m0_hukou_code="11010X"))
    assert r.status_code == 422 and "户籍地行政区划代码" in r.get_data(as_text=True)
    assert 'value="11010X"' in r.get_data(as_text=True)
    r = gc.post("/cases/new", intake_form(org, m0_hukou_code="110105", m0_hukou="北京市朝阳区"))
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        members = db.session.get(Case, case_id).household.members
        assert [m.hukou_code for m in members] == ["110105", "410104005001"]   # blank: the community's code
    to_appraised(app, org, gc, case_id)
    r = review(gc, case_id)
    assert r.status_code == 422 and "110105" in r.get_data(as_text=True) and "不在本辖区" in r.get_data(as_text=True)
    assert status_of(app, case_id) == "appraised"


def test_property_is_checked_from_the_profiles_list(app, org, gc):
    case_id = register(app, gc, org)
    to_appraised(app, org, gc, case_id)
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'name="property_found" value="vehicle"' in page and 'name="property_found" value="second_home"' in page
    r = review(gc, case_id, property_found="vehicle")
    assert r.status_code == 422 and "拥有机动车辆" in r.get_data(as_text=True)
    assert 'value="vehicle" checked' in r.get_data(as_text=True)
    assert review(gc, case_id, property_found="yacht").status_code == 422
    assert review(gc, case_id, property_found="vehicle", recommendation="refuse", opinion="有车").status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).assessed_property == ["vehicle"]


# --- return for correction -------------------------------------------------------------------------

def test_the_leader_returns_for_correction_and_the_caseworker_fixes_it(app, org, gc):
    case_id = register(app, gc, org)
    to_appraised(app, org, gc, case_id)
    assert review(gc, case_id, income="18000", opinion="拟批准", recommendation="refuse").status_code == 302
    leader = Console(app, "gc_lead")
    page = leader.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="return_for_correction"' in page
    assert 'data-eligible="no"' in page and "1500.00" in page         # the leader sees the numbers signed
    before = counts(app)
    r = leader.act(case_id, "return_for_correction", {"to": "review", "reasons": ""})
    assert r.status_code == 422 and "退回理由" in r.get_data(as_text=True)
    assert counts(app) == before
    on(app, START + dt.timedelta(days=1))
    assert leader.act(case_id, "return_for_correction",
                      {"to": "review", "reasons": "认定收入18000与申报1800、核对1800不符，请核实"}).status_code == 302
    assert status_of(app, case_id) == "appraised"
    assert review(gc, case_id, income="1800").status_code == 302
    sign(app, case_id)
    assert status_of(app, case_id) == "reviewed"
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.accepted_on == START and case.assessed_income_6m == Decimal("1800.00")
        actions = [e.action for e in case.events]
        audited = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "case",
                                                                     AuditEntry.object_id == str(case_id))
                                     .order_by(AuditEntry.id)).all()
    assert actions[-4:] == ["review_opinion", "return_for_correction", "review_opinion", "sign_review"]
    assert actions.count("return_for_correction") == 1 and "case.return_for_correction" in audited
    history = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-action="return_for_correction"' in history and "认定收入18000与申报1800" in history
    # Both reviews keep their figures in the history (the corrected one and the one it replaced) ...
    rows = re.findall(r'<tr data-action="review_opinion"( class="superseded")?>.*?<span data-mark="assessed">(.*?)</span>',
                      history, flags=re.S)
    assert [(bool(old), html.unescape(text).split("；")[0]) for old, text in rows] == [
        (True, "认定的6个月家庭收入（元） 18000.00"), (False, "认定的6个月家庭收入（元） 1800.00")]
    assert "认定的财产状况：无不符合条件的情形" in html.unescape(rows[1][1])
    # ... and the audit log's before/after of each review names it.
    with app.app_context():
        afters = [e.after.get("assessed_income_6m") for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "case.review_opinion").order_by(AuditEntry.id))]
    assert afters == ["18000.00", "1800.00"]
    printed = gc.get(f"/cases/{case_id}/print/approval_form").get_data(as_text=True)
    assert "退回修正" in printed and "认定收入18000与申报1800" in printed
    # The printed history marks the review the return undid, as the case page does; the redone one is not.
    reviews = re.findall(r'<tr data-action="review_opinion"( class="superseded")?>(.*?)</tr>', printed, flags=re.S)
    assert [bool(old) for old, _ in reviews] == [True, False]
    assert "已被第" in reviews[0][1] and "重新登记取代" in reviews[0][1] and "已被第" not in reviews[1][1]


def test_the_director_returns_to_re_investigation_and_the_clock_keeps_running(app, org, gc):
    case_id = register(app, gc, org)
    to_publicity_closed(app, org, gc, case_id)
    director = Console(app, "gc_dir")
    page = director.get(f"/cases/{case_id}").get_data(as_text=True)
    overall = re.search(r'data-step="overall"><th>[^<]*</th><td>([\d-]+)', page).group(1)
    assert Console(app, "gc_lead").act(case_id, "return_for_correction",
                                       {"to": "review", "reasons": "x"}).status_code == 409   # not the leader's
    assert director.act(case_id, "return_for_correction",
                        {"to": "investigation", "reasons": "入户调查未核实车辆情况"}).status_code == 302
    assert status_of(app, case_id) == "accepted"
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert re.search(r'data-step="overall"><th>[^<]*</th><td>([\d-]+)', page).group(1) == overall
    assert 'data-step="home_visit"' in page
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.visit_on is None and case.publicity_closed_on is None and case.investigation_from is not None


def test_a_founded_objection_goes_to_the_director_for_refusal(app, org, gc):
    case_id = register(app, gc, org)
    to_appraised(app, org, gc, case_id)
    assert review(gc, case_id).status_code == 302
    sign(app, case_id)
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    assert gc.act(case_id, "record_objection", {"text": "有营运车辆未申报", "source": "window"}).status_code == 302
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'option value="founded"' in page and 'option value="revise"' in page
    assert gc.act(case_id, "resolve_objection", {"finding": "核实有营运车辆", "outcome": "founded"}).status_code == 302
    assert status_of(app, case_id) == "reviewed"
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 422
    assert Console(app, "gc_dir").act(case_id, "refuse", {"reasons": "经核实有营运车辆"}).status_code == 302
    assert status_of(app, case_id) == "refused"


def test_a_partly_founded_objection_goes_back_to_review_with_revised_figures(app, org, gc):
    case_id = register(app, gc, org)
    to_appraised(app, org, gc, case_id)
    assert review(gc, case_id).status_code == 302
    sign(app, case_id)
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    assert gc.act(case_id, "record_objection", {"text": "有打零工收入", "source": "phone"}).status_code == 302
    assert gc.act(case_id, "resolve_objection", {"finding": "每月零工收入约200元", "outcome": "revise"}).status_code == 302
    assert status_of(app, case_id) == "appraised"
    assert review(gc, case_id, income="3000").status_code == 302
    sign(app, case_id)
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.assessed_income_6m == Decimal("3000.00") and case.publicity_rounds == 2


# --- dates ---------------------------------------------------------------------------------------------

def test_acceptance_before_the_application_is_refused(app, org, gc):
    case_id = register(app, gc, org)
    before = counts(app)
    r = gc.act(case_id, "accept", {"materials": intake_form(org)["materials"], "applicant_signature": signature(),
                                   "accepted_on": "2020-01-01"})
    assert r.status_code == 422 and "不能早于申请日期" in r.get_data(as_text=True)
    assert 'name="accepted_on" value="2020-01-01"' in r.get_data(as_text=True)       # kept for correcting
    assert counts(app) == before and status_of(app, case_id) == "application"


def test_a_backdated_overdue_visit_stays_late_and_prints_the_day_it_happened(app, org, gc):
    """Accepted Monday 2025-11-03: the visit was due 11-10.  Entered on 12-01 as done on 11-07."""
    from server.operations.oversight import measures

    case_id = register(app, gc, org)
    on(app, dt.date(2025, 12, 1))
    to_visited(app, org, gc, case_id, visit_on=dt.date(2025, 11, 7))
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    row = re.search(r'<tr data-action="record_home_visit"[^>]*>.*?</tr>', page, re.S).group(0)
    assert 'class="late"' in row and "2025-11-07" in row and 'data-recorded="2025-12-01"' in row
    assert 'data-mark="entered_late"' in row and 'data-mark="late"' in row and "2025-11-10" in row
    form = gc.get(f"/cases/{case_id}/print/visit_form").get_data(as_text=True)
    assert "2025-11-07" in form and "调查日期：2025-12-01" not in form
    with app.app_context():
        ev = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                       CaseEvent.action == "record_home_visit"))
        assert (ev.on_date, ev.recorded_on) == (dt.date(2025, 11, 7), dt.date(2025, 12, 1))
        assert ev.data["late"] is True and ev.data["due"] == "2025-11-10"
    # the rest of the case goes in time; the assessment still counts it late
    assert gc.act(case_id, "record_verification_report", {"found_income_6m": "1800"}, files=REPORT).status_code == 302
    assert gc.act(case_id, "record_appraisal", panel()).status_code == 302
    assert review(gc, case_id, recommendation="refuse", opinion="拟不予批准").status_code == 302
    sign(app, case_id)
    assert Console(app, "gc_dir").act(case_id, "refuse", {"reasons": "不符合条件"}).status_code == 302
    with app.app_context():
        from server.models import Unit

        office = db.session.get(Unit, org.office)
        judged = [j for j in measures([office], 2025, dt.date(2025, 12, 31))[office.id].on_time if j]
        assert [j.in_time for j in judged] == [False]


def test_printed_forms_use_the_day_each_step_happened(app, org, gc):
    case_id = register(app, gc, org)
    on(app, START + dt.timedelta(days=2))       # everything typed in on 11-05
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature(),
              "accepted_on": START.isoformat()}
    assert gc.act(case_id, "accept", accept).status_code == 302
    with app.app_context():
        members = [str(m.id) for m in db.session.get(Case, case_id).household.members]
    assert gc.act(case_id, "request_verification", {"members": members}).status_code == 302
    inv = [str(org.gc_inv1), str(org.gc_inv2)]
    assert gc.post(f"/cases/{case_id}/paper-visit", {
        "team": inv, "signed": inv, "applicant_signed": "1", "visit_on": "2025-11-03", "income_wages_1": "1800", **{f"income_wages_{m}": "0" for m in range(2, 7)},
        "summary": "住房简陋"}, files=SCAN).status_code == 302
    assert gc.act(case_id, "record_verification_report", {"found_income_6m": "1800"}, files=REPORT).status_code == 302
    assert gc.act(case_id, "record_appraisal", {**panel(), "appraisal_on": "2025-11-04"}).status_code == 302
    # The footer carries the print date (today, 11-05); the step dates are what is checked here.
    def body(doc):
        return re.sub(r'<footer class="doc-foot">.*?</footer>', "",
                      gc.get(f"/cases/{case_id}/print/{doc}").get_data(as_text=True), flags=re.S)
    visit_form, record = body("visit_form"), body("appraisal_record")
    approval = gc.get(f"/cases/{case_id}/print/approval_form").get_data(as_text=True)
    assert "2025-11-03" in visit_form and "2025-11-05" not in visit_form
    assert "2025-11-04" in record and "2025-11-05" not in record
    assert "2025-11-03，" in approval and "2025-11-04，" in approval


def test_certificate_validity_starts_at_approval_and_lasts_the_profile(app, org, gc):
    case_id = register(app, gc, org)
    to_publicity_closed(app, org, gc, case_id)
    approved_on = START + dt.timedelta(days=7)
    assert Console(app, "gc_dir").act(case_id, "approve", {"signature": signature(), "opinion": "同意"}).status_code == 302
    on(app, approved_on + dt.timedelta(days=3))
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'name="valid_from" value="{approved_on.isoformat()}"' in page
    assert 'name="valid_until" value="2026-11-09"' in page                    # 12 months from 2025-11-10
    before = counts(app)
    for valid_from, valid_until, text in [("2020-01-01", "2020-12-31", "不能早于批准日期"),
                                          (approved_on.isoformat(), "2099-12-31", "最长12个月")]:
        r = gc.act(case_id, "issue_certificate", {"number": "GC-9", "valid_from": valid_from,
                                                  "valid_until": valid_until})
        assert r.status_code == 422 and text in r.get_data(as_text=True)
        assert f'value="{valid_until}"' in r.get_data(as_text=True)
    assert counts(app) == before
    assert gc.act(case_id, "issue_certificate", {"number": "GC-9", "valid_from": approved_on.isoformat(),
                                                 "valid_until": "2026-11-09"}).status_code == 302


def test_a_certificate_number_that_is_not_a_code_is_refused_and_nothing_changes(app, org, gc):
    """The number is shown on the public check page: typed text, a mobile or an ID number is a 422 naming the
    field, in Chinese and English; a code is kept, uppercase."""
    case_id = register(app, gc, org)
    to_publicity_closed(app, org, gc, case_id)
    assert Console(app, "gc_dir").act(case_id, "approve", {"signature": signature(), "opinion": "同意"}).status_code == 302
    valid = {"valid_from": (START + dt.timedelta(days=7)).isoformat(), "valid_until": "2026-11-09"}
    before = counts(app)
    for typed in ("低保证 户主患尿毒症 住东街5号", "GC-2026-0190-13912345678", "DB41010419620501011X", "GC1"):
        r = gc.act(case_id, "issue_certificate", {"number": typed, **valid})
        assert r.status_code == 422 and "低保证编号" in r.get_data(as_text=True), typed
        r = gc.post(f"/cases/{case_id}/act/issue_certificate?lang=en", {"number": typed, **valid})
        assert r.status_code == 422 and "certificate number" in r.get_data(as_text=True), typed
        gc.get("/?lang=zh")
    assert counts(app) == before and status_of(app, case_id) == "approved"
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.certificate_number is None and case.certificate_token is None
    assert gc.act(case_id, "issue_certificate", {"number": "gc-2025-0190", **valid}).status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).certificate_number == "GC-2025-0190"


def test_migration_0007_fills_the_registered_place_of_existing_members(app, org):
    """Members registered before 0007 get their community's code (the intake registered them there)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    with app.app_context():
        db.session.remove()
        downgrade(revision="0004")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO households (id, unit_id, address, area, household_class, phone, created_at) "
                              "VALUES (9001, :unit, '和平路1号', 'urban', 'stable', '', :now)"),
                         {"unit": org.c1, "now": dt.datetime(2025, 11, 3, tzinfo=dt.UTC)})
            conn.execute(text(
                "INSERT INTO members (household_id, position, name, id_number, relation, birth_date, sex, hukou_place, "
                "disabled, severely_disabled, seriously_ill, student, unemployed, able_to_work, co_residing, covered) "
                "VALUES (9001, 0, '张建国', '410104196205010110', 'head', :born, 'male', '本地', "
                "false, false, false, false, false, false, true, true)"), {"born": dt.date(1962, 5, 1)})
        db.engine.dispose()
        upgrade()
        rows = db.session.execute(text("SELECT hukou_code FROM members WHERE household_id = 9001")).scalars().all()
        assert rows == ["410104005001"]
        db.session.remove()
        db.engine.dispose()
