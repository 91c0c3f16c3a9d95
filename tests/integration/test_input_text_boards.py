"""The boards' typed text, as tests/integration/test_input_text.py: a board's name when it is created or renamed
(one line: its <input>) and the office's answer to a resident's report (several lines: its <textarea>) refuse
control characters and text-direction marks, embeddings, overrides and isolates: 422, the field named in both
languages, what was typed shown again, nothing stored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry
from server.models.boards import Board, Report
from tests.integration.test_boards import gc_board, public  # noqa: F401  (fixtures)
from tests.integration.test_console import Console
from tests.integration.test_input_text import BAD, LINES, rows
from tests.integration.test_input_text_more import CONTROL_EN, refused, shown


def audited(app, action: str) -> int:
    return rows(app, AuditEntry, AuditEntry.action == action)


# --- a board's name: one line ------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [*BAD, *LINES])
def test_a_new_board_s_name_is_one_line_without_control_characters(app, org, bad):
    cw = Console(app, "gc_case")
    typed = f"和平社区{bad}公示栏"
    page = refused(cw.post("/boards", {"unit": str(org.c1), "kind": "community", "name": typed}), "公示栏名称")
    form = re.search(r'<form [^>]*id="create">.*?</form>', page, re.S).group(0)
    assert shown(form, f'value="{typed}"') and 'data-field="name"' in page      # kept in the form it was typed in
    r = cw.post("/boards?lang=en", {"unit": str(org.c1), "kind": "community", "name": typed})
    assert r.status_code == 422 and f"The board name {CONTROL_EN}" in r.get_data(as_text=True)
    assert rows(app, Board) == 0 and audited(app, "board.create") == 0


def test_a_new_board_names_its_unit_and_its_name_at_once(app, org):
    page = refused(Console(app, "gc_case").post("/boards", {"unit": "", "kind": "community", "name": "和平\u202e"}),
                   "公示栏名称")
    assert "请选择公示栏所属的单位" in page and rows(app, Board) == 0


@pytest.mark.parametrize("bad", [*BAD, *LINES])
def test_a_board_s_new_name_is_one_line_without_control_characters(app, org, gc_board, bad):  # noqa: F811
    board_id, _, _ = gc_board
    cw = Console(app, "gc_case")
    typed = f"和平社区{bad}公示栏"
    page = refused(cw.post(f"/boards/{board_id}/rename", {"name": typed}), "公示栏名称")
    row = re.search(rf'<tr id="board-{board_id}".*?</tr>', page, re.S).group(0)
    assert shown(row, f'name="name" value="{typed}"')                           # the new name typed comes back
    r = cw.post(f"/boards/{board_id}/rename?lang=en", {"name": typed})
    assert r.status_code == 422 and f"The board name {CONTROL_EN}" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Board, board_id).name == "南关和平社区社会救助公示栏"
    assert audited(app, "board.rename") == 0
    assert cw.post(f"/boards/{board_id}/rename", {"name": "和平社区 公示栏"}).status_code == 302


def test_a_refused_new_name_comes_back_for_any_refusal(app, org, gc_board):  # noqa: F811
    board_id, _, _ = gc_board
    page = Console(app, "gc_case").post(f"/boards/{board_id}/rename", {"name": "和" * 101}).get_data(as_text=True)
    assert "公示栏名称最长100个字" in page and f'value="{"和" * 101}"' in page


# --- the office's answer to a report: several lines ------------------------------------------------------

@pytest.fixture
def report(app, org, public, gc_board):  # noqa: F811
    _, _, token = gc_board
    assert public().post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，请核查。"}).status_code == 303
    with app.app_context():
        return db.session.scalar(select(Report.id))


@pytest.mark.parametrize("bad", BAD)
def test_an_answer_with_a_control_character_is_refused(app, org, report, bad):
    cw = Console(app, "gc_case")
    typed = f"经核实，该户{bad}情况属实。"
    page = refused(cw.post(f"/boards/reports/{report}/answer", {"outcome": "upheld", "answer": typed}), "核实和处理情况")
    assert shown(page, f">{typed}</textarea>") and 'value="upheld" required checked' in page
    assert 'data-field="answer"' in page
    r = cw.post(f"/boards/reports/{report}/answer?lang=en", {"outcome": "upheld", "answer": typed})
    assert r.status_code == 422 and f"What was checked and done {CONTROL_EN}" in r.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Report, report)
        assert (stored.status, stored.outcome, stored.answer) == ("received", None, "")
    assert audited(app, "board.report_answer") == 0


def test_an_answer_keeps_its_lines_and_tabs(app, org, report):
    typed = "经核实：\r\n1. 该户已申报\t（见附件）"
    r = Console(app, "gc_case").post(f"/boards/reports/{report}/answer", {"outcome": "not_upheld", "answer": typed})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Report, report).answer == typed
