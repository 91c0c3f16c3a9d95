"""The console's case list with 1,000 and with 100,000 cases in the database (temporary SQLite files).

Each size gets its own database: one office holding every case, with two communities.  The caseworker's
list is requested through the Flask test client (the whole request: filter parsing, count, one page, the
template), and the median of several requests is printed per size, for the default list, a stage filter
with a sort by date, and a name search, then the ratio of the two sizes.  An indexed list grows far less
than the 100x the cases grow (the name search, a substring match, scans the members and grows linearly).

``python -m bench.case_list`` runs it; ``--large N`` changes the large size.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

QUERIES = (("default list", "/cases"),
           ("stage filter, sorted by date", "/cases?status=in_payment&sort=applied_on&dir=asc"),
           ("page 40", "/cases?page=40"),
           ("name search", "/cases?q=%E6%88%B70042"))


def _fill(n: int) -> None:
    """``n`` cases with one member each, inserted in bulk (the list reads cases, households, members, units)."""
    from sqlalchemy import insert

    from server.extensions import db
    from server.models import Case, Household, Member, Unit

    office = db.session.query(Unit).filter_by(code="410104005").one()
    communities = [u.id for u in office.children]
    statuses = ("in_payment",) * 8 + ("accepted", "application")
    start = dt.date(2020, 1, 1)
    chunk = 5000
    for base in range(0, n, chunk):
        ids = range(base + 1, min(n, base + chunk) + 1)
        db.session.execute(insert(Household), [
            {"id": i, "unit_id": communities[i % 2], "address": "", "area": "urban", "household_class": "stable",
             "phone": ""} for i in ids])
        db.session.execute(insert(Member), [
            {"household_id": i, "position": 0, "name": f"户{i:06d}", "id_number": f"410104{19600101 + i % 9000:08d}{i % 1000:03d}X",
             "relation": "head", "birth_date": dt.date(1960, 1, 1), "sex": "male"} for i in ids])
        db.session.execute(insert(Case), [
            {"id": i, "number": f"410104005-{2020 + i % 6}-{i:06d}", "household_id": i, "office_unit_id": office.id,
             "community_unit_id": communities[i % 2], "profile_id": "guancheng", "status": statuses[i % 10],
             "applied_on": start + dt.timedelta(days=i % 2000), "materials": [], "declaration": {},
             "verification": {}, "record": {}} for i in ids])
    db.session.commit()


def measure(n: int, repeat: int = 15) -> dict[str, float]:
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.operations.accounts import add_unit, add_user

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
                          "SECRET_KEY": "bench", "RUHU_CALENDAR": str(Path(tmp) / "none.toml"),
                          "RUHU_PASSWORD_METHOD": "pbkdf2:sha256:1000"})
        with app.app_context():
            upgrade()
            profiles = app.extensions["ruhu"].profiles
            gc = add_unit("410104", "管城回族区", "district", "guancheng", known_profiles=profiles)
            office = add_unit("410104005", "南关街街道办事处", "street_office", "guancheng", gc, known_profiles=profiles)
            for code, name in (("410104005001", "和平社区"), ("410104005002", "幸福社区")):
                add_unit(code, name, "community", "guancheng", office, known_profiles=profiles)
            user = add_user("bench_case", "caseworker", office.code, "bench-password-1", "bench")
            db.session.commit()
            uid = user.id
            _fill(n)
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["uid"] = uid
        out = {}
        for label, url in QUERIES:
            assert client.get(url).status_code == 200     # warm up (templates, statement cache)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - t0)
                assert response.status_code == 200
            out[label] = statistics.median(times)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    large = int(argv[argv.index("--large") + 1]) if "--large" in argv else 100_000
    small = 1_000
    print(f"Case list (median of 15 requests through the app; {small} vs {large} cases in the database)")
    t_small, t_large = measure(small), measure(large)
    for label, _url in QUERIES:
        print(f"  {label}: {t_small[label] * 1000:.1f} ms vs {t_large[label] * 1000:.1f} ms; "
              f"ratio {t_large[label] / t_small[label]:.2f}x for {large // small}x the cases")


if __name__ == "__main__":
    main()
