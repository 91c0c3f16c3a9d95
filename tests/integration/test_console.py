"""The caseworker console through HTTP: intake, every step to the certificate, and each refusal."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent, Unit
from tests.conftest import csrf_token, id_number, sign_in

START = dt.date(2025, 11, 3)  # Monday


def png_bytes(colour=(20, 20, 20), size=(120, 60)) -> bytes:
    img = Image.new("RGB", size, "white")
    for x in range(10, size[0] - 10):
        img.putpixel((x, size[1] // 2), colour)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def signature() -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes()).decode()


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Console:
    """A signed-in browser session, with today's date under the test's control."""

    def __init__(self, app, username: str):
        self.app, self.client = app, app.test_client()
        assert sign_in(self.client, username).status_code == 302

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, files: dict | None = None):
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = csrf_token(self.client, "/")
        for key, (content, name, mime) in (files or {}).items():
            body[key] = (io.BytesIO(content), name, mime)
        return self.client.post(path, data=body, content_type="multipart/form-data")

    def act(self, case_id: int, action: str, data: dict | None = None, **kw):
        return self.post(f"/cases/{case_id}/act/{action}", data, **kw)

    def get(self, path: str):
        return self.client.get(path)


def on(app, day: dt.date) -> None:
    app.config["RUHU_TODAY"] = day


def status_of(app, case_id: int) -> str:
    with app.app_context():
        return db.session.get(Case, case_id).status


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count(CaseEvent.id))),
                db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action.like("case.%"))))


def intake_form(org, unit="c1", region="410104", **extra):
    data = {"community": str(getattr(org, unit)), "address": "和平路1号", "area": "urban",
            "household_class": "stable", "phone": "13900000000",
            "m0_name": "张建国", "m0_id": id_number(region, dt.date(1962, 5, 1), 11), "m0_relation": "head",
            "m0_co_residing": "1", "m0_covered": "1",
            "m1_name": "李秀英", "m1_id": id_number(region, dt.date(1965, 3, 8), 22), "m1_relation": "spouse",
            "m1_co_residing": "1", "m1_covered": "1", "m1_seriously_ill": "1",
            "income_wages_1": "300", "income_wages_2": "300", "income_wages_3": "300",
            "income_wages_4": "300", "income_wages_5": "300", "income_wages_6": "300",
            "property_housing": "自有住房45平方米",
            "materials": ["application", "hukou_id", "income_property_statement", "integrity_pledge",
                          "verification_authorisation", "illness_papers"]}
    data.update(extra)
    return data


def register(app, console, org, **kw) -> int:
    r = console.post("/cases/new", intake_form(org, **kw))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return int(r.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture
def gc(app, org):
    on(app, START)
    return Console(app, "gc_case")


# --- intake -----------------------------------------------------------------------------------

def test_intake_registers_household_members_and_declaration(app, org, gc):
    case_id = register(app, gc, org)
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "张建国" in page and "李秀英" in page and "1800.00" in page
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "application" and case.declared_income_6m == 1800
        assert case.declaration["income"]["wages"] == ["300.00"] * 6


@pytest.mark.parametrize("change, message", [
    ({"m1_id": "410104196503080221"}, "身份证号码无效"),
    ({"income_wages_2": "abc"}, "第2个月的金额无效"),
    # a month left blank is never read as 0: the source is filled in for all six months or left blank
    ({"income_wages_2": ""}, "“工资性收入”第2个月未填写"),
    ({"income_pensions_1": "800"}, "“养老金、离退休金”第2个月、第3个月、第4个月、第5个月、第6个月未填写"),
    # a comma only groups thousands: "12,50" is not 1250
    ({"income_wages_2": "12,50"}, "第2个月的金额中的逗号只能用作千位分隔符"),
    ({"income_wages_3": "1,80"}, "第3个月的金额中的逗号只能用作千位分隔符"),
    ({"community": "999999"}, "请选择申请人户籍所在的社区"),
    ({"m1_relation": "head"}, "须且只能有一名户主"),
])
def test_intake_refusals_keep_what_was_typed(app, org, gc, change, message):
    r = gc.post("/cases/new", intake_form(org, **change))
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and message in page
    assert 'value="和平路1号"' in page and 'value="张建国"' in page   # nothing typed is lost
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 0


def test_intake_reads_thousands_and_shows_an_undeclared_source_as_unknown(app, org, gc):
    case_id = register(app, gc, org, **{f"income_wages_{m}": "1,200" for m in range(1, 7)},
                       **{f"income_support_{m}": "0" for m in range(1, 7)})
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.declared_income_6m == 7200 and case.declaration["income"]["wages"] == ["1200.00"] * 6
        assert case.declaration["income"]["support"] == ["0.00"] * 6     # six zeros typed: declared as none
        assert "pensions" not in case.declaration["income"]              # left blank: nothing declared
    declared = re.search(r'<tr data-row="income-pensions"><th>.*?</th><td>(.*?)</td>', page, re.S)
    assert declared and declared.group(1) == "—"
    declared = re.search(r'<tr data-row="income-support"><th>.*?</th><td>(.*?)</td>', page, re.S)
    assert declared and declared.group(1) == "0.00"


def test_intake_needs_csrf_and_a_caseworker(app, org, gc):
    assert gc.post("/cases/new", intake_form(org), csrf=False).status_code == 400
    leader = Console(app, "gc_lead")
    assert leader.get("/cases/new").status_code == 403
    assert leader.post("/cases/new", intake_form(org)).status_code == 403
    bureau = Console(app, "gc_bureau")
    assert bureau.get("/cases/new").status_code == 403


def test_missing_materials_notice_lists_every_item(app, org, gc):
    case_id = register(app, gc, org, materials=["application"])
    r = gc.act(case_id, "accept", {"materials": ["application"], "applicant_signed": "1"})
    assert r.status_code == 422 and "材料不齐备" in r.get_data(as_text=True)
    assert gc.act(case_id, "notify_missing", {"materials": ["application"]}).status_code == 302
    notice = gc.get(f"/cases/{case_id}/print/missing_notice").get_data(as_text=True)
    codes = re.findall(r'<li data-code="(\w+)">', notice)
    # 李秀英 is flagged seriously ill at intake: the profile's situational material joins the notice
    assert codes == ["hukou_id", "income_property_statement", "integrity_pledge", "verification_authorisation",
                     "illness_papers"]
    assert "重病诊断证明（病历）（李秀英）" in notice


def test_situational_materials_hold_up_acceptance(app, org, gc):
    """A member flagged as a student needs the student papers: named on the page, and acceptance waits."""
    base = intake_form(org)["materials"]
    case_id = register(app, gc, org, m2_name="张小明", m2_id=id_number("410104", dt.date(2008, 9, 1), 33),
                       m2_relation="child", m2_co_residing="1", m2_covered="1", m2_student="1",
                       materials=[*base, "illness_papers"])
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "张小明" in page and 'data-material="student_papers"' in page
    before = counts(app)
    r = gc.act(case_id, "accept", {"materials": [*base, "illness_papers"], "applicant_signature": signature()})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "学生证（在校证明或入学通知书）" in body and status_of(app, case_id) == "application"
    assert counts(app) == before
    assert gc.act(case_id, "notify_missing", {"materials": [*base, "illness_papers"]}).status_code == 302
    notice = gc.get(f"/cases/{case_id}/print/missing_notice").get_data(as_text=True)
    assert re.findall(r'<li data-code="(\w+)">', notice) == ["student_papers"] and "（张小明）" in notice
    r = gc.act(case_id, "accept", {"materials": [*base, "illness_papers", "student_papers"],
                                   "applicant_signature": signature()})
    assert r.status_code == 302 and status_of(app, case_id) == "accepted"


# --- scope, roles and CSRF on actions ----------------------------------------------------------

def test_other_units_cannot_see_or_act(app, org, gc):
    case_id = register(app, gc, org)
    other = Console(app, "other_case")
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert other.act(case_id, "accept", {"applicant_signed": "1"}).status_code == 404
    assert f"/cases/{case_id}" not in other.get("/cases?q=张建国").get_data(as_text=True)
    assert status_of(app, case_id) == "application"


def test_wrong_role_and_missing_csrf_change_nothing(app, org, gc):
    case_id = register(app, gc, org)
    before = counts(app)
    leader = Console(app, "gc_lead")
    r = leader.act(case_id, "accept", {"materials": intake_form(org)["materials"], "applicant_signed": "1"})
    assert r.status_code == 403 and "只能由以下角色办理" in r.get_data(as_text=True)
    assert gc.act(case_id, "accept", {"applicant_signed": "1"}, csrf=False).status_code == 400
    assert counts(app) == before and status_of(app, case_id) == "application"


def test_bureau_reads_the_district_but_has_no_actions(app, org, gc):
    case_id = register(app, gc, org)
    bureau = Console(app, "gc_bureau")
    page = bureau.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "张建国" in page and 'id="actions"' not in page
    head_id = intake_form(org)["m0_id"]
    assert head_id not in page and head_id[:3] + "*" * 11 + head_id[-4:] in page
    assert bureau.act(case_id, "accept", {"applicant_signed": "1"}).status_code == 403


def test_unknown_action_is_404(app, org, gc):
    case_id = register(app, gc, org)
    assert gc.act(case_id, "teleport").status_code == 404


def test_search_by_name_and_id_number(app, org, gc):
    case_id = register(app, gc, org)
    number = intake_form(org)["m1_id"]
    for q in ("李秀英", number, number.lower()):
        page = gc.get(f"/cases?q={q}").get_data(as_text=True)
        assert f"/cases/{case_id}" in page
    assert f"/cases/{case_id}" not in gc.get("/cases?q=王五").get_data(as_text=True)
    assert gc.get("/cases?status=nonsense").status_code == 400


# --- the whole walk, guancheng, through HTTP ----------------------------------------------------

def walk_to_review(app, org, console, case_id, prefix="gc_", fingerprint=False):
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    files = {"fingerprint": (png_bytes(), "finger.png", "image/png")} if fingerprint else None
    assert console.act(case_id, "accept", accept, files=files).status_code == 302
    with app.app_context():
        member_ids = [str(m.id) for m in db.session.get(Case, case_id).household.members]
    assert console.act(case_id, "request_verification", {"members": member_ids}).status_code == 302
    inv = [str(getattr(org, prefix + "inv1")), str(getattr(org, prefix + "inv2"))]
    r = console.post(f"/cases/{case_id}/assign", {"team": inv[:1]})
    assert r.status_code == 422 and "不少于2人" in r.get_data(as_text=True)
    assert console.post(f"/cases/{case_id}/assign", {"team": inv}).status_code == 302
    on(app, START + dt.timedelta(days=1))
    visit = {"team": inv, "signed": inv[:1], "applicant_signed": "1", "visit_on": (START + dt.timedelta(days=1)).isoformat(),
             "income_wages_1": "1800", **{f"income_wages_{m}": "0" for m in range(2, 7)}, "living_notes": "住房简陋", "summary": "情况属实", "recommendation": "eligible"}
    scan = {"scan": (png_bytes(), "form.png", "image/png")}
    r = console.post(f"/cases/{case_id}/paper-visit", visit, files=scan)
    assert r.status_code == 422 and "所有调查人员须在入户调查表上签字" in r.get_data(as_text=True)
    visit["signed"] = inv
    assert console.post(f"/cases/{case_id}/paper-visit", visit, files=scan).status_code == 302
    report = {"found_income_6m": "2400.00", "found_property": "无车辆"}
    r = console.act(case_id, "record_verification_report", report,
                    files={"report_file": (pdf_bytes(), "report.pdf", "application/pdf")})
    assert r.status_code == 302
    page = console.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'class="differs">2400.00' in page   # the report differs from the declaration: highlighted
    on(app, START + dt.timedelta(days=2))
    panel = {"panel_name": ["王干事", "赵主任", "居民甲", "居民乙"],
             "panel_category": ["office_staff", "committee", "resident", "resident"],
             "panel_signed": ["0", "1", "2", "3"], "minutes": "宣讲政策、介绍情况、现场评议。", "conclusion": "agree"}
    r = console.act(case_id, "record_appraisal", panel)
    assert r.status_code == 422 and "2/3" in r.get_data(as_text=True)      # 2 of 4 residents
    panel["panel_name"] += ["居民丙", "居民丁"]
    panel["panel_category"] += ["resident", "resident"]
    panel["panel_signed"] += ["4", "5"]
    assert console.act(case_id, "record_appraisal", panel).status_code == 302
    r = console.act(case_id, "review_opinion", {"recommendation": "approve", "opinion": "拟批准",
                                                 "assessed_income_6m": "2400", "property_checked": "1"})
    assert r.status_code == 302


def test_guancheng_walk_from_intake_to_certificate(app, org, gc):
    case_id = register(app, gc, org)
    walk_to_review(app, org, gc, case_id)
    leader = Console(app, "gc_lead")
    r = leader.act(case_id, "sign_review", {"opinion": "同意"})
    assert r.status_code == 422 and "手写签名" in r.get_data(as_text=True)
    assert leader.act(case_id, "sign_review", {"opinion": "同意", "signature": signature()}).status_code == 302
    on(app, START + dt.timedelta(days=3))
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    r = gc.act(case_id, "close_publicity")
    assert r.status_code == 422 and "2025-11-13" in r.get_data(as_text=True)  # opened 11-06 + 7 days
    on(app, dt.date(2025, 11, 13))
    assert gc.act(case_id, "close_publicity").status_code == 302
    director = Console(app, "gc_dir")
    page = director.get(f"/cases/{case_id}").get_data(as_text=True)
    # The working: placeholder standard 700, income 2400/6 = 400 for 2 people -> (700 - 200) * 2 = 1000.00
    assert 'data-total="1000.00"' in page and "占位数值" in page
    assert gc.act(case_id, "approve", {"signature": signature()}).status_code == 403
    assert director.act(case_id, "approve", {"signature": signature(), "opinion": "同意"}).status_code == 302
    r = gc.act(case_id, "issue_certificate", {"number": "GC-0001", "valid_from": "2025-11-13",
                                              "valid_until": "2025-11-12"})
    assert r.status_code == 422
    assert gc.act(case_id, "issue_certificate", {"number": "GC-0001", "valid_from": "2025-11-13",
                                                 "valid_until": "2026-11-12"}).status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "certified" and str(case.amount) == "1000.00"
        token = case.certificate_token
        actions = [e.action for e in case.events]
        audited = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(case_id),
                                                                     AuditEntry.object_type == "case")
                                     .order_by(AuditEntry.id)).all()
    assert actions == ["register", "accept", "request_verification", "record_home_visit", "record_verification_report",
                       "record_appraisal", "review_opinion", "sign_review", "open_publicity", "close_publicity",
                       "approve", "issue_certificate"]
    assert [a for a in audited if a != "visit.assign"] == ["case." + a for a in actions]
    for doc in ("approval_form", "visit_form", "appraisal_record", "certificate"):
        r = gc.get(f"/cases/{case_id}/print/{doc}")
        assert r.status_code == 200, doc
    cert = gc.get(f"/cases/{case_id}/print/certificate").get_data(as_text=True)
    assert "<svg" in cert and "GC-0001" in cert
    public = app.test_client().get(f"/v/{token}").get_data(as_text=True)
    assert "有效" in public and "张*" in public and "张建国" not in public
    assert intake_form(org)["m0_id"] not in public and "13900000000" not in public
    assert app.test_client().get("/v/not-a-token").status_code == 404


def test_refusal_with_reasons_and_notice(app, org, gc):
    case_id = register(app, gc, org)
    walk_to_review(app, org, gc, case_id)
    Console(app, "gc_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    director = Console(app, "gc_dir")
    r = director.act(case_id, "refuse", {"reasons": "   "})
    assert r.status_code == 422 and status_of(app, case_id) == "reviewed"
    assert director.act(case_id, "refuse", {"reasons": "人均收入高于标准"}).status_code == 302
    notice = gc.get(f"/cases/{case_id}/print/refusal_notice").get_data(as_text=True)
    assert "人均收入高于标准" in notice and "行政复议" in notice and "行政诉讼" in notice


def test_objection_reopens_and_requires_new_publicity(app, org, gc):
    case_id = register(app, gc, org)
    walk_to_review(app, org, gc, case_id)
    Console(app, "gc_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    assert gc.act(case_id, "record_objection", {"text": "有车未申报", "source": "board"}).status_code == 302
    page = gc.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-step="objection_redecision"' in page
    assert gc.act(case_id, "resolve_objection", {"finding": "车辆已转让", "outcome": "uphold"}).status_code == 302
    assert status_of(app, case_id) == "reviewed"
    assert gc.act(case_id, "open_publicity", {"boards": ["410104005001"]}).status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).publicity_rounds == 2


def test_yijun_walk_needs_fingerprint_and_meeting(app, org):
    on(app, START)
    yj = Console(app, "yj_case")
    case_id = register(app, yj, org, unit="village", region="610222")
    r = yj.act(case_id, "accept", {"materials": intake_form(org)["materials"], "applicant_signature": signature()})
    assert r.status_code == 422 and "手印" in r.get_data(as_text=True)
    # a bare "fingerprint=1" without the image is not a fingerprint
    r = yj.act(case_id, "accept", {"materials": intake_form(org)["materials"], "applicant_signature": signature(),
                                   "fingerprint": "1"})
    assert r.status_code == 422 and "手印图像" in r.get_data(as_text=True) and status_of(app, case_id) == "application"
    walk_to_review(app, org, yj, case_id, prefix="yj_", fingerprint=True)
    Console(app, "yj_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    r = yj.act(case_id, "open_publicity", {"boards": ["610222002001"]})
    assert r.status_code == 422 and "会议" in r.get_data(as_text=True)
    assert yj.act(case_id, "record_meeting", {"record": "会议研究同意", "decision": "approve", "attendee": ["王镇长", "李干事"]}).status_code == 302
    with app.app_context():   # 彭村 has a natural village: the seed's third level applies
        from server import services
        from server.operations.accounts import add_unit

        add_unit("610222002001001", "上组", "natural_village", "yijun", db.session.get(Unit, org.village),
                 known_profiles=services().profiles)
        db.session.commit()
    before = counts(app)
    for boards, missing in ((["610222002001001"], "乡镇（综合服务中心）、街道办事处、村（村委会）"),
                            (["610222002", "610222002001"], "自然村")):
        r = yj.act(case_id, "open_publicity", {"boards": boards})
        assert r.status_code == 422 and f"缺少：{missing}" in r.get_data(as_text=True), boards
        assert status_of(app, case_id) == "meeting_held" and counts(app) == before
    r = yj.act(case_id, "open_publicity", {"boards": ["610222002", "610222002001", "elsewhere"]})
    assert r.status_code == 422 and "不是本案的公示栏" in r.get_data(as_text=True)
    r = yj.act(case_id, "open_publicity", {"boards": ["610222002", "610222002001", "610222002001001"]})
    assert r.status_code == 302
    assert status_of(app, case_id) == "publicity"


def test_attachments_are_only_for_the_office(app, org, gc):
    case_id = register(app, gc, org)
    walk_to_review(app, org, gc, case_id)
    with app.app_context():
        case = db.session.get(Case, case_id)
        sha = case.verification["report"]["file"]

    def fetch(console, path):
        with console.get(path) as r:
            return r.status_code, r.headers, r.get_data()

    status, headers, body = fetch(gc, f"/files/{sha}/original")
    assert status == 200 and body == pdf_bytes()
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Content-Disposition"].startswith("attachment")
    assert fetch(Console(app, "gc_bureau"), f"/files/{sha}/original")[0] == 200
    assert fetch(Console(app, "other_case"), f"/files/{sha}/original")[0] == 404
    assert fetch(gc, f"/files/{'0' * 64}/original")[0] == 404


def test_unit_lookup_for_boards(app, org):
    with app.app_context():
        assert db.session.get(Unit, org.village).code == "610222002001"


def test_enrolment_code_page_shows_a_qr_of_the_link(app, org, gc):
    page = gc.get("/devices").get_data(as_text=True)
    assert 'data-user="gc_inv1"' in page and 'data-user="other_inv"' not in page
    r = gc.post(f"/devices/code/{org.gc_inv1}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<svg" in body
    code = re.search(r'<strong class="code">(\w+)</strong>', body).group(1)
    assert f"/app/#enrol={code}" in body
    assert gc.post(f"/devices/code/{org.other_inv}").status_code == 404
    assert Console(app, "gc_lead").get("/devices").status_code == 403
    with app.app_context():
        from server.models import EnrolmentCode

        row = db.session.scalar(select(EnrolmentCode).where(EnrolmentCode.code == code))
        assert row.user_id == org.gc_inv1 and row.used_at is None


def test_a_concurrent_edit_answers_409_not_500(app, org):
    from sqlalchemy.orm.exc import StaleDataError

    @app.get("/_test/stale")
    def _stale():
        raise StaleDataError("simulated concurrent update")

    r = Console(app, "gc_case").get("/_test/stale")
    assert r.status_code == 409 and "其他人修改" in r.get_data(as_text=True)


# --- the seed's verification and panel (issue 12) -------------------------------------------------

def test_verification_names_every_co_residing_member_with_support_duties(app, org, gc):
    case_id = register(app, gc, org)
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    assert gc.act(case_id, "accept", accept).status_code == 302
    with app.app_context():
        head, spouse = db.session.get(Case, case_id).household.members
        head_id = str(head.id)
    before = counts(app)
    r = gc.act(case_id, "request_verification", {"members": [head_id]})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "未选：李秀英" in body and "not chosen" not in body
    assert counts(app) == before and status_of(app, case_id) == "accepted"
    assert 'name="omission_reason"' in body
    r = gc.act(case_id, "request_verification", {"members": [head_id], "omission_reason": "配偶长期在外地务工，另行核对"})
    assert r.status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        ev = case.events[-1]
        assert ev.action == "request_verification" and ev.data["omitted"] == ["李秀英"]
        assert ev.data["omission_reason"] == "配偶长期在外地务工，另行核对" and case.verification_requested_on
    assert "未报核对" in gc.get(f"/cases/{case_id}").get_data(as_text=True)


def _to_visited(app, org, gc, case_id):
    accept = {"materials": intake_form(org)["materials"], "applicant_signature": signature()}
    assert gc.act(case_id, "accept", accept).status_code == 302
    inv = [str(org.gc_inv1), str(org.gc_inv2)]
    visit = {"team": inv, "signed": inv, "applicant_signed": "1", "visit_on": START.isoformat(),
             "income_wages_1": "1800", **{f"income_wages_{m}": "0" for m in range(2, 7)}, "living_notes": "住房简陋", "summary": "情况属实", "recommendation": "eligible"}
    r = gc.post(f"/cases/{case_id}/paper-visit", visit, files={"scan": (png_bytes(), "form.png", "image/png")})
    assert r.status_code == 302 and status_of(app, case_id) == "visited"


@pytest.mark.parametrize("names, categories, message", [
    (["居民甲"], ["resident"], "民主评议小组不少于3人（现为 1 人）"),
    (["王干事", "陈静", "居民乙", "陈静"], ["office_staff", "resident", "resident", "resident"],
     "同一人不能在评议小组中重复登记：陈静"),
    (["王干事", "陈 静", "居民乙", "陈静"], ["office_staff", "resident", "resident", "resident"],
     "同一人不能在评议小组中重复登记：陈静"),
])
def test_appraisal_panel_of_the_seed(app, org, gc, names, categories, message):
    case_id = register(app, gc, org)
    _to_visited(app, org, gc, case_id)
    before = counts(app)
    panel = {"panel_name": names, "panel_category": categories, "panel_signed": [str(i) for i in range(len(names))],
             "minutes": "宣讲政策、介绍情况、现场评议。", "conclusion": "agree"}
    r = gc.act(case_id, "record_appraisal", panel)
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and message in body
    assert status_of(app, case_id) == "visited" and counts(app) == before
    assert "宣讲政策、介绍情况、现场评议。" in body   # what was typed comes back
