"""Roster generation for 10k and 100k households: the benefit core for each household, then the roster
core (changes against last month, totals).  Prints the time ratio of the two sizes: linear work gives ~10x.

``python -m bench.roster`` runs the pure cores; ``python -m bench.roster --db`` also generates a 10k-household
roster through the database (a temporary SQLite file) with ``server.operations.rosters.generate_roster``.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import sys
import tempfile
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from server.domain.benefit import compute_benefit
from server.domain.roster import PayInput, PrevLine, StopInfo, compute_roster

STANDARD = Fraction(682)
SCHEDULE = (100, 100, 80, 80, 60, 60)


def synthetic(n: int, seed: int = 7) -> tuple[list[tuple], list[PrevLine], dict[int, StopInfo]]:
    """``n`` households (people, six-month income, exit month or None) and last month's lines: most
    unchanged, some raised or lowered, a few new this month and a few stopped."""
    rng = random.Random(seed)
    households, previous, stopped = [], [], {}
    for i in range(n):
        people = rng.choice((1, 2, 2, 3, 3, 4, 5))
        income = Decimal(rng.randrange(0, 400 * people * 6 * 100)) / 100
        exit_month = rng.randrange(6) if rng.random() < 0.03 else None
        households.append((i, f"B-{i:07d}", f"户主{i}", people, income, exit_month))
        if rng.random() < 0.97:   # on last month's roster
            last = compute_benefit(standard_monthly=STANDARD, household_income=Fraction(income) / 6, people=people).total
            if rng.random() < 0.05:
                last += Decimal("12.50")
            previous.append(PrevLine(i, f"B-{i:07d}", f"户主{i}", people, last))
    for j in range(n, n + n // 100):   # stopped since last month
        previous.append(PrevLine(j, f"B-{j:07d}", f"户主{j}", 2, Decimal("300.00")))
        stopped[j] = StopInfo("stopped", "收入超标")
    return households, previous, stopped


def generate(households, previous, stopped):
    paying = []
    for case_id, number, head, people, income, exit_month in households:
        pct = SCHEDULE[exit_month] if exit_month is not None else 100
        working = compute_benefit(standard_monthly=STANDARD, household_income=Fraction(income) / 6, people=people,
                                  percentage=pct)
        paying.append(PayInput(case_id, number, head, people, working.total,
                               pct if exit_month is not None else None))
    return compute_roster(paying, previous, stopped)


def timed(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` runs with the garbage collector paused (as ``timeit`` does), so that a full
    collection landing in one run does not pass for growth."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        finally:
            gc.enable()
    return best


def bench_core(small: int = 10_000, large: int = 100_000) -> float:
    data_small, data_large = synthetic(small), synthetic(large)
    result = generate(*data_large)
    assert result.totals.total == sum(ln.amount for ln in result.lines)   # the totals add up
    t_small = timed(lambda: generate(*data_small))
    t_large = timed(lambda: generate(*data_large))
    ratio = t_large / t_small
    print(f"roster core: {small} households {t_small * 1000:.0f} ms, {large} households {t_large * 1000:.0f} ms; "
          f"ratio {ratio:.1f}x for {large // small}x the households (linear ~ {large // small}x)")
    return ratio


def bench_db(n: int = 10_000) -> float:
    """``n`` households in payment in a temporary SQLite database; one generate_roster call."""
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.models import Case, Household, Member
    from server.operations.accounts import add_unit
    from server.operations.rosters import generate_roster

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
                          "SECRET_KEY": "bench", "RUHU_CALENDAR": str(Path(tmp) / "none.toml")})
        with app.app_context():
            upgrade()
            profiles = app.extensions["ruhu"].profiles
            district = add_unit("610222", "宜君县", "district", "yijun", known_profiles=profiles, actor_label="bench")
            office = add_unit("610222002", "彭镇", "township", "yijun", district, known_profiles=profiles,
                              actor_label="bench")
            village = add_unit("610222002001", "彭村", "village", "yijun", office, known_profiles=profiles,
                               actor_label="bench")
            rng = random.Random(3)
            born = dt.date(1970, 1, 1)
            for i in range(n):
                people = rng.choice((1, 2, 3, 4))
                household = Household(unit=village, members=[
                    Member(position=k, name=f"户{i}员{k}", id_number=f"{i:09d}{k:09d}", relation="head" if k == 0 else "child",
                           birth_date=born, sex="male") for k in range(people)])
                db.session.add(Case(number=f"610222002-B-{i:06d}", household=household, office=office, community=village,
                                    profile_id="yijun", status="in_payment", applied_on=born,
                                    assessed_income_6m=Decimal(rng.randrange(0, 2000 * people)), amount=None))
            db.session.commit()
            t0 = time.perf_counter()
            roster = generate_roster(office, "2026-12", actor=None, actor_label="bench", today=dt.date(2026, 12, 1))
            elapsed = time.perf_counter() - t0
            print(f"roster through the database: {n} households in {elapsed:.2f} s "
                  f"({roster.households} households, {roster.total} yuan)")
            db.session.remove()
            db.engine.dispose()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    print("Roster benchmark (lower is better; the ratio shows how the time grows with the households)")
    bench_core()
    if "--db" in argv:
        bench_db()


if __name__ == "__main__":
    main()
