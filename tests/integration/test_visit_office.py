"""A phone visit arrives in the office as a finished, readable, printable record (issue 11), through HTTP:
the case page, the reconciliation, the printed 入户调查表, the household after reconciling, the server's
own clock, one record per assignment, the photo facts."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, User, Visit
from server.operations.cases import register_application
from tests.conftest import id_number
from tests.integration.test_console import Console
from tests.integration.test_pages_i18n import visible_text
from tests.integration.test_sync_api import (  # noqa: F401 (the fixture)
    TODAY,
    att,
    envelope,
    field,
    jpeg,
    png,
)

GRANDCHILD = id_number("410104", dt.date(2019, 6, 1), 33)
CAPTURED = "2025-11-04T01:20:05Z"         # 09:20 in China
WHERE = {"lat": "34.7512300", "lon": "113.6701200", "accuracy": "8"}


def phone_visit(field, *, drop_spouse: bool = True):  # noqa: F811
    """The team found a grandchild living with the family, the spouse gone, and wages of 450 a month for
    six months; a photo with its capture time and place; the applicant's and both investigators' signatures."""
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    photo, applicant, inv1, inv2 = jpeg((20, 40, 60)), png((1, 1, 1)), png((2, 2, 2)), png((3, 3, 3))
    for data, mime in ((photo, "image/jpeg"), (applicant, "image/png"), (inv1, "image/png"), (inv2, "image/png")):
        assert a.put(data, mime).status_code in (200, 201)
    org = field["org"]
    env = envelope(assignment, [{**att(photo, "photo", "house_inside"), "captured_at": CAPTURED, "position": WHERE},
                                att(applicant, "signature", "applicant", "image/png"),
                                att(inv1, "signature", "investigators", "image/png"),
                                att(inv2, "signature", "investigators", "image/png")],
                   [org.gc_inv1, org.gc_inv2])
    answers = env["answers"]
    if drop_spouse:
        answers["members"] = answers["members"][:1]
    answers["members"].append({"name": "张小宝", "id_number": GRANDCHILD, "relation": "grandchild", "co_residing": True,
                               "health": "healthy", "disabled": False, "student": True, "school": "南关小学一年级",
                               "work": "unable", "able_to_work": False})
    answers["income"]["wages"] = ["450.00"] * 6
    answers["living"] = {"conditions": ["leaking_roof", "no_heating"], "notes": "北屋漏雨"}
    answers["findings"] = {"summary": "祖孙二人共同生活，配偶已外出务工多年", "recommendation": "eligible"}
    r = a.post_visit(env)
    assert r.status_code == 201, r.json
    for phone in (a, b):
        assert phone.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    return env


RAW = re.compile(r"\b(True|False|None|accepted|complete|incomplete|superseded|recorded|eligible|grandchild|"
                 r"leaking_roof|no_heating|wages|unemployed|healthy)\b")
PATHS = ("member/", "income/", "property/", "living/")


def assert_readable(page: str) -> None:
    """No raw internal path anywhere in the page; no raw boolean, option value or English status in what it shows."""
    for path in PATHS:
        assert path not in page, f"raw internal path {path!r} in the page"
    text = html.unescape(visible_text(page))
    assert not RAW.findall(text), RAW.findall(text)


def test_a_phone_visit_is_a_readable_printable_record_and_the_family_follows(app, field):  # noqa: F811
    env = phone_visit(field)
    case_id = field["case_id"]
    caseworker = Console(app, "gc_case")
    page = caseworker.get(f"/cases/{case_id}").get_data(as_text=True)
    assert_readable(page)
    visit = page[page.index(f'data-visit="{env["visit_id"]}"'):]
    for shown in ("祖孙二人共同生活，配偶已外出务工多年", "符合条件", "张小宝", "新增成员", "孙子女", "房屋漏雨或危旧、无取暖设施",
                  "调查时未见此成员", "已接收", "拍摄时间：2025-11-04 09:20", "北纬34.75123°", "申请人签字", "调查人员签字",
                  "就读学校及年级：南关小学一年级", "是否残疾：否"):
        assert shown in visit, shown
    # side by side: the declared 300 against the 2700 the visit found, highlighted
    income_row = re.search(r'<tr data-row="income-wages">.*?</tr>', page, re.S).group(0)
    assert "300.00" in income_row and 'class="differs">2700.00' in income_row
    # the reconciliation: one row for the new member, one for the member not found, labels not paths
    form = page[page.index(f'id="reconcile-{env["visit_id"]}"'):]
    assert form.count("新增成员：张小宝（孙子女）") == 1 and "调查时未见此成员（不再共同生活）" in form
    assert "李秀英（配偶）" in form and "张建国（户主）" in form and "工资性收入" in form and "2700.00 元" in form
    absent = re.search(r'data-row="(r\d+)">\s*<td>调查时未见此成员', form).group(1)

    for username in ("gc_lead", "gc_dir"):   # the leader and the director read the same visit
        other = Console(app, username).get(f"/cases/{case_id}").get_data(as_text=True)
        assert "祖孙二人共同生活" in other and "符合条件" in other and "张小宝" in other
        assert_readable(other)

    printed = caseworker.get(f"/cases/{case_id}/print/visit_form").get_data(as_text=True)
    assert_readable(printed)
    for shown in ("祖孙二人共同生活，配偶已外出务工多年", "符合条件", "张小宝", "2700.00", "房屋漏雨或危旧", "拍摄时间：2025-11-04 09:20",
                  'class="signature applicant"', "调查人员签字"):
        assert shown in printed, shown
    assert printed.count('<img class="signature"') == 2     # both investigators' drawn signatures
    assert re.search(r"李秀英（配偶）<strong>调查时未见此成员", printed)

    r = caseworker.post(f"/cases/{case_id}/visits/{env['visit_id']}/reconcile", {f"pick:{absent}": "visit"})
    assert r.status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        members = {m.id_number: m for m in case.household.members}
        assert members[GRANDCHILD].name == "张小宝" and members[GRANDCHILD].relation == "grandchild"
        assert members[GRANDCHILD].student and members[GRANDCHILD].covered
        spouse = next(m for m in case.household.members if m.name == "李秀英")
        assert not spouse.co_residing and not spouse.covered
        assert str(case.assessed_income_6m) == "2700.00"
        assert case.events[-1].action == "reconcile_visit"
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "visit.reconcile"))
        assert audit.after["new_members"] == [GRANDCHILD] and audit.after["left"] == [spouse.id_number]
    page = caseworker.get(f"/cases/{case_id}").get_data(as_text=True)
    assert_readable(page)
    # 2700 over 6 months for the 2 people who live together now (head and grandchild): 225.00 a person a month
    assert re.search(r'class="per-capita">225\.00（2人）', page)
    history = page[page.index('id="history"'):]
    assert "核对入户调查结果" in history and "新增成员：张小宝" in history
    approval = caseworker.get(f"/cases/{case_id}/print/approval_form").get_data(as_text=True)
    assert "张小宝" in approval


def test_english_pages_say_it_in_english(app, field):  # noqa: F811
    phone_visit(field, drop_spouse=False)
    page = Console(app, "gc_case").get(f"/cases/{field['case_id']}?lang=en").get_data(as_text=True)
    assert "New member: 张小宝 (Grandchild)" in page and "Eligible" in page and "Accepted" in page


def test_a_new_member_already_in_another_open_case_is_refused(app, field, org):  # noqa: F811
    env = phone_visit(field, drop_spouse=False)
    with app.app_context():
        from server.models import Unit

        register_application(community=db.session.get(Unit, org.c2), actor=db.session.get(User, org.gc_case),
                             today=TODAY, members=[{"name": "张小宝", "relation": "head", "id_number": GRANDCHILD}])
    caseworker = Console(app, "gc_case")
    r = caseworker.post(f"/cases/{field['case_id']}/visits/{env['visit_id']}/reconcile", {})
    assert r.status_code == 409 and "新增成员张小宝已在其他在办或在保案件" in r.get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, field["case_id"])
        assert len(case.household.members) == 2 and case.record_version == 1
        assert db.session.get(Visit, env["visit_id"]).reconciled_at is None


def test_a_paper_visit_has_the_same_shape(app, field, org):  # noqa: F811
    caseworker = Console(app, "gc_case")
    from tests.integration.test_console import png_bytes

    data = {"team": [str(org.gc_inv1), str(org.gc_inv2)], "signed": [str(org.gc_inv1), str(org.gc_inv2)],
            "applicant_signed": "1", "visit_on": TODAY.isoformat(), "income_wages_1": "１，２００",
            "income_pensions_2": "abc", "property_housing": "自有平房两间", "living_conditions": ["no_heating"],
            "summary": "纸质表：情况属实", "recommendation": "not_eligible"}
    scan = {"scan": (png_bytes(), "form.png", "image/png")}
    r = caseworker.post(f"/cases/{field['case_id']}/paper-visit", data, files=scan)
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "“养老金、离退休金”第2个月的金额无效" in body and "纸质表：情况属实" in body
    data["income_pensions_2"] = ""
    # a month left blank is refused, never read as 0; so is a comma that does not group thousands
    r = caseworker.post(f"/cases/{field['case_id']}/paper-visit", data, files=scan)
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "“工资性收入”第2个月、第3个月、第4个月、第5个月、第6个月未填写" in body
    data.update({f"income_wages_{m}": "0" for m in range(2, 7)}, income_wages_2="12,50")
    r = caseworker.post(f"/cases/{field['case_id']}/paper-visit", data, files=scan)
    assert r.status_code == 422 and "逗号只能用作千位分隔符" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 0
    data["income_wages_2"] = "0"
    assert caseworker.post(f"/cases/{field['case_id']}/paper-visit", data, files=scan).status_code == 302
    page = caseworker.get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert_readable(page)
    assert "纸质表：情况属实" in page and "不符合条件" in page and "无取暖设施" in page and "1200.00" in page
    printed = caseworker.get(f"/cases/{field['case_id']}/print/visit_form").get_data(as_text=True)
    assert "纸质表：情况属实" in printed and "1200.00" in printed and "自有平房两间" in printed
    assert "已在纸质调查表上签字" in printed


# --- the server's clock ------------------------------------------------------------------------------

@pytest.mark.parametrize("started, code", [
    ((dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat(timespec="seconds"), "started_in_future"),
    ("2031-06-01T09:00:00+08:00", "started_in_future"),
    ("2025-11-01T09:00:00+08:00", "started_before_assignment"),
])
def test_the_server_decides_what_day_it_is(app, field, started, code):  # noqa: F811
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    env = envelope(assignment, [], [field["org"].gc_inv1, field["org"].gc_inv2])
    env["started_at"] = started
    env["finished_at"] = "2031-06-01T10:00:00+08:00"
    r = a.post_visit(env)
    assert r.status_code == 422
    problem = next(p for p in r.json["problems"] if p["path"] == "started_at")
    assert problem["code"] == code and "请检查手机的日期和时间" in problem["message"] and problem["message_en"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 0


def test_ten_minutes_of_clock_skew_are_allowed(app, field):  # noqa: F811
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    signature = png((4, 4, 4))
    a.put(signature, "image/png")
    env = envelope(assignment, [att(signature, "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    env["started_at"] = soon.isoformat(timespec="seconds")
    env["finished_at"] = (soon + dt.timedelta(minutes=30)).isoformat(timespec="seconds")
    assert a.post_visit(env).status_code == 201


# --- one record per assignment --------------------------------------------------------------------------

def test_a_second_independent_record_for_an_assignment_is_409_and_the_pull_shows_the_first(app, field):  # noqa: F811
    a, b = field["phones"]
    pulled = b.pull().json
    assignment = pulled["assignments"][0]
    assert assignment["records"] == []
    signature = png((6, 6, 6))
    a.put(signature, "image/png")
    first = envelope(assignment, [att(signature, "signature", "applicant", "image/png")],
                     [field["org"].gc_inv1, field["org"].gc_inv2])
    assert a.post_visit(first).status_code == 201
    second = envelope(assignment, [att(signature, "signature", "applicant", "image/png")],
                      [field["org"].gc_inv1, field["org"].gc_inv2])
    r = b.post_visit(second)
    assert r.status_code == 409 and r.json["error"] == "record_exists" and r.json["visit_id"] == first["visit_id"]
    assert r.json["message"] and r.json["message_en"]
    # The teammate's incremental pull (from the cursor it had) carries the assignment again, with the record.
    changed = b.pull(since=pulled["cursor"]).json
    assert changed["full"] is False
    assert [x["visit_id"] for x in changed["assignments"][0]["records"]] == [first["visit_id"]]
    records = b.pull().json["assignments"][0]["records"]
    assert [(x["visit_id"], x["status"], x["investigators"]) for x in records] == [
        (first["visit_id"], "complete", ["gc_inv1", "gc_inv2"])]
    assert dt.datetime.fromisoformat(records[0]["received_at"]).tzinfo is not None
    with app.app_context():
        assert db.session.scalar(select(func.count(Visit.id))) == 1


# --- photo facts ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, path", [
    ({"captured_at": "2025-11-04 09:20"}, "attachments/0/captured_at"),
    ({"position": {"lat": 34.75, "lon": "113.67", "accuracy": "5"}}, "attachments/0/position/lat"),
    ({"position": {"lat": "95", "lon": "113.67", "accuracy": "5"}}, "attachments/0/position/lat"),
    ({"position": {"refused": False}}, "attachments/0/position/refused"),
])
def test_bad_photo_facts_are_refused(app, field, extra, path):  # noqa: F811
    a = field["phones"][0]
    assignment = a.pull().json["assignments"][0]
    photo = jpeg((9, 9, 9))
    env = envelope(assignment, [{**att(photo, "photo", "kitchen"), **extra}], [field["org"].gc_inv1])
    r = a.post_visit(env)
    assert r.status_code == 422 and r.json["error"] == "envelope_invalid"
    assert path in {p["path"] for p in r.json["problems"]}


def test_enrol_code_prints_its_expiry_with_the_timezone(app, field):  # noqa: F811
    r = app.test_cli_runner().invoke(args=["devices", "enrol-code", "gc_inv3"])
    assert r.exit_code == 0
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+0800 \(Asia/Shanghai", r.stderr)


def test_assignment_dates_are_china_dates(app, field):  # noqa: F811
    with app.app_context():
        from server.models import VisitAssignment

        row = db.session.scalar(select(VisitAssignment))
        row.created_at = dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)   # 01:30 on 1 December in China
        db.session.commit()
    page = Console(app, "gc_case").get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert "派发 2026-12-01" in page


def test_the_sweep_accepts_a_visit_left_behind(app, field):  # noqa: F811
    env = phone_visit(field)
    with app.app_context():   # as if the process died between the attestation commit and acceptance
        visit = db.session.get(Visit, env["visit_id"])
        case = db.session.get(Case, field["case_id"])
        visit.status, visit.merge = "complete", None
        case.status, case.visit_on = "accepted", None
        visit.assignment.status = "open"   # (closed in the acceptance's transaction)
        db.session.commit()
    r = app.test_cli_runner().invoke(args=["sync", "sweep"])
    assert r.exit_code == 0 and "1" in r.output
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).status == "accepted"
        assert db.session.get(Case, field["case_id"]).status == "visited"
    assert app.test_cli_runner().invoke(args=["sync", "sweep"]).output.strip().endswith("0")



def test_a_resent_visit_re_runs_acceptance(app, field):  # noqa: F811
    env = phone_visit(field)
    with app.app_context():   # as a crash between the last commit and acceptance would leave it
        visit = db.session.get(Visit, env["visit_id"])
        case = db.session.get(Case, field["case_id"])
        visit.status, visit.merge = "complete", None
        case.status, case.visit_on = "accepted", None
        visit.assignment.status = "open"   # (closed in the acceptance's transaction)
        db.session.commit()
    r = field["phones"][0].post_visit(env)
    assert r.status_code == 200 and r.json["status"] == "accepted"
    with app.app_context():
        assert db.session.get(Case, field["case_id"]).status == "visited"
        assert db.session.get(Visit, env["visit_id"]).merge["missing"]


@pytest.mark.parametrize("username", ["gc_lead", "gc_dir"])
def test_only_the_caseworker_reconciles(app, field, username):  # noqa: F811
    env = phone_visit(field, drop_spouse=False)
    r = Console(app, username).post(f"/cases/{field['case_id']}/visits/{env['visit_id']}/reconcile", {})
    assert r.status_code == 403 and "只有本街道（乡镇）的经办人可以核对调查结果" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Visit, env["visit_id"]).reconciled_at is None
        assert len(db.session.get(Case, field["case_id"]).household.members) == 2


def test_a_photo_without_facts_shows_what_its_file_says(app, field):  # noqa: F811
    a, b = field["phones"]
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg(exif_gps=True), png((8, 8, 8))
    a.put(photo)
    a.put(signature, "image/png")
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant", "image/png")],
                   [field["org"].gc_inv1, field["org"].gc_inv2])
    r = a.post_visit(env)
    for phone in (a, b):
        assert phone.attest(env["visit_id"], r.json["content_hash"]).status_code == 201
    page = Console(app, "gc_case").get(f"/cases/{field['case_id']}").get_data(as_text=True)
    assert "拍摄地点：北纬34.75000°, 东经113.66667°" in page and "拍摄时间：未记录" in page


def test_an_unchanged_resend_under_a_new_id_may_keep_its_signatures(app, field):  # noqa: F811
    from tests.integration.test_sync_api import visit_ready

    env, _ = visit_ready(field)
    again = {**env, "visit_id": str(uuid.uuid4()), "supersedes": env["visit_id"]}
    assert field["phones"][0].post_visit(again).status_code == 201


def test_the_case_page_and_the_print_say_who_confirmed_on_their_phone(app, field):  # noqa: F811
    """Three investigators are listed; two confirm on their phones (enough to accept the visit). The page and
    the printed 入户调查表 say who confirmed, when and on which phone — and that the third never did, rather
    than printing all three as having signed (谁入户、谁签字)."""
    from server.operations.accounts import add_user
    from server.operations.visits import assign_visit

    org, (a, b) = field["org"], field["phones"]
    with app.app_context():
        third = add_user("gc_inv9", "investigator", "410104005", "correct-horse-1", "第三调查员").id
        db.session.commit()
        assign_visit(db.session.get(Case, field["case_id"]), db.session.get(User, org.gc_case),
                     [org.gc_inv1, org.gc_inv2, third], today=TODAY)
    assignment = a.pull().json["assignments"][0]
    photo, signature = jpeg((9, 8, 7)), png((7, 8, 9))
    assert a.put(photo).status_code == 201 and a.put(signature, "image/png").status_code == 201
    env = envelope(assignment, [att(photo, "photo", "house_outside"), att(signature, "signature", "applicant",
                                                                          "image/png")],
                   [org.gc_inv1, org.gc_inv2, third])
    h = a.post_visit(env).json["content_hash"]
    assert a.attest(env["visit_id"], h).status_code == 201
    assert b.attest(env["visit_id"], h).json["status"] == "accepted"
    caseworker = Console(app, "gc_case")
    for path in (f"/cases/{field['case_id']}", f"/cases/{field['case_id']}/print/visit_form"):
        page = caseworker.get(path).get_data(as_text=True)
        marks = dict(re.findall(r'<span class="attested" data-user="(\d+)" data-attested="(yes|no)">', page))
        assert marks == {str(org.gc_inv1): "yes", str(org.gc_inv2): "yes", str(third): "no"}, path
        assert page.count("已在手机上确认") == 2 and page.count("红米 Note") == 2 and "第三调查员" in page, path
        assert f'data-user="{third}" data-attested="no">（未确认）' in page, path
