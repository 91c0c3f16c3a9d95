"""A notice board's public page with 2,000 families on its long-term list, against one with 20, in one run.

Prints the HTML size (plain and gzipped) and the time to answer ``GET /b/<token>`` (best of several runs,
through the WSGI app, database on a temporary SQLite file), as ratios of the 20-family board.  Run it alone
with ``python -m bench.public_board``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

SMALL, LARGE = 20, 2000
REPEAT = 7


def _app(directory: Path):
    from server import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'bench.sqlite3'}", "SECRET_KEY": "bench",
                       "RUHU_CALENDAR": str(directory / "no-calendar.toml"), "RUHU_TODAY": dt.date(2025, 11, 10),
                       "RUHU_ATTACHMENTS": str(directory / "attachments")})


def _families(village, office, profile_id: str, n: int, rng: random.Random, start: int) -> None:
    """``n`` households in payment in ``village``, inserted directly (bench data, not a real history)."""
    from server.domain.ids import check_character
    from server.extensions import db
    from server.models import Case, Household, Member

    for i in range(start, start + n):
        born = dt.date(1950 + i % 40, 1 + i % 12, 1 + i % 28)
        first17 = f"610222{born:%Y%m%d}{i % 1000:03d}"
        members = [Member(position=0, name="王" + "建国秀英"[i % 3:i % 3 + 2], relation="head", birth_date=born,
                          sex="male", id_number=first17 + check_character(first17))]
        for j in range(1, 1 + i % 3):
            kid = dt.date(2010 + j, 1 + j, 1 + j)
            seq = f"610222{kid:%Y%m%d}{(i * 7 + j) % 1000:03d}"
            members.append(Member(position=j, name=f"王小{j}", relation="child", birth_date=kid, sex="female",
                                  id_number=seq + check_character(seq), seriously_ill=rng.random() < 0.1))
        household = Household(unit=village, address="", phone=f"139{i:08d}", members=members)
        db.session.add(Case(number=f"B-{i:06d}", household=household, office=office, community=village,
                            profile_id=profile_id, status="in_payment", applied_on=dt.date(2024, 1, 1),
                            decided_on=dt.date(2024, 1, 1) + dt.timedelta(days=i % 600),
                            amount=Decimal(rng.randrange(10000, 200000)) / 100,
                            assessed_income_6m=Decimal(rng.randrange(0, 300000)) / 100))
    db.session.commit()


def _measure(client, token: str) -> tuple[float, int, int]:
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        response = client.get(f"/b/{token}")
        best = min(best, time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    body = response.get_data()
    return best, len(body), len(gzip.compress(body, 6))


def bench_board(profile_id: str, directory: Path) -> None:
    from server.extensions import db
    from server.operations.accounts import add_unit
    from server.operations.boards import create_board

    app = _app(directory / profile_id)
    (directory / profile_id).mkdir()
    rng = random.Random(6)
    with app.app_context():
        db.create_all()
        from server import services

        profiles = services().profiles
        office_level, level = ("street_office", "community") if profile_id == "guancheng" else ("township", "village")
        district = add_unit("610222", "县", "district", profile_id, known_profiles=profiles)
        office = add_unit("610222002", "镇", office_level, profile_id, district, known_profiles=profiles)
        small = add_unit("610222002001", "小村", level, profile_id, office, known_profiles=profiles)
        large = add_unit("610222002002", "大村", level, profile_id, office, known_profiles=profiles)
        _families(small, office, profile_id, SMALL, rng, 0)
        _families(large, office, profile_id, LARGE, rng, SMALL)
        tokens = [create_board(None, unit, level, unit.name).token for unit in (small, large)]
    client = app.test_client()
    (t_small, html_small, gz_small), (t_large, html_large, gz_large) = (_measure(client, t) for t in tokens)
    print(f"public board ({profile_id}), {LARGE} vs {SMALL} families: time {t_large / t_small:.1f}x "
          f"({t_small * 1000:.1f} ms -> {t_large * 1000:.1f} ms), HTML {html_large / html_small:.1f}x "
          f"({html_small / 1024:.1f} KiB -> {html_large / 1024:.1f} KiB; gzipped {gz_small / 1024:.1f} -> "
          f"{gz_large / 1024:.1f} KiB, {html_large / LARGE:.0f} bytes per family)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ruhu-bench-") as tmp:
        for profile_id in ("guancheng", "yijun"):
            bench_board(profile_id, Path(tmp))


if __name__ == "__main__":
    main()
