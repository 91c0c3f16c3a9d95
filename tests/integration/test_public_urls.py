"""Printed links follow the server: with RUHU_PUBLIC_BASE_URL unset the console prints the address it was
reached at, and the CLI the RUHU_HOST / RUHU_PORT that `make run` serves on; a configured base wins."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Unit
from tests.conftest import make_app, sign_in


@pytest.fixture
def port_app(migrated_url, tmp_path, monkeypatch, org):
    monkeypatch.setenv("RUHU_PORT", "5101")
    monkeypatch.delenv("RUHU_PUBLIC_BASE_URL", raising=False)
    app = make_app(migrated_url, RUHU_ATTACHMENTS=str(tmp_path / "attachments"))
    from server.operations.boards import create_board

    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "410104005001"))
        board = create_board(None, unit, "community", "南关和平社区社会救助公示栏", actor_label="test")
        token = board.token
    yield app, token
    with app.app_context():
        db.session.remove()
        db.engine.dispose()      # this second app's connections close with the test, not at a later GC


def test_the_cli_prints_the_port_make_run_serves_on(port_app):
    app, token = port_app
    result = app.test_cli_runner().invoke(args=["boards", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [b["url"] for b in json.loads(result.output)] == [f"http://127.0.0.1:5101/b/{token}"]


def test_the_console_prints_its_own_address(port_app):
    app, token = port_app
    client = app.test_client()
    base = "http://127.0.0.1:5101"
    form = client.get("/", base_url=base).get_data(as_text=True)
    token_field = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/login", base_url=base, data={"username": "gc_case", "password": "correct-horse-1",
                                               "csrf_token": token_field})
    page = client.get("/boards", base_url=base).get_data(as_text=True)
    assert f"http://127.0.0.1:5101/b/{token}" in page, re.findall(r"http[^\"<]*/b/", page)


def test_a_configured_base_wins_everywhere(port_app):
    app, token = port_app
    app.config["RUHU_PUBLIC_BASE_URL"] = "https://dibao.example.cn/"
    result = app.test_cli_runner().invoke(args=["boards", "list", "--json"])
    assert json.loads(result.output)[0]["url"] == f"https://dibao.example.cn/b/{token}"
    client = app.test_client()
    sign_in(client, "gc_case")
    assert f"https://dibao.example.cn/b/{token}" in client.get("/boards").get_data(as_text=True)
