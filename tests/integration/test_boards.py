"""Notice boards through HTTP: every state of a board's public page, masking per profile, objections from
the public form to the case's re-investigation clock, rate limits, receipts, the console's boards and
reports, the certificate check — and a scan of every public response for the data's ID and phone numbers."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Case, CaseEvent, Household, Member, Unit
from server.models.boards import Board, Report
from tests.conftest import CSRF_RE
from tests.integration.test_console import (
    START,
    Console,
    intake_form,
    on,
    png_bytes,
    register,
    signature,
    status_of,
    walk_to_review,
)

ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
PHONE_RE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


# --- a public client that keeps every response, scanned when the test ends ----------------------------

class Public:
    """A resident's phone: no sign-in; every response body is kept for the privacy scan."""

    def __init__(self, app, addr: str = "203.0.113.7"):
        self.app, self.client = app, app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = addr
        self.bodies: list[tuple[str, str]] = []

    def _keep(self, path, response):
        body = response.get_data()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.bodies.append((path, body.decode("utf-8", "replace")))
        return response

    def get(self, path: str, **kw):
        return self._keep(path, self.client.get(path, **kw))

    def post(self, path: str, data: dict, *, csrf: bool = True, files: dict | None = None):
        body = dict(data)
        if csrf:
            body["csrf_token"] = CSRF_RE.search(self.get(path).get_data(as_text=True)).group(1)
        for key, (content, name, mime) in (files or {}).items():
            body[key] = (io.BytesIO(content), name, mime)
        return self._keep(path, self.client.post(path, data=body, content_type="multipart/form-data"))


def private_numbers(app) -> set[str]:
    with app.app_context():
        numbers = set(db.session.scalars(select(Member.id_number)))
        numbers |= {p for p in db.session.scalars(select(Household.phone)) if p}
        numbers |= {p for p in db.session.scalars(select(Report.phone)) if p}
    return numbers


@pytest.fixture
def public(app):
    """Residents' phones; when the test ends, no response any of them got may hold an ID or phone number
    of the data (nor anything shaped like one)."""
    phones: list[Public] = []

    def make(addr: str = "203.0.113.7") -> Public:
        phones.append(Public(app, addr))
        return phones[-1]

    yield make
    secret = private_numbers(app)
    for phone in phones:
        for path, body in phone.bodies:
            leaked = sorted(n for n in secret if n in body)
            assert leaked == [], f"{path} shows private numbers {leaked}"
            assert not ID_RE.search(body) and not PHONE_RE.search(body), path


# --- set-up helpers -------------------------------------------------------------------------------

def make_board(app, unit_code: str, kind: str, name: str) -> tuple[int, str, str]:
    from server.operations.boards import create_board

    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        board = create_board(None, unit, kind, name, actor_label="test")
        return board.id, board.code, board.token


def token_of(app, board_id: int) -> str:
    with app.app_context():
        return db.session.get(Board, board_id).token


def to_publicity(app, org, profile: str, boards: list[str]) -> int:
    """A case of the given profile, walked through the console to publicity on ``boards``."""
    on(app, START)
    if profile == "guancheng":
        cw = Console(app, "gc_case")
        case_id = register(app, cw, org)
        walk_to_review(app, org, cw, case_id)
        Console(app, "gc_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    else:
        cw = Console(app, "yj_case")
        case_id = register(app, cw, org, unit="village", region="610222")
        walk_to_review(app, org, cw, case_id, prefix="yj_", fingerprint=True)
        Console(app, "yj_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
        assert cw.act(case_id, "record_meeting", {"record": "会议研究同意", "decision": "approve", "attendee": ["王镇长", "李干事"]}).status_code == 302
    on(app, START + dt.timedelta(days=3))
    if profile == "yijun":   # the seed's township level too (彭镇, named by its unit code: no hall board here)
        boards = [*boards, "610222002"]
    assert cw.act(case_id, "open_publicity", {"boards": boards}).status_code == 302
    assert status_of(app, case_id) == "publicity"
    return case_id


@pytest.fixture
def gc_board(app, org):
    return make_board(app, "410104005001", "community", "南关和平社区社会救助公示栏")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the board's page in each state -------------------------------------------------------------------

def test_open_closed_rotated_and_unknown(app, org, public, gc_board):
    board_id, code, token = gc_board
    phone = public()
    r = phone.get(f"/b/{token}")
    assert r.status_code == 200 and "目前没有正在公示的对象" in r.get_data(as_text=True)   # nothing yet

    case_id = to_publicity(app, org, "guancheng", [code])
    r = phone.get(f"/b/{token}")
    page = text_of(r.get_data(as_text=True))
    assert r.status_code == 200 and 'lang="zh-CN"' in r.get_data(as_text=True)
    assert "南关和平社区 · 社区居委会公示栏" in page and "南关街街道办事处" in page
    assert "社会救助公示栏" not in page          # the name staff typed stays in the console: unit and kind only
    assert "公示开始 2025-11-06 · 最早结束 2025-11-13 · 还剩7天" in page
    assert "第1户 户主 张**" in page and "张建国" not in page and "李秀英" not in page
    assert "家庭人口 2" in page and "拟保障金额（元/月） 1000.00" in page
    assert "<script" not in r.get_data(as_text=True)

    on(app, dt.date(2025, 11, 11))
    assert "还剩2天" in text_of(phone.get(f"/b/{token}").get_data(as_text=True))

    on(app, dt.date(2025, 11, 13))
    assert Console(app, "gc_case").act(case_id, "close_publicity").status_code == 302
    page = text_of(phone.get(f"/b/{token}").get_data(as_text=True))
    assert "目前没有正在公示的对象" in page and "张**" not in page              # closed: off the list

    r = Console(app, "gc_case").post(f"/boards/{board_id}/rotate")
    assert r.status_code == 302
    new = token_of(app, board_id)
    r = phone.get(f"/b/{token}")
    assert r.status_code == 410 and "此二维码已更换" in r.get_data(as_text=True)
    assert "长期公示" not in r.get_data(as_text=True)                         # no list on an old poster
    assert phone.get(f"/b/{new}").status_code == 200
    for bad in ("not-a-token", "x" * 200, new[:-1]):
        r = phone.get(f"/b/{bad}")
        assert r.status_code == 404 and "未找到此公示栏" in r.get_data(as_text=True)
    assert phone.get(f"/b/{token}/report").status_code == 410


def test_long_term_list_after_approval(app, org, public, gc_board):
    _, code, token = gc_board
    case_id = to_publicity(app, org, "guancheng", [code])
    on(app, dt.date(2025, 11, 13))
    cw, director = Console(app, "gc_case"), Console(app, "gc_dir")
    assert cw.act(case_id, "close_publicity").status_code == 302
    assert director.act(case_id, "approve", {"signature": signature(), "opinion": "同意"}).status_code == 302
    page = text_of(public().get(f"/b/{token}").get_data(as_text=True))
    assert "共1户" in page and "1 张** 2 1000.00 2025-11-13" in page          # approved: on the long-term list
    assert cw.act(case_id, "issue_certificate", {"number": "GC-1", "valid_from": "2025-11-13",
                                                 "valid_until": "2026-11-12"}).status_code == 302
    assert cw.act(case_id, "start_payment").status_code == 302
    assert "1 张** 2 1000.00 2025-11-13" in text_of(public().get(f"/b/{token}").get_data(as_text=True))
    assert director.act(case_id, "stop", {"reasons": "迁出"}).status_code == 302
    assert "共0户" in text_of(public().get(f"/b/{token}").get_data(as_text=True))


PROFILE_PAGES = [
    # profile, board unit, kind, shown, never shown
    ("guancheng", "410104005001", "community",
     ["户主", "家庭人口", "拟保障金额（元/月）", "1000.00"],
     ["入户调查", "民主评议", "审核意见", "监督举报电话", "家庭月收入", "分类施保", "拟批准：拟批准"]),
    ("yijun", "610222002001", "village",
     ["户主", "家庭人口", "拟保障金额（元/月）", "家庭月收入（元） 400.00", "分类施保 老年人、重病患者",
      "2名调查人员入户核实", "评议结论：属实（评议6人，其中居（村）民代表4人）", "拟批准（拟保障金额964.00元/月，分类施保：老年人、重病患者）；分管领导已签署；会议研究：拟批准",
      "监督举报电话： 0919-0000000"],
     ["张建国", "和平路1号"]),
]


@pytest.mark.parametrize(("profile", "unit", "kind", "shown", "hidden"), PROFILE_PAGES)
def test_what_each_profile_shows(app, org, public, profile, unit, kind, shown, hidden):
    _, code, token = make_board(app, unit, kind, "测试公示栏")
    to_publicity(app, org, profile, [code])
    page = text_of(public().get(f"/b/{token}").get_data(as_text=True))
    assert "张**" in page
    for text in shown:
        assert text in page, text
    for text in hidden:
        assert text not in page, text


def test_english_page(app, org, public, gc_board):
    _, code, token = gc_board
    to_publicity(app, org, "guancheng", [code])
    page = text_of(public().get(f"/b/{token}?lang=en").get_data(as_text=True))
    assert "Proposed amount (yuan/month) 1000.00" in page and "Household size 2" in page


def test_unit_codes_and_other_boards(app, org, public):
    """A publicity naming the community's unit code (before boards) shows on its boards; other boards stay empty."""
    _, _, mine = make_board(app, "410104005001", "community", "和平")
    _, _, busy = make_board(app, "410104005001", "busy_place", "和平超市门口")
    _, _, other = make_board(app, "410104005002", "community", "幸福")
    to_publicity(app, org, "guancheng", ["410104005001"])
    phone = public()
    assert "张**" in phone.get(f"/b/{mine}").get_data(as_text=True)
    assert "张**" in phone.get(f"/b/{busy}").get_data(as_text=True)
    assert "张**" not in phone.get(f"/b/{other}").get_data(as_text=True)


def test_etag_and_gzip(app, org, public, gc_board):
    _, code, token = gc_board
    case_id = to_publicity(app, org, "guancheng", [code])
    phone = public()
    r = phone.get(f"/b/{token}")
    etag = r.headers["ETag"]
    # private: masked names and amounts may stay on the phone, never in a shared cache on the way
    assert r.headers["Cache-Control"] == "private, no-cache" and "Accept-Encoding" in r.headers["Vary"]
    again = phone.get(f"/b/{token}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["Cache-Control"] == "private, no-cache" and again.headers["X-Robots-Tag"].startswith("noindex")
    zipped = phone.get(f"/b/{token}", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["ETag"] != etag
    assert zipped.headers["Cache-Control"] == "private, no-cache"
    assert gzip.decompress(zipped.get_data()) == r.get_data()
    on(app, dt.date(2025, 11, 13))
    assert Console(app, "gc_case").act(case_id, "close_publicity").status_code == 302
    changed = phone.get(f"/b/{token}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag   # a decision shows at once


# --- objections and tip-offs ---------------------------------------------------------------------

def test_objection_from_the_board_reopens_the_case_with_the_15_workday_clock(app, org, public, gc_board):
    from server import services

    board_id, code, token = gc_board
    case_id = to_publicity(app, org, "guancheng", [code])
    on(app, dt.date(2025, 11, 7))                                    # a Friday
    phone = public()
    form = phone.get(f"/b/{token}/report?case={case_id}").get_data(as_text=True)
    assert f'<option value="{case_id}" selected>1. 张**</option>' in form
    r = phone.post(f"/b/{token}/report", {"case": str(case_id), "text": "该户有一辆小汽车未申报。",
                                            "name": "王大妈", "phone": "13011112222"},
                   files={"photo": (png_bytes(), "car.png", "image/png")})
    assert r.status_code == 303
    receipt_url = r.headers["Location"]
    receipt = re.search(r"/r/([0-9]{6}-[A-Z0-9]{8})", receipt_url).group(1)
    page = phone.get(receipt_url).get_data(as_text=True)
    assert receipt in page and "已收到您的反映" in page and 'data-status="investigating"' in page
    assert "小汽车" not in page and "王大妈" not in page                  # nothing about anyone on the receipt

    assert status_of(app, case_id) == "objection"
    with app.app_context():
        case = db.session.get(Case, case_id)
        event = case.events[-1]
        assert event.action == "record_objection" and event.data["source"] == "board"
        assert event.actor.username == "public-board-410104005" and not event.actor.active
        due = services().calendar.add_workdays(dt.date(2025, 11, 7), 15).date
        assert event.data["redecision_due"] == due.isoformat() == "2025-11-28"
        report = db.session.scalar(select(Report).where(Report.receipt == receipt))
        assert report.kind == "objection" and report.case_event_id == event.id and report.photo_sha256
        assert len(report.client_hash) == 64 and "203.0.113.7" not in report.client_hash
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "board.report")).after["receipt"] == receipt

    cw = Console(app, "gc_case")
    detail = cw.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-step="objection_redecision"' in detail and "2025-11-28" in detail and "小汽车" in detail
    listing = cw.get("/boards/reports").get_data(as_text=True)
    assert f'data-receipt="{receipt}" data-status="investigating"' in listing
    with app.app_context():
        report_id = db.session.scalar(select(Report.id).where(Report.receipt == receipt))
        sha = db.session.get(Report, report_id).photo_sha256
    shown = cw.get(f"/boards/reports/{report_id}").get_data(as_text=True)
    assert "王大妈" in shown and "13011112222" in shown and "已登记为公示异议" in shown
    for console, expected in ((cw, 200), (Console(app, "other_case"), 404)):   # the office sees the photo
        with console.get(f"/files/{sha}/thumb") as r:
            assert r.status_code == expected

    # the board now marks the case, and the answer reaches the receipt page
    assert "公示期间收到异议，正在重新调查核实" in phone.get(f"/b/{token}").get_data(as_text=True)
    # The answer: a conclusion from a fixed list reaches the receipt page; what the office typed stays in the console.
    typed = "经重新调查，该车辆已于2025-10-01转让给其子张某（电话13011112222），维持拟批准。"
    for outcome, code in (("", "请选择答复结论"), ("resolved_somehow", "请选择答复结论")):
        r = cw.post(f"/boards/reports/{report_id}/answer", {"outcome": outcome, "answer": typed})
        assert r.status_code == 422 and code in r.get_data(as_text=True) and typed in r.get_data(as_text=True)
    r = cw.post(f"/boards/reports/{report_id}/answer", {"outcome": "not_upheld", "answer": " "})
    assert r.status_code == 422 and "请填写核实和处理情况" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Report, report_id).status == "investigating"      # refusals changed nothing
    assert cw.post(f"/boards/reports/{report_id}/answer", {"outcome": "not_upheld", "answer": typed}).status_code == 302
    for lang, line in (("zh", "经核实，反映的情况不属实"), ("en", "Checked: what you reported is not borne out")):
        page = phone.get(f"/r/{receipt}?lang={lang}").get_data(as_text=True)
        assert 'data-status="answered"' in page and 'data-outcome="not_upheld"' in page and line in page
        assert "该车辆" not in page and "13011112222" not in page and "张某" not in page
    shown = cw.get(f"/boards/reports/{report_id}").get_data(as_text=True)
    assert typed in shown and "经核实，反映的情况不属实" in shown
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "board.report_answer")).one()
        assert entry.after == {"status": "answered", "outcome": "not_upheld", "answer": typed}
    again = {"outcome": "upheld", "answer": "再次答复"}
    assert cw.post(f"/boards/reports/{report_id}/answer", again).status_code == 409


def test_second_objection_and_tipoffs_do_not_touch_the_case(app, org, public, gc_board):
    _, code, token = gc_board
    case_id = to_publicity(app, org, "guancheng", [code])
    phone = public()
    assert phone.post(f"/b/{token}/report", {"case": str(case_id), "text": "第一条异议内容"}).status_code == 303
    with app.app_context():
        events = db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id))
    assert phone.post(f"/b/{token}/report", {"case": str(case_id), "text": "第二条异议内容"}).status_code == 303
    assert phone.post(f"/b/{token}/report", {"case": "", "text": "社区有人冒领低保，请核查。"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id)) == events
        reports = db.session.scalars(select(Report).order_by(Report.id)).all()
        assert [(r.kind, r.status, r.case_id) for r in reports] == [
            ("objection", "investigating", case_id), ("objection", "received", case_id), ("tipoff", "received", None)]
    assert status_of(app, case_id) == "objection"
    cw = Console(app, "gc_case")
    assert cw.post(f"/boards/reports/{reports[2].id}/investigate").status_code == 302
    assert cw.post(f"/boards/reports/{reports[2].id}/investigate").status_code == 409
    assert 'data-status="investigating"' in phone.get(f"/r/{reports[2].receipt}").get_data(as_text=True)


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"text": "短"}, 422, "至少5个字"),
    ({"text": "字" * 2001}, 422, "最长2000个字"),
    ({"text": "有人冒领低保", "case": "999999"}, 422, "不在本公示栏上"),
    ({"text": "有人冒领低保", "case": "abc"}, 422, "不在本公示栏上"),
    ({"text": "有人冒领低保", "phone": "call me"}, 422, "联系电话格式不正确"),
    ({"text": "有人冒领低保", "name": "名" * 51}, 422, "姓名最长50个字"),
])
def test_bad_reports_are_refused_and_change_nothing(app, org, public, gc_board, data, status, message):
    _, _, token = gc_board
    phone = public()
    r = phone.post(f"/b/{token}/report", {"case": "", **data})
    page = r.get_data(as_text=True)
    assert r.status_code == status and message in page
    if len(data["text"]) < 100:
        assert data["text"] in page                                     # what was typed comes back
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0


def test_report_needs_csrf_and_limits_the_photo(app, org, public, gc_board):
    _, _, token = gc_board
    phone = public()
    typed = {"case": "", "text": "有人冒领低保，家里新买了小汽车", "name": "王大妈", "phone": "13011112222"}
    for sent in ({}, {"csrf_token": "expired-or-from-another-page"}):   # no token, or a stale one
        r = phone.client.post(f"/b/{token}/report", data={**typed, **sent})
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and "页面已过期，填写的内容已保留" in page     # not lost: the form comes back
        assert "有人冒领低保，家里新买了小汽车" in page and 'value="王大妈"' in page and "13011112222" in page
        assert r.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0          # and nothing was stored
    fresh = CSRF_RE.search(page).group(1)
    assert phone.client.post(f"/b/{token}/report", data={**typed, "csrf_token": fresh}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Report.text)) == typed["text"]
    r = phone.post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保"},
                   files={"photo": (b"%PDF-1.4 not an image", "x.pdf", "application/pdf")})
    assert r.status_code == 415
    app.config["RUHU_PUBLIC_MAX_PHOTO"] = 200
    r = phone.post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保"},
                   files={"photo": (png_bytes(size=(400, 300)) + b"\0" * 300, "big.png", "image/png")})
    assert r.status_code == 413 and "照片不能超过" in r.get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 4000
    r = phone.post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保"},
                   files={"photo": (b"\0" * 8000, "huge.png", "image/png")})
    assert r.status_code == 413 and "提交的内容过大" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1          # the one sent again with its token


def test_rate_limit_per_client_and_board(app, org, public, gc_board):
    _, _, token = gc_board
    _, _, token2 = make_board(app, "410104005002", "community", "幸福")
    _, _, token3 = make_board(app, "410104005", "township", "南关街大厅")
    app.config.update(RUHU_REPORT_RATE="2 per hour", RUHU_REPORT_CLIENT_RATE="3 per day")
    phone, neighbour = public("198.51.100.1"), public("198.51.100.2")
    data = {"case": "", "text": "有人冒领低保，请核查。"}
    assert [phone.post(f"/b/{token}/report", data).status_code for _ in range(2)] == [303, 303]
    r = phone.post(f"/b/{token}/report", data)
    assert r.status_code == 429 and "操作过于频繁" in r.get_data(as_text=True) and r.headers["Retry-After"]
    assert neighbour.post(f"/b/{token}/report", data).status_code == 303     # another phone: its own limit
    assert phone.post(f"/b/{token2}/report", data).status_code == 303        # another board: its own limit
    assert phone.post(f"/b/{token3}/report", data).status_code == 429        # but 3 a day per phone in all
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 4


def test_receipt_lookup(app, org, public, gc_board):
    _, _, token = gc_board
    phone = public()
    r = phone.post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，请核查。"})
    receipt = r.headers["Location"].rsplit("/", 1)[1].split("?")[0]
    typed = receipt.replace("-", "").lower()
    r = phone.get(f"/r?n={typed}")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/r/{receipt}")
    page = phone.get(f"/r/{receipt}").get_data(as_text=True)
    assert 'data-status="received"' in page and "举报、反映" in page and "冒领" not in page
    assert phone.get("/r").status_code == 200
    for bad in ("000000-AAAAAAAA", "nonsense", receipt[:-1]):
        r = phone.get(f"/r?n={bad}")
        assert r.status_code == 404 and "未找到该回执号" in r.get_data(as_text=True)
    assert phone.get("/r/000000-AAAAAAAA").status_code == 404


def test_receipt_lookups_are_rate_limited(app, org, public):
    app.config["RUHU_RECEIPT_RATE"] = "3 per hour"
    phone = public("192.0.2.9")
    assert [phone.get(f"/r?n=26010{i}-AAAAAAAA").status_code for i in range(4)] == [404, 404, 404, 429]


# --- the console ------------------------------------------------------------------------------------

def test_console_creates_renames_and_rotates_boards(app, org, public):
    cw = Console(app, "gc_case")
    r = cw.post("/boards", {"unit": str(org.c1), "kind": "village", "name": "和平"})
    assert r.status_code == 422 and "不能设" in r.get_data(as_text=True)
    r = cw.post("/boards", {"unit": str(org.c1), "kind": "community", "name": "  "})
    assert r.status_code == 422 and "请填写公示栏名称" in r.get_data(as_text=True)
    r = cw.post("/boards", {"unit": str(org.oc), "kind": "community", "name": "别人的"})
    assert r.status_code == 422                                            # not one of this office's units
    assert cw.post("/boards", {"unit": str(org.c1), "kind": "community", "name": "和平社区公示栏"}).status_code == 302
    assert cw.post("/boards", {"unit": str(org.office), "kind": "township", "name": "南关街大厅"}).status_code == 302
    with app.app_context():
        boards = {b.code: (b.id, b.token) for b in db.session.scalars(select(Board))}
    assert set(boards) == {"410104005001-01", "410104005-01"}
    board_id, token = boards["410104005001-01"]
    page = cw.get("/boards").get_data(as_text=True)
    assert f"http://localhost/b/{token}" in page and 'data-board="410104005-01"' in page
    assert cw.post(f"/boards/{board_id}/rename", {"name": "和平社区社会救助公示栏"}).status_code == 302
    assert "和平社区社会救助公示栏" in cw.get("/boards").get_data(as_text=True)
    assert "和平社区社会救助公示栏" not in public().get(f"/b/{token}").get_data(as_text=True)   # typed: console only
    assert cw.post(f"/boards/{board_id}/rotate", {}).status_code == 302
    with app.app_context():
        board = db.session.get(Board, board_id)
        assert board.token != token and [t.token for t in board.old_tokens] == [token]
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "board")
                                       .order_by(AuditEntry.id)).all()
    assert actions == ["board.create", "board.create", "board.rename", "board.rotate"]


def test_console_roles_and_scope(app, org):
    board_id, _, _ = make_board(app, "410104005001", "community", "和平")
    other_id, _, _ = make_board(app, "410104008001", "community", "二里岗")
    cw = Console(app, "gc_case")
    assert cw.get(f"/boards/{other_id}/poster").status_code == 404
    assert cw.post(f"/boards/{other_id}/rotate", {}).status_code == 404
    assert cw.post(f"/boards/{board_id}/rotate", {}, csrf=False).status_code == 400
    director = Console(app, "gc_dir")
    assert director.get("/boards").status_code == 200
    assert director.get(f"/boards/{board_id}/poster").status_code == 200
    assert director.post(f"/boards/{board_id}/rotate", {}).status_code == 403
    assert director.post("/boards", {"unit": str(org.c1), "kind": "community", "name": "x"}).status_code == 403
    for username in ("gc_inv1", "gc_bureau", "gc_admin"):
        assert Console(app, username).get("/boards").status_code == 403
        assert Console(app, username).get("/boards/reports").status_code == 403
    assert Console(app, "other_case").get(f"/boards/{board_id}/poster.png").status_code == 404
    assert cw.get("/boards/reports?status=nonsense").status_code == 400
    assert cw.get("/boards/reports/12345").status_code == 404


def test_other_offices_cannot_see_a_report(app, org, public, gc_board):
    _, _, token = gc_board
    public().post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，请核查。"})
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    assert Console(app, "other_case").get(f"/boards/reports/{report_id}").status_code == 404
    assert Console(app, "other_case").post(f"/boards/reports/{report_id}/answer", {"outcome": "upheld", "answer": "好的"}).status_code == 404
    assert Console(app, "gc_dir").post(f"/boards/reports/{report_id}/answer", {"outcome": "upheld", "answer": "好的"}).status_code == 403
    assert Console(app, "gc_lead").post(f"/boards/reports/{report_id}/answer", {"outcome": "upheld", "answer": "已核实"}).status_code == 302


def test_open_publicity_offers_the_real_boards(app, org):
    on(app, START)
    cw = Console(app, "gc_case")
    case_id = register(app, cw, org)
    walk_to_review(app, org, cw, case_id)
    Console(app, "gc_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    page = cw.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'name="boards" value="410104005001" checked' in page            # no boards yet: the unit
    make_board(app, "410104005001", "community", "和平社区公示栏")
    make_board(app, "410104005002", "community", "幸福社区公示栏")          # another community's board
    make_board(app, "410104005", "township", "南关街大厅")                    # guancheng: community boards only
    page = cw.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'name="boards" value="410104005001-01" checked' in page
    assert "410104005002-01" not in page and "410104005-01" not in page
    assert 'value="410104005001"' not in page


def test_yijun_offers_township_village_and_natural_village_boards(app, org):
    from server.operations.accounts import add_unit

    with app.app_context():
        from server import services

        village = db.session.get(Unit, org.village)
        add_unit("61022200200101", "彭一组", "natural_village", "yijun", village, known_profiles=services().profiles)
        db.session.commit()
    codes = [make_board(app, unit, kind, name)[1] for unit, kind, name in [
        ("610222002", "township", "彭镇大厅"), ("610222002", "busy_place", "彭镇集市"),
        ("610222002001", "village", "彭村"), ("61022200200101", "natural_village", "彭一组")]]
    on(app, START)
    yj = Console(app, "yj_case")
    case_id = register(app, yj, org, unit="village", region="610222")
    walk_to_review(app, org, yj, case_id, prefix="yj_", fingerprint=True)
    Console(app, "yj_lead").act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    yj.act(case_id, "record_meeting", {"record": "会议研究同意", "decision": "approve", "attendee": ["王镇长", "李干事"]})
    page = yj.get(f"/cases/{case_id}").get_data(as_text=True)
    offered = re.findall(r'name="boards" value="([^"]+)"', page)
    assert sorted(offered) == sorted([codes[0], codes[2], codes[3]])       # busy places: long-term list only


# --- the certificate check ---------------------------------------------------------------------------

def test_certificate_check_states(app, org, public, gc_board):
    _, code, _ = gc_board
    case_id = to_publicity(app, org, "guancheng", [code])
    on(app, dt.date(2025, 11, 13))
    cw, director = Console(app, "gc_case"), Console(app, "gc_dir")
    cw.act(case_id, "close_publicity")
    director.act(case_id, "approve", {"signature": signature(), "opinion": "同意"})
    assert cw.act(case_id, "issue_certificate", {"number": "GC-0007", "valid_from": "2025-11-20",
                                                 "valid_until": "2026-11-19"}).status_code == 302
    with app.app_context():
        token = db.session.get(Case, case_id).certificate_token
    cert = cw.get(f"/cases/{case_id}/print/certificate").get_data(as_text=True)
    assert "<svg" in cert
    phone = public()

    def check():
        r = phone.get(f"/v/{token}")
        return r.status_code, re.search(r'data-state="(\w+)"', r.get_data(as_text=True)).group(1), \
            text_of(r.get_data(as_text=True))

    status, state, page = check()
    assert (status, state) == (200, "not_yet") and "尚未生效" in page
    on(app, dt.date(2025, 12, 1))
    status, state, page = check()
    assert (status, state) == (200, "valid") and "有效" in page
    assert "张*" in page and "张建国" not in page and "GC-0007" in page and "南关街街道办事处" in page
    assert "2025-11-20 — 2026-11-19" in page and "保障人数 2" in page
    on(app, dt.date(2026, 11, 20))
    assert check()[1] == "expired"
    on(app, dt.date(2026, 1, 5))
    cw.act(case_id, "start_payment")
    director.act(case_id, "stop", {"reasons": "户籍迁出"})
    status, state, page = check()
    assert state == "revoked" and "已停止保障，证件作废" in page
    r = phone.get("/v/unknown-token")
    assert r.status_code == 404 and "未找到此低保证" in r.get_data(as_text=True)
    assert phone.get("/v/" + "x" * 40).status_code == 404


# --- every public page of the demo, scanned -------------------------------------------------------------

def test_demo_boards_show_no_private_numbers(app, public):
    """The demo's data on every board (both profiles), each report form, a receipt and every certificate check:
    the ``public`` fixture scans all of it for the ID numbers and phone numbers in the database."""
    from server.demo import load_demo
    from server.operations.boards import create_demo_boards

    with app.app_context():
        load_demo("demo-password-1")
        create_demo_boards()
        tokens = list(db.session.scalars(select(Board.token)))
        certificates = [t for t in db.session.scalars(select(Case.certificate_token)) if t]
        in_publicity = db.session.scalar(select(func.count(Case.id)).where(Case.status == "publicity"))
        assert create_demo_boards() == []                                  # once only
    assert len(tokens) > 30 and certificates and in_publicity
    phone = public()
    listed = 0
    for token in tokens:
        page = phone.get(f"/b/{token}").get_data(as_text=True)
        listed += page.count("<li data-ref=") + page.count("<tr><td>")
        assert phone.get(f"/b/{token}/report").status_code == 200
    assert listed > 20
    r = phone.post(f"/b/{tokens[0]}/report", {"case": "", "text": "请核查这户的收入。", "phone": "13012345678"})
    phone.get(r.headers["Location"])
    for token in certificates:
        assert phone.get(f"/v/{token}").status_code == 200
    with app.app_context():
        assert "13012345678" in private_numbers(app)                      # the scan includes what residents typed


def test_intake_form_numbers_are_in_the_scan(app, org):
    """The scan's secret set really holds the test data's ID and phone numbers (so the scan can fail)."""
    on(app, START)
    register(app, Console(app, "gc_case"), org)
    secret = private_numbers(app)
    assert intake_form(org)["m0_id"] in secret and "13900000000" in secret


def test_console_pages_render_in_both_languages(app, org, public, gc_board):
    board_id, _, token = gc_board
    public().post(f"/b/{token}/report", {"case": "", "text": "有人冒领低保，请核查。"})
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    cw = Console(app, "gc_case")
    for path in ("/boards", "/boards/reports", "/boards/reports?status=received", f"/boards/reports/{report_id}",
                 f"/boards/{board_id}/poster"):
        for lang in ("zh", "en"):
            r = cw.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
            assert r.status_code == 200, (path, lang)
            assert ('lang="en"' in r.get_data(as_text=True)) == (lang == "en") or "poster" in path


def test_the_boards_list_pages_with_a_total(app, org):
    for i in range(23):
        make_board(app, "410104005001", "community", f"公示栏{i:02d}")
    cw = Console(app, "gc_case")
    first = cw.get("/boards?per=20").get_data(as_text=True)
    assert 'data-total="23"' in first and "共 23 条" in first
    assert first.count("data-board=") == 20 and 'rel="next"' in first and 'rel="prev"' not in first
    second = cw.get("/boards?per=20&page=2").get_data(as_text=True)
    assert second.count("data-board=") == 3 and 'rel="prev"' in second and 'rel="next"' not in second
    assert cw.get("/boards?per=20&page=99").get_data(as_text=True).count("data-board=") == 3   # past the end: last
    bad = cw.get("/boards?per=7&page=x")
    assert bad.status_code == 200 and bad.get_data(as_text=True).count("data-board=") == 23  # default size 50
