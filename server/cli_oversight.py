"""CLI commands: oversight — spot-check draws and the assessment ranking, for scripts and schedulers."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from server.cli_input import ID, INT, IntRange
from server.extensions import db
from server.models import Unit
from server.models.oversight import SpotCheckDraw
from server.operations import OperationError


def _fail(zh: str, en: str, code: int = 1):
    click.echo(f"错误：{zh}\nerror: {en}", err=True)
    sys.exit(code)


def _unit(code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        _fail(f"没有编码为 {code} 的单位", f"no unit with code {code}")
    return unit


def _draw_json(draw: SpotCheckDraw, verified: bool | None = None) -> dict:
    data = {"draw_id": draw.id, "unit": draw.unit.code, "unit_name": draw.unit.name, "year": draw.year,
            "seed": draw.seed, "share": f"{Decimal(draw.share):.2f}", "stratified": draw.stratified,
            "population": draw.population_size,
            "strata": [{"name": s["name"], "population": s["population"], "required": s["required"],
                        "drawn": s["drawn"]} for s in draw.strata],
            "households": list(draw.drawn_household_ids), "cases": list(draw.drawn_case_ids),
            "drawn_by": draw.drawn_by_label}
    if verified is not None:
        data["verified"] = verified
    return data


@click.group("spotchecks", help="抽检 / spot checks")
def spotchecks_cli():
    pass


@spotchecks_cli.command("draw")
@click.option("--unit", "unit_code", required=True, help="street office / township code")
@click.option("--year", type=IntRange(2000, 9999), required=True, help="2000 to this year")
@click.option("--seed", type=INT, default=None,
              help="random seed (recorded; the same seed gives the same draw)")
@click.option("--share", default=None, help="a share above the profile's minimum, e.g. 0.40")
@click.option("--no-stratify", is_flag=True, help="pool new and registered households")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@with_appcontext
def spotchecks_draw(unit_code: str, year: int, seed: int | None, share: str | None, no_stratify: bool,
                    as_json: bool):
    """Draw at least the profile's share of a unit's new and registered households, and record the draw."""
    from server import today
    from server.operations.oversight import draw_spot_checks

    unit = _unit(unit_code)
    wanted = None
    if share is not None:
        try:
            wanted = Decimal(share)
        except InvalidOperation:
            _fail("抽查比例应为0到1之间的小数", "the share must be a decimal from 0 to 1")
    try:
        draw = draw_spot_checks(unit, year, actor=None, actor_label="cli", today=today(), seed=seed, share=wanted,
                                stratify=not no_stratify)
    except OperationError as exc:
        _fail(exc.message, exc.message_en)
    data = _draw_json(draw)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"抽取 / draw #{data['draw_id']}  {data['unit']} {data['unit_name']}  {data['year']}")
    click.echo(f"种子 / seed {data['seed']}  比例 / share {data['share']}  总体 / population {data['population']}")
    for s in data["strata"]:
        click.echo(f"  {s['name']:<11} population {s['population']:>5}  drawn {len(s['drawn']):>4}")
    click.echo("户 / households: " + " ".join(str(h) for h in data["households"]))


@spotchecks_cli.command("verify")
@click.argument("draw_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@with_appcontext
def spotchecks_verify(draw_id: int, as_json: bool):
    """Re-run a recorded draw from its seed over its recorded population (exit 1 when it differs)."""
    from server.operations.oversight import verify_draw

    draw = db.session.get(SpotCheckDraw, draw_id)
    if draw is None:
        _fail(f"没有第 {draw_id} 号抽取", f"no draw {draw_id}")
    ok = verify_draw(draw)
    if as_json:
        click.echo(json.dumps(_draw_json(draw, ok), ensure_ascii=False, indent=2))
    else:
        click.echo("一致 / verified" if ok else "不一致 / DIFFERS")
    if not ok:
        sys.exit(1)


@click.group("assessment", help="考核 / assessment of street offices and townships")
def assessment_cli():
    pass


@assessment_cli.command("rank")
@click.option("--district", "district_code", required=True, help="district / county code")
@click.option("--year", type=IntRange(2000, 9999), required=True, help="2000 to this year")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@with_appcontext
def assessment_rank(district_code: str, year: int, as_json: bool):
    """The year's ranking: quarterly and year-end scores, bonus, total; top three and last place marked."""
    from server import today
    from server.domain.scoring import ANNUAL
    from server.operations.oversight import assessment_enabled, ranking

    district = _unit(district_code)
    if district.level != "district":
        _fail(f"{district_code} 不是区（县）", f"{district_code} is not a district or county")
    if not assessment_enabled(district):
        _fail("本地规则未启用考核评分", "the assessment is switched off in this profile")
    try:
        ranked, scores = ranking(district, year, today())
    except OperationError as exc:
        _fail(exc.message, exc.message_en)
    rows = []
    for r in ranked:
        s = scores[r.unit.id]
        rows.append({"rank": r.rank, "unit": r.unit.code, "name": r.unit.name,
                     "quarters": [f"{p.score:.1f}" for p in s.periods if p.period != ANNUAL],
                     "annual": f"{s.period(ANNUAL).score:.1f}", "bonus": f"{s.bonus:.1f}", "total": f"{r.total:.1f}",
                     "top_three": r.top_three, "last": r.last,
                     "pending": sorted({k for p in s.periods for k in p.pending})})
    if as_json:
        click.echo(json.dumps({"district": district.code, "year": year, "ranking": rows}, ensure_ascii=False, indent=2))
        return
    for row in rows:
        mark = "  前三 / top three" if row["top_three"] else ("  末位 / last" if row["last"] else "")
        click.echo(f"{row['rank']:>3}  {row['unit']:<12} {row['total']:>6}  "
                   f"({' + '.join(row['quarters'])} + {row['annual']} + {row['bonus']})  {row['name']}{mark}")


groups: list[click.Group] = [spotchecks_cli, assessment_cli]
