"""The console's pages on PostgreSQL: a read-only request's transaction ended with a commit (what the app
does, ``server.extensions.end_read_only``) against the rollback it used to end with, alternating in one
process on the same pages (the baseline is the same app with that teardown taken out).

At a ROLLBACK psycopg drops every prepared statement of the connection (DEALLOCATE ALL, one more round trip),
so a page's queries were parsed and planned again on every request; after a COMMIT they stay prepared (psycopg
prepares a statement at its 5th run on a connection).  Printed per page: the median wall time and statements
of each, and the ratio.

Settings (environment): ``BENCH_PG_URL`` as for ``bench.sync_load`` (``""`` skips it), ``BENCH_CONSOLE_ROUNDS``
(36 counted requests per page and mode).  Run alone with ``python -m bench.console_reads``.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import sync_load as sl

ROUNDS = int(sl.os.environ.get("BENCH_CONSOLE_ROUNDS", "36"))
BLOCK, WARM = 12, 6   # requests per page in a row in one mode, and how many of them warm it up


def measure(url: str) -> dict:
    from sqlalchemy import event, select

    from server import create_app
    from server.extensions import db, end_read_only
    from server.models import Case

    tmp = Path(tempfile.mkdtemp(prefix="ruhu-bench-console-"))
    saved = sl.CASES_PER_PAIR
    try:
        sl.reset_postgres(url)
        sl.CASES_PER_PAIR = 30
        sl.prepare(url, tmp / "attachments", 1)
        app = create_app({**sl.app_config(url, tmp / "attachments"), "WTF_CSRF_ENABLED": False})
        with app.app_context():
            case_id = db.session.scalar(select(Case.id).order_by(Case.id).limit(1))
            engine = db.engine
        client = app.test_client()
        assert client.post("/login", data={"username": "cw", "password": "correct-horse-1"}).status_code == 302
        pages = {"case page": f"/cases/{case_id}", "case list": "/cases", "home": "/"}
        teardowns = app.teardown_request_funcs.setdefault(None, [])
        counted = [0]

        def count(*args) -> None:
            counted[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        took: dict[tuple[str, str], list[float]] = {}
        statements: dict[tuple[str, str], list[int]] = {}
        try:
            # In blocks: psycopg prepares a statement at its 5th run, and one rollback drops them all again, so
            # each block's first requests are not counted (in either mode: the same pages, the same count).
            for n in range(2 * BLOCK * (1 - (-ROUNDS // (BLOCK - WARM)))):
                commit = (n // BLOCK) % 2 == 0
                if commit and end_read_only not in teardowns:
                    teardowns.append(end_read_only)
                elif not commit and end_read_only in teardowns:
                    teardowns.remove(end_read_only)
                mode = "commit" if commit else "rollback"
                for label, path in pages.items():
                    counted[0] = 0
                    t0 = time.perf_counter()
                    assert client.get(path).status_code == 200, path
                    if n % BLOCK >= WARM and n >= 2 * BLOCK:   # (the first two blocks: imports, caches)
                        took.setdefault((label, mode), []).append(time.perf_counter() - t0)
                        statements.setdefault((label, mode), []).append(counted[0])
        finally:
            event.remove(engine, "before_cursor_execute", count)
            if end_read_only not in teardowns:
                teardowns.append(end_read_only)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        out = {}
        print(f"[console on PostgreSQL] read-only pages ended with a commit vs a rollback, alternating in blocks "
              f"of {BLOCK} (the first {WARM} not counted), {len(took[('home', 'commit')])} per page and mode, medians")
        for label in pages:
            c, r = (statistics.median(took[(label, m)]) * 1000 for m in ("commit", "rollback"))
            s = statistics.median(statements[(label, "commit")])
            out[label] = {"commit_ms": c, "rollback_ms": r, "statements": s}
            print(f"  {label:10s} commit {c:6.2f} ms, rollback {r:6.2f} ms -> {c / r:.2f}x  ({s:.0f} statements)")
        return out
    finally:
        sl.CASES_PER_PAIR = saved
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> dict | None:
    if not sl.PG_URL:
        print("console reads: BENCH_PG_URL is empty: not measured")
        return None
    try:
        return measure(sl.PG_URL)
    except Exception as exc:  # no server: say so
        print(f"console reads: PostgreSQL at {sl.PG_URL} not measured ({type(exc).__name__}: {exc})")
        return None


if __name__ == "__main__":
    main()
