"""The rest of the typed text, as tests/integration/test_input_text.py: the assignment note (one line), the
intake form, the paper visit form and the residents' objection / tip-off form refuse control characters and
text-direction marks, embeddings, overrides and isolates (and, in a field of one line, tabs and line breaks):
422, the field named in both languages, what was typed shown again, nothing stored."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Case, CaseEvent, Visit, VisitAssignment
from server.models.attachments import Attachment
from server.models.boards import Report
from tests.integration.test_boards import gc_board, public, to_publicity  # noqa: F401  (fixtures)
from tests.integration.test_console import _to_visited, gc, intake_form, png_bytes, register, status_of  # noqa: F401
from tests.integration.test_input_text import BAD, LINES, rows
from tests.integration.test_no_silent_cuts import _paper, accepted  # noqa: F401  (a fixture)

CONTROL = "含有控制字符或文字方向控制符，请删除后重新输入"
CONTROL_EN = "contains a control character or a text-direction control: remove it and send again"


def refused(r, zh: str) -> str:
    page = r.get_data(as_text=True)
    assert r.status_code == 422, page[:2000]
    assert f"{zh}{CONTROL}" in page
    return page


def shown(page: str, typed: str) -> bool:
    return typed in page or html.escape(typed) in page


# --- the assignment note: one line ---------------------------------------------------------------

@pytest.mark.parametrize("bad", [*LINES, "\u202e", "\x1b"])
def test_an_assignment_note_is_one_line(app, org, accepted, bad):  # noqa: F811
    cw, case_id = accepted
    team = [str(org.gc_inv1), str(org.gc_inv2)]
    page = refused(cw.post(f"/cases/{case_id}/assign", {"team": team, "note": f"上午{bad}入户"}), "备注")
    form = re.search(r'<form [^>]*id="assign">.*?</form>', page, re.S).group(0)
    assert f'name="note" value="上午{bad}入户"' in form                   # kept in the form it was typed in
    report = re.search(r'<form [^>]*id="record_verification_report">.*?</form>', page, re.S)
    assert report is None or "入户" not in report.group(0)                  # and in no other form's note
    r = cw.post(f"/cases/{case_id}/assign?lang=en", {"team": team, "note": f"上午{bad}入户"})
    assert r.status_code == 422 and f"Note {CONTROL_EN}" in r.get_data(as_text=True)
    assert rows(app, VisitAssignment, VisitAssignment.case_id == case_id) == 0
    assert cw.post(f"/cases/{case_id}/assign", {"team": team, "note": "上午 入户"}).status_code == 302


def test_an_appraisal_assignment_s_note_comes_back_in_its_own_form(app, org, gc):  # noqa: F811
    case_id = register(app, gc, org)
    _to_visited(app, org, gc, case_id)
    team = [str(org.gc_inv1), str(org.gc_inv2)]
    page = refused(gc.post(f"/cases/{case_id}/assign", {"kind": "appraisal", "team": team, "note": "评议\t会"}),
                   "备注")
    assert 'name="note" value="评议\t会"' in re.search(r'<form [^>]*id="assign_appraisal">.*?</form>', page, re.S)[0]
    assert rows(app, VisitAssignment, VisitAssignment.case_id == case_id) == 0


# --- the intake form ---------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, zh, en", [
    ("address", "和平路\u202e1号", "居住地址", "Address"),
    ("address", "和平路\n1号", "居住地址", "Address"),
    ("phone", "139\x0800000000", "联系电话", "Phone number"),
    ("staff_relative_note", "妻子\t在民政所工作", "近亲属说明", "Note on the staff relative"),
    ("m0_name", "张\u2066建国\u2069", "第1行成员的姓名", "The name in member row 1"),
    ("m1_name", "李秀英\x1b[31m", "第2行成员的姓名", "The name in member row 2"),
    ("m1_hukou", "管城\u200f回族区", "第2行成员的户籍地", "The place of registration in member row 2"),
    ("property_housing", "自有住房\t45平方米", "房产（套数、面积、地址）", "Housing (number, area, address)"),
    ("property_vehicles", "电动车\x85一辆", "机动车辆", "Vehicles"),
])
def test_intake_text_with_a_control_character_is_refused(app, org, gc, field, value, zh, en):  # noqa: F811
    page = refused(gc.post("/cases/new", intake_form(org, **{field: value})), zh)
    assert shown(page, value) and f'value="{intake_form(org)["m1_id"]}"' in page       # nothing typed is lost
    assert f'data-field="{field}"' in page
    r = gc.post("/cases/new?lang=en", intake_form(org, **{field: value}))
    assert r.status_code == 422 and f"{en} {CONTROL_EN}" in r.get_data(as_text=True)
    assert rows(app, Case) == 0


@pytest.mark.parametrize("bad", BAD)
def test_intake_refuses_every_control_and_direction_character(app, org, gc, bad):  # noqa: F811
    refused(gc.post("/cases/new", intake_form(org, address=f"和平路{bad}1号")), "居住地址")
    assert rows(app, Case) == 0


def test_intake_names_every_such_field_at_once(app, org, gc):  # noqa: F811
    r = gc.post("/cases/new", intake_form(org, address="和平路\u202e1号", m0_name="张\u202e建国",
                                          property_housing="住房\u202e", income_wages_2="abc"))
    page = r.get_data(as_text=True)
    for zh in ("居住地址", "第1行成员的姓名", "房产（套数、面积、地址）"):
        assert f"{zh}{CONTROL}" in page
    assert "第2个月的金额无效" in page and rows(app, Case) == 0


# --- the paper visit form ----------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, zh", [
    ("summary", "情况\u202e属实", "调查情况综述"),
    ("summary", "情况\x07属实", "调查情况综述"),
    ("living_notes", "住房\u2067简陋", "生活状况说明"),
    ("property_housing", "自有住房\t45平方米", "房产（套数、面积、地址）"),
    ("property_deposits", "存款\n3000元", "银行存款（元）"),
    ("property_other", "无\u061c", "其他财产"),
])
def test_a_paper_visit_with_a_control_character_is_refused(app, org, accepted, field, value, zh):  # noqa: F811
    cw, case_id = accepted
    scan = {"scan": (png_bytes(), "form.png", "image/png")}
    page = refused(cw.post(f"/cases/{case_id}/paper-visit", _paper(org, **{field: value}), files=scan), zh)
    assert shown(page, value) and 'name="income_wages_1" size="7" inputmode="decimal" value="1800"' in page
    assert f'data-field="{field}"' in page
    r = cw.post(f"/cases/{case_id}/paper-visit?lang=en", _paper(org, **{field: value}),
                files={"scan": (png_bytes(), "form.png", "image/png")})
    assert r.status_code == 422 and CONTROL_EN in r.get_data(as_text=True)
    assert rows(app, Visit, Visit.case_id == case_id) == 0 and status_of(app, case_id) == "accepted"


def test_a_paper_visit_keeps_the_lines_and_tabs_of_its_notes(app, org, accepted):  # noqa: F811
    cw, case_id = accepted
    typed = {"living_notes": "住房简陋\r\n漏雨", "summary": "情况属实\n\t见附页"}
    r = cw.post(f"/cases/{case_id}/paper-visit", _paper(org, **typed),
                files={"scan": (png_bytes(), "form.png", "image/png")})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        stored = json.dumps(db.session.scalar(select(Visit).where(Visit.case_id == case_id)).findings,
                            ensure_ascii=False)
    assert all(json.dumps(value, ensure_ascii=False)[1:-1] in stored for value in typed.values())


# --- the residents' objection / tip-off form ----------------------------------------------------------

@pytest.mark.parametrize("bad", BAD)
def test_a_report_with_a_control_character_is_refused(app, org, public, gc_board, bad):  # noqa: F811
    _, _, token = gc_board
    phone = public()
    typed = f"有人冒领低保{bad}请核查"
    r = phone.post(f"/b/{token}/report", {"case": "", "text": typed, "name": "王大妈"})
    page = refused(r, "异议或举报的内容")
    assert shown(page, typed) and 'value="王大妈"' in page                     # what was typed comes back
    r = phone.post(f"/b/{token}/report?lang=en", {"case": "", "text": typed})
    assert r.status_code == 422 and f"The objection or tip-off {CONTROL_EN}" in r.get_data(as_text=True)
    assert rows(app, Report) == 0


@pytest.mark.parametrize("name", ["王\u202e大妈", "王大妈\x1b", "王\t大妈", "王\n大妈"])
def test_a_report_s_name_is_one_line_without_control_characters(app, org, public, gc_board, name):  # noqa: F811
    _, _, token = gc_board
    r = public().post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，请核查。", "name": name,
                                             "phone": "call me"})
    page = refused(r, "姓名")
    assert "联系电话格式不正确" in page and "有人冒领低保，请核查。" in page     # beside the form's other mistakes
    assert rows(app, Report) == 0


def test_a_report_keeps_its_lines_and_tabs(app, org, public, gc_board):  # noqa: F811
    _, _, token = gc_board
    typed = "有人冒领低保：\r\n1. 家里新买了小汽车\t（白色）"
    assert public().post(f"/b/{token}/report", {"case": "", "text": typed}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Report.text)) == typed


def test_an_objection_with_a_direction_override_leaves_the_case_alone(app, org, public, gc_board):  # noqa: F811
    _, code, token = gc_board
    case_id = to_publicity(app, org, "guancheng", [code])
    before, files = rows(app, CaseEvent, CaseEvent.case_id == case_id), rows(app, Attachment)
    r = public().post(f"/b/{token}/report", {"case": str(case_id), "text": "该户有一辆\u202e小汽车未申报。"},
                      files={"photo": (png_bytes(), "car.png", "image/png")})
    refused(r, "异议或举报的内容")
    assert status_of(app, case_id) == "publicity" and rows(app, CaseEvent, CaseEvent.case_id == case_id) == before
    assert rows(app, Report) == 0 and rows(app, Attachment) == files                 # not even the photo
