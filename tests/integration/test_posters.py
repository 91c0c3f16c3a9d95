"""Board posters: the PNG's QR code decodes (zxing-cpp) back to the board's public URL, from the console and
from the CLI; the printable page; a missing CJK font is reported, not hidden."""

from __future__ import annotations

import io
import json

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from server.extensions import db
from server.models import Unit
from server.models.boards import Board
from tests.integration.test_console import Console


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.fixture
def boards(app, org):
    from server.operations.boards import create_board

    with app.app_context():
        out = {}
        for code, kind, name in [("410104005001", "community", "南关和平社区社会救助公示栏"),
                                 ("610222002001", "village", "彭村社会救助公示栏")]:
            unit = db.session.scalar(select(Unit).where(Unit.code == code))
            board = create_board(None, unit, kind, name, actor_label="test")
            out[code] = (board.id, board.token)
    return out


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.mark.parametrize(("base", "expected"), [
    (None, "http://localhost"),                    # unset: the address the request reached (the test client's)
    ("https://dibao.example.cn/", "https://dibao.example.cn"),
])
def test_console_png_decodes_to_the_board_url(app, boards, base, expected):
    if base:
        app.config["RUHU_PUBLIC_BASE_URL"] = base
    board_id, token = boards["410104005001"]
    with Console(app, "gc_case").get(f"/boards/{board_id}/poster.png") as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
        assert "attachment" in r.headers["Content-Disposition"] and "X-Ruhu-Warning" not in r.headers
        png = r.get_data()
    assert Image.open(io.BytesIO(png)).size == (1240, 1754)            # A4 at 150 dpi
    assert decode(png) == [f"{expected}/b/{token}"]


def test_rotated_board_gets_a_new_qr(app, boards):
    board_id, token = boards["410104005001"]
    cw = Console(app, "gc_case")
    cw.post(f"/boards/{board_id}/rotate", {})
    with app.app_context():
        new = db.session.get(Board, board_id).token
    with cw.get(f"/boards/{board_id}/poster.png") as r:
        assert decode(r.get_data()) == [f"http://localhost/b/{new}"] and new != token


@pytest.mark.parametrize(("user", "code", "tipoff"), [
    ("gc_case", "410104005001", None), ("yj_case", "610222002001", "监督举报电话：0919-0000000")])
def test_printable_poster_page(app, boards, user, code, tipoff):
    board_id, token = boards[code]
    page = Console(app, user).get(f"/boards/{board_id}/poster").get_data(as_text=True)
    assert "<svg" in page and f"/b/{token}" in page and "print.css" in page
    assert "最低生活保障公示" in page and "我要反映" in page and "二维码启用日期" in page
    assert (tipoff in page) if tipoff else ("监督举报电话" not in page)
    assert "公示期不少于7天" in page


def test_cli_lists_boards_as_json(app, cli, boards):
    r = cli("boards", "list", "--json")
    assert r.exit_code == 0, r.output
    rows = {b["unit"]: b for b in json.loads(r.output)}
    board_id, token = boards["610222002001"]
    assert rows["610222002001"] == {"id": board_id, "code": "610222002001-01", "name": "彭村社会救助公示栏",
                                    "kind": "village", "unit": "610222002001", "unit_name": "彭村",
                                    "url": f"http://127.0.0.1:5000/b/{token}"}
    r = cli("boards", "list")
    assert r.exit_code == 0 and f"/b/{token}" in r.output


def test_cli_poster_writes_a_png_whose_qr_is_the_board_url(app, cli, boards, tmp_path):
    board_id, token = boards["410104005001"]
    out = tmp_path / "poster.png"
    r = cli("boards", "poster", str(board_id), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert decode(out.read_bytes()) == [f"http://127.0.0.1:5000/b/{token}"]
    assert f"/b/{token}" in r.output


def test_cli_poster_errors(app, cli, boards, tmp_path):
    r = cli("boards", "poster", "9999", "--out", str(tmp_path / "x.png"))
    assert r.exit_code == 1 and "no board with id 9999" in r.output
    board_id, _ = boards["410104005001"]
    r = cli("boards", "poster", str(board_id), "--out", str(tmp_path / "missing-dir" / "x.png"))
    assert r.exit_code == 1 and "cannot write" in r.output


def test_cli_rotate_prints_the_new_url(app, cli, boards):
    board_id, token = boards["410104005001"]
    r = cli("boards", "rotate", str(board_id))
    assert r.exit_code == 0 and "/b/" in r.output and token not in r.output
    assert app.test_client().get(f"/b/{token}").status_code == 410


def test_missing_cjk_font_is_reported_and_the_qr_still_works(app, cli, boards, tmp_path):
    app.config["RUHU_POSTER_FONT"] = str(tmp_path / "no-such-font.ttc")
    board_id, token = boards["410104005001"]
    out = tmp_path / "poster.png"
    r = cli("boards", "poster", str(board_id), "--out", str(out))
    assert r.exit_code == 0 and "fonts-noto-cjk" in r.output
    assert decode(out.read_bytes()) == [f"http://127.0.0.1:5000/b/{token}"]
    cw = Console(app, "gc_case")
    with cw.get(f"/boards/{board_id}/poster.png") as resp:
        assert "fonts-noto-cjk" in resp.headers["X-Ruhu-Warning"]
    assert "fonts-noto-cjk" in cw.get(f"/boards/{board_id}/poster").get_data(as_text=True)


def test_poster_text_wraps_without_losing_anything():
    from server.posters import PosterText, render_png

    poster = PosterText(title="很长的公示栏名称" * 6, heading="最低生活保障公示", unit_line="单位", what="说明" * 40,
                        steps=("第一步" * 20, "第二步"), tipoff="监督举报电话：0919-0000000", dates="日期",
                        url="https://dibao.example.cn/b/" + "A" * 22)
    png, warning = render_png(poster)
    assert warning is None and decode(png) == [poster.url]
