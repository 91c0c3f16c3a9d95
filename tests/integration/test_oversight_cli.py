"""The oversight commands: ``ruhu spotchecks draw|verify`` and ``ruhu assessment rank``."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Unit, User
from server.models.oversight import SpotCheckDraw
from tests.integration.test_oversight import TODAY, YEAR, build_world


@pytest.fixture
def world(app, org):
    return build_world(app, org)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=[str(a) for a in args])
    return invoke


def test_draw_prints_population_share_and_households(app, cli, world):
    r = cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", 7, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["unit"], data["year"], data["seed"], data["share"], data["population"]) == \
        ("410104005", YEAR, 7, "0.30", 10)
    assert len(data["households"]) == math.ceil(4 * 0.3) + math.ceil(6 * 0.3)
    assert {s["name"]: s["population"] for s in data["strata"]} == {"new": 4, "registered": 6}
    with app.app_context():
        row = db.session.get(SpotCheckDraw, data["draw_id"])
        assert row.drawn_household_ids == data["households"] and row.drawn_by_label == "cli"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "spotcheck.draw"))
        assert entry.actor_label == "cli" and entry.after["households"] == data["households"]


def test_the_same_seed_gives_the_same_draw(cli, world):
    first = cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", 12345, "--json")
    again = cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", 12345, "--json")
    assert first.exit_code == again.exit_code == 0
    assert first.output == again.output


def test_seeds_matter(cli, world):
    draws = {tuple(json.loads(cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", s,
                                  "--json").output)["households"]) for s in range(12)}
    assert len(draws) > 3


def test_without_a_seed_one_is_made_and_recorded(app, cli, world):
    r = cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert isinstance(data["seed"], int)
    replay = cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", data["seed"], "--json")
    assert json.loads(replay.output)["households"] == data["households"]


def test_draw_text_output_and_options(cli, world):
    r = cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", 3, "--share", "0.5", "--no-stratify")
    assert r.exit_code == 0, r.output
    assert "比例 / share 0.50" in r.output and "总体 / population 10" in r.output
    assert len(r.output.rsplit("households: ", 1)[1].split()) == 5


@pytest.mark.parametrize("args, message", [
    (["--unit", "999", "--year", YEAR], "no unit with code 999"),
    (["--unit", "410104", "--year", YEAR], "spot checks are drawn per street office or township"),
    (["--unit", "410104008", "--year", YEAR], "no households in payment"),
    (["--unit", "410104005", "--year", YEAR, "--share", "0.2"], "the share may not be below 0.30"),
    (["--unit", "410104005", "--year", YEAR, "--share", "abc"], "the share must be a decimal"),
    (["--unit", "410104005", "--year", YEAR, "--seed", -5], "the seed must be a whole number"),
    (["--unit", "410104005", "--year", YEAR + 1], "the year must be from 2000"),
])
def test_draw_refusals(app, cli, world, args, message):
    r = cli("spotchecks", "draw", *args)
    assert r.exit_code == 1 and message in r.output
    with app.app_context():
        assert db.session.scalar(select(func.count(SpotCheckDraw.id))) == 0


def test_a_used_seed_with_another_share_is_refused(cli, world):
    assert cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", 1).exit_code == 0
    r = cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", 1, "--share", "0.6")
    assert r.exit_code == 1 and "already used for draw" in r.output


def test_verify_re_runs_a_recorded_draw(app, cli, world):
    data = json.loads(cli("spotchecks", "draw", "--unit", "410104005", "--year", YEAR, "--seed", 8, "--json").output)
    ok = cli("spotchecks", "verify", data["draw_id"], "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["verified"] is True
    with app.app_context():   # tamper with the record
        row = db.session.get(SpotCheckDraw, data["draw_id"])
        others = [p["household"] for p in row.population if p["household"] not in row.drawn_household_ids]
        row.drawn_household_ids = [*row.drawn_household_ids[1:], others[0]]
        db.session.commit()
    bad = cli("spotchecks", "verify", data["draw_id"])
    assert bad.exit_code == 1 and "DIFFERS" in bad.output
    assert cli("spotchecks", "verify", 999999).exit_code == 1


def test_rank_prints_the_ranking_with_marks(app, cli, world):
    from server import services
    from server.operations.accounts import add_unit
    from server.operations.oversight import enter_item

    with app.app_context():
        yj = db.session.get(Unit, world.yj)
        bureau = db.session.get(User, world.yj_bureau)
        units = [db.session.get(Unit, world.town)] + [
            add_unit(f"61022200{n}", f"测试镇{n}", "township", "yijun", yj, known_profiles=services().profiles)
            for n in (3, 4, 5, 6)]
        db.session.commit()
        for unit, points in zip(units, ("6", "6", "5", "4", "3"), strict=True):
            enter_item(unit, YEAR, bureau, kind="entered", period=1, key="standardisation", points=points,
                       evidence="季度检查", today=TODAY)
    r = cli("assessment", "rank", "--district", "610222", "--year", YEAR, "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["ranking"]
    assert [(row["unit"], row["rank"], row["top_three"], row["last"]) for row in rows] == [
        ("610222002", 1, True, False), ("610222003", 1, True, False), ("610222004", 3, True, False),
        ("610222005", 4, False, False), ("610222006", 5, False, True)]
    assert rows[0]["quarters"][0] == "20.0" and "organisation" in rows[0]["pending"]
    text = cli("assessment", "rank", "--district", "610222", "--year", YEAR)
    assert text.exit_code == 0 and "末位 / last" in text.output and text.output.count("前三 / top three") == 3


@pytest.mark.parametrize("district, message", [
    ("410104", "the assessment is switched off"),
    ("610222002", "is not a district"),
    ("999", "no unit with code 999"),
])
def test_rank_refusals(cli, world, district, message):
    r = cli("assessment", "rank", "--district", district, "--year", YEAR)
    assert r.exit_code == 1 and message in r.output
