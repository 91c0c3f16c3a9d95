"""Free text typed in the console holds no control characters (C0 other than a tab and line breaks in a
field of several lines, DEL, C1) and no text-direction marks, embeddings, overrides or isolates (U+202E
would show "gpj.exe" as "exe.jpg" on every page and print that shows the text).  Such a text is refused
(422, the field named in both languages, nothing stored, the rest of the form kept)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from server.extensions import db
from server.models import CaseEvent, VisitAssignment
from server.models.money import ChangeReport
from server.models.oversight import AssessmentItem, SpotCheckDraw, SpotCheckResult
from server.web.forms import Reader
from tests.integration.test_cli_bad_input import in_publicity  # noqa: F401  (a fixture)
from tests.integration.test_console import START, Console, _to_visited, counts, on, register, status_of
from tests.integration.test_dynamic import team
from tests.integration.test_oversight import Desk, draw, item, result_form, world  # noqa: F401  (a fixture)
from tests.integration.test_prints import signed_yijun_case
from tests.integration.test_rosters import paid_case

BAD = ["\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x1f", "\x7f", "\x85", "\x9b", "\u061c", "\u200e",
       "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
LINES = ["\n", "\r\n", "\t"]     # kept in a field of several lines, refused in a field of one


def rows(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("line", [False, True])
def test_the_reader_refuses_control_and_direction_characters(bad, line):
    r = Reader(MultiDict({"reasons": f"收入{bad}减少"}))
    r.text("reasons", line=line)
    assert r.errors == [("reasons", "理由含有控制字符或文字方向控制符，请删除后重新输入",
                         "Reasons contains a control character or a text-direction control: remove it and send again")]


@pytest.mark.parametrize("ok", LINES)
def test_line_breaks_and_tabs_only_in_a_field_of_several_lines(ok):
    r = Reader(MultiDict({"reasons": f"收入{ok}减少"}))
    assert r.text("reasons") == f"收入{ok}减少" and r.errors == []
    r.text("reasons", line=True)
    assert [e[0] for e in r.errors] == ["reasons"]


def test_a_field_without_a_label_is_named_by_its_key():
    r = Reader(MultiDict({"remark": "a\u202eb"}))
    r.text("remark")
    assert r.errors[0][1].startswith("remark含有") and r.errors[0][2].startswith("remark contains")


# --- through the console ---------------------------------------------------------------------------

@pytest.fixture
def reporting(app, org):
    cid = paid_case(app, org, seq=26)
    on(app, dt.date(2026, 10, 10))
    return Console(app, "gc_case"), cid


@pytest.mark.parametrize("bad", BAD)
def test_a_change_report_with_a_control_character_is_refused(app, reporting, bad):
    gc, cid = reporting
    url = f"/dynamic/cases/{cid}/report"
    r = gc.post(url, {"kind": "income", "description": f"户主失业{bad}exe.jpg", "reported_income_6m": "600"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "变化情况含有控制字符或文字方向控制符" in page
    assert 'name="reported_income_6m" value="600"' in page                    # the rest is kept
    r = gc.post(url + "?lang=en", {"kind": "income", "description": f"户主失业{bad}"})
    assert r.status_code == 422
    assert "Description of the change contains a control character or a text-direction control" in \
        r.get_data(as_text=True)
    assert rows(app, ChangeReport, ChangeReport.case_id == cid) == 0


def test_a_change_report_keeps_its_lines_and_tabs(app, reporting):
    gc, cid = reporting
    typed = "户主失业\r\n收入减少\t（见附件）"
    assert gc.post(f"/dynamic/cases/{cid}/report", {"kind": "income", "description": typed}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ChangeReport.description).where(ChangeReport.case_id == cid)) == typed


@pytest.mark.parametrize("field, value", [("reason", "到期\u202e复核"), ("note", "带上\n核对报告"), ("note", "a\tb")])
def test_a_rereview_s_one_line_reason_and_note(app, org, field, value):
    cid = paid_case(app, org, seq=27)
    on(app, dt.date(2027, 3, 10))
    r = Console(app, "gc_case").post(f"/dynamic/cases/{cid}/start-rereview",
                                     {"team": team(app, "gc_inv1", "gc_inv2"), field: value})
    assert r.status_code == 422 and "含有控制字符或文字方向控制符" in r.get_data(as_text=True)
    assert status_of(app, cid) == "in_payment" and rows(app, VisitAssignment, VisitAssignment.case_id == cid) == 0


def test_an_objection_with_a_direction_override_is_refused(app, in_publicity):  # noqa: F811
    gc, case_id = in_publicity
    before = rows(app, CaseEvent, CaseEvent.case_id == case_id)
    r = gc.act(case_id, "record_objection", {"text": "有车\u202e未申报", "source": "window"})
    assert r.status_code == 422 and "异议内容含有控制字符或文字方向控制符" in r.get_data(as_text=True)
    assert rows(app, CaseEvent, CaseEvent.case_id == case_id) == before and status_of(app, case_id) == "publicity"


def test_a_spot_check_s_notes_with_a_control_character_are_refused(app, world):  # noqa: F811
    draw_id = draw(app, world)
    with app.app_context():
        case_id = db.session.get(SpotCheckDraw, draw_id).drawn_case_ids[0]
    r = Desk(app, "gc_bureau").post(f"/oversight/spotchecks/{draw_id}/results",
                                    result_form(case_id, notes="入户核实\u2066一致\u2069"))
    assert r.status_code == 422 and "情况说明含有控制字符或文字方向控制符" in r.get_data(as_text=True)
    assert rows(app, SpotCheckResult) == 0


@pytest.mark.parametrize("data", [item("entered", item="1:standardisation", points="5", evidence="台账\x1b齐全"),
                                  item("bonus", label="创新\u202e做法", points="2")])
def test_an_assessment_entry_with_a_control_character_is_refused(app, world, data):  # noqa: F811
    r = Desk(app, "yj_bureau").post(f"/oversight/assessment/units/{world.town}/items", data)
    assert r.status_code == 422 and "含有控制字符或文字方向控制符" in r.get_data(as_text=True)
    assert rows(app, AssessmentItem) == 0


def test_an_appraisal_panel_member_s_name_with_a_control_character_is_refused(app, org):
    on(app, START)
    gc = Console(app, "gc_case")
    case_id = register(app, gc, org)
    _to_visited(app, org, gc, case_id)
    before = counts(app)
    panel = {"panel_name": ["王干事", "居民\u202e甲", "居民乙", "居民\t丙"],
             "panel_category": ["office_staff", "resident", "resident", "resident"],
             "panel_signed": ["0", "1", "2", "3"], "minutes": "宣讲政策、介绍情况、现场评议。", "conclusion": "agree"}
    r = gc.act(case_id, "record_appraisal", panel)
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "评议人员姓名含有控制字符或文字方向控制符" in body
    assert body.count('data-field="panel_name"') == 1                        # named once for two names
    assert "宣讲政策、介绍情况、现场评议。" in body
    assert status_of(app, case_id) == "visited" and counts(app) == before


def test_a_meeting_attendee_s_name_with_a_control_character_is_refused(app, org):
    yj, case_id, _signed_on = signed_yijun_case(app, org)
    r = yj.act(case_id, "record_meeting", {"attendee": ["王镇长", "李干事\x1b"], "decision": "approve",
                                           "record": "会议研究同意"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "参会人员姓名含有控制字符或文字方向控制符" in body and "会议研究同意" in body
    assert status_of(app, case_id) == "reviewed"
