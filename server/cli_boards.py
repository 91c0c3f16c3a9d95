"""CLI commands: notice boards (``ruhu boards list | poster | rotate``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from server.cli_input import ID
from server.extensions import db


@click.group("boards", help="公示栏 / notice boards")
def boards_cli():
    pass


def _board(board_id: int):
    from server.models.boards import Board

    board = db.session.get(Board, board_id)
    if board is None:
        click.echo(f"错误：公示栏不存在：{board_id}\nerror: no board with id {board_id}", err=True)
        sys.exit(1)
    return board


@boards_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@with_appcontext
def boards_list(as_json: bool):
    """Every board with its unit and public URL."""
    from server.models import Unit
    from server.models.boards import Board
    from server.operations.boards import public_url

    boards = db.session.scalars(select(Board).join(Board.unit).order_by(Unit.code, Board.code)).all()
    data = [{"id": b.id, "code": b.code, "name": b.name, "kind": b.kind, "unit": b.unit.code,
             "unit_name": b.unit.name, "url": public_url(b)} for b in boards]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for d in data:
        click.echo(f"{d['id']:>5}  {d['unit']:<14} {d['name']}  {d['url']}")


@boards_cli.command("poster")
@click.argument("board_id", type=ID)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the PNG file to write")
@with_appcontext
def boards_poster(board_id: int, out: Path):
    """Write the board's A4 poster (PNG, 150 dpi) with the QR code of its public URL."""
    from server import today
    from server.operations.boards import poster_text
    from server.posters import MISSING_FONT_ZH, render_png

    board = _board(board_id)
    poster = poster_text(board, today())
    data, warning = render_png(poster, font_path=current_app.config.get("RUHU_POSTER_FONT"))
    try:
        out.write_bytes(data)
    except OSError as exc:
        click.echo(f"错误：无法写入 {out}：{exc.strerror}\nerror: cannot write {out}: {exc.strerror}", err=True)
        sys.exit(1)
    if warning:
        click.echo(f"警告：{MISSING_FONT_ZH}\nwarning: {warning}", err=True)
    click.echo(f"{out}  {poster.url}")


@boards_cli.command("rotate")
@click.argument("board_id", type=ID)
@with_appcontext
def boards_rotate(board_id: int):
    """Give a board a new QR token (old posters then show "此二维码已更换")."""
    from server.operations.boards import public_url, rotate_token

    board = rotate_token(None, _board(board_id), actor_label="cli")
    click.echo(public_url(board))


groups: list[click.Group] = [boards_cli]
