"""Public pages publish structured facts only, and the number guard withholds any public response whose
visible text carries an ID- or phone-number-like run, however it is typed (issue 13's examples), through
HTTP: the board, the receipt page and the certificate check."""

from __future__ import annotations

import datetime as dt
import gzip
import logging

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Unit
from server.models.boards import Report
from tests.integration.test_boards import make_board, text_of, to_publicity
from tests.integration.test_console import START, Console, on, register

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# How the numbers of issue 13 were typed onto public pages (each value is what reaches the page).
TYPED = [
    pytest.param("138.1234.5678", id="dots"),
    pytest.param("410104　195205　216770", id="ideographic-spaces"),
    pytest.param("138/1234/5678", id="slashes"),
    pytest.param("138\u00a01234\u00a05678", id="nbsp"),
    pytest.param("13812345678".translate(ARABIC_INDIC), id="arabic-indic"),
    pytest.param("１３８１２３４５６７８", id="full-width"),
    pytest.param("41010419520521677X", id="id-number"),
    pytest.param("138 1234 5678", id="spaces"),
]


@pytest.fixture
def gc_board(app, org):
    return make_board(app, "410104005001", "community", "南关和平社区社会救助公示栏")


def _digits(typed: str) -> str:
    from server.domain.numberguard import normalise
    return "".join(ch for ch in normalise(typed) if ch.isdigit())


def _assert_withheld(response, typed: str, caplog) -> None:
    assert response.status_code == 451
    body = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    page = body.decode("utf-8")
    assert "此页面暂不显示" in page and typed not in page and _digits(typed) not in page
    assert response.headers["Cache-Control"] == "no-store"
    logged = [r.getMessage() for r in caplog.records if r.name == "ruhu.public"]
    assert logged and "withheld by the number guard" in logged[-1]
    for message in logged:
        assert typed not in message and _digits(typed) not in message and _digits(typed)[:7] not in message


# --- item 1: typed opinions never reach a board ------------------------------------------------------

def test_yijun_board_publishes_the_structured_conclusion_not_the_typed_opinions(app, org, monkeypatch):
    _, board_code, token = make_board(app, "610222002001", "village", "测试公示栏")
    # Staff type the opinions with a diagnosis and a phone number, through the console as usual.
    typed = {"review_opinion": "opinion", "sign_review": "opinion", "record_meeting": "record"}
    act = Console.act

    def act_typing_private_facts(self, case_id, action, data=None, **kw):
        if action in typed:
            data = {**(data or {}), typed[action]: "户主患宫颈癌晚期，化疗中；该户因乳腺癌致贫，联系13812345678"}
        return act(self, case_id, action, data, **kw)

    monkeypatch.setattr(Console, "act", act_typing_private_facts)
    case_id = to_publicity(app, org, "yijun", [board_code])
    with app.app_context():
        from server.models import CaseEvent
        opinions = [ev.data.get("opinion") or ev.data.get("record") for ev in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action.in_(typed)))]
    assert len(opinions) == 3 and all("宫颈癌" in o for o in opinions)     # stored as typed, for the file
    r = app.test_client().get(f"/b/{token}")
    assert r.status_code == 200
    page = text_of(r.get_data(as_text=True))
    for private in ("宫颈癌", "化疗", "乳腺癌", "13812345678", "致贫", "联系"):
        assert private not in page, private
    assert "拟批准（拟保障金额" in page and "分类施保：" in page and "会议研究：拟批准" in page


# --- item 2: the guard on every public response ------------------------------------------------------

@pytest.mark.parametrize("typed", TYPED)
def test_the_receipt_page_shows_the_conclusion_never_the_offices_words(app, org, gc_board, typed):
    """What the office typed in its answer (a phone number, a diagnosis, an address) is its own record: the
    receipt page shows the conclusion chosen from a fixed list, so nothing typed can reach it."""
    _, _, token = gc_board
    client = app.test_client()
    r = client.post(f"/b/{token}/report", data={"case": "", "text": "有人冒领低保，请核查。",
                                                "csrf_token": _csrf(client, f"/b/{token}/report")})
    receipt = r.headers["Location"].rsplit("/", 1)[1].split("?")[0]
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    lead = Console(app, "gc_lead")
    words = f"经查户主患肝癌晚期，住城关镇东街五号，已核实，请致电{typed}"
    r = lead.post(f"/boards/reports/{report_id}/answer", {"outcome": "partly_upheld", "answer": words})
    assert r.status_code == 302
    assert words in lead.get(f"/boards/reports/{report_id}").get_data(as_text=True)     # kept for the office
    r = client.get(f"/r/{receipt}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "经核实，反映的情况部分属实，已依规处理" in page
    for private in (typed, "肝癌", "东街", "致电"):
        assert private not in page, private


@pytest.mark.parametrize("typed", TYPED)
def test_board_with_a_number_is_withheld_gzip_or_not(app, org, gc_board, typed, caplog):
    board_id, board_code, token = gc_board
    to_publicity(app, org, "guancheng", [board_code])
    client = app.test_client()
    assert client.get(f"/b/{token}").status_code == 200
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "410104005"))   # the office, in the header
        unit.name = f"南关街（联系人{typed}）"
        db.session.commit()
    caplog.set_level(logging.ERROR, logger="ruhu.public")
    _assert_withheld(client.get(f"/b/{token}"), typed, caplog)
    _assert_withheld(client.get(f"/b/{token}", headers={"Accept-Encoding": "gzip"}), typed, caplog)


def test_the_readers_own_input_and_the_tipoff_line_are_shown(app, org, gc_board):
    client = app.test_client()
    for typed in ("138.1234.5678", "410104　195205　216770"):
        r = client.get("/r", query_string={"n": typed})
        assert r.status_code == 404 and "未找到该回执号" in r.get_data(as_text=True)   # not 451: it is their own
    _, board_code, token = make_board(app, "610222002001", "village", "宜君公示栏")
    page = client.get(f"/b/{token}")
    assert page.status_code == 200 and "0919-0000000" in page.get_data(as_text=True)


def test_a_report_form_shown_again_keeps_the_reporters_phone(app, org, gc_board):
    _, _, token = gc_board
    client = app.test_client()
    r = client.post(f"/b/{token}/report", data={"case": "", "text": "x", "phone": "138.1234.5678",
                                                "csrf_token": _csrf(client, f"/b/{token}/report")})
    assert r.status_code == 422 and "138.1234.5678" in r.get_data(as_text=True)


def _csrf(client, path: str) -> str:
    from tests.conftest import CSRF_RE
    return CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.mark.parametrize("typed", TYPED)
def test_a_board_name_with_a_number_is_refused(app, org, typed):
    from server.models.boards import Board

    cw = Console(app, "gc_case")
    r = cw.post("/boards", {"unit": str(org.c1), "kind": "community", "name": f"和平社区 联系{typed}"})
    assert r.status_code == 422 and "不能含有身份证号码、电话号码" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Board.id)) is None


@pytest.mark.parametrize("typed", TYPED[:4])
def test_the_public_survey_page_is_guarded_too(app, org, typed, caplog):
    client = app.test_client()
    assert client.get("/survey/410104005").status_code == 200
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "410104005"))
        unit.name = f"南关街（联系人{typed}）"
        db.session.commit()
    caplog.set_level(logging.ERROR, logger="ruhu.public")
    _assert_withheld(client.get("/survey/410104005"), typed, caplog)


def test_a_certificate_number_is_shown_only_when_it_is_a_code(app, org, caplog):
    """Rows stored before the console checked the number may hold typed text, a phone or an ID number: the check
    page is shown without the number then (and without one that spells the household's phone with hyphens)."""
    from server.models import Case, Member

    on(app, START)
    cw = Console(app, "gc_case")
    case_id = register(app, cw, org)
    with app.app_context():
        case = db.session.get(Case, case_id)
        case.status, case.certificate_token = "certified", "tok-cert-1"
        case.certificate_from, case.certificate_until = START, START + dt.timedelta(days=365)
        case.certificate_number = "DB410104005-2025-00001"
        db.session.commit()
        id_number = db.session.scalar(select(Member.id_number).where(Member.relation == "head"))
    client = app.test_client()
    r = client.get("/v/tok-cert-1")
    assert r.status_code == 200 and "DB410104005-2025-00001" in r.get_data(as_text=True)
    assert "<dt>证号</dt>" in r.get_data(as_text=True)
    caplog.set_level(logging.ERROR, logger="ruhu.public")
    for stored in ("低保证 户主患尿毒症 住东街5号", "GC-2026-0190-13912345678", f"DB{id_number}",
                   "GC-139-0000-0000"):   # the household's phone (13900000000), split by hyphens
        with app.app_context():
            db.session.get(Case, case_id).certificate_number = stored
            db.session.commit()
        r = client.get("/v/tok-cert-1")
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and 'data-state="valid"' in page and "张**" in page, stored
        assert stored not in page and "<dt>证号</dt>" not in page and "尿毒症" not in page, stored
        assert "13912345678" not in page and id_number[:17] not in page and "139-0000" not in page, stored
    assert not [m for m in caplog.records if m.name == "ruhu.public"]     # nothing for the guard to withhold


def test_no_public_page_keeps_the_client_address(app, org, gc_board):
    """An objection from a board (which reopens the case), the receipt lookups and the certificate check keep
    the resident's address nowhere, the audit log included: a report keeps a keyed hash of it only."""
    from server.models import AuditEntry, Case
    from tests.integration.test_console import status_of
    from tests.integration.test_survey_limits import rows_holding

    _, code, token = gc_board
    case_id = to_publicity(app, org, "guancheng", [code])
    with app.app_context():
        db.session.get(Case, case_id).certificate_token = "tok-addr-1"
        db.session.commit()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.78"
    assert client.get(f"/b/{token}").status_code == 200
    r = client.post(f"/b/{token}/report", data={"case": str(case_id), "text": "该户有一辆小汽车未申报。",
                                                "csrf_token": _csrf(client, f"/b/{token}/report")})
    assert r.status_code == 303
    receipt = r.headers["Location"].rsplit("/", 1)[1].split("?")[0]
    assert client.get(f"/r/{receipt}").status_code == 200
    assert client.get(f"/r?n={receipt}").status_code == 303
    assert client.get("/v/tok-addr-1").status_code == 200
    assert status_of(app, case_id) == "objection"
    with app.app_context():
        audited = set(db.session.scalars(select(AuditEntry.action)))
        assert {"board.report", "case.record_objection"} <= audited
        assert db.session.scalar(select(Report.client_hash))          # the hash the rate limits compare
    assert rows_holding(app, "203.0.113.78") == []
