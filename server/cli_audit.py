"""``ruhu audit verify``: check the audit log's hash chain and name the first broken entry."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

audit_cli = click.Group("audit", help="审计日志 / the audit log")


@audit_cli.command("verify")
@with_appcontext
def verify_cmd():
    """Walk the chain; exit 0 when whole, 1 naming the first entry that was changed or whose predecessor is gone."""
    from server.operations.audit import verify

    checked, broken = verify()
    if broken is None:
        click.echo(f"审计日志完整：已核对 {checked} 条 / audit log intact: {checked} entries checked")
        return
    why = {"changed": ("内容被改动", "its content was changed"),
           "link": ("与前一条的链接断开（前一条被删除、插入或改动）",
                    "its link to the previous entry is broken (an entry was deleted, inserted or changed)")}
    zh, en = why[broken.reason]
    click.echo(f"审计日志被篡改：第一处在第 {broken.entry_id} 条，{zh}\n"
               f"audit log tampered with: first at entry {broken.entry_id}, {en}", err=True)
    sys.exit(1)


groups = (audit_cli,)
